#!/bin/bash
# ovnet-fdb, every verb (show, add, del, apply, local), on VTEPs made by ovnet-vtep, checked against
# the kernel's own tables (ip -j neigh, bridge -j fdb): Docker's peerAdd entries, the joined view,
# batched apply with its summary, round trips through show -j and iproute2's JSON, the
# learning-on bug (moby/moby #31588, #35401), local endpoints, bad input and a kernel refusal.
. "$(dirname "$0")/lib.sh"

BR=ov-001001-7672d VX=vx-001001-7672d
A=$(ns a) B=$(ns b) C=$(ns c) D=$(ns d) L=$(ns l) O=$(ns o) T=$(ns t)

# vtep NS LOCAL [ARGS]: a host namespace with the overlay bridge and its VTEP (learning off).
vtep() {
  local n=$1 local=$2; shift 2
  ovnet-sbox -q add "$n" >/dev/null &&
  ovnet-bridge -q -n "$n" add "$BR" --mtu 1450 -j | ovnet-vtep -q -n "$n" add --vni 4097 --local "$local" "$@" >/dev/null
}
fdb() { bridge -n "$1" -j fdb show dev "${2:-$VX}"; }
neigh() { ip -n "$1" -j neigh show dev "${2:-$VX}"; }
# fdb_of NS MAC: the fdb entries of one MAC, compact.
fdb_of() { fdb "$1" "${3:-$VX}" | jq -c --arg m "$2" 'map(select(.mac == $m) | {mac, dst, flags, state})'; }
neigh_of() { neigh "$1" "${3:-$VX}" | jq -c --arg i "$2" 'map(select(.dst == $i) | {dst, lladdr, state})'; }
# peers NS [DEV]: ovnet-fdb show, sorted, as the fields that describe a peer.
peers() { ovnet-fdb -n "$1" show ${2:+-d "$2"} -j | jq -c 'map(select(.status == "peer") | {ip, mac, vtep}) | sort_by(.mac)'; }
status_of() { ovnet-fdb -n "$1" show -j | jq -c --arg m "$2" 'map(select(.mac == $m)) | map({status, ip, vtep})'; }
# perm_fdb NS DEV: the permanent entries with a remote, as a comparable set.
perm_fdb() { fdb "$1" "${2:-$VX}" | jq -c 'map(select(.state == "permanent" and .dst != null) | {mac, dst, flags}) | sort_by(.mac)'; }
# peer_set N [VTEP_OF_1]: N peers 10.0.1.i / 02:42:0a:00:01:<i> behind 192.0.2.101..105, one JSON object per line.
peer_set() {
  local i
  for i in $(seq 1 "$1"); do
    printf '{"ip": "10.0.1.%d", "mac": "02:42:0a:00:01:%02x", "vtep": "192.0.2.%d"}\n' "$i" "$i" $((101 + i % 5))
  done
}

# settle_snap NS: snapshot after IPv6 DAD is over (the kernel's link-local addresses and routes
# would otherwise appear under the snapshot), into $TMP/NS.snap. Waits up to 60 s (a loaded machine).
settle_snap() {
  local end=$((SECONDS + 60))
  until ip -n "$1" -j addr show | jq -e '[.[].addr_info[] | select(.tentative)] | length == 0' >/dev/null ||
        [ $SECONDS -ge $end ]; do
    sleep 0.1
  done
  snapshot "$1" >"$TMP/$1.snap"
}

echo "# a VTEP made by ovnet-vtep: learning off"
vtep "$A" 192.0.2.11 || fail "setup of $A"
assert_eq "$(ip -n "$A" -d -j link show "$VX" | jq -c '.[0].linkinfo.info_data | [.learning, .proxy, .id]')" \
  '[false,true,4097]' "$VX: learning off, proxy on, VNI 4097"

echo "# add: exactly what Docker's peerAdd programs"
expect_rc 0 "add --ip 10.0.0.3 --vtep 192.0.2.12" ovnet-fdb -n "$A" add --ip 10.0.0.3 --vtep 192.0.2.12
assert_eq "$(neigh_of "$A" 10.0.0.3)" '[{"dst":"10.0.0.3","lladdr":"02:42:0a:00:00:03","state":["PERMANENT"]}]' \
  "neighbor 10.0.0.3 lladdr 02:42:0a:00:00:03 PERMANENT (mac defaults to 02:42:<ip>)"
assert_eq "$(fdb_of "$A" 02:42:0a:00:00:03)" '[{"mac":"02:42:0a:00:00:03","dst":"192.0.2.12","flags":["self"],"state":"permanent"}]' \
  "fdb 02:42:0a:00:00:03 dst 192.0.2.12 self permanent"
expect_rc 0 "add with -d and --mac" ovnet-fdb -n "$A" add -d "$VX" --ip 10.0.0.4 --mac 06:00:00:00:00:04 --vtep 192.0.2.13
assert_eq "$(neigh_of "$A" 10.0.0.4 | jq -r '.[0].lladdr')" 06:00:00:00:00:04 "--mac honoured (neighbor)"
assert_eq "$(fdb_of "$A" 06:00:00:00:00:04 | jq -c 'map([.dst, .state])')" '[["192.0.2.13","permanent"]]' "--mac honoured (fdb)"
settle_snap "$A"
expect_rc 0 "add the same peer again" ovnet-fdb -n "$A" add --ip 10.0.0.3 --vtep 192.0.2.12
assert_contains "$ERR" "nothing changed" "second add: nothing changed"
unchanged_since "$TMP/$A.snap" "$A" "second add: kernel state identical"

echo "# show: peers, fdb-only, neigh-only, learned and the device's own entries"
bridge -n "$A" fdb add 06:00:00:00:00:09 dev "$VX" dst 192.0.2.19 self permanent
ip -n "$A" neigh add 10.0.0.10 lladdr 06:00:00:00:00:0a dev "$VX" nud permanent
bridge -n "$A" fdb add 06:00:00:00:00:0b dev "$VX" dst 192.0.2.20 self dynamic
# Without a state keyword iproute2 assumes "permanent" (bridge/fdb.c), so this one is fdb-only too.
bridge -n "$A" fdb add 06:00:00:00:00:0c dev "$VX" dst 192.0.2.21 self
expect_rc 0 "show -j" ovnet-fdb -n "$A" show -j
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "02:42:0a:00:00:03") | [.status, .ip, .vtep, .fdb_state, .neigh_state]')" \
  '["peer","10.0.0.3","192.0.2.12","permanent","permanent"]' "show: the added peer joins neighbor and fdb entry"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "06:00:00:00:00:04") | [.status, .ip, .vtep]')" \
  '["peer","10.0.0.4","192.0.2.13"]' "show: the second peer"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "06:00:00:00:00:09") | [.status, .ip, .vtep]')" \
  '["fdb-only",null,"192.0.2.19"]' "show: an fdb entry without neighbor is fdb-only"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "06:00:00:00:00:0a") | [.status, .ip, .vtep, .neigh_state]')" \
  '["neigh-only","10.0.0.10",null,"permanent"]' "show: a neighbor without fdb entry is neigh-only"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "06:00:00:00:00:0b") | [.status, .vtep]')" \
  '["learned","192.0.2.20"]' "show: a dynamic fdb entry is learned"
assert_eq "$(fdb_of "$A" 06:00:00:00:00:0b | jq -r '.[0].state')" "" "kernel: that entry is not permanent"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.mac == "06:00:00:00:00:0c") | [.status, .fdb_state]')" \
  '["fdb-only","permanent"]' "show: 'bridge fdb add ... self' without a state is permanent, hence fdb-only"
OWN=$(ip -n "$A" -j link show "$VX" | jq -r '.[0].address')
assert_eq "$(echo "$OUT" | jq -c --arg m "$OWN" '[.[] | select(.mac == $m) | .status]')" '["local"]' \
  "show: the device's own MAC (bridge entry) is local"
assert_eq "$(echo "$OUT" | jq 'length')" \
  "$(( $(fdb "$A" | jq length) + $(neigh "$A" | jq 'map(select(.lladdr != null and .dst != "10.0.0.3" and .dst != "10.0.0.4")) | length') ))" \
  "show: one row per fdb entry plus one per unmatched neighbor"

echo "# del: by --mac and by --ip, both entries go"
expect_rc 0 "del --mac 06:00:00:00:00:04" ovnet-fdb -n "$A" del --mac 06:00:00:00:00:04
assert_eq "$(fdb_of "$A" 06:00:00:00:00:04)$(neigh_of "$A" 10.0.0.4)" "[][]" "del --mac: fdb and neighbor entries gone"
expect_rc 0 "del --ip 10.0.0.3" ovnet-fdb -n "$A" del --ip 10.0.0.3
assert_eq "$(fdb_of "$A" 02:42:0a:00:00:03)$(neigh_of "$A" 10.0.0.3)" "[][]" "del --ip: fdb and neighbor entries gone"
assert_eq "$(status_of "$A" 06:00:00:00:00:09 | jq -r '.[0].status')" fdb-only "del left the other entries alone"
settle_snap "$A"
expect_rc 0 "del --ip 10.0.0.3 again" ovnet-fdb -n "$A" del --ip 10.0.0.3
assert_contains "$ERR" "nothing changed" "second del: nothing changed"
expect_rc 0 "del --mac 06:00:00:00:00:04 again" ovnet-fdb -n "$A" del --mac 06:00:00:00:00:04
assert_contains "$ERR" "nothing changed" "second del --mac: nothing changed"
unchanged_since "$TMP/$A.snap" "$A" "second del: kernel state identical"

echo "# apply: 50 peers in one run, a no-write rerun, one replace, prune"
vtep "$B" 192.0.2.11 || fail "setup of $B"
bridge -n "$B" fdb add 06:00:00:00:00:bb dev "$VX" dst 192.0.2.88 self dynamic     # learned, must survive prune
peer_set 50 >"$TMP/50.json"
run ovnet-fdb -n "$B" apply <"$TMP/50.json"
assert_eq "$RC" 0 "apply 50 peers: exit 0"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .unchanged]')" '[50,0,0,0]' "apply: summary.added == 50"
assert_eq "$(peers "$B" | jq length)" 50 "show: 50 peers"
assert_eq "$(peers "$B")" "$(jq -sc 'sort_by(.mac)' "$TMP/50.json")" "show: the peers are exactly the set"
assert_eq "$(neigh "$B" | jq 'map(select(.state == ["PERMANENT"])) | length')" 50 "kernel: 50 permanent neighbors"
assert_eq "$(perm_fdb "$B" | jq length)" 50 "kernel: 50 permanent fdb entries with a remote"
settle_snap "$B"
run ovnet-fdb -n "$B" apply <"$TMP/50.json"
assert_eq "$RC" 0 "re-apply: exit 0"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .unchanged, .writes]')" '[0,0,0,50,0]' \
  "re-apply: 50 unchanged, summary.writes == 0"
assert_contains "$ERR" "no write issued" "re-apply: 'no write issued'"
unchanged_since "$TMP/$B.snap" "$B" "re-apply: kernel state identical"
sed 's/"10.0.1.7", \(.*\)"192.0.2.[0-9]*"/"10.0.1.7", \1"192.0.2.77"/' "$TMP/50.json" >"$TMP/50b.json"
run ovnet-fdb -n "$B" apply <"$TMP/50b.json"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .unchanged]')" '[0,1,0,49]' "changed vtep: replaced == 1"
assert_eq "$(echo "$OUT" | jq -c '.changes | map([.action, .ip, .vtep])')" '[["replaced","10.0.1.7","192.0.2.77"]]' \
  "changed vtep: the change names that peer"
assert_eq "$(fdb_of "$B" 02:42:0a:00:01:07 | jq -c 'map([.dst, .state])')" '[["192.0.2.77","permanent"]]' \
  "kernel: exactly one entry for that MAC, with the new dst"
assert_eq "$(diff <(jq -sc 'sort_by(.mac)[]' "$TMP/50b.json") <(peers "$B" | jq -c '.[]') && echo same)" same \
  "show: the other 49 peers untouched"
grep -v -e '"10.0.1.20"' -e '"10.0.1.30"' "$TMP/50b.json" >"$TMP/48.json"
settle_snap "$B"
run ovnet-fdb -n "$B" apply <"$TMP/48.json"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .unchanged, .writes]')" '[0,0,0,48,0]' \
  "48 of them without --prune: nothing removed, no write"
unchanged_since "$TMP/$B.snap" "$B" "without --prune: kernel state identical"
run ovnet-fdb -n "$B" apply --prune <"$TMP/48.json"
assert_eq "$RC" 0 "with --prune: exit 0"
assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .unchanged]')" '[0,0,2,48]' "with --prune: removed == 2"
assert_eq "$(echo "$OUT" | jq -c '.changes | map(.ip) | sort')" '["10.0.1.20","10.0.1.30"]' "with --prune: the two dropped peers"
assert_eq "$(peers "$B")" "$(jq -sc 'sort_by(.mac)' "$TMP/48.json")" "with --prune: exactly the 48 remain"
assert_eq "$(fdb_of "$B" 02:42:0a:00:01:14)$(fdb_of "$B" 02:42:0a:00:01:1e)$(neigh_of "$B" 10.0.1.20)$(neigh_of "$B" 10.0.1.30)" \
  "[][][][]" "kernel: their fdb and neighbor entries are gone"
assert_eq "$(fdb_of "$B" 06:00:00:00:00:bb | jq -c 'map(.dst)')" '["192.0.2.88"]' "the learned entry survives --prune"
OWNB=$(ip -n "$B" -j link show "$VX" | jq -r '.[0].address')
assert_eq "$(fdb_of "$B" "$OWNB" | jq length)" 1 "the device's own (bridge) entry survives --prune"
run ovnet-fdb -n "$B" apply --prune <"$TMP/48.json"
assert_eq "$(echo "$OUT" | jq -c '.summary.writes')" 0 "prune rerun: no write"

echo "# apply reads its own show -j and iproute2's bridge -j fdb show"
vtep "$C" 192.0.2.12 || fail "setup of $C"
ovnet-fdb -n "$B" show -j >"$TMP/show.json"
expect_rc 0 "show -j of $B | apply on $C" ovnet-fdb -n "$C" apply <"$TMP/show.json"
assert_eq "$(echo "$OUT" | jq .summary.added)" 48 "round trip: 48 added (learned and local rows skipped)"
assert_eq "$(peers "$C")" "$(peers "$B")" "round trip: $C's peers equal $B's"
assert_eq "$(fdb_of "$C" 06:00:00:00:00:bb)" "[]" "round trip: the learned entry is not copied"
vtep "$D" 192.0.2.13 || fail "setup of $D"
fdb "$B" >"$TMP/ipr.json"
assert_eq "$(jq 'map(select(.dst == null or .state != "permanent")) | length' "$TMP/ipr.json")" 2 \
  "(the iproute2 dump holds 2 entries to skip: the device's own and the learned one)"
expect_rc 0 "bridge -j fdb show of $B | apply on $D" ovnet-fdb -n "$D" apply <"$TMP/ipr.json"
assert_eq "$(echo "$OUT" | jq .summary.added)" 48 "iproute2 input: 48 added"
assert_eq "$(perm_fdb "$D")" "$(perm_fdb "$B")" "iproute2 input: $D's fdb table equals $B's"
assert_eq "$(fdb "$D" | jq 'map(select(.dst != null)) | length')" 48 "iproute2 input: no dynamic entry copied"
assert_eq "$(neigh "$D" | jq length)" 0 "iproute2 input: fdb only, no neighbors"
run ovnet-fdb -n "$D" apply <"$TMP/ipr.json"
assert_eq "$(echo "$OUT" | jq .summary.writes)" 0 "iproute2 input: rerun writes nothing"

echo "# learning on (moby/moby #31588, #35401): a learned entry must not block the permanent one"
ovnet-sbox -q add "$L" >/dev/null
ovnet-vtep -q -n "$L" add vxl --vni 42 --local 192.0.2.21 --learning >/dev/null
assert_eq "$(ip -n "$L" -d -j link show vxl | jq '.[0].linkinfo.info_data.learning')" true "vxl: learning on"
bridge -n "$L" fdb add 02:42:0a:00:00:05 dev vxl dst 192.0.2.99 self dynamic
bridge -n "$L" fdb add 02:42:0a:00:00:06 dev vxl dst 192.0.2.98 self dynamic
assert_eq "$(fdb_of "$L" 02:42:0a:00:00:05 vxl | jq -c 'map([.dst, .state])')" '[["192.0.2.99",""]]' "a learned entry for 02:42:0a:00:00:05"
run bridge -n "$L" fdb add 02:42:0a:00:00:05 dev vxl dst 192.0.2.12 self permanent
assert_eq "$RC" 255 "(the naive 'bridge fdb add ... permanent' fails, as Docker's did)"
expect_rc 0 "add the peer with that MAC behind 192.0.2.12" ovnet-fdb -n "$L" add --ip 10.0.0.5 --vtep 192.0.2.12
assert_eq "$(fdb_of "$L" 02:42:0a:00:00:05 vxl | jq -c 'map([.dst, .state, .flags])')" '[["192.0.2.12","permanent",["self"]]]' \
  "exactly one permanent entry with the new dst"
assert_eq "$(neigh_of "$L" 10.0.0.5 vxl | jq -c 'map(.state)')" '[["PERMANENT"]]' "and the permanent neighbor"
echo '{"ip": "10.0.0.6", "mac": "02:42:0a:00:00:06", "vtep": "192.0.2.13"}' >"$TMP/l.json"
expect_rc 0 "apply a peer over the other learned entry" ovnet-fdb -n "$L" apply <"$TMP/l.json"
assert_eq "$(fdb_of "$L" 02:42:0a:00:00:06 vxl | jq -c 'map([.dst, .state])')" '[["192.0.2.13","permanent"]]' \
  "apply: exactly one permanent entry with the new dst"
assert_eq "$(ovnet-fdb -n "$L" show -j | jq -c 'map(select(.mac | startswith("02:42:0a:00:00:0")) | .status) | sort')" \
  '["peer","peer"]' "show: both are peers now"

echo "# local: a host's endpoints, piped into another host's VTEP"
SB1=$(ns s1) SB2=$(ns s2)
ovnet-sbox -q -n "$A" connect "$SB1" --bridge "$BR" --ip 10.0.0.2/24 >/dev/null
ovnet-sbox -q -n "$A" connect "$SB2" --bridge "$BR" --ip 10.0.0.33/24 --mac 06:00:00:00:00:21 >/dev/null
expect_rc 0 "local on $A" ovnet-fdb -n "$A" local -j
want=$(jq -cn --arg m1 "$(ip -n "$SB1" -j link show eth0 | jq -r '.[0].address')" \
              --arg m2 "$(ip -n "$SB2" -j link show eth0 | jq -r '.[0].address')" \
  '[{status: "endpoint", ip: "10.0.0.2", mac: $m1, vtep: "192.0.2.11"},
    {status: "endpoint", ip: "10.0.0.33", mac: $m2, vtep: "192.0.2.11"}]')
assert_eq "$(echo "$OUT" | jq -c 'map({status, ip, mac, vtep}) | sort_by(.ip)')" "$want" \
  "local: both endpoints with the sandboxes' MACs and vtep 192.0.2.11"
ovnet-sbox -q add "$O" >/dev/null; ovnet-vtep -q -n "$O" add vxo --vni 4097 --local 192.0.2.12 >/dev/null
run bash -c "ovnet-fdb -n '$A' local | ovnet-fdb -n '$O' apply"
assert_eq "$RC" 0 "local | apply on $O: exit 0"
assert_eq "$(peers "$O" vxo)" "$(echo "$want" | jq -c 'map({ip, mac, vtep}) | sort_by(.mac)')" "$O has both endpoints as peers"
assert_eq "$(neigh_of "$O" 10.0.0.33 vxo | jq -c 'map([.lladdr, .state])')" '[["06:00:00:00:00:21",["PERMANENT"]]]' \
  "kernel on $O: neighbor 10.0.0.33 -> 06:00:00:00:00:21"
assert_eq "$(fdb_of "$O" 06:00:00:00:00:21 vxo | jq -c 'map([.dst, .state])')" '[["192.0.2.11","permanent"]]' \
  "kernel on $O: fdb 06:00:00:00:00:21 -> 192.0.2.11"
expect_rc 0 "local --vtep 192.0.2.111" ovnet-fdb -n "$A" local --vtep 192.0.2.111
assert_eq "$(echo "$OUT" | jq -c 'map(.vtep) | unique')" '["192.0.2.111"]' "local --vtep overrides the advertised address"

echo "# bad input: exit 2, one line naming field and value, nothing changed"
ovnet-sbox -q add "$T" >/dev/null
ovnet-vtep -q -n "$T" add vxt1 --vni 11 --local 192.0.2.31 >/dev/null
ovnet-vtep -q -n "$T" add vxt2 --vni 12 --local 192.0.2.31 >/dev/null
settle_snap "$B"; settle_snap "$T"
BADN=0
# bad DESC FIELD VALUE JSON [ARGS...]: apply JSON on $B (or $BAD_NS).
bad() {
  local what=$1 field=$2 value=$3 input=$4 n=${BAD_NS:-$B}; shift 4
  BADN=$((BADN+1))
  run ovnet-fdb -n "$n" apply "$@" <<<"$input"
  assert_eq "$RC" 2 "bad $what: exit 2"
  assert_one_line "$ERR" "bad $what: one line on stderr"
  assert_contains "$ERR" "$field" "bad $what: stderr names the field ($field)"
  assert_contains "$ERR" "$value" "bad $what: stderr names the value ($value)"
  unchanged_since "$TMP/$n.snap" "$n" "bad $what: state unchanged"
}
ok='{"ip": "10.0.2.1", "mac": "02:42:0a:00:02:01", "vtep": "192.0.2.50"}'
bad "malformed JSON" JSON "byte" "[$ok, {\"ip\": \"10.0.2.2\""
bad "wrong type" ip 5 "[$ok, {\"ip\": 5, \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2.50\"}]"
bad "MAC" mac 02:42:0a:00:02:zz "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:zz\", \"vtep\": \"192.0.2.50\"}]"
bad "multicast peer MAC" mac 01:00:5e:00:00:05 "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"01:00:5e:00:00:05\", \"vtep\": \"192.0.2.50\"}]"
bad "zero peer MAC" mac 00:00:00:00:00:00 "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"00:00:00:00:00:00\", \"vtep\": \"192.0.2.50\"}]"
bad "IP" ip 10.0.2.256 "[$ok, {\"ip\": \"10.0.2.256\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2.50\"}]"
bad "vtep" vtep 192.0.2 "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2\"}]"
bad "multicast vtep" vtep 239.1.1.1 "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"239.1.1.1\"}]"
bad "duplicate MAC" mac 02:42:0a:00:02:01 "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:01\", \"vtep\": \"192.0.2.50\"}]"
bad "duplicate IP" ip 10.0.2.1 "[$ok, {\"ip\": \"10.0.2.1\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2.50\"}]"
bad "unknown key" colour red "[$ok, {\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2.50\", \"colour\": \"red\"}]"
bad "status" status bogus "[{\"status\": \"bogus\", \"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:02\", \"vtep\": \"192.0.2.50\"}]"
bad "unknown -d device" dev nosuchdev "[$ok]" -d nosuchdev
bad "-d device that is not vxlan" dev "$BR" "[$ok]" -d "$BR"
bad "--vtep option" vtep 192.0.2.x "[{\"ip\": \"10.0.2.2\", \"mac\": \"02:42:0a:00:02:02\"}]" --vtep 192.0.2.x
big=$( { peer_set 49 | sed 's/10\.0\.1\./10.0.3./; s/:01:/:03:/'
         echo '{"ip": "10.0.3.200", "mac": "02:42:0a:00:03:c8", "vtep": "192.0.2.300"}'
         peer_set 50 | sed 's/10\.0\.1\.\([0-9]*\)/10.0.4.\1/; s/:01:/:04:/'; } )
assert_eq "$(echo "$big" | wc -l)" 100 "(a 100-entry set, its 50th entry bad)"
bad "entry in a 100-entry set" vtep 192.0.2.300 "$big"
assert_eq "$(fdb "$B" | jq -c 'map(select(.mac | test("^02:42:0a:00:0[34]:"))) | length')" 0 "none of the 99 good entries was programmed"
BAD_NS=$T bad "missing -d with two vxlan devices" dev "several vxlan" "[$ok]"
BAD_NS=$T bad "-d naming no device (two vxlan devices)" dev vxt3 "[$ok]" -d vxt3
# The same checks through add/del.
for args in "add --ip 10.0.2.2 --vtep 192.0.2.50 --mac 33:33:00:00:00:01|mac|33:33:00:00:00:01" \
            "add --ip 10.0.2.2 --vtep 224.0.0.5|vtep|224.0.0.5" \
            "add --ip 10.0.2.x --vtep 192.0.2.50|ip|10.0.2.x" \
            "add --ip fd00::2 --vtep 192.0.2.50|mac|required" \
            "add --ip 10.0.2.2|vtep|required" \
            "del|mac|--mac or --ip" \
            "del --mac 02:42:0a:00:02:zz|mac|02:42:0a:00:02:zz"; do
  IFS='|' read -r cmd field value <<<"$args"
  BADN=$((BADN+1))
  # shellcheck disable=SC2086
  run ovnet-fdb -n "$B" $cmd
  assert_eq "$RC" 2 "bad '$cmd': exit 2"
  assert_one_line "$ERR" "bad '$cmd': one line on stderr"
  assert_contains "$ERR" "$field" "bad '$cmd': names the field ($field)"
  assert_contains "$ERR" "$value" "bad '$cmd': names the value ($value)"
  unchanged_since "$TMP/$B.snap" "$B" "bad '$cmd': state unchanged"
done
[ "$BADN" -ge 12 ] && pass "$BADN bad-input cases" || fail "only $BADN bad-input cases"

echo "# runtime failure: the kernel refuses an IPv6 VTEP on an IPv4 vxlan device"
settle_snap "$B"
run ovnet-fdb -n "$B" add --ip 10.0.2.9 --vtep 2001:db8::9
assert_eq "$RC" 1 "IPv6 vtep on an IPv4 device: exit 1"
assert_one_line "$ERR" "IPv6 vtep: one line on stderr"
assert_contains "$ERR" "Address family not supported" "IPv6 vtep: stderr carries the kernel's message"
assert_contains "$ERR" "2001:db8::9" "IPv6 vtep: stderr names the peer"
assert_eq "$(fdb_of "$B" 02:42:0a:00:02:09)" "[]" "IPv6 vtep: no fdb entry"
# PRODUCT BUG (reported, not fixed): the neighbor and fdb requests of a peer go in one batch and
# the neighbor one succeeds when the fdb one is refused, leaving half a peer (a neigh-only row).
unchanged_since "$TMP/$B.snap" "$B" "IPv6 vtep: a refused peer leaves no half-programmed entry"

done_testing
