#!/bin/bash
# unit:audit-tool - ovnet-audit as a command, on snapshots bench/auditgen.py writes (no root, no
# namespaces): a clean cluster exits 0 and its report is valid against schema/audit-report; a
# fault exits 1, its report is valid, --fix prints the node's part (--node) with quoted
# heredocs; bad input (truncated, foreign JSON, a wrong schema version, no snapshot, the same host
# twice, a missing file, --node of no snapshot) exits 2 with one line on stderr and nothing on
# stdout.
set -uo pipefail
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${OVNET_BIN:-$SRC/build/tools}
PY=${OVNET_PYTHON:-/usr/bin/python3}
AUDIT=$BIN/ovnet-audit
[ -x "$AUDIT" ] || { echo "no $AUDIT"; exit 1; }
[ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }
TMP=$(mktemp -d /tmp/ovnet-audit-tool.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
run() { "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); }

# Three nodes, three overlays of two nodes each, two endpoints per node and overlay.
"$PY" "$SRC/bench/auditgen.py" 3 2 2 >"$TMP/clean.json" || { echo "auditgen failed"; exit 1; }
VALID=1
"$PY" -c 'import jsonschema' 2>/dev/null || VALID=0
check_schema() {
  if [ $VALID = 0 ]; then echo "(python3-jsonschema missing: $1 not validated)"; return; fi
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" audit-report "$2" >"$TMP/verr" 2>&1; then pass "$1: valid audit-report"
  else fail "$1: not a valid audit-report: $(cat "$TMP/verr")"; fi
}

run "$AUDIT" "$TMP/clean.json"
[ "$RC" = 0 ] && pass "clean cluster: exit 0" || fail "clean cluster: exit $RC: $ERR"
printf '%s\n' "$OUT" >"$TMP/clean-report.json"
check_schema "clean report" "$TMP/clean-report.json"
run "$AUDIT" - <"$TMP/clean.json"
[ "$RC" = 0 ] && [ "$OUT" = "$(cat "$TMP/clean-report.json")" ] && pass "stdin reads the same" || fail "stdin: exit $RC"
head -1 "$TMP/clean.json" >"$TMP/a.json"; tail -n +2 "$TMP/clean.json" >"$TMP/b.json"
run "$AUDIT" "$TMP/a.json" "$TMP/b.json"
[ "$RC" = 0 ] && [ "$OUT" = "$(cat "$TMP/clean-report.json")" ] && pass "two files read as one stream" || fail "two files: exit $RC"
run "$AUDIT" --fix "$TMP/clean.json"
[ "$RC" = 0 ] && [ "$(grep -vc '^#' <<<"$OUT")" = 0 ] && pass "--fix of a clean cluster: no command" || fail "--fix clean: $RC $OUT"

# A fault: node001 loses its first peer of its first overlay, node002's first VTEP gets MTU 1500.
"$PY" - "$TMP/clean.json" >"$TMP/fault.json" <<'EOF'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
n1 = docs[1]["netns"][docs[1]["networks"][0]["netns"]]
dev = docs[1]["networks"][0]["vtep"]
n1["peers"][dev] = n1["peers"][dev][1:]
docs[2]["netns"][docs[2]["networks"][0]["netns"]]["vteps"][0]["mtu"] = 1500
for d in docs: print(json.dumps(d))
EOF
run "$AUDIT" -p "$TMP/fault.json"
[ "$RC" = 1 ] && pass "faults: exit 1" || fail "faults: exit $RC: $ERR"
printf '%s\n' "$OUT" >"$TMP/fault-report.json"
check_schema "report with findings" "$TMP/fault-report.json"
codes=$("$PY" -c 'import json,sys; print(" ".join(f["code"] for f in json.load(open(sys.argv[1]))["findings"]))' "$TMP/fault-report.json")
[ "$codes" = "PEER_MISSING MTU_TOO_LARGE" ] || [ "$codes" = "MTU_TOO_LARGE PEER_MISSING" ] && pass "the two codes: $codes" || fail "codes: $codes"
run "$AUDIT" --fix "$TMP/fault.json"
[ "$RC" = 1 ] && pass "--fix: exit 1 (findings)" || fail "--fix: exit $RC"
grep -q "^# node node001$" <<<"$OUT" && grep -q "^ovnet-fdb -n 1-n0001abcde apply -d vx-001002-n0001 --prune <<'EOF'$" <<<"$OUT" &&
  grep -q "^# node node002$" <<<"$OUT" && grep -q "^ovnet-vtep -n 1-n0002abcde apply <<'EOF'$" <<<"$OUT" &&
  pass "--fix: a part per node, input in quoted heredocs" || fail "--fix script: $OUT"
run "$AUDIT" --fix --node node002 "$TMP/fault.json"
! grep -q "node001" <<<"$OUT" && grep -q "^# node node002$" <<<"$OUT" && pass "--fix --node: that node only" || fail "--node: $OUT"
run "$AUDIT" -t "$TMP/fault.json"
grep -q "^error PEER_MISSING (network n0001)" <<<"$OUT" && pass "-t: readable list" || fail "-t: $OUT"

# Bad input: exit 2, one line on stderr, nothing on stdout.
bad() {
  local what=$1 needle=$2; shift 2
  run "$@"
  local n; n=$(printf '%s' "$ERR" | grep -c '^')
  if [ "$RC" = 2 ] && [ "$n" = 1 ] && [ -z "$OUT" ] && [[ $ERR == *"$needle"* ]]; then pass "$what: exit 2, one line"
  else fail "$what: exit $RC, stdout '${OUT:0:80}', stderr ($n lines): $ERR"; fi
}
head -c 5000 "$TMP/clean.json" >"$TMP/trunc.json"
bad "truncated" "trunc.json" "$AUDIT" "$TMP/trunc.json"
bad "truncated on stdin" "stdin" sh -c '"$0" <"$1"' "$AUDIT" "$TMP/trunc.json"
echo '{"kind": "something else", "items": [1, 2]}' >"$TMP/foreign.json"
bad "foreign JSON" 'snapshot 1 (' "$AUDIT" "$TMP/foreign.json"
echo 'not json at all' >"$TMP/text.json"
bad "not JSON" "text.json" "$AUDIT" "$TMP/text.json"
sed '2s/"schema":"ovnet-inspect\/1"/"schema":"ovnet-inspect\/2"/' "$TMP/clean.json" >"$TMP/v2.json"
bad "wrong schema version" 'snapshot 2 (' "$AUDIT" "$TMP/v2.json"
run "$AUDIT" "$TMP/v2.json"
[[ $ERR == *'schema "ovnet-inspect/2": expected ovnet-inspect/1'* ]] && pass "the message names the schema" || fail "schema message: $ERR"
: >"$TMP/empty.json"
bad "empty file" "no snapshot" "$AUDIT" "$TMP/empty.json"
bad "empty stdin" "no snapshot" sh -c '"$0" </dev/null' "$AUDIT"
{ cat "$TMP/clean.json"; head -1 "$TMP/clean.json"; } >"$TMP/twice.json"
bad "the same host twice" 'host "node000" repeats snapshot 1' "$AUDIT" "$TMP/twice.json"
bad "a missing file" "cannot open" "$AUDIT" "$TMP/nonexistent.json"
bad "--node of no snapshot" "--node n9" "$AUDIT" --fix --node n9 "$TMP/clean.json"

echo "audit-tool: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
