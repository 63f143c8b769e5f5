#!/bin/bash
# interop: ovnet and iproute2 read each other's work.
#  1. what ovnet creates (bridge, VTEP, peer, sandbox) reads back right with ip -d -j link, ip -j addr,
#     ip -j route, bridge -j fdb and ip -j neigh;
#  2. what iproute2 creates (bridge with veth ports across namespaces and an address, vxlan devices
#     with various options, 2,500 fdb entries + 2,500 neighbors via -batch) reads right with ovnet's show;
#  3. round trips: bridge -j fdb show piped into ovnet-fdb apply elsewhere gives an identical table,
#     and so does ovnet-fdb show -j.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq not installed"

A=$(ns a) S=$(ns s) B=$(ns b) T=$(ns t) C=$(ns c) D=$(ns d)
# link1 NS DEV JQ: one jq expression over `ip -d -j link show DEV`'s object.
link1() { ip -n "$1" -d -j link show "$2" | jq -c ".[0] | $3"; }

# ================= 1. ovnet creates, iproute2 reads =================
expect_rc 0 "ovnet-sbox add A" ovnet-sbox add "$A"
expect_rc 0 "ovnet-bridge add br0 --mtu 1400 --mac --addr" \
  ovnet-bridge -n "$A" add br0 --mtu 1400 --mac 02:11:22:33:44:55 --addr 10.1.0.1/24 --addr 10.1.1.1/24
assert_eq "$(link1 "$A" br0 '[.linkinfo.info_kind, .mtu, .address, (.flags | index("UP") != null)]')" \
  '["bridge",1400,"02:11:22:33:44:55",true]' "ip -d link: br0 is an up bridge, mtu 1400, address 02:11:22:33:44:55"
assert_eq "$(ip -n "$A" -j addr show br0 | jq -c '[.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"] | sort')" \
  '["10.1.0.1/24","10.1.1.1/24"]' "ip addr: br0 has exactly 10.1.0.1/24 and 10.1.1.1/24"

expect_rc 0 "ovnet-vtep add vx0 with every option" ovnet-vtep -n "$A" add vx0 --vni 42 --port 8472 --local 192.0.2.5 \
  --master br0 --ttl 5 --mtu 1400 --no-learning --proxy --no-l2miss --l3miss
assert_eq "$(link1 "$A" vx0 '[.linkinfo.info_kind, .mtu, .master] + [.linkinfo.info_data | .id, .port, .local, .learning, .proxy, (.l2miss // "absent"), .l3miss, .ttl]')" \
  '["vxlan",1400,"br0",42,8472,"192.0.2.5",false,true,"absent",true,5]' \
  "ip -d link: vx0 id 42 port 8472 local 192.0.2.5 nolearning proxy nol2miss l3miss ttl 5 mtu 1400 master br0"
expect_rc 0 "ovnet-vtep add vx1 with the defaults" ovnet-vtep -n "$A" add vx1 --vni 4097
assert_eq "$(link1 "$A" vx1 '[.linkinfo.info_kind, .mtu, .master] + [.linkinfo.info_data | .id, .port, .local, .learning, .proxy, .l2miss, .l3miss, .ttl]')" \
  '["vxlan",1450,null,4097,4789,null,false,true,true,true,0]' \
  "ip -d link: vx1 defaults: port 4789, no local, nolearning, proxy l2miss l3miss, ttl 0, mtu 1450, no master"
expect_rc 0 "ovnet-vtep add vx2 --learning --no-proxy --no-l3miss" ovnet-vtep -n "$A" add vx2 --vni 43 --learning --no-proxy --no-l3miss
assert_eq "$(link1 "$A" vx2 '[.linkinfo.info_data | .id, .learning, .proxy, .l2miss, .l3miss]')" \
  '[43,true,null,true,null]' "ip -d link: vx2 learning, noproxy, l2miss, nol3miss (iproute2 omits false proxy/l3miss)"
# ovnet's own view of each agrees with iproute2's
for d in vx0 vx1 vx2; do
  assert_eq "$(ovnet-vtep -n "$A" show $d -j | jq -c '.[0] | [.ifindex, .mac, .mtu, .vni, .port, .learning, .proxy, .l2miss, .l3miss, .ttl]')" \
    "$(link1 "$A" $d '[.ifindex, .address, .mtu] + [.linkinfo.info_data | .id, .port, .learning, (.proxy // false), (.l2miss // false), (.l3miss // false), .ttl]')" \
    "ovnet-vtep show $d equals ip -d link show $d"
done

expect_rc 0 "ovnet-fdb add peer 10.1.0.9 via 192.0.2.9" ovnet-fdb -n "$A" add -d vx0 --ip 10.1.0.9 --vtep 192.0.2.9
expect_rc 0 "ovnet-fdb add peer 10.1.0.10 with explicit MAC" ovnet-fdb -n "$A" add -d vx0 --ip 10.1.0.10 --mac 02:aa:bb:cc:dd:ee --vtep 192.0.2.10
assert_eq "$(bridge -n "$A" -j fdb show dev vx0 | jq -c '[.[] | select(.dst) | [.mac, .dst, .flags, .state]] | sort')" \
  '[["02:42:0a:01:00:09","192.0.2.9",["self"],"permanent"],["02:aa:bb:cc:dd:ee","192.0.2.10",["self"],"permanent"]]' \
  "bridge fdb: the two peers, dst, self, permanent (Docker's MAC 02:42:<ip> by default)"
assert_eq "$(ip -n "$A" -j neigh show dev vx0 | jq -c '[.[] | [.dst, .lladdr, .state]] | sort')" \
  '[["10.1.0.10","02:aa:bb:cc:dd:ee",["PERMANENT"]],["10.1.0.9","02:42:0a:01:00:09",["PERMANENT"]]]' \
  "ip neigh: the two peers, lladdr, PERMANENT"
assert_eq "$(bridge -n "$A" -j fdb show dev vx1 | jq -c '[.[] | select(.dst)]')" "[]" "bridge fdb: nothing landed on vx1"

expect_rc 0 "ovnet-sbox connect S to br0 with --gw and --mtu" \
  ovnet-sbox -n "$A" connect "$S" --bridge br0 --ip 10.1.0.2/24 --gw 10.1.0.1 --mtu 1400
assert_eq "$(ip -n "$S" -j route show default | jq -c '[.[] | [.dst, .gateway, .dev]]')" '[["default","10.1.0.1","eth0"]]' \
  "ip route: sandbox default via 10.1.0.1 dev eth0"
assert_eq "$(ip -n "$S" -j route show | jq -c '[.[] | select(.dst != "default") | [.dst, .dev, .prefsrc]]')" '[["10.1.0.0/24","eth0","10.1.0.2"]]' \
  "ip route: sandbox connected route 10.1.0.0/24 dev eth0 src 10.1.0.2"
assert_eq "$(ip -n "$S" -j addr show eth0 | jq -c '.[0] | [.address, .mtu, (.flags | index("UP") != null), [.addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"]]')" \
  '["02:42:0a:01:00:02",1400,true,["10.1.0.2/24"]]' "ip addr: sandbox eth0 02:42:0a:01:00:02 mtu 1400 up, 10.1.0.2/24"
s_link=$(ip -n "$S" -j link show eth0 | jq '.[0].link_index')
assert_eq "$(ip -n "$A" -j link show master br0 | jq -c "[.[] | select(.ifindex==$s_link) | [.mtu, .link_index]]")" \
  "[[1400,$(ip -n "$S" -j link show eth0 | jq '.[0].ifindex')]]" "ip link: the sandbox's peer veth is in br0 on A, mtu 1400, linked to eth0"
expect_rc 0 "the sandbox reaches its gateway (br0)" ip netns exec "$S" ping -c 1 -W 10 10.1.0.1

# ================= 2. iproute2 creates, ovnet reads =================
ip netns add "$B"; ip netns add "$T"
ip -n "$B" link add br0 type bridge
ip -n "$B" addr add 10.2.0.1/24 dev br0
ip -n "$B" link set br0 up
ip -n "$B" link add vethb0 type veth peer name eth0 netns "$T"       # a veth pair across namespaces
ip -n "$B" link add vethb1 type veth peer name eth1 netns "$T"
ip -n "$B" link set vethb0 master br0 up
ip -n "$B" link set vethb1 master br0 up
ip -n "$T" link set eth0 up
ip -n "$T" addr add 10.2.0.2/24 dev eth0
ip -n "$B" link add ul0 type veth peer name ul0 netns "$T"           # an underlay for "dev"
ip -n "$B" addr add 192.0.2.5/24 dev ul0
ip -n "$B" link set ul0 up
ip -n "$B" link add vx0 type vxlan id 42 dstport 8472 local 192.0.2.5 nolearning proxy l2miss l3miss ttl 5
ip -n "$B" link add vx1 type vxlan id 43 dstport 4789 learning
ip -n "$B" link add vx2 type vxlan id 44 dev ul0 dstport 4789 noproxy
ip -n "$B" link set vx2 master br0
ip -n "$B" link set vx0 up

run ovnet-bridge -n "$B" show -j
assert_eq "$RC" 0 "ovnet-bridge show on iproute2's bridge: exit 0"
assert_eq "$(jq -c '[.[] | [.name, .ifindex, .mac, .addresses]]' <<<"$OUT")" \
  "$(ip -n "$B" -j addr show type bridge | jq -c '[.[] | [.ifname, .ifindex, .address, [.addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"]]]')" \
  "bridge show: br0 name/ifindex/mac/addresses equal ip addr show type bridge"
assert_eq "$(jq -c '[.[0].ports[] | [.name, .ifindex, .kind]] | sort' <<<"$OUT")" \
  "$(ip -n "$B" -d -j link show master br0 | jq -c '[.[] | [.ifname, .ifindex, .linkinfo.info_kind]] | sort')" \
  "bridge show: ports (name, ifindex, kind) equal ip -d link show master br0"
for p in 0 1; do
  assert_eq "$(jq -c ".[0].ports[] | select(.name==\"vethb$p\") | .peer | [.netns, .ifname, .ifindex]" <<<"$OUT")" \
    "[\"$T\",\"eth$p\",$(ip -n "$T" -j link show eth$p | jq '.[0].ifindex')]" "bridge show: vethb$p's peer is $T eth$p with its real ifindex"
done
run ovnet-sbox show "$T" -j
assert_eq "$RC" 0 "ovnet-sbox show on an iproute2 namespace: exit 0"
assert_eq "$(jq -c '[.[0].interfaces[] | [.ifname, .peer.ifname, .peer.ifindex, .peer.bridge, .peer.netns]] | sort' <<<"$OUT")" \
  "$(ip -n "$B" -j link show type veth | jq -c --arg b "$B" '[.[] | [if .ifname=="vethb0" then "eth0" elif .ifname=="vethb1" then "eth1" else "ul0" end, .ifname, .ifindex, (.master // ""), $b]] | sort')" \
  "sbox show: each interface's peer (name, ifindex, bridge, netns) equals ip link show type veth on B"
assert_eq "$(jq -c '.[0].interfaces[] | select(.ifname=="eth0") | .addresses' <<<"$OUT")" '["10.2.0.2/24"]' "sbox show: eth0's address"

run ovnet-vtep -n "$B" show -j
assert_eq "$RC" 0 "ovnet-vtep show on iproute2's vxlan devices: exit 0"
assert_eq "$(jq -c '[.[] | [.name, .vni, .port, .local, .dev, .learning, .proxy, .l2miss, .l3miss, .ttl, .master, .state]]' <<<"$OUT")" \
  '[["vx0",42,8472,"192.0.2.5","",false,true,true,true,5,"","up"],["vx1",43,4789,"","",true,false,false,false,0,"","down"],["vx2",44,4789,"","ul0",true,false,false,false,0,"br0","down"]]' \
  "vtep show: vx0 (nolearning proxy l2miss l3miss ttl 5), vx1 (learning), vx2 (dev ul0, in br0)"
assert_eq "$(jq -c '[.[] | [.ifindex, .mac, .mtu, .vni, .port]]' <<<"$OUT")" \
  "$(ip -n "$B" -d -j link show type vxlan | jq -c '[.[] | [.ifindex, .address, .mtu, .linkinfo.info_data.id, .linkinfo.info_data.port]]')" \
  "vtep show: ifindex/mac/mtu/vni/port equal ip -d link show type vxlan"

# 2,500 fdb entries and 2,500 neighbors through iproute2's batch mode (past 2,048 entries ovnet-fdb
# show reads the neighbors on a second socket while the fdb dump runs: this checks that join too)
for i in $(seq 0 2499); do
  x=$((i / 250)) y=$((i % 250 + 1))
  printf 'fdb add 02:42:0a:03:%02x:%02x dev vx0 dst 192.0.2.%d self permanent\n' $x $y $((100 + i % 50)) >&3
  printf 'neigh add 10.3.%d.%d lladdr 02:42:0a:03:%02x:%02x dev vx0 nud permanent\n' $x $y $x $y >&4
  printf '10.3.%d.%d 02:42:0a:03:%02x:%02x 192.0.2.%d\n' $x $y $x $y $((100 + i % 50)) >&5
done 3>"$TMP/fdb.batch" 4>"$TMP/neigh.batch" 5>"$TMP/want.txt"
expect_rc 0 "bridge -batch: 2,500 fdb entries" bridge -n "$B" -batch "$TMP/fdb.batch"
expect_rc 0 "ip -batch: 2,500 neighbors" ip -n "$B" -batch "$TMP/neigh.batch"
want=$(jq -R . "$TMP/want.txt" | jq -sc sort)
SECONDS=0
run ovnet-fdb -n "$B" show -d vx0 -j
assert_eq "$RC" 0 "ovnet-fdb show -d vx0 on 5,000 iproute2 entries: exit 0 (${SECONDS}s)"
assert_eq "$(jq '[.[] | select(.status=="peer")] | length' <<<"$OUT")" 2500 "fdb show: exactly 2,500 peer rows"
assert_eq "$(jq -c '[.[] | select(.status != "peer" and .status != "local")] | length' <<<"$OUT")" 0 "fdb show: no fdb-only/neigh-only/learned rows"
assert_eq "$(jq -c '[.[] | select(.status=="peer") | "\(.ip) \(.mac) \(.vtep)"] | sort' <<<"$OUT")" "$want" \
  "fdb show: the (ip, mac, vtep) set equals the generated one"
assert_eq "$(jq -c '[.[] | select(.status=="peer") | [.fdb_state, .neigh_state, .flags]] | unique' <<<"$OUT")" \
  '[["permanent","permanent",["self"]]]' "fdb show: every peer is permanent/permanent/self"
expect_rc 2 "fdb local on vx0, which is in no bridge: bad input" ovnet-fdb -n "$B" local -d vx0 -j
assert_one_line "$ERR" "fdb local: one line on stderr"
assert_contains "$ERR" '"vx0"' "fdb local: the error names the device"

# ================= 3. round trips between the tools =================
# sorted "mac dst" of a namespace's vx0 peers, as iproute2 reports them
fdbset() { bridge -n "$1" -j fdb show dev vx0 | jq -c '[.[] | select(.dst and .state=="permanent") | "\(.mac) \(.dst)"] | sort'; }
neighset() { ip -n "$1" -j neigh show dev vx0 nud permanent | jq -c '[.[] | "\(.dst) \(.lladdr)"] | sort'; }
expect_rc 0 "ovnet-sbox add C" ovnet-sbox add "$C"
expect_rc 0 "C: its own vx0 (ovnet-vtep)" ovnet-vtep -n "$C" add vx0 --vni 42 --port 8472 --local 192.0.2.6
SECONDS=0
bridge -n "$B" -j fdb show dev vx0 | ovnet-fdb -n "$C" apply -d vx0 >"$TMP/apply.c" 2>"$TMP/apply.c.err"
assert_eq "${PIPESTATUS[*]}" "0 0" "bridge -j fdb show (B) | ovnet-fdb apply (C): exit 0 (${SECONDS}s)"
assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .unchanged]' "$TMP/apply.c")" "[2500,0,0,0]" "apply on C: 2,500 added"
assert_eq "$(fdbset "$C" | jq length)" 2500 "C: 2,500 fdb entries"
assert_eq "$(fdbset "$C")" "$(fdbset "$B")" "C's fdb table (sorted mac/dst) equals B's"
assert_eq "$(bridge -n "$C" -j fdb show dev vx0 | jq -c '[.[] | select(.dst) | [.flags, .state]] | unique')" '[[["self"],"permanent"]]' \
  "C: every entry self permanent"
assert_eq "$(neighset "$C")" "[]" "C: bridge's fdb dump carries no IPs, so no neighbor was made"
bridge -n "$B" -j fdb show dev vx0 | ovnet-fdb -n "$C" apply -d vx0 >"$TMP/apply.c" 2>"$TMP/apply.c.err"
assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .unchanged, .writes]' "$TMP/apply.c")" "[0,0,0,2500,0]" \
  "the same pipe again: 2,500 unchanged, no write"
assert_contains "$(cat "$TMP/apply.c.err")" "2500 unchanged" "the same pipe again says unchanged"

expect_rc 0 "ovnet-sbox add D" ovnet-sbox add "$D"
ip -n "$D" link add vx0 type vxlan id 42 dstport 8472 local 192.0.2.7 nolearning proxy     # D's vx0 from iproute2
ovnet-fdb -n "$B" show -d vx0 -j | ovnet-fdb -n "$D" apply -d vx0 --prune >"$TMP/apply.d" 2>"$TMP/apply.d.err"
assert_eq "${PIPESTATUS[*]}" "0 0" "ovnet-fdb show (B) | ovnet-fdb apply --prune (D): exit 0"
assert_eq "$(fdbset "$D")" "$(fdbset "$B")" "D's fdb table equals B's"
assert_eq "$(neighset "$D")" "$(neighset "$B")" "D's neighbor table equals B's"

# and back: change B with iproute2, converge D again with --prune
bridge -n "$B" fdb del 02:42:0a:03:00:01 dev vx0 dst 192.0.2.100 self
ip -n "$B" neigh del 10.3.0.1 dev vx0
bridge -n "$B" fdb replace 02:42:0a:03:00:02 dev vx0 dst 192.0.2.99 self permanent
ovnet-fdb -n "$B" show -d vx0 -j | ovnet-fdb -n "$D" apply -d vx0 --prune >"$TMP/apply.d" 2>"$TMP/apply.d.err"
assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .unchanged]' "$TMP/apply.d")" "[0,1,1,2498]" \
  "after iproute2 changed B: D's apply replaced 1, removed 1, kept 2,498"
assert_eq "$(fdbset "$D")" "$(fdbset "$B")" "D's fdb table still equals B's"
assert_eq "$(neighset "$D")" "$(neighset "$B")" "D's neighbor table still equals B's"

done_testing
