#!/bin/bash
# vanished-input: input that vanished is not an empty set. A stdin that cannot be read (a
# directory, a closed descriptor) is exit 1 naming stdin with nothing written, in every tool that
# reads stdin; `apply --prune` with an empty set (no document, `[]`, a producer upstream that
# failed as `ssh h2 ovnet-fdb local | ...` does) refuses with exit 2 naming --allow-empty, and
# --allow-empty really prunes.
. "$(dirname "$0")/lib.sh"

BR=ov-001001-7672d VX=vx-001001-7672d
A=$(ns a)
ovnet-sbox -q add "$A" >/dev/null &&
  ovnet-bridge -q -n "$A" add "$BR" --mtu 1450 -j | ovnet-vtep -q -n "$A" add --vni 4097 --local 192.0.2.11 >/dev/null ||
  { echo "setup of $A failed"; exit 1; }
printf '%s\n' '{"ip": "10.0.1.2", "mac": "02:42:0a:00:01:02", "vtep": "192.0.2.12"}' \
              '{"ip": "10.0.1.3", "mac": "02:42:0a:00:01:03", "vtep": "192.0.2.13"}' >"$TMP/set.json"
ovnet-fdb -q -n "$A" apply <"$TMP/set.json" >/dev/null || { echo "setup: apply failed"; exit 1; }
peers() { ovnet-fdb -n "$A" show -j | jq -c 'map(select(.status == "peer") | {ip, mac, vtep}) | sort_by(.mac)'; }
WANT=$(jq -sc 'sort_by(.mac)' "$TMP/set.json")
assert_eq "$(peers)" "$WANT" "setup: two peers"
still_there() { assert_eq "$(peers)" "$WANT" "$1: every peer still there"; }

echo "# stdin that cannot be read: exit 1 naming stdin, nothing written"
run ovnet-fdb -n "$A" apply --prune </
assert_eq "$RC" 1 "apply --prune < /: exit 1"
assert_eq "$ERR" "ovnet-fdb: stdin: cannot read: Is a directory" "apply --prune < /: one line naming stdin"
assert_eq "$OUT" "" "apply --prune < /: no report"
still_there "apply --prune < /"
run ovnet-fdb -n "$A" apply --prune <&-
assert_eq "$RC" 1 "apply --prune <&-: exit 1"
assert_eq "$ERR" "ovnet-fdb: stdin: cannot read: Bad file descriptor" "apply --prune <&-: one line naming stdin"
still_there "apply --prune <&-"
run ovnet-fdb -n "$A" apply --prune --allow-empty </
assert_eq "$RC" 1 "--allow-empty does not make a read error an empty set: exit 1"
still_there "apply --prune --allow-empty < /"
# Every other reader of stdin: the error, never an empty input.
for cmd in "ovnet-bridge apply" "ovnet-vtep apply" "ovnet-sbox apply" "ovnet-ipvs apply --prune" \
           "ovnet-ipvs apply --prune --from-ipvsadm"; do
  run $cmd -n "$A" </
  if [ "$RC" = 1 ] && [ "$ERR" = "${cmd%% *}: stdin: cannot read: Is a directory" ]; then pass "$cmd < /: exit 1 naming stdin"
  else fail "$cmd < /: rc=$RC err=$ERR"; fi
done
run ovnet-bridge apply -n "$A" <&-
assert_eq "$RC:$ERR" "1:ovnet-bridge: stdin: cannot read: Bad file descriptor" "ovnet-bridge apply <&-: exit 1 naming stdin"
still_there "other tools' read errors"

echo "# an empty set with --prune: refused (exit 2) unless --allow-empty"
# The README's multi-host form with a producer that failed (ssh exits 255 and writes nothing).
(exit 255) | ovnet-fdb -n "$A" apply --prune >"$TMP/out" 2>"$TMP/err"
rcs="${PIPESTATUS[*]}"
ERR=$(cat "$TMP/err")
assert_eq "$rcs" "255 2" "ssh-like producer exits 255: apply --prune exits 2"
assert_eq "$ERR" "ovnet-fdb: stdin: empty set with --prune would remove every peer of $VX (an upstream command failed?); pass --allow-empty to mean it" \
  "the refusal: one line saying why and naming --allow-empty"
assert_eq "$(cat "$TMP/out")" "" "the refusal: no report"
set -o pipefail
if (exit 255) | ovnet-fdb -n "$A" apply --prune >/dev/null 2>&1; then fail "pipefail: the pipeline failed"
else pass "under set -o pipefail the pipeline fails"; fi
still_there "producer exits 255"
run ovnet-fdb -n "$A" apply --prune </dev/null
assert_eq "$RC" 2 "no document with --prune: exit 2"
assert_contains "$ERR" "--allow-empty" "no document: names --allow-empty"
assert_one_line "$ERR" "no document: one line"
still_there "no document"
for doc in '[]' '[] []' '   '; do
  run ovnet-fdb -n "$A" apply --prune <<<"$doc"
  assert_eq "$RC" 2 "'$doc' with --prune: exit 2"
  still_there "'$doc'"
done
# An `ovnet-fdb show -j` holding only rows that are not peers (learned) is an empty set too.
run ovnet-fdb -n "$A" apply --prune <<<'[{"status": "learned", "mac": "06:00:00:00:00:bb", "vtep": "192.0.2.88"}]'
assert_eq "$RC" 2 "a set of learned rows only with --prune: exit 2"
still_there "learned rows only"
run ovnet-fdb -n "$A" apply </dev/null
assert_eq "$RC" 0 "no document without --prune: exit 0 (nothing to add)"
still_there "no document without --prune"
run ovnet-ipvs -n "$A" apply --prune </dev/null
if [ "$RC" = 1 ] && grep -q 'no IPVS' <<<"$ERR"; then pass "ovnet-ipvs apply --prune: no IPVS here (the VM bodies test the refusal)"
else assert_eq "$RC" 2 "ovnet-ipvs apply --prune with no document: exit 2"; assert_contains "$ERR" "--allow-empty" "ovnet-ipvs: names --allow-empty"; fi

echo "# --allow-empty means it"
run ovnet-fdb -n "$A" apply --prune --allow-empty <<<'[]'
assert_eq "$RC" 0 "[] with --prune --allow-empty: exit 0"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .removed]')" '[0,2]' "--allow-empty: both peers removed"
assert_eq "$(peers)" "[]" "--allow-empty: no peer left"
assert_eq "$(bridge -n "$A" -j fdb show dev "$VX" | jq 'map(select(.state == "permanent" and .dst != null)) | length')" 0 \
  "--allow-empty: no permanent fdb entry left"

echo "vanished-input: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
