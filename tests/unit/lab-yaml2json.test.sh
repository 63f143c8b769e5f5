#!/bin/bash
# unit:lab-yaml2json - the build step that compiles the lab's built-in topology in as JSON: the deep
# dive's YAML gives both outputs; an empty, truncated or missing file, or one that is not a mapping,
# (also an empty mapping) exits non-zero with one line on stderr and leaves no output behind (the build fails, never an empty
# built-in topology).
set -uo pipefail
G=${OVNET_YAML2JSON:?path of lab-yaml2json}
SRC=${OVNET_SRC:?source dir}
TMP=$(mktemp -d /tmp/ovnet-yaml2json.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

"$G" "$SRC/examples/lab/deep-dive.yaml" "$TMP/good" 2>"$TMP/err" && [ -s "$TMP/good.json" ] && [ -s "$TMP/good.cpp" ] &&
  pass "the deep dive's topology: JSON and C++ written" || fail "the deep dive's topology: $(cat "$TMP/err")"
grep -q '"name":"deep-dive"' "$TMP/good.json" && pass "the JSON names the topology" || fail "no name in $(head -c 200 "$TMP/good.json")"

: > "$TMP/empty.yaml"
head -c 40 "$SRC/examples/lab/deep-dive.yaml" | head -1 > "$TMP/trunc.yaml"   # one line: a comment or a key only
printf '[1, 2\n' > "$TMP/broken.yaml"
printf -- '- a\n- b\n' > "$TMP/list.yaml"
printf '{}\n' > "$TMP/emptymap.yaml"
for c in empty trunc broken list emptymap missing; do
  "$G" "$TMP/$c.yaml" "$TMP/out-$c" > "$TMP/o" 2> "$TMP/err"; rc=$?
  [ $rc -ne 0 ] && pass "$c: refused (exit $rc)" || fail "$c: accepted"
  [ "$(wc -l < "$TMP/err")" = 1 ] && grep -q '^lab-yaml2json: ' "$TMP/err" && pass "$c: one line: $(cat "$TMP/err")" ||
    fail "$c: stderr: $(cat "$TMP/err")"
  ls "$TMP"/out-$c* >/dev/null 2>&1 && fail "$c: left output: $(ls "$TMP"/out-$c*)" || pass "$c: no output left"
done
"$G" > /dev/null 2>&1; [ $? = 2 ] && pass "no arguments: exit 2" || fail "no arguments: not exit 2"
echo "passed $PASSED, failed $FAILED"
[ $FAILED = 0 ]
