#!/bin/bash
# schema: the real output of every tool that runs on this kernel, validated against schema/ (JSON
# Schema, with tests/schema/validate.py): show -j of ovnet-bridge, ovnet-vtep, ovnet-sbox (all
# sandboxes and one), ovnet-fdb show and local; the object or change report every mutating verb
# prints (add, connect, attach, detach, apply, disconnect, del); the bulk ovnet-fdb apply report.
# And the round trips: `show -j | apply` of bridges, VTEPs and peers changes nothing (report all
# unchanged, no write) and the next show equals the one before; endpoints derived from
# `ovnet-sbox show -j` re-applied change nothing. The overlay is two hosts of the deep dive (h1,
# h2 on an underlay bridge, one container each); the verbs' reports come from a scratch namespace.
# IPVS, ovnet-lb and ovnet-publish need the VM: tests/vm/bodies/schema.sh.
. "$(dirname "$0")/lib.sh"
exec </dev/null   # no command below reads stdin unless the test feeds it explicitly
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OVNET_PYTHON:-/usr/bin/python3}
command -v jq >/dev/null || skip "jq not installed"
"$PY" -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed ($PY)"

BR=ov-001001-7672d VX=vx-001001-7672d
UL=$(ns ul) H1=$(ns h1) H2=$(ns h2) C1=$(ns c1) C2=$(ns c2) X=$(ns x) E=$(ns e)

# check_doc SCHEMA WHAT FILE: the JSON in FILE is valid against SCHEMA (validate.py's syntax).
check_doc() {
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" "$1" "$3" >"$TMP/verr" 2>&1; then pass "$2: valid $1"
  else fail "$2: not a valid $1:"; sed 's/^/    /' "$TMP/verr"; fi
}
# valid SCHEMA WHAT CMD...: CMD exits 0 and its stdout is valid against SCHEMA (kept in $OUT).
N=0
valid() {
  local schema=$1 what=$2; shift 2
  run "$@"
  if [ "$RC" != 0 ]; then fail "$what: exit $RC: $ERR"; return; fi
  N=$((N + 1)); printf '%s\n' "$OUT" >"$TMP/doc.$N"
  check_doc "$schema" "$what" "$TMP/doc.$N"
}
# valid_in SCHEMA WHAT IN CMD...: the same, with stdin from the file IN.
valid_in() {
  local schema=$1 what=$2 in=$3; shift 3
  valid "$schema" "$what" bash -c '"$@" <"$0"' "$in" "$@"
}
# all_unchanged: the small report in $OUT lists nothing but "unchanged".
all_unchanged() {
  assert_eq "$(jq -c '[.[].action] | unique' <<<"$OUT")" '["unchanged"]' "$1: every change is \"unchanged\""
}

# ---- the overlay, every step's JSON validated -----------------------------------------------------
valid sandbox "sbox add (no bridge)" ovnet-sbox add "$UL" -j
valid bridge "bridge add" ovnet-bridge -n "$UL" add ul0 -j
for i in 1 2; do
  H=$(ns h$i) C=$(ns c$i)
  valid sandbox "sbox connect h$i to the underlay" ovnet-sbox -n "$UL" connect "$H" --bridge ul0 --ip 192.0.2.1$i/24 -j
  valid bridge "h$i: bridge add $BR" ovnet-bridge -n "$H" add $BR --mtu 1450 -j
  printf '%s\n' "$OUT" >"$TMP/br.h$i"
  valid_in vtep "h$i: bridge add -j | vtep add" "$TMP/br.h$i" ovnet-vtep add --vni 4097 --local 192.0.2.1$i -j
  valid sandbox "h$i: sbox connect c$i" ovnet-sbox -n "$H" connect "$C" --bridge $BR --ip 10.0.0.$((i + 1))/24 --gw 10.0.0.1 -j
done

# ---- views -----------------------------------------------------------------------------------------
valid 'bridge[]' "bridge show (h1)" ovnet-bridge -n "$H1" show -j
valid 'bridge[]' "bridge show (underlay, a port per host)" ovnet-bridge -n "$UL" show -j
valid 'bridge[]' "bridge show NAME" ovnet-bridge -n "$H1" show $BR -j
valid 'vtep[]' "vtep show" ovnet-vtep -n "$H1" show -j
valid 'vtep[]' "vtep show NAME" ovnet-vtep -n "$H1" show $VX -j
valid 'sandbox[]' "sbox show (every sandbox on this machine)" ovnet-sbox show -j
valid 'sandbox[]' "sbox show c1" ovnet-sbox show "$C1" -j
assert_eq "$(jq -c '.[0].routes | map(.dst)' <<<"$OUT")" '["default","10.0.0.0/24"]' "sbox show c1: a default route and the connected one"
valid 'sandbox[]' "sbox show h1 (two interfaces' peers in other namespaces)" ovnet-sbox show "$H1" -j

# ---- peers -----------------------------------------------------------------------------------------
valid 'peer[]' "fdb local (h2)" ovnet-fdb -n "$H2" local -j
printf '%s\n' "$OUT" >"$TMP/local.h2"
valid 'peer[]' "fdb local (h1)" ovnet-fdb -n "$H1" local -j
printf '%s\n' "$OUT" >"$TMP/local.h1"
valid_in fdb-apply-report "fdb local | apply (h1)" "$TMP/local.h2" ovnet-fdb -n "$H1" apply -j
assert_eq "$(jq -c '.summary | [.added, .writes > 0]' <<<"$OUT")" '[1,true]' "fdb apply: one peer added"
valid_in fdb-apply-report "fdb local | apply (h2)" "$TMP/local.h1" ovnet-fdb -n "$H2" apply -j
valid_in fdb-apply-report "fdb local | apply again (h1)" "$TMP/local.h2" ovnet-fdb -n "$H1" apply -j
assert_eq "$(jq -c '[.summary.writes, (.changes | length)]' <<<"$OUT")" '[0,0]' "fdb apply again: no write, no change"
# Every status show can print: an fdb-only and a neigh-only entry, a learned one (iproute2: a
# dynamic entry), besides the peer and the device's own (local).
printf '%s\n' '{"mac":"02:42:0a:00:00:50","vtep":"192.0.2.50"}' '{"ip":"10.0.0.60","mac":"02:42:0a:00:00:3c"}' >"$TMP/odd"
valid_in fdb-apply-report "fdb apply an fdb-only and a neigh-only entry" "$TMP/odd" ovnet-fdb -n "$H1" apply -j
bridge -n "$H1" fdb add 02:42:0a:00:00:63 dev $VX dst 192.0.2.99 self dynamic
valid 'peer[]' "fdb show" ovnet-fdb -n "$H1" show -j
assert_eq "$(jq -c 'map(.status) | unique' <<<"$OUT")" '["fdb-only","learned","local","neigh-only","peer"]' \
  "fdb show holds every status but endpoint"
valid 'peer[]' "fdb show -p (the DOM writer)" ovnet-fdb -n "$H1" show -p
valid change-report "fdb add" ovnet-fdb -n "$H1" add --ip 10.0.0.70 --vtep 192.0.2.70 -j
assert_eq "$(jq -r '.[0].action' <<<"$OUT")" added "fdb add: added"
valid change-report "fdb add again" ovnet-fdb -n "$H1" add --ip 10.0.0.70 --vtep 192.0.2.70 -j
all_unchanged "fdb add again"
valid change-report "fdb del" ovnet-fdb -n "$H1" del --ip 10.0.0.70 -j
assert_eq "$(jq -c 'map(.action)' <<<"$OUT")" '["removed","removed"]' "fdb del: the fdb entry and the neighbor"
valid change-report "fdb del again" ovnet-fdb -n "$H1" del --ip 10.0.0.70 -j
all_unchanged "fdb del again"

# ---- round trips: show -j | apply changes nothing, and show is the same after ---------------------
# roundtrip TOOL NS SCHEMA: `TOOL -n NS show -j | TOOL apply -j` (apply without -n: it works where
# the objects say) validates, reports nothing changed, and the next show equals the first.
roundtrip() {
  local tool=$1 n=$2 schema=$3 what="$1 show -j | apply ($2)"
  $tool -n "$n" show -j >"$TMP/rt.before" || { fail "$what: show failed"; return; }
  check_doc "$schema" "$what: show" "$TMP/rt.before"
  valid change-report "$what" bash -c "$tool apply -j <\"\$0\"" "$TMP/rt.before"
  all_unchanged "$what"
  assert_contains "$ERR" "nothing changed" "$what: says nothing changed"
  assert_eq "$($tool -n "$n" show -j)" "$(cat "$TMP/rt.before")" "$what: show after == show before"
}
roundtrip ovnet-bridge "$H1" 'bridge[]'
roundtrip ovnet-bridge "$UL" 'bridge[]'
roundtrip ovnet-vtep "$H1" 'vtep[]'
ovnet-fdb -n "$H1" show -j >"$TMP/fdb.before"
valid_in fdb-apply-report "fdb show -j | apply" "$TMP/fdb.before" ovnet-fdb -n "$H1" apply -j
assert_eq "$(jq -c '[.summary.added, .summary.replaced, .summary.removed, .summary.writes, (.changes | length)]' <<<"$OUT")" \
  '[0,0,0,0,0]' "fdb show -j | apply: nothing added, replaced or removed, no write"
assert_eq "$(jq .summary.unchanged <<<"$OUT")" "$(jq 'map(select(.status == "peer" or .status == "fdb-only" or .status == "neigh-only")) | length' "$TMP/fdb.before")" \
  "fdb show -j | apply: every peer, fdb-only and neigh-only row unchanged (learned and local skipped)"
assert_eq "$(ovnet-fdb -n "$H1" show -j)" "$(cat "$TMP/fdb.before")" "fdb show after == show before"
valid_in fdb-apply-report "fdb show -j | apply --prune (the set is the table)" "$TMP/fdb.before" ovnet-fdb -n "$H1" apply --prune -j
assert_eq "$(jq -c '[.summary.removed, .summary.writes]' <<<"$OUT")" '[0,0]' "fdb show -j | apply --prune: nothing removed, no write"

# Sandboxes: apply reads endpoints, not sandboxes; the endpoints a sandbox's show describes, applied
# again, change nothing.
ovnet-sbox show "$C1" -j | jq '.[] | .name as $s | (.routes | map(select(.dst == "default"))[0].gateway) as $gw |
  .interfaces[] | select(.peer.bridge != "" and .peer != null) |
  {sandbox: $s, bridge: .peer.bridge, ip: .addresses[0], mac, ifname, host_ifname: .peer.ifname, mtu} +
  (if $gw then {gateway: $gw} else {} end)' >"$TMP/endpoints"
check_doc endpoint "endpoints derived from sbox show c1" "$TMP/endpoints"
assert_eq "$(jq -s length "$TMP/endpoints")" 1 "sbox show c1 describes one endpoint"
valid_in change-report "sbox apply (endpoints from show)" "$TMP/endpoints" ovnet-sbox -n "$H1" apply -j
all_unchanged "sbox show -j | endpoints | apply"
assert_contains "$ERR" "nothing changed" "sbox apply of its own endpoints: says nothing changed"

# ---- every other mutating verb's JSON, in a scratch namespace --------------------------------------
valid sandbox "sbox add x" ovnet-sbox add "$X" -j
ip -n "$X" link add p0 type veth peer name p1
valid bridge "bridge add with an address" ovnet-bridge -n "$X" add br0 --addr 10.9.0.1/24 --mtu 1400 -j
valid bridge "bridge attach" ovnet-bridge -n "$X" attach br0 p0 -j
assert_eq "$(jq -c '.ports | map(.name)' <<<"$OUT")" '["p0"]' "attach: p0 is a port"
valid bridge "bridge detach" ovnet-bridge -n "$X" detach br0 p0 -j
# The kernel gives a bridge whose last port left the MAC 00:00:00:00:00:00: shown so, and applied
# back by the round trip below without being refused as a MAC to set.
assert_eq "$(jq -r .mac <<<"$OUT")" 00:00:00:00:00:00 "detach: a bridge without ports shows the kernel's zero MAC"
printf '%s\n' '{"name":"br1","mtu":1500,"ports":["p0"]}' '{"name":"br2","addresses":["fd00::1/64"]}' >"$TMP/brspec"
check_doc 'bridge#/$defs/spec' "bridge specs" "$TMP/brspec"
valid_in change-report "bridge apply (two specs)" "$TMP/brspec" ovnet-bridge -n "$X" apply -j
valid_in 'bridge[]' "bridge add with two objects on stdin (prints an array)" "$TMP/brspec" ovnet-bridge -n "$X" add -j
valid vtep "vtep add" ovnet-vtep -n "$X" add vx0 --vni 100 --master br1 --dev p1 -j
printf '%s\n' '{"name":"vx1","vni":101,"port":8472,"learning":true,"ttl":64}' >"$TMP/vxspec"
check_doc 'vtep#/$defs/spec' "vtep spec" "$TMP/vxspec"
valid_in change-report "vtep apply" "$TMP/vxspec" ovnet-vtep -n "$X" apply -j
roundtrip ovnet-vtep "$X" 'vtep[]'
roundtrip ovnet-bridge "$X" 'bridge[]'
valid change-report "vtep del" ovnet-vtep -n "$X" del vx0 vx1 -j
valid change-report "vtep del again" ovnet-vtep -n "$X" del vx0 -j
all_unchanged "vtep del again"
valid change-report "bridge del" ovnet-bridge -n "$X" del br1 br2 -j
valid change-report "bridge del again" ovnet-bridge -n "$X" del br1 -j
all_unchanged "bridge del again"
printf '%s\n' "{\"sandbox\":\"$E\",\"bridge\":\"br0\",\"ip\":\"10.9.0.2/24\",\"gateway\":\"10.9.0.1\",\"mtu\":1400,\"sysctls\":{\"net.ipv4.ip_forward\":1}}" \
  "{\"sandbox\":\"$E\",\"bridge\":\"br0\",\"ip\":\"fd00::2/64\",\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"eth1\",\"host_ifname\":\"vethe6\"}" >"$TMP/ep"
check_doc endpoint "endpoint specs" "$TMP/ep"
valid_in change-report "sbox apply (two endpoints, sandbox created)" "$TMP/ep" ovnet-sbox -n "$X" apply -j
valid_in change-report "sbox apply again" "$TMP/ep" ovnet-sbox -n "$X" apply -j
all_unchanged "sbox apply again"
valid 'sandbox[]' "sbox show e (IPv4 and IPv6)" ovnet-sbox show "$E" -j
valid change-report "sbox disconnect" ovnet-sbox -n "$X" disconnect "$E" --bridge br0 -j
valid change-report "sbox disconnect again" ovnet-sbox -n "$X" disconnect "$E" --bridge br0 -j
all_unchanged "sbox disconnect again"
valid change-report "sbox del" ovnet-sbox del "$E" "$X" -j
valid change-report "sbox del again" ovnet-sbox del "$E" -j
all_unchanged "sbox del again"

done_testing
