#!/bin/bash
# diff: ovnet-diff over two ovnet-inspect snapshots of the README's three-host overlay (built as
# inspect.test.sh builds it). Two snapshots without a change: exit 0, "equal": true. One container
# added on h1 (ovnet-sbox connect, peers distributed with ovnet-fdb local | apply): the diff is
# exactly its sandbox, its veth (with its IPv6 link route) and bridge port on h1 and its peer on h2 and h3, nothing else;
# exit 1; the report is valid against schema/diff-report.schema.json; the terminal list. Bad input
# (truncated, foreign, empty JSON, another schema version): exit 2, one line, nothing on stdout.
# The snapshots hold every namespace of the machine: both are cut to this run's namespaces.
# h1's bridge may also change its MAC (to the new veth's when lower): checked as exactly that.
. "$(dirname "$0")/lib.sh"
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OVNET_PYTHON:-/usr/bin/python3}
for t in jq script; do command -v $t >/dev/null || skip "$t not installed"; done

BR=ov-001001-7672d VX=vx-001001-7672d VNI=4097
UL=$(ns ul)
# snap FILE: a snapshot of this run's namespaces (and their networks) only.
snap() {
  ovnet-inspect >"$TMP/full.json" || return 1
  jq --arg p "$P-" '.netns |= with_entries(select(.key | startswith($p))) | .networks |= map(select(.netns | startswith($p)))' \
    "$TMP/full.json" >"$1"
}
expect_rc 0 "three-host overlay built (underlay, bridge | vtep, containers, peers)" three_hosts_build

A=$TMP/a.json B=$TMP/b.json
expect_rc 0 "snapshot A" snap "$A"
expect_rc 0 "snapshot A again" snap "$TMP/a2.json"
assert_eq "$(jq '.netns | length' "$A")" 7 "snapshot A: this run's 7 namespaces"

# ---- no change ----
run ovnet-diff "$A" "$TMP/a2.json"
assert_eq "$RC" 0 "two snapshots without a change: exit 0"
assert_eq "$(jq -c '[.equal, .changes, .stats]' <<<"$OUT")" '[true,[],{"added":0,"removed":0,"changed":0,"moved":0}]' \
  'without a change: "equal": true, no changes'
run ovnet-diff - "$A" <"$A"
assert_eq "$RC:$(jq .equal <<<"$OUT")" "0:true" "A read from stdin (-): equal to itself"

# ---- one container added on h1 ----
C4=$(ns c4)
add_c4() { ovnet-sbox -n "$(h 1)" connect "$C4" --bridge $BR --ip 10.0.0.5/24 >/dev/null && three_hosts_peers; }
expect_rc 0 "c4 connected on h1, peers distributed" add_c4
expect_rc 0 "snapshot B" snap "$B"
run ovnet-diff "$A" "$B"
assert_eq "$RC" 1 "after c4: exit 1 (they differ)"
cp "$TMP/out" "$TMP/report.json"
VETH=$(jq -r --arg h "$(h 1)" --arg c "$C4" '.netns[$h].links[] | select(.peer.netns == $c) | .name' "$B")
MAC4=$(jq -r --arg c "$C4" '.netns[$c].links[] | select(.name == "eth0") | .mac' "$B")
assert_eq "$MAC4" 02:42:0a:00:00:05 "c4's MAC is 02:42:10.0.0.5"
# A bridge without an address of its own takes its ports' lowest MAC: when the new veth's is lower,
# h1's bridge (as a link and as a bridge) changes its MAC to the veth's, and nothing else.
VMAC=$(jq -r --arg h "$(h 1)" --arg v "$VETH" '.netns[$h].links[] | select(.name == $v) | .mac' "$B")
brmac=$(jq -c --arg h "$(h 1)" --arg b $BR '[.changes[] | select(.action == "changed" and .netns == $h and .object == $b)
  | [.kind, .fields, .after.mac]]' "$TMP/report.json")
if [ "$brmac" != "[]" ]; then
  assert_eq "$brmac" "[[\"link\",[\"mac\"],\"$VMAC\"],[\"bridge\",[\"mac\"],\"$VMAC\"]]" \
    "h1's bridge changed only its MAC, to the new veth's (its ports' lowest)"
fi
NBR=$(jq '[.changes[] | select(.action == "changed")] | length' "$TMP/report.json")
got=$(jq -r '.changes[] | select(.action != "changed") | "\(.action) \(.netns) \(.kind) \(.object)"' "$TMP/report.json" | sort)
# The veth comes with its IPv6 link route (fe80::/64 dev VETH, which the kernel adds when it comes up).
want=$(printf '%s\n' "added $C4 netns $C4" "added $(h 1) link $VETH" "added $(h 1) route fe80::/64 dev $VETH" \
  "added $(h 1) bridge-port $BR $VETH" "added $(h 2) peer $VX $MAC4" "added $(h 3) peer $VX $MAC4" | sort)
assert_eq "$got" "$want" "the diff is c4's sandbox, veth (and its link route), bridge port on h1 and its peer on h2 and h3, nothing else"
assert_eq "$(jq -c .stats "$TMP/report.json")" "{\"added\":6,\"removed\":0,\"changed\":$NBR,\"moved\":0}" "stats: 6 added"
assert_eq "$(jq -c --arg h "$(h 2)" '.changes[] | select(.netns == $h) | .after | [.ip, .vtep]' "$TMP/report.json")" \
  '["10.0.0.5","192.0.2.11"]' "h2's new peer: 10.0.0.5 behind h1's VTEP"
assert_eq "$(jq -r '.changes[] | select(.kind == "netns") | [.before, .after.label] | @json' "$TMP/report.json")" \
  "[null,\"$C4\"]" "the sandbox added holds the namespace (before null)"
run ovnet-diff "$B" "$A"
assert_eq "$RC:$(jq -c '.stats | [.added, .removed]' <<<"$OUT")" "1:[0,6]" "B to A: the same 6, removed"
if "$PY" -c 'import jsonschema' 2>/dev/null; then
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" diff-report "$TMP/report.json" >"$TMP/verr" 2>&1; then
    pass "report: valid against schema/diff-report.schema.json"
  else fail "report: not valid against the schema:"; head -20 "$TMP/verr"; fi
else
  echo "# python3-jsonschema not installed: schema check not run"
fi

# ---- the terminal list ----
script -qec "ovnet-diff $A $B" /dev/null >"$TMP/tty" </dev/null
RC=$?
tty=$(tr -d '\r' <"$TMP/tty")
assert_eq "$RC" 1 "terminal: exit 1"
assert_contains "$tty" "+ netns $(h 2) peer $VX $MAC4" "terminal: '+ netns h2 peer VTEP MAC'"
assert_contains "$tty" "+ netns $C4" "terminal: '+ netns c4'"
assert_contains "$tty" "6 added, 0 removed, $NBR changed, 0 moved" "terminal: the counts"
jq --arg h "$(h 2)" --arg v $VX '.netns[$h].links |= map(if .name == $v then .mtu = 1500 else . end)' "$A" >"$TMP/mtu.json"
run ovnet-diff -t "$A" "$TMP/mtu.json"
assert_eq "$RC:$OUT" "1:~ netns $(h 2) link $VX mtu 1450 -> 1500
0 added, 0 removed, 1 changed, 0 moved" "-t: a changed field as '~ ... mtu 1450 -> 1500'"

# ---- bad input: exit 2, one line naming the file, nothing on stdout ----
head -c 300 "$A" >"$TMP/trunc.json"
echo '{"name": "not a snapshot"}' >"$TMP/foreign.json"
: >"$TMP/empty.json"
jq '.schema = "ovnet-inspect/2"' "$A" >"$TMP/v2.json"
for f in trunc foreign empty v2; do
  for order in "$TMP/$f.json $A" "$A $TMP/$f.json"; do
    run ovnet-diff $order
    assert_eq "$RC:$OUT" "2:" "$f.json ($order): exit 2, nothing on stdout"
    assert_one_line "$ERR" "$f.json: one line on stderr"
    assert_contains "$ERR" "$f.json" "$f.json: the message names the file"
  done
done
run ovnet-diff "$TMP/v2.json" "$A"
assert_contains "$ERR" 'schema "ovnet-inspect/2" is not "ovnet-inspect/1"' "v2.json: the version named"
run ovnet-diff - - <"$A"
assert_eq "$RC" 2 "stdin twice: exit 2"

done_testing
