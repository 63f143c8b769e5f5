#!/bin/bash
# docker-vtep: Docker's real VTEP shape, built by hand with iproute2 (docker-overlay-facts.md,
# section 4): the vxlan is created in the daemon's namespace with no local and no dev (ageing 300,
# udpcsum, learning) and moved into the overlay namespace 1-<id>, so its UDP socket stays behind
# (link-netns). Checks ovnet-vtep show (link_netns, ageing, udp_csum), ovnet-fdb local (the
# endpoint with the daemon namespace's address, no silent empty answer), peers carrying
# link_netnsid, and `fdb local | fdb apply` across two such nodes against iproute2's tables.
. "$(dirname "$0")/lib.sh"

UL=$(ns ul)                     # the underlay switch
D1=$(ns d1) D2=$(ns d2)         # the two daemons' namespaces (underlay 192.0.2.1, .2)
O1=$(ns 1-abc) O2=$(ns 2-abc)   # the overlay namespaces (Docker's 1-<netid>)
C1=$(ns c1) C2=$(ns c2)         # one container on each node
F=$(ns f)                       # a fresh namespace for show -j | apply
LONE=""                         # pid holding a namespace no name leads to
trap '_cleanup; [ -n "$LONE" ] && kill "$LONE" 2>/dev/null' EXIT

for n in "$UL" "$D1" "$D2" "$O1" "$O2" "$C1" "$C2" "$F"; do mkns "$n" || { echo "cannot create $n"; exit 1; }; done
ip -n "$UL" link add ulbr type bridge && ip -n "$UL" link set ulbr up
# node N: daemon namespace DN on the underlay, overlay namespace ON with br0 and vxlan0, container CN.
node() {
  local i=$1 d=$2 o=$3 c=$4
  ip -n "$UL" link add "ul$i" type veth peer name eth0 netns "$d"
  ip -n "$UL" link set "ul$i" master ulbr up
  ip -n "$d" addr add "192.0.2.$i/24" dev eth0
  ip -n "$d" link set eth0 up
  ip -n "$d" link set lo up
  ip -n "$d" link add vxlan0 type vxlan id 4097 dstport 4789 ageing 300 udpcsum learning proxy l2miss l3miss
  ip -n "$d" link set vxlan0 netns "$o"
  ip -n "$o" link add br0 type bridge
  ip -n "$o" addr add 10.0.1.1/24 dev br0
  ip -n "$o" link set br0 mtu 1450 up
  ip -n "$o" link set vxlan0 mtu 1450 master br0 up
  ip -n "$o" link add veth0 mtu 1450 type veth peer name eth0 netns "$c"
  ip -n "$o" link set veth0 master br0 up
  ip -n "$c" link set eth0 address "02:42:0a:00:01:0$((i + 2))" up
  ip -n "$c" addr add "10.0.1.$((i + 2))/24" dev eth0
}
node 1 "$D1" "$O1" "$C1" && node 2 "$D2" "$O2" "$C2" || { echo "cannot build the nodes"; exit 1; }
# A second global address in D2 (another interface): without peers, D2's source cannot be told.
ip -n "$D2" link add x0 type veth peer name x1 && ip -n "$D2" addr add 198.51.100.2/24 dev x0 &&
  ip -n "$D2" link set x0 up && ip -n "$D2" link set x1 up

# ---- ovnet-vtep show: the socket's namespace and the creation settings ----
run ovnet-vtep -n "$O1" show -j
assert_eq "$RC" 0 "vtep show in the overlay namespace: exit 0"
nsid=$(ip -n "$O1" -j -d link show vxlan0 | jq '.[0].link_netnsid')
assert_eq "$(jq -c '.[0] | [.link_netns, .link_netnsid, .ageing, .udp_csum, .learning, .local, .dev, .remote, .external]' <<<"$OUT")" \
  "[\"$D1\",$nsid,300,true,true,\"\",\"\",null,false]" \
  "vtep show: link_netns is the daemon's namespace (link-netnsid $nsid), ageing 300, udpcsum, learning, no local/dev/remote"
assert_eq "$(jq -c '.[0] | [.udp6_zero_csum_tx, .udp6_zero_csum_rx, .src_port_min, .src_port_max, .tos, .df, .label]' <<<"$OUT")" \
  "$(ip -n "$O1" -j -d link show vxlan0 | jq -c '.[0].linkinfo.info_data | [(.udp_zero_csum6_tx // false), (.udp_zero_csum6_rx // false), .port_range.low, .port_range.high, (.tos // 0), (.df // "unset"), (.label // 0)]')" \
  "vtep show: udp6 zero checksums, source port range, tos, df and flow label equal ip -d link"
assert_eq "$(jq -c '[.[0] | keys[]] | length' <<<"$OUT")" 30 "vtep show: every key present (30, group absent without one)"
TABLE=$(ovnet-vtep -n "$O1" -t show)
assert_eq "$(echo "$TABLE" | awk '$1 == "vxlan0" {print $(NF-1), $NF}')" "300 $D1" "vtep table: AGEING and LINK-NETNS columns"
# show -j | apply round-trips: unchanged in place, and a fresh VTEP with the same settings elsewhere.
expect_rc 0 "vtep show -j | apply on the same namespace" bash -c 'ovnet-vtep -n "$1" show -j | ovnet-vtep -n "$1" apply' _ "$O1"
assert_contains "$ERR" "nothing changed" "vtep apply of its own show: nothing changed (ageing, udp_csum... equal)"
expect_rc 0 "vtep show -j | apply into a fresh namespace (master dropped)" \
  bash -c 'ovnet-vtep -n "$1" show -j | jq "map(.master = \"\")" | ovnet-vtep -n "$2" apply' _ "$O1" "$F"
assert_eq "$(ip -n "$F" -j -d link show vxlan0 | jq -c '.[0].linkinfo.info_data | [.id, .ageing, .udp_csum, .learning]')" \
  '[4097,300,true,true]' "the fresh VTEP has ageing 300, udpcsum and learning (ip -d link)"
# The CLI makes the same settings: --ageing, --udpcsum (what Docker's driver sets).
expect_rc 0 "vtep add --ageing 120 --udpcsum --learning" ovnet-vtep -n "$F" add vxcli --vni 4098 --ageing 120 --udpcsum --learning
assert_eq "$(ip -n "$F" -j -d link show vxcli | jq -c '.[0].linkinfo.info_data | [.id, .ageing, .udp_csum, .learning]')" \
  '[4098,120,true,true]' "vtep add --ageing 120 --udpcsum: ip -d link shows ageing 120, udpcsum"
expect_rc 0 "vtep add again with the same settings" ovnet-vtep -n "$F" add vxcli --vni 4098 --ageing 120 --udpcsum --learning
assert_contains "$ERR" "nothing changed" "vtep add again: nothing changed"
run ovnet-vtep -n "$F" add vxcli --vni 4098 --ageing 120 --no-udpcsum --learning
assert_eq "$RC" 1 "vtep add --no-udpcsum on a udpcsum VTEP: refused (exit 1)"
assert_contains "$ERR" "udp_csum is true, wanted false" "vtep add --no-udpcsum: names the difference"
run bash -c 'ovnet-vtep -n "$1" show -j | jq ".[0].ageing = 60" | ovnet-vtep -n "$1" apply' _ "$O1"
assert_eq "$RC" 1 "apply with another ageing: refused like another vni (exit 1)"
assert_contains "$ERR" "ageing is 300, wanted 60" "apply with another ageing: says which setting differs"

# ---- ovnet-fdb local: the endpoint with the daemon namespace's address ----
run ovnet-fdb -n "$O1" local -j
assert_eq "$RC" 0 "fdb local (no local, no dev, no peers): exit 0"
assert_eq "$(jq -c 'map([.status, .ip, .mac, .vtep])' <<<"$OUT")" '[["endpoint","10.0.1.3","02:42:0a:00:01:03","192.0.2.1"]]' \
  "fdb local: the container's endpoint behind 192.0.2.1, the daemon namespace's one global address"
run ovnet-fdb -n "$O2" local -j
assert_eq "$RC" 2 "fdb local where the daemon has two global addresses and no peers: exit 2"
assert_one_line "$ERR" "fdb local, undecidable: one line"
assert_contains "$ERR" "--vtep" "fdb local, undecidable: names --vtep"
assert_contains "$ERR" "198.51.100.2" "fdb local, undecidable: says why (the addresses)"
assert_eq "$OUT" "" "fdb local, undecidable: nothing on stdout"

# ---- fdb local | fdb apply across the nodes: what Docker's peerAdd makes ----
expect_rc 0 "node 1's endpoints into node 2" bash -c 'ovnet-fdb -n "$1" local | ovnet-fdb -n "$2" apply' _ "$O1" "$O2"
assert_eq "$(bridge -n "$O2" -j fdb show dev vxlan0 | jq -c 'map(select(.dst) | {mac, dst, linkNetNsId, flags, state})')" \
  "[{\"mac\":\"02:42:0a:00:01:03\",\"dst\":\"192.0.2.1\",\"linkNetNsId\":$(ip -n "$O2" -j -d link show vxlan0 | jq '.[0].link_netnsid'),\"flags\":[\"self\"],\"state\":\"permanent\"}]" \
  "node 2's fdb: 02:42:0a:00:01:03 dst 192.0.2.1 link-netnsid self permanent (Docker's entry)"
assert_eq "$(ip -n "$O2" -j neigh show dev vxlan0 | jq -c 'map({dst, lladdr, state})')" \
  '[{"dst":"10.0.1.3","lladdr":"02:42:0a:00:01:03","state":["PERMANENT"]}]' "node 2's neighbor: 10.0.1.3 PERMANENT"
run ovnet-fdb -n "$O2" show -j
assert_eq "$(jq -c 'map(select(.status == "peer") | [.ip, .vtep, .link_netnsid])' <<<"$OUT")" \
  "[[\"10.0.1.3\",\"192.0.2.1\",$(bridge -n "$O2" -j fdb show dev vxlan0 | jq 'map(select(.dst))[0].linkNetNsId')]]" \
  "fdb show: the peer carries link_netnsid as iproute2's linkNetNsId"
assert_eq "$(jq -c 'map(keys | length) | unique' <<<"$OUT")" '[8]' "fdb show: every row has all 8 keys"
assert_eq "$(jq -c 'map(select(.status == "local") | [.neigh_state, .link_netnsid]) | unique' <<<"$OUT")" '[[null,null]]' \
  "fdb show: local rows carry neigh_state and link_netnsid as null"
# With a peer programmed, node 2's address is the source of its route toward it: 192.0.2.2.
run ovnet-fdb -n "$O2" local -j
assert_eq "$RC" 0 "fdb local on node 2, with a peer: exit 0"
assert_eq "$(jq -c 'map([.ip, .vtep])' <<<"$OUT")" '[["10.0.1.4","192.0.2.2"]]' \
  "fdb local on node 2: the source of D2's route toward the peer, 192.0.2.2"
expect_rc 0 "node 2's endpoints into node 1" bash -c 'ovnet-fdb -n "$1" local | ovnet-fdb -n "$2" apply' _ "$O2" "$O1"
expect_rc 0 "the containers reach each other over the overlay" ip netns exec "$C1" ping -c 1 -W 10 10.0.1.4

# ---- a port whose peer is in a namespace no name leads to: exit 1 naming it ----
unshare -n sleep 600 & LONE=$!
until [ "$(readlink /proc/$LONE/ns/net)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.05; done
ip -n "$O1" link add veth9 type veth peer name eth0 netns "/proc/$LONE/ns/net" 2>/dev/null ||
  ip -n "$O1" link add veth9 type veth peer name eth0 netns "$LONE"
ip -n "$O1" link set veth9 master br0 up
lone_id=$(ip -n "$O1" -j link show veth9 | jq '.[0].link_netnsid')
run ovnet-fdb -n "$O1" local -j
assert_eq "$RC" 1 "fdb local with an unresolvable port: exit 1"
assert_one_line "$ERR" "unresolvable port: one line"
assert_contains "$ERR" "veth9" "unresolvable port: names the port"
assert_contains "$ERR" "link-netnsid $lone_id" "unresolvable port: names its link-netnsid"
assert_eq "$OUT" "" "unresolvable port: nothing on stdout (no partial answer)"
kill "$LONE" 2>/dev/null; wait "$LONE" 2>/dev/null; LONE=""

done_testing
