#!/bin/bash
# crypt-vote: the deep dive's encrypted `vote` network with ovnet-crypt. Three nodes on an underlay
# bridge (192.0.2.11-13), each with the encrypted overlay (VNI 4098, data port 5789: the moby #45635
# case, MTU 1424) and a plain overlay beside it (VNI 4097, port 4789), one container on each. Checks:
# containers ping across nodes on both; on every node nothing of VNI 4098 arrives in clear (a raw
# PREROUTING counter of `--pol none` packets on 5789 stays 0, the DROP of OVNET-CRYPT-4098 too) while
# ESP arrives and VNI 4097 arrives in clear; the SA counters rise on both sides; what node A sends
# with, node B receives with (SPI and key fingerprint); a key rotation (apply with the new key second,
# rotate, apply with the new key alone, on every node) under a continuous ping loses nothing and
# leaves no old SA; a node leaving is removed by one apply on the others, and added back when it
# joins again (symmetric with the others); del removes everything. With ovnet-trace shipped, a probe
# v1 -> v2 names the SA it moved on both nodes.
set -u
P=${VM_NS_PREFIX:-ovt$$-}cv
W=${VM_WORKDIR:-/tmp/crypt-vote.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
cleanup() { for n in ul n1 n2 n3 v1 v2 v3 p1 p2 p3; do ip netns delete "$P$n" 2>/dev/null; done; }
finish() { cleanup; if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-crypt jq; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan esp4 xfrm_user xt_policy xt_u32 xt_mark xt_tcpudp iptable_mangle iptable_filter iptable_raw; do
  modprobe $m 2>/dev/null
done
T0=$(date +%s)
in_ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
ip4() { echo "192.0.2.1$1"; }
others() { local n=$1 m; for m in 1 2 3; do [ $m = $n ] || printf -- '--peer %s ' "$(ip4 $m)"; done; }

# ---- the two overlays, ovnet tools only
ovnet-sbox -q add ${P}ul >/dev/null
ovnet-bridge -q -n ${P}ul add ul0 >/dev/null
for n in 1 2 3; do
  ovnet-sbox -q -n ${P}ul connect ${P}n$n --bridge ul0 --ip "$(ip4 $n)/24" >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-vote --mtu 1424 >/dev/null
  ovnet-vtep -q -n ${P}n$n add vx-vote --vni 4098 --port 5789 --encrypted --local "$(ip4 $n)" --master ov-vote >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}v$n --bridge ov-vote --ip 10.0.2.$((n + 1))/24 --encrypted >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-plain --mtu 1450 >/dev/null
  ovnet-vtep -q -n ${P}n$n add vx-plain --vni 4097 --local "$(ip4 $n)" --master ov-plain >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}p$n --bridge ov-plain --ip 10.0.1.$((n + 1))/24 >/dev/null
done
for n in 1 2 3; do
  for d in vx-vote vx-plain; do
    for m in 1 2 3; do [ $n = $m ] || ovnet-fdb -n ${P}n$m local -d $d; done | ovnet-fdb -q -n ${P}n$n apply -d $d --prune >/dev/null
  done
done
K1=000102030405060708090a0b0c0d0e0f
K2=f0e0d0c0b0a090807060504030201000
(umask 077
 printf '1 %s\n' $K1 > "$W/k1"
 printf '1 %s\n2 %s\n' $K1 $K2 > "$W/k12"
 printf '2 %s\n1 %s\n' $K2 $K1 > "$W/k21"
 printf '2 %s\n' $K2 > "$W/k2")
U32V="0>>22&0x3C@12&0xFFFFFF00=0x100200"   # VNI 4098
U32P="0>>22&0x3C@12&0xFFFFFF00=0x100100"   # VNI 4097
for n in 1 2 3; do
  # Test scaffolding: counters of what arrives on the underlay, before any decryption.
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p udp -m policy --dir in --pol none --dport 5789 -m u32 --u32 "$U32V" -j ACCEPT
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p esp -j ACCEPT
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p udp -m policy --dir in --pol none --dport 4789 -m u32 --u32 "$U32P" -j ACCEPT
done
# raw_count NODE RULE#: packets of the node's raw PREROUTING rule (1 clear vote, 2 esp, 3 clear plain).
raw_count() { in_ns n$1 iptables -t raw -nvxL PREROUTING | awk -v r=$(($2 + 2)) 'NR == r { print $1 }'; }
drop_count() { in_ns n$1 iptables -nvxL OVNET-CRYPT-4098 | awk '$3 == "DROP" { print $1 }'; }

# ---- encrypt the vote network
for n in 1 2 3; do
  # shellcheck disable=SC2046
  ovnet-crypt -n ${P}n$n add --vni 4098 --port 5789 --local "$(ip4 $n)" $(others $n) --key-file "$W/k1" > "$W/add$n.json" 2> "$W/add$n.err" ||
    fail "ovnet-crypt add on node $n: $(cat "$W/add$n.err")"
done
echo "setup + encrypt: $(( $(date +%s) - T0 )) s"
m=$(in_ns n1 ip -j link show vx-vote | jq '.[0].mtu')
[ "$m" = 1424 ] && ok "vx-vote MTU 1424 (--encrypted)" || fail "vx-vote MTU $m"
in_ns n1 ip xfrm state | head -12
in_ns n1 ip xfrm policy
for n in 1 2 3; do
  c=$(in_ns n$n ip xfrm state | grep -c 'proto esp spi .* reqid 13681891 mode transport')
  [ "$c" = 4 ] && ok "node $n: 4 SAs (in and out per peer)" || fail "node $n: $c SAs, wanted 4"
  c=$(in_ns n$n ip xfrm policy | grep -c 'mark 0xd0c4e3/0xffffffff')
  [ "$c" = 2 ] && ok "node $n: 2 outbound policies" || fail "node $n: $c policies, wanted 2"
  in_ns n$n ip xfrm policy | grep -q 'dport 5789' && ok "node $n: the policy matches the data port 5789" || fail "node $n: no policy for port 5789"
done

# ---- traffic
for t in "v1 10.0.2.3" "v1 10.0.2.4" "v2 10.0.2.4" "p1 10.0.1.3" "p1 10.0.1.4"; do
  set -- $t
  in_ns $1 timeout 90 ping -c 3 -W 30 $2 > "$W/ping.out" 2>&1 && ok "ping $1 -> $2" || { fail "ping $1 -> $2"; cat "$W/ping.out"; }
done
for n in 1 2 3; do
  clear=$(raw_count $n 1) esp=$(raw_count $n 2) plain=$(raw_count $n 3) drop=$(drop_count $n)
  echo "node $n: clear VNI 4098 $clear, esp $esp, clear VNI 4097 $plain, dropped $drop"
  [ "$clear" = 0 ] && ok "node $n: no clear VXLAN of VNI 4098 on the underlay" || fail "node $n: $clear clear VNI 4098 packets"
  [ "${esp:-0}" -gt 0 ] && ok "node $n: ESP arrives" || fail "node $n: no ESP"
  [ "${plain:-0}" -gt 0 ] && ok "node $n: VNI 4097 stays clear VXLAN" || fail "node $n: no clear VNI 4097"
  [ "$drop" = 0 ] && ok "node $n: nothing dropped" || fail "node $n: $drop dropped"
done
ovnet-crypt -n ${P}n1 show --local "$(ip4 1)" -t
ovnet-crypt -n ${P}n1 show --local "$(ip4 1)" -j > "$W/s1.json"
ovnet-crypt -n ${P}n2 show --local "$(ip4 2)" -j > "$W/s2.json"
grep -q "$K1" "$W/s1.json" && fail "show printed a key" || ok "show prints no key"
# Symmetry: n1 -> n2 as n1 sends and as n2 receives.
a=$(jq -c '[.sas[] | select(.dir == "out" and .dst == "192.0.2.12") | {spi, key_fingerprint}]' "$W/s1.json")
b=$(jq -c '[.sas[] | select(.dir == "in" and .src == "192.0.2.11") | {spi, key_fingerprint}]' "$W/s2.json")
[ "$a" = "$b" ] && [ "$a" != "[]" ] && ok "symmetric: n1 sends with what n2 receives with $a" || fail "asymmetric: $a vs $b"
o=$(jq '[.sas[] | select(.dir == "out") | .packets] | add' "$W/s1.json")
i=$(jq '[.sas[] | select(.dir == "in") | .packets] | add' "$W/s2.json")
[ "${o:-0}" -gt 0 ] && [ "${i:-0}" -gt 0 ] && ok "SA counters rise on both sides (n1 out $o, n2 in $i)" || fail "SA counters: n1 out $o, n2 in $i"
# The counters a probe moves (ovnet-trace --probe, where shipped): the SA n1 sends with and n2
# receives with, on both nodes
if command -v ovnet-trace >/dev/null && ovnet-trace --help 2>&1 | grep -q -- --probe; then
  spi=$(jq -r '[.sas[] | select(.dir == "out" and .dst == "192.0.2.12") | .spi][0]' "$W/s1.json")
  ovnet-trace --netns-prefix "$P" --from ${P}v1 --minimal --probe icmp 10.0.2.3 > "$W/probe" 2>&1; rc=$?
  grep '^probe' "$W/probe" || cat "$W/probe"
  for n in 1 2; do
    grep -Eq "^probe moved ${P}n$n: .*sa esp $spi 192\.0\.2\.11 -> 192\.0\.2\.12 \+[1-9]" "$W/probe" &&
      ok "probe: the SA $spi moved on node $n" || fail "probe (exit $rc): no moved SA $spi on node $n"
  done
else
  echo "note: no ovnet-trace --probe shipped: the probe's SA counters are not checked"
fi

# ---- rotation under a continuous ping
# The ping runs through the whole rotation and a moment after it, then is interrupted; every
# sequence number up to the last one answered must have been answered (the one in flight when
# interrupted does not count).
INT=0.05
in_ns v1 timeout 30 ping -c 1 -i $INT -W 5 10.0.2.3 >/dev/null 2>&1 || INT=1
ip netns exec ${P}v1 ping -i $INT -W 30 10.0.2.3 > "$W/flood.out" 2>&1 &
PING=$!
for _ in $(seq 100); do grep -q 'seq=' "$W/flood.out" && break; sleep 0.2; done
T1=$(date +%s)
for step in "apply k12" "rotate k21" "apply k2"; do
  set -- $step
  for n in 1 2 3; do
    # shellcheck disable=SC2046
    ovnet-crypt -q -n ${P}n$n $1 --vni 4098 --port 5789 --local "$(ip4 $n)" $(others $n) --key-file "$W/$2" > "$W/rot.json" 2> "$W/rot.err" ||
      fail "ovnet-crypt $1 with $2 on node $n: $(cat "$W/rot.err")"
  done
done
echo "rotation: $(( $(date +%s) - T1 )) s"
# A few more answers after the last step, then stop.
n0=$(grep -c 'seq=' "$W/flood.out")
for _ in $(seq 150); do [ "$(grep -c 'seq=' "$W/flood.out")" -ge $((n0 + 5)) ] && break; sleep 0.2; done
kill -INT $PING; wait $PING
seqs=$(grep -o 'seq=[0-9]*' "$W/flood.out" | cut -d= -f2 | sort -n | uniq)
got=$(echo "$seqs" | grep -c .) last=$(echo "$seqs" | tail -1) first=$(echo "$seqs" | head -1)
echo "ping during the rotation: $got answers, seq $first..$last, interval ${INT}s"
[ "$got" -gt 5 ] && [ "$first" -le 1 ] && [ $((last - first + 1)) = "$got" ] &&
  ok "rotation under a continuous ping: no packet lost ($got answers)" ||
  fail "rotation lost packets: $got answers for seq $first..$last"
for n in 1 2 3; do
  c=$(in_ns n$n ip xfrm state | grep -c 'reqid 13681891')
  [ "$c" = 4 ] && ok "node $n: 4 SAs after the rotation (old ones gone)" || fail "node $n: $c SAs after the rotation"
  in_ns n$n ip xfrm state | grep -q "$K1" && fail "node $n: an SA of the old key is left" || ok "node $n: no SA of the old key"
done
in_ns v1 timeout 90 ping -c 2 -W 30 10.0.2.4 >/dev/null 2>&1 && ok "ping after the rotation" || fail "ping after the rotation"

# ---- node 3 leaves: one apply on each of the others
for n in 1 2; do
  m=$(( 3 - n ))
  ovnet-crypt -q -n ${P}n$n apply --vni 4098 --port 5789 --local "$(ip4 $n)" --peer "$(ip4 $m)" --key-file "$W/k2" > /dev/null 2> "$W/leave.err" ||
    fail "apply without node 3 on node $n: $(cat "$W/leave.err")"
  s=$(in_ns n$n ip xfrm state | grep -c 'reqid 13681891') p=$(in_ns n$n ip xfrm policy | grep -c 'mark 0xd0c4e3/')
  [ "$s/$p" = 2/1 ] && ok "node $n: node 3's SAs and policy removed" || fail "node $n: $s SAs, $p policies after node 3 left"
  in_ns n$n ip xfrm state | grep -q 192.0.2.13 && fail "node $n: an SA with node 3 is left" || true
done
in_ns v1 timeout 90 ping -c 2 -W 30 10.0.2.3 >/dev/null 2>&1 && ok "ping n1 -> n2 after node 3 left" || fail "ping n1 -> n2 after node 3 left"

# ---- node 3 joins again: one apply on each of the others (node 3 kept its own SAs)
for n in 1 2; do
  # shellcheck disable=SC2046
  ovnet-crypt -q -n ${P}n$n apply --vni 4098 --port 5789 --local "$(ip4 $n)" $(others $n) --key-file "$W/k2" > /dev/null 2> "$W/join.err" ||
    fail "apply with node 3 on node $n: $(cat "$W/join.err")"
  s=$(in_ns n$n ip xfrm state | grep -c 'reqid 13681891') p=$(in_ns n$n ip xfrm policy | grep -c 'mark 0xd0c4e3/')
  [ "$s/$p" = 4/2 ] && ok "node $n: node 3's SAs and policy added back" || fail "node $n: $s SAs, $p policies after node 3 joined"
done
in_ns v1 timeout 90 ping -c 2 -W 30 10.0.2.4 >/dev/null 2>&1 && ok "ping n1 -> n3 after node 3 joined" || fail "ping n1 -> n3 after node 3 joined"
in_ns v3 timeout 90 ping -c 2 -W 30 10.0.2.3 >/dev/null 2>&1 && ok "ping n3 -> n2 after node 3 joined" || fail "ping n3 -> n2 after node 3 joined"
ovnet-crypt -n ${P}n1 show --local "$(ip4 1)" -j > "$W/j1.json"
ovnet-crypt -n ${P}n3 show --local "$(ip4 3)" -j > "$W/j3.json"
a=$(jq -c '[.sas[] | select(.dir == "out" and .dst == "192.0.2.13") | {spi, key_fingerprint}]' "$W/j1.json")
b=$(jq -c '[.sas[] | select(.dir == "in" and .src == "192.0.2.11") | {spi, key_fingerprint}]' "$W/j3.json")
[ "$a" = "$b" ] && [ "$a" != "[]" ] && ok "symmetric after the join: n1 sends to n3 with what n3 receives with $a" || fail "asymmetric after the join: $a vs $b"

# ---- per-pair keys (not Docker's scheme) between the two nodes left
for n in 1 2; do
  m=$(( 3 - n ))
  ovnet-crypt -q -n ${P}n$n apply --vni 4098 --port 5789 --local "$(ip4 $n)" --peer "$(ip4 $m)" --pair-keys --key-file "$W/k2" > /dev/null 2> "$W/pair.err" ||
    fail "apply --pair-keys on node $n: $(cat "$W/pair.err")"
done
in_ns n1 ip xfrm state | grep -q "$K2" && fail "--pair-keys: the cluster key is used as is" || ok "--pair-keys: SAs carry derived keys"
in_ns v1 timeout 90 ping -c 2 -W 30 10.0.2.3 >/dev/null 2>&1 && ok "ping with per-pair keys" || fail "ping with per-pair keys"
ovnet-crypt -n ${P}n1 show --local "$(ip4 1)" -j > "$W/p1.json"
ovnet-crypt -n ${P}n2 show --local "$(ip4 2)" -j > "$W/p2.json"
a=$(jq -c '[.sas[] | select(.dir == "out") | {spi, key_fingerprint}]' "$W/p1.json")
b=$(jq -c '[.sas[] | select(.dir == "in") | {spi, key_fingerprint}]' "$W/p2.json")
[ "$a" = "$b" ] && ok "per-pair keys symmetric $a" || fail "per-pair keys asymmetric: $a vs $b"

# ---- del
for n in 1 2 3; do
  ovnet-crypt -q -n ${P}n$n del --vni 4098 --port 5789 --local "$(ip4 $n)" > /dev/null 2> "$W/del.err" || fail "del on node $n: $(cat "$W/del.err")"
  s=$(in_ns n$n ip xfrm state | grep -c 'reqid 13681891') p=$(in_ns n$n ip xfrm policy | grep -c 'mark 0xd0c4e3/')
  r=$(in_ns n$n iptables-save | grep -c OVNET-CRYPT)
  [ "$s/$p/$r" = 0/0/0 ] && ok "node $n: del removed SAs, policies and rules" || fail "node $n: after del $s SAs, $p policies, $r rules"
done
echo "total: $(( $(date +%s) - T0 )) s"
finish
