#!/bin/bash
# three-hosts: the deep dive's scenario built with ovnet alone, checked with iproute2.
# Hosts h1..h3 are namespaces on an underlay bridge (ul0 in namespace "ul", 192.0.2.0/24); each has
# the overlay bridge ov-001001-7672d and VTEP vx-001001-7672d (VNI 4097, MTU 1450) and one container
# (c1..c3, 10.0.0.2-4/24). Peers are distributed by piping every host's endpoints into the others.
# Checked: pings across VXLAN (and that they went through it), the brctl / ip -d link / bridge fdb /
# veth-correlation views against iproute2, terminal rendering, idempotency of every build step,
# pruning after a container goes away, and examples/three-hosts.sh itself.
. "$(dirname "$0")/lib.sh"
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
for t in ping jq script; do command -v $t >/dev/null || skip "$t not installed"; done

BR=ov-001001-7672d VX=vx-001001-7672d VNI=4097
UL=$(ns ul) H1=$(ns h1) H2=$(ns h2) H3=$(ns h3) C1=$(ns c1) C2=$(ns c2) C3=$(ns c3)
h() { ns "h$1"; }
c() { ns "c$1"; }

# ---- build steps (functions, so the idempotency check can re-run exactly the same thing) ----
step_underlay() {
  ovnet-sbox add "$UL" >/dev/null 2>"$TMP/e.ul.sbox" || return 1
  ovnet-bridge -n "$UL" add ul0 >/dev/null 2>"$TMP/e.ul.bridge" || return 1
  local i
  for i in 1 2 3; do
    ovnet-sbox -n "$UL" connect "$(h $i)" --bridge ul0 --ip "192.0.2.1$i/24" >/dev/null 2>"$TMP/e.ul.h$i" || return 1
  done
}
# step_host I: bridge + VTEP via the documented pipe, then the container.
step_host() {
  local i=$1 rc
  ovnet-bridge -n "$(h $i)" add $BR --mtu 1450 -j 2>"$TMP/e.h$i.bridge" |
    ovnet-vtep add --vni $VNI --local "192.0.2.1$i" >"$TMP/o.h$i.vtep" 2>"$TMP/e.h$i.vtep"
  rc=("${PIPESTATUS[@]}")
  [ "${rc[0]}" = 0 ] && [ "${rc[1]}" = 0 ] || return 1
  ovnet-sbox -n "$(h $i)" connect "$(c $i)" --bridge $BR --ip "10.0.0.$((i+1))/24" >/dev/null 2>"$TMP/e.h$i.sbox"
}
# sync_peers HOSTS...: every host's endpoints piped into every other host's peer table.
sync_peers() {
  local i j rc=0
  for i in "$@"; do
    for j in "$@"; do [ "$i" = "$j" ] || ovnet-fdb -n "$(h $j)" local; done |
      ovnet-fdb -n "$(h $i)" apply --prune -j >"$TMP/o.fdb.h$i" 2>"$TMP/e.fdb.h$i" || rc=1
  done
  return $rc
}

expect_rc 0 "underlay: ul0 in $UL, h1..h3 connected at 192.0.2.11-13" step_underlay
for i in 1 2 3; do expect_rc 0 "host h$i: bridge | vtep pipe, container c$i" step_host $i; done
expect_rc 0 "peers distributed (local | apply --prune on every host)" sync_peers 1 2 3
for i in 1 2 3; do
  assert_eq "$(jq -c '.summary | [.added, .removed]' "$TMP/o.fdb.h$i")" "[2,0]" "h$i: first apply added 2 peers"
done

# ---- kernel state as iproute2 sees it ----
for i in 1 2 3; do
  H=$(h $i)
  got=$(ip -n "$H" -d -j link show $VX | jq -c '.[0] | [.mtu, .master, .linkinfo.info_kind,
        .linkinfo.info_data.id, .linkinfo.info_data.port, .linkinfo.info_data.local]')
  assert_eq "$got" "[1450,\"$BR\",\"vxlan\",$VNI,4789,\"192.0.2.1$i\"]" "h$i: $VX is vxlan id $VNI port 4789 local 192.0.2.1$i mtu 1450 in $BR"
  got=$(ip -n "$H" -d -j link show $BR | jq -c '.[0] | [.mtu, .linkinfo.info_kind]')
  assert_eq "$got" '[1450,"bridge"]' "h$i: $BR is a bridge with mtu 1450"
  got=$(ip -n "$(c $i)" -j addr show eth0 | jq -c '.[0] | [.address, .mtu, (.addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)")]')
  assert_eq "$got" "[\"02:42:0a:00:00:0$((i+1))\",1450,\"10.0.0.$((i+1))/24\"]" "c$i: eth0 02:42:0a:00:00:0$((i+1)) 10.0.0.$((i+1))/24 mtu 1450"
  got=$(bridge -n "$H" -j fdb show dev $VX | jq -c '[.[] | select(.dst) | "\(.mac) \(.dst) \(.state) \(.flags|join(","))"] | sort')
  want=$(for j in 1 2 3; do [ $i = $j ] || echo "02:42:0a:00:00:0$((j+1)) 192.0.2.1$j permanent self"; done | jq -R . | jq -sc 'sort')
  assert_eq "$got" "$want" "h$i: bridge fdb has exactly the two remote containers, self permanent"
  got=$(ip -n "$H" -j neigh show dev $VX | jq -c '[.[] | "\(.dst) \(.lladdr) \(.state|join(","))"] | sort')
  want=$(for j in 1 2 3; do [ $i = $j ] || echo "10.0.0.$((j+1)) 02:42:0a:00:00:0$((j+1)) PERMANENT"; done | jq -R . | jq -sc 'sort')
  assert_eq "$got" "$want" "h$i: ip neigh has exactly the two remote containers, PERMANENT"
done

# ---- pings across VXLAN, and proof they went through it ----
vxstats() { ip -n "$H1" -s -j link show $VX | jq -r '.[0].stats64 | "\(.tx.packets) \(.rx.packets)"'; }
udpin() { ip netns exec "$1" cat /proc/net/snmp | awk '/^Udp:/ { if (h) print $2; h=1 }'; }
read -r tx0 rx0 < <(vxstats); u0=$(udpin "$H2")
expect_rc 0 "c1 pings c2 (10.0.0.3) across VXLAN" ovnet-sbox exec "$C1" -- ping -c 2 -W 10 10.0.0.3
assert_contains "$OUT" "2 received" "c1 -> c2: 2 replies"
expect_rc 0 "c1 pings c3 (10.0.0.4) across VXLAN" ovnet-sbox exec "$C1" -- ping -c 2 -W 10 10.0.0.4
assert_contains "$OUT" "2 received" "c1 -> c3: 2 replies"
read -r tx1 rx1 < <(vxstats); u1=$(udpin "$H2")
if [ $((tx1 - tx0)) -ge 4 ] && [ $((rx1 - rx0)) -ge 4 ]; then pass "h1: $VX tx/rx counters rose by >= 4 (tx $tx0->$tx1, rx $rx0->$rx1)"
else fail "h1: $VX counters did not rise by the 4 echo requests/replies: tx $tx0->$tx1, rx $rx0->$rx1"; fi
if [ $((u1 - u0)) -ge 2 ]; then pass "h2: UDP InDatagrams rose by >= 2 (VXLAN packets decapsulated: $u0->$u1)"
else fail "h2: UDP InDatagrams $u0->$u1: the VXLAN packets did not arrive over UDP"; fi

# ---- the deep dive's inspection views, with ovnet alone, cross-checked with iproute2 ----
# (1) brctl show
c1_eth0=$(ip -n "$C1" -j link show eth0 | jq '.[0].ifindex')
run ovnet-bridge -n "$H1" show -j
assert_eq "$RC" 0 "bridge show -j: exit 0"
assert_eq "$(jq -c '[.[].name]' <<<"$OUT")" "[\"$BR\"]" "bridge show: h1 has exactly the bridge $BR"
assert_eq "$(jq -c "[.[0].ports[].name] | sort" <<<"$OUT")" \
  "$(ip -n "$H1" -j link show master $BR | jq -c '[.[].ifname] | sort')" "bridge show: ports equal ip link show master $BR"
assert_eq "$(jq -r '[.[0].ports[] | select(.name=="'$VX'") | .kind] | join(",")' <<<"$OUT")" "vxlan" "bridge show: $VX is a vxlan port"
vport=$(jq -c '[.[0].ports[] | select(.kind=="veth")]' <<<"$OUT")
assert_eq "$(jq length <<<"$vport")" 1 "bridge show: exactly one veth port"
assert_eq "$(jq -c '.[0].peer | [.netns, .ifname, .ifindex]' <<<"$vport")" "[\"$C1\",\"eth0\",$c1_eth0]" \
  "bridge show: veth port's peer is $C1 eth0, ifindex $c1_eth0"
assert_eq "$(jq -c '.[0] | [.ifindex, .mtu]' <<<"$OUT")" \
  "$(ip -n "$H1" -j link show $BR | jq -c '.[0] | [.ifindex, .mtu]')" "bridge show: ifindex and mtu equal iproute2's"

# (2) ip -d link show vx-...
run ovnet-vtep -n "$H1" show $VX -j
assert_eq "$RC" 0 "vtep show -j: exit 0"
assert_eq "$(jq -c '.[0] | [.vni, .port, .local, .mtu, .master, .learning, .proxy, .l2miss, .l3miss, .ttl, .ifindex, .mac]' <<<"$OUT")" \
  "$(ip -n "$H1" -d -j link show $VX | jq -c '.[0] | [.linkinfo.info_data | .id, .port, .local] + [.mtu, .master] +
      [.linkinfo.info_data | .learning, .proxy, .l2miss, .l3miss, .ttl] + [.ifindex, .address]')" \
  "vtep show: vni/port/local/mtu/master/learning/proxy/l2miss/l3miss/ttl/ifindex/mac equal ip -d link show"
assert_eq "$(jq -c '.[0] | [.vni, .learning, .proxy, .l2miss, .l3miss]' <<<"$OUT")" "[$VNI,false,true,true,true]" \
  "vtep show: Docker's flags (learning off by ovnet's default, proxy/l2miss/l3miss on)"

# (3) bridge fdb show dev vx-...
run ovnet-fdb -n "$H1" show -j
assert_eq "$RC" 0 "fdb show -j: exit 0"
assert_eq "$(jq -c '[.[] | select(.status=="peer") | "\(.ip) \(.mac) \(.vtep)"] | sort' <<<"$OUT")" \
  '["10.0.0.3 02:42:0a:00:00:03 192.0.2.12","10.0.0.4 02:42:0a:00:00:04 192.0.2.13"]' \
  "fdb show: exactly one peer row per remote container, with its host's VTEP"
assert_eq "$(jq -c '[.[] | select(.status=="peer") | "\(.mac) \(.vtep)"] | sort' <<<"$OUT")" \
  "$(bridge -n "$H1" -j fdb show dev $VX | jq -c '[.[] | select(.dst) | "\(.mac) \(.dst)"] | sort')" \
  "fdb show: peer rows equal bridge fdb show dev $VX (mac, dst)"
assert_eq "$(jq -c '[.[] | select(.status=="peer") | "\(.ip) \(.mac)"] | sort' <<<"$OUT")" \
  "$(ip -n "$H1" -j neigh show dev $VX nud permanent | jq -c '[.[] | "\(.dst) \(.lladdr)"] | sort')" \
  "fdb show: peer rows equal ip neigh show dev $VX (dst, lladdr)"
assert_eq "$(jq -c '[.[] | select(.status=="local") | .mac]' <<<"$OUT")" \
  "$(ip -n "$H1" -j link show $VX | jq -c '[.[0].address]')" "fdb show: the VTEP's own MAC is the one local row"

# (4) 16: eth0 <===> 17: veth4dd295a
run ovnet-sbox show "$C1" -j
assert_eq "$RC" 0 "sbox show -j: exit 0"
hv=$(ip -n "$H1" -j link show type veth | jq -c "[.[] | select(.master==\"$BR\" and .link_index==$c1_eth0) | {ifindex, ifname}]")
assert_eq "$(jq length <<<"$hv")" 1 "iproute2: one veth in $BR on h1 whose link_index is c1's eth0 ($c1_eth0)"
hv_name=$(jq -r '.[0].ifname' <<<"$hv")
assert_eq "$(jq -c '.[0].interfaces | map({ifname, ifindex})' <<<"$OUT")" "[{\"ifname\":\"eth0\",\"ifindex\":$c1_eth0}]" \
  "sbox show: c1 has eth0 with the real ifindex"
assert_eq "$(jq -c '.[0].interfaces[0].peer | {ifindex, ifname}' <<<"$OUT")" "$(jq -c '.[0]' <<<"$hv")" \
  "sbox show: c1 eth0's peer ifindex/ifname equal the host-side veth iproute2 reports"
assert_eq "$(jq -c '.[0].interfaces[0].peer | [.netns, .bridge]' <<<"$OUT")" "[\"$H1\",\"$BR\"]" \
  "sbox show: peer is in $H1, on $BR"
# the veth's link-netnsid on h1 names c1 (ip netns list-id)
nsid=$(ip -n "$H1" -j link show "$hv_name" | jq '.[0].link_netnsid')
assert_contains "$(ip -n "$H1" netns list-id)" "nsid $nsid (iproute2 netns name: $C1)" "iproute2: the host veth's link-netnsid is $C1"

# ---- the human (terminal) output ----
tty_out() { script -qc "$*" /dev/null | tr -d '\r'; }
t=$(tty_out ovnet-bridge -n "$H1" show)
assert_contains "$t" "$VX" "terminal bridge show: lists $VX"
assert_contains "$t" "$hv_name <===> $C1 $c1_eth0: eth0" "terminal bridge show: '$hv_name <===> $C1 $c1_eth0: eth0'"
assert_not_contains "$t" "{" "terminal bridge show: not JSON"
t=$(tty_out ovnet-fdb -n "$H1" show)
assert_contains "$t" "02:42:0a:00:00:03  10.0.0.3  192.0.2.12  peer" "terminal fdb show: peer row for c2"
assert_contains "$t" "02:42:0a:00:00:04  10.0.0.4  192.0.2.13  peer" "terminal fdb show: peer row for c3"
t=$(tty_out ovnet-sbox show "$C1")
assert_contains "$t" "$c1_eth0: eth0" "terminal sbox show: c1's eth0 with its ifindex"
assert_contains "$t" "<===> $H1 $(jq -r '.[0].ifindex' <<<"$hv"): $hv_name" "terminal sbox show: '<===> $H1 N: $hv_name'"
t=$(tty_out ovnet-vtep -n "$H1" show)
assert_contains "$t" "$VX  $VNI  4789  192.0.2.11" "terminal vtep show: $VX row with VNI, port, local"

# ---- idempotency: every build step again changes nothing and says so ----
ALL="$UL $H1 $H2 $H3 $C1 $C2 $C3"
for n in $ALL; do snapshot "$n" >"$TMP/snap.$n"; done
expect_rc 0 "rerun: underlay step" step_underlay
for f in ul.sbox ul.bridge ul.h1 ul.h2 ul.h3; do
  assert_contains "$(cat "$TMP/e.$f")" "nothing changed" "rerun: $f says nothing changed"
done
for i in 1 2 3; do
  expect_rc 0 "rerun: host h$i step" step_host $i
  for f in bridge vtep sbox; do
    assert_contains "$(cat "$TMP/e.h$i.$f")" "nothing changed" "rerun: h$i $f says nothing changed"
  done
done
expect_rc 0 "rerun: peer distribution" sync_peers 1 2 3
for i in 1 2 3; do
  assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .unchanged, .writes]' "$TMP/o.fdb.h$i")" "[0,0,0,2,0]" \
    "rerun: h$i apply: 2 unchanged, no write"
  assert_contains "$(cat "$TMP/e.fdb.h$i")" "0 added, 0 replaced, 0 removed, 2 unchanged" "rerun: h$i apply says unchanged"
done
for n in $ALL; do unchanged_since "$TMP/snap.$n" "$n" "rerun: ${n#$P-} unchanged"; done

# ---- c3 goes away: the next distribution removes its two entries on h1 and h2, nothing else ----
# Dynamic entries (learned by the bridge, ARP in progress) are excluded: they age on their own.
tables() {
  bridge -n "$1" -j fdb show | jq -c '[.[] | select(.state=="permanent")] | sort_by(.ifname, .mac, .dst)'
  ip -n "$1" -j neigh show | jq -c '[.[] | select(.state | index("PERMANENT"))] | sort_by(.dev, .dst)'
}
for i in 1 2; do tables "$(h $i)" >"$TMP/tab.h$i"; done
expect_rc 0 "ovnet-sbox del c3" ovnet-sbox del "$C3"
assert_eq "$(ls /run/netns | grep -cx "$C3")" 0 "c3's namespace is gone"
assert_eq "$(ip -n "$H3" -j link show master $BR | jq -c '[.[].ifname]')" "[\"$VX\"]" "h3: c3's host veth is gone from $BR"
expect_rc 0 "peers redistributed after c3 left" sync_peers 1 2 3
for i in 1 2; do
  H=$(h $i)
  assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .unchanged]' "$TMP/o.fdb.h$i")" "[0,0,1,1]" "h$i: apply removed 1 peer, kept 1"
  tables "$H" >"$TMP/tab2.h$i"
  gone=$(jq -sc '(.[0] - .[2]) + (.[1] - .[3])' "$TMP/tab.h$i" "$TMP/tab2.h$i")
  assert_eq "$gone" "[{\"mac\":\"02:42:0a:00:00:04\",\"ifname\":\"$VX\",\"dst\":\"192.0.2.13\",\"flags\":[\"self\"],\"state\":\"permanent\"},{\"dst\":\"10.0.0.4\",\"dev\":\"$VX\",\"lladdr\":\"02:42:0a:00:00:04\",\"state\":[\"PERMANENT\"]}]" \
    "h$i: exactly c3's fdb and neigh entries disappeared"
  new=$(jq -sc '(.[2] - .[0]) + (.[3] - .[1])' "$TMP/tab.h$i" "$TMP/tab2.h$i")
  assert_eq "$new" "[]" "h$i: nothing appeared"
done
assert_eq "$(jq -c '.summary | [.added, .removed, .unchanged]' "$TMP/o.fdb.h3")" "[0,0,2]" "h3: apply kept its 2 peers"
expect_rc 0 "after c3 left: c1 still pings c2" ovnet-sbox exec "$C1" -- ping -c 2 -W 10 10.0.0.3
expect_rc 1 "after c3 left: ping to 10.0.0.4 gets no reply" ovnet-sbox exec "$C1" -- ping -c 1 -W 1 10.0.0.4

# ---- examples/three-hosts.sh itself ----
if [ -f "$SRC/examples/three-hosts.sh" ]; then
  XP=$(ns ex)
  SECONDS=0
  OVNET_PREFIX=$XP bash "$SRC/examples/three-hosts.sh" "$OVNET_BIN" >"$TMP/ex.out" 2>&1; rc=$?
  if [ $rc = 0 ]; then pass "examples/three-hosts.sh exits 0 (${SECONDS}s)"
  else fail "examples/three-hosts.sh exit $rc:"; tail -20 "$TMP/ex.out"; fi
  assert_eq "$(grep -c ' 2 received' "$TMP/ex.out")" 2 "examples/three-hosts.sh: both pings got 2 replies"
  # its "brctl show" goes through `| cat`, so it prints JSON: the correlation is c1's eth0 as the veth's peer
  assert_contains "$(cat "$TMP/ex.out")" "<===> $XP-h1 " "examples/three-hosts.sh: shows the veth correlation"
  assert_eq "$(ls /run/netns | grep -c "^$XP-")" 0 "examples/three-hosts.sh leaves no namespace behind"
else
  fail "examples/three-hosts.sh not found under $SRC"
fi

done_testing
