#!/bin/bash
# audit: the one-machine form of the audit on the README's three-host overlay (hosts h1..h3 on the
# underlay ul0, bridge ov-001001-7672d + VTEP vx-001001-7672d, VNI 4097, one container each).
# `ovnet-inspect --host-prefix $P-h` gives one snapshot per host (valid against
# schema/inspect.schema.json, each naming VNI 4097, its container and the two peer hosts; the
# underlay in none), and `| ovnet-audit` finds nothing. Then each fault is injected alone with
# iproute2 on the clean cluster: a stale peer, a peer pointing to the wrong VTEP, a missing peer, a
# learned fdb entry for a remote MAC, a VTEP with MTU 1500, a container MAC not 02:42:<IP>. The
# audit exits 1 with that fault's code, every finding about the faulty objects only, each with its
# fix; the fix (`ovnet-audit --fix | sh`, or per node with --node) is the only repair, and the
# audit is clean after it.
. "$(dirname "$0")/lib.sh"
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OVNET_PYTHON:-/usr/bin/python3}
command -v jq >/dev/null || skip "jq not installed"

BR=ov-001001-7672d VX=vx-001001-7672d VNI=4097
HP="$P-h"
expect_rc 0 "three-host overlay built (underlay, bridge | vtep, containers, peers)" three_hosts_build

# ---- ovnet-inspect --host-prefix: one snapshot per host ----
expect_rc 0 "inspect --host-prefix $HP: exit 0" ovnet-inspect --host-prefix "$HP"
cp "$TMP/out" "$TMP/nodes.json"
N=$TMP/nodes.json
assert_eq "$(grep -c '^{' "$N") $(wc -l <"$N")" "3 3" "three documents, one a line"
assert_eq "$(jq -sc 'map(.host)' "$N")" "$(for i in 1 2 3; do h $i; done | jq -R . | jq -sc .)" "hosts h1, h2, h3 in that order"
assert_eq "$(jq -sc 'map(.schema) | unique' "$N")" '["ovnet-inspect/1"]' "every document is an ovnet-inspect/1 snapshot"
for i in 1 2 3; do
  doc=$(jq -sc --argjson i "$((i-1))" '.[$i]' "$N")
  assert_eq "$(jq -c '.netns | keys' <<<"$doc")" "$(printf '%s\n' "$(c $i)" "$(h $i)" | sort | jq -R . | jq -sc .)" \
    "h$i: the host and its container, not the underlay nor the other hosts"
  net=$(jq -c --argjson v $VNI '[.networks[] | select(.vni == $v)]' <<<"$doc")
  assert_eq "$(jq -c '[.[] | [.netns, .bridge, .vtep, .local]]' <<<"$net")" "[[\"$(h $i)\",\"$BR\",\"$VX\",\"192.0.2.1$i\"]]" \
    "h$i: one network with VNI $VNI, in h$i"
  assert_eq "$(jq -c '[.[0].endpoints[] | [.sandbox, .mac]]' <<<"$net")" "[[\"$(c $i)\",\"02:42:0a:00:00:0$((i+1))\"]]" \
    "h$i: its endpoint is c$i, with its MAC"
  want=$(for j in 1 2 3; do [ $i = $j ] || echo "192.0.2.1$j"; done | jq -R . | jq -sc .)
  assert_eq "$(jq -c '.[0].peer_hosts' <<<"$net")" "$want" "h$i: the two other hosts are its peer hosts"
done
if "$PY" -c 'import jsonschema' 2>/dev/null; then
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" inspect "$N" >"$TMP/verr" 2>&1; then
    pass "the three snapshots are valid against schema/inspect.schema.json"
  else fail "a snapshot is not valid against the schema:"; head -20 "$TMP/verr"; fi
else
  echo "# python3-jsonschema not installed: schema check not run"
fi
expect_rc 0 "inspect --host-prefix -t: exit 0" ovnet-inspect --host-prefix "$HP" -t
assert_eq "$(grep '^== node ' <<<"$OUT")" "$(for i in 1 2 3; do echo "== node $(h $i)"; done)" "summary: one '== node HOST' section per host"
assert_eq "$(grep -c '(vni 4097)' <<<"$OUT")" 3 "summary: the network in each section"
expect_rc 0 "inspect --host-prefix -p: exit 0" ovnet-inspect --host-prefix "$HP" -p
assert_eq "$(jq -s 'length' <<<"$OUT")" 3 "-p: three pretty documents"
expect_rc 2 "a prefix that matches nothing: exit 2" ovnet-inspect --host-prefix "$P-nothing"
assert_one_line "$ERR" "a prefix that matches nothing: one line"
assert_contains "$ERR" "\"$P-nothing\"" "a prefix that matches nothing: stderr names it"
expect_rc 2 "--host-prefix with -n: exit 2" ovnet-inspect --host-prefix "$HP" -n "$(h 1)"
assert_one_line "$ERR" "--host-prefix with -n: one line"

# ---- the audit ----
command -v ovnet-audit >/dev/null || { fail "ovnet-audit not built: the audit checks were not run"; done_testing; exit; }

# audit: inspects the hosts and audits them ($TMP/snaps.json, the report in $TMP/report.json, its
# exit status in $ARC).
audit() {
  ovnet-inspect --host-prefix "$HP" >"$TMP/snaps.json" 2>"$TMP/ierr" || fail "inspect --host-prefix: $(cat "$TMP/ierr")"
  ovnet-audit <"$TMP/snaps.json" >"$TMP/report.json" 2>"$TMP/aerr"
  ARC=$?
}
# expect_clean WHAT: the audit exits 0 with no finding.
expect_clean() {
  audit
  if [ "$ARC" = 0 ] && [ "$(jq -c '[(.findings | length), .summary.error, .summary.warning, .summary.info]' "$TMP/report.json")" = "[0,0,0,0]" ]
  then pass "$1: audit clean (exit 0, no finding)"
  else fail "$1: audit exit $ARC, wanted 0 and no finding: $(cat "$TMP/aerr") $(jq -c '.findings' "$TMP/report.json" 2>/dev/null)"; fi
}
# fdb_state HOST: the VTEP's fdb and neighbor tables, as sets.
fdb_state() {
  bridge -n "$1" -j fdb show dev "$VX" | jq -S 'map(select(.state == "permanent" or .dst != null)) | sort_by(tostring)'
  ip -n "$1" -j neigh show dev "$VX" | jq -S 'sort_by(tostring)'
}
# expect_fault NAME CODE NEEDLE...: the audit exits 1, reports CODE, every finding concerns the
# faulty objects (its objects or message hold a NEEDLE) and has a fix.
expect_fault() {
  local what=$1 code=$2; shift 2
  audit
  assert_eq "$ARC" 1 "$what: audit exits 1"
  assert_contains "$(jq -c '[.findings[].code]' "$TMP/report.json")" "\"$code\"" "$what: reported as $code"
  local needles unrelated
  needles=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
  unrelated=$(jq -c --argjson n "$needles" '[.findings[] | select(((.objects + [.message]) | join(" ")) as $t
      | [$n[] | . as $x | $t | contains($x)] | any | not)]' "$TMP/report.json")
  assert_eq "$unrelated" "[]" "$what: no finding about unrelated objects"
  echo "# $what: findings $(jq -c '[.findings[] | [.code, .severity, .nodes]]' "$TMP/report.json")"
  assert_eq "$(jq -c '[.findings[] | select(.fix == null or .fix == [])] | length' "$TMP/report.json")" 0 "$what: every finding has its fix"
  assert_eq "$(jq -c '[.findings[].nodes[]] | unique | map(startswith("'"$HP"'")) | all' "$TMP/report.json")" true \
    "$what: the findings name the nodes by their host namespaces"
}
# fix NAME [NODE...]: runs `ovnet-audit --fix` (per node with --node when NODEs are given) on the
# nodes, as sh would on each of them.
fix() {
  local what=$1; shift
  if [ $# = 0 ]; then
    ovnet-audit --fix <"$TMP/snaps.json" >"$TMP/fix.sh" 2>"$TMP/ferr"
    [ $? != 2 ] || fail "$what: --fix: $(cat "$TMP/ferr")"
  else
    : >"$TMP/fix.sh"
    local n
    for n in "$@"; do
      ovnet-audit --fix --node "$n" <"$TMP/snaps.json" >"$TMP/fix-node.sh" 2>"$TMP/ferr"
      [ $? != 2 ] || fail "$what: --fix --node $n: $(cat "$TMP/ferr")"
      assert_eq "$(grep '^# node ' "$TMP/fix-node.sh" | sort -u)" "# node $n" "$what: --fix --node $n: that node's part only"
      cat "$TMP/fix-node.sh" >>"$TMP/fix.sh"
    done
  fi
  echo "# $what: the fix"; sed 's/^/#   /' "$TMP/fix.sh"
  if sh -e "$TMP/fix.sh" >"$TMP/fixout" 2>&1; then pass "$what: the fix script runs (sh -e)"
  else fail "$what: the fix script failed: $(cat "$TMP/fixout")"; fi
}

H1=$(h 1) H2=$(h 2) C2=$(c 2)
run bash -c 'set -o pipefail; ovnet-inspect --host-prefix "$1" | ovnet-audit' _ "$HP"
assert_eq "$RC" 0 "ovnet-inspect --host-prefix | ovnet-audit: exit 0"
assert_eq "$(jq -c '[.schema, .nodes, (.findings | length), [.networks[] | [.vni, (.nodes | length)]]]' <<<"$OUT" 2>&1)" \
  "[\"ovnet-audit/1\",$(jq -sc 'map(.host)' "$N"),0,[[$VNI,3]]]" "the report: the three nodes, one network on all three, zero findings"
expect_clean "the built cluster"
fdb_state "$H1" >"$TMP/h1.fdb"

echo "# a stale peer on h1: fdb + neighbor for an endpoint that exists nowhere"
bridge -n "$H1" fdb add 02:42:0a:00:00:63 dev "$VX" dst 192.0.2.13 self permanent
ip -n "$H1" neigh add 10.0.0.99 lladdr 02:42:0a:00:00:63 dev "$VX" nud permanent
expect_fault "stale peer" PEER_STALE 02:42:0a:00:00:63 10.0.0.99
fix "stale peer"
expect_clean "stale peer fixed"
assert_eq "$(fdb_state "$H1")" "$(cat "$TMP/h1.fdb")" "stale peer fixed: h1's fdb and neighbors as built"

echo "# a peer on h1 pointing to the wrong VTEP (c2 behind h3)"
bridge -n "$H1" fdb replace 02:42:0a:00:00:03 dev "$VX" dst 192.0.2.13 self permanent
expect_fault "wrong VTEP" PEER_WRONG_VTEP 02:42:0a:00:00:03 10.0.0.3
fix "wrong VTEP" "$H1"
expect_clean "wrong VTEP fixed (--fix --node h1)"
assert_eq "$(fdb_state "$H1")" "$(cat "$TMP/h1.fdb")" "wrong VTEP fixed: h1's fdb and neighbors as built"

echo "# a missing peer on h1 (c3's fdb entry and neighbor deleted)"
bridge -n "$H1" fdb del 02:42:0a:00:00:04 dev "$VX" dst 192.0.2.13 self
ip -n "$H1" neigh del 10.0.0.4 dev "$VX"
expect_fault "missing peer" PEER_MISSING 02:42:0a:00:00:04 10.0.0.4
fix "missing peer"
expect_clean "missing peer fixed"
assert_eq "$(fdb_state "$H1")" "$(cat "$TMP/h1.fdb")" "missing peer fixed: h1's fdb and neighbors as built"

echo "# a learned entry on h1 for c2's MAC (moby/moby #31588: the permanent one is gone, a dynamic one in its place)"
bridge -n "$H1" fdb replace 02:42:0a:00:00:03 dev "$VX" dst 192.0.2.12 self dynamic
assert_eq "$(ovnet-fdb -n "$H1" show -j | jq -c 'map(select(.mac == "02:42:0a:00:00:03") | .status)')" '["learned"]' \
  "h1: c2's MAC is a learned entry"
expect_fault "learned entry" LEARNED_SHADOWS_PERMANENT 02:42:0a:00:00:03 10.0.0.3
fix "learned entry"
expect_clean "learned entry fixed"
assert_eq "$(fdb_state "$H1")" "$(cat "$TMP/h1.fdb")" "learned entry fixed: h1's fdb and neighbors as built"

echo "# h2's VTEP with MTU 1500 (the overlay allows 1450 on a 1500 underlay)"
ip -n "$H2" link set "$VX" mtu 1500
expect_fault "VTEP MTU 1500" MTU_TOO_LARGE "$VX"
fix "VTEP MTU 1500"
expect_clean "VTEP MTU fixed"
assert_eq "$(ip -n "$H2" -j link show "$VX" | jq '.[0].mtu')" 1450 "VTEP MTU fixed: 1450 again"

echo "# c2's MAC not 02:42:<its IP>"
ip -n "$C2" link set eth0 address 02:00:de:ad:00:03 2>/dev/null || {
  ip -n "$C2" link set eth0 down && ip -n "$C2" link set eth0 address 02:00:de:ad:00:03 && ip -n "$C2" link set eth0 up; }
expect_fault "container MAC" MAC_NOT_0242_IP 02:00:de:ad:00:03 02:42:0a:00:00:03 10.0.0.3 "$C2"
fix "container MAC"
expect_clean "container MAC fixed"
assert_eq "$(ip -n "$C2" -j link show eth0 | jq -r '.[0].address')" 02:42:0a:00:00:03 "container MAC fixed: 02:42:0a:00:00:03 again"
for i in 1 3; do
  assert_eq "$(ovnet-fdb -n "$(h $i)" show -j | jq -c 'map(select(.ip == "10.0.0.3") | [.status, .mac, .vtep])')" \
    '[["peer","02:42:0a:00:00:03","192.0.2.12"]]' "container MAC fixed: h$i's peer for 10.0.0.3 as built"
done

done_testing
