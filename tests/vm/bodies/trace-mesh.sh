#!/bin/bash
# trace-mesh: ovnet-trace's computed traces over the deep dive's routing mesh (issue 11), with the
# nodes' rules written through iptables-nft when the VM has it (xtables-nft-multi shipped as an
# extra file: tests/vm/vmrun.sh tests/vm/bodies/trace-mesh.sh <tools> /usr/sbin/xtables-nft-multi),
# legacy otherwise (said on the console). The mesh is mesh.sh's: three nodes on an underlay bridge
# (192.0.2.11-13), the ingress overlay (VNI 4096), ingress sandboxes (10.255.0.2-4, 172.18.0.2),
# tasks 10.255.0.6 (node 2) and 10.255.0.7 (node 3) serving HTTP on 30000, port 30000 published on
# every node (FWM 258 = 0x102). From an external client on the underlay to each node, the trace
# names the seed's numbers: DNAT to 172.18.0.2:30000, MARK 0x102 (258), FWM 258 with the candidates
# 10.255.0.6 and 10.255.0.7, SNAT, VXLAN VNI 4096 to the task's node, and delivery to the listening
# task; --lb-dst picks one path; the offline trace over snapshots equals the live one. Then the
# internal VIP: a container c1 on node 1 (10.255.0.8) whose own sandbox holds VIP 10.255.0.5 for
# the two tasks (ovnet-lb, mark 0x100 = 256, as Docker programs a service in each container):
# the trace from c1 names the mark, FWM 256 with both candidates, the SNAT and VNI 4096, and a
# probe from c1 is delivered; the IPVS connection it created (which real server was picked) is
# one of the candidates, and so is the one a probe from a client through the routing mesh created
# in node 1's ingress sandbox.
set -u
P=${VM_NS_PREFIX:-ovt$$-}t
W=${VM_WORKDIR:-/tmp/trace-mesh.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
cleanup() { for n in ul n1 n2 n3 s1 s2 s3 c1 c2 c3; do ip netns delete "$P$n" 2>/dev/null; done; }
finish() { cleanup; if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-publish ovnet-lb ovnet-trace ovnet-inspect; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype \
         xt_MASQUERADE iptable_filter xt_conntrack nf_tables nft_compat nft_chain_nat nft_counter; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
# iptables-nft, as Debian 12 and Docker there use, when shipped: every iptables name the tools and
# this body call goes to xtables-nft-multi (the tracer still reads both backends' save output).
NFT=$(command -v xtables-nft-multi)
if [ -n "$NFT" ]; then
  mkdir -p "$W/bin"
  for t in iptables iptables-save iptables-restore iptables-nft iptables-nft-save iptables-nft-restore; do ln -sf "$NFT" "$W/bin/$t"; done
  export PATH="$W/bin:$PATH"
  echo "iptables: nft ($(iptables -V))"
else
  echo "iptables: legacy (xtables-nft-multi not shipped)"
fi
T0=$(date +%s)
in_ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
# ---- setup, ovnet tools only
ovnet-sbox -q add ${P}ul >/dev/null
ovnet-bridge -q -n ${P}ul add ul0 --addr 192.0.2.100/24 >/dev/null
for n in 1 2 3; do
  ovnet-sbox -q -n ${P}ul connect ${P}n$n --bridge ul0 --ip 192.0.2.1$n/24 >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-ingress --mtu 1450 -j | ovnet-vtep -q add --vni 4096 --local 192.0.2.1$n >/dev/null
  ovnet-bridge -q -n ${P}n$n add docker_gwbridge --addr 172.18.0.1/16 >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}s$n --bridge ov-ingress --ip 10.255.0.$((n + 1))/16 >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}s$n --bridge docker_gwbridge --ip 172.18.0.2/16 --gw 172.18.0.1 >/dev/null
done
for n in 2 3; do
  ovnet-sbox -q -n ${P}n$n connect ${P}c$n --bridge ov-ingress --ip 10.255.0.$((n + 4))/16 >/dev/null
  mkdir -p "$W/www$n"; echo "task c$n" > "$W/www$n/index.html"
  ovnet-sbox exec ${P}c$n -- httpd -p 30000 -h "$W/www$n"
done
for n in 1 2 3; do
  for m in 1 2 3; do [ $n = $m ] || ovnet-fdb -n ${P}n$m local -d vx-ingress; done |
    ovnet-fdb -q -n ${P}n$n apply -d vx-ingress --prune >/dev/null
done
# Test scaffolding, not setup: Docker sets the hosts' FORWARD policy to DROP and no ovnet tool sets
# chain policies, so iptables simulates it here. The mesh must work through ovnet's filter rules.
for n in 1 2 3; do in_ns n$n iptables -P FORWARD DROP; done
for n in 1 2 3; do
  ovnet-publish -n ${P}n$n add --port 30000 --ingress-sbox ${P}s$n --gw-ip 172.18.0.2 \
    --backend 10.255.0.6 --backend 10.255.0.7 --fwmark 258 > /dev/null 2> "$W/pub$n.err" ||
    fail "ovnet-publish add on node $n: $(cat "$W/pub$n.err")"
done
[ -n "$NFT" ] && { in_ns n1 iptables-nft-save | grep -q 'DNAT --to-destination 172.18.0.2:30000' && ok "rules written through iptables-nft" ||
  fail "no DNAT rule in iptables-nft-save"; }
# the mesh answers (kernel state ready) before tracing
r=$(ovnet-sbox exec ${P}ul -- timeout 60 bash -c "exec 3<>/dev/tcp/192.0.2.11/30000; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1)
case "$r" in task*) ok "node 1 answers: $r";; *) fail "node 1 does not answer: $r";; esac
echo "setup: $(( $(date +%s) - T0 )) s"

# ---- the routing mesh from an external client, to every node
for n in 1 2 3; do
  ovnet-trace --from client --minimal tcp 192.0.2.1$n:30000 > "$W/t$n" 2> "$W/t$n.err"; rc=$?
  cat "$W/t$n" "$W/t$n.err"
  [ $rc = 0 ] && ok "node $n: delivered (exit 0)" || fail "node $n: exit $rc"
  grep -q "assume ${P}s$n: IPVS fwm 258 (rr) picks 10.255.0.7" "$W/t$n" && ok "node $n: every forked path names its assumption" || fail "node $n: assumption"
  grep -q "${P}n$n netfilter nat .*=> DNAT to 172.18.0.2:30000" "$W/t$n" && ok "node $n: DNAT to 172.18.0.2:30000" || fail "node $n: no DNAT hop"
  grep -q "${P}s$n netfilter mangle [A-Z-]*: .*=> MARK 0x102 (258)" "$W/t$n" && ok "node $n: MARK 0x102 (258)" || fail "node $n: no MARK 0x102"
  for d in 6 7; do
    grep -q "${P}s$n ipvs fwm 258: rr \[10.255.0.6:0 w1, 10.255.0.7:0 w1\] => to 10.255.0.$d (masq)" "$W/t$n" &&
      ok "node $n: FWM 258 candidate 10.255.0.$d" || fail "node $n: no FWM 258 path to 10.255.0.$d"
  done
  grep -q "${P}s$n netfilter nat [A-Z-]*: .*-m ipvs --ipvs .*=> SNAT to 10.255.0.$((n + 1))" "$W/t$n" && ok "node $n: SNAT to 10.255.0.$((n + 1))" || fail "node $n: no SNAT"
  grep -q "encap vx-ingress: .*=> VXLAN VNI 4096 192.0.2.1$n -> 192.0.2.12 udp/4789" "$W/t$n" &&
    grep -q "encap vx-ingress: .*=> VXLAN VNI 4096 192.0.2.1$n -> 192.0.2.13 udp/4789" "$W/t$n" &&
    ok "node $n: VNI 4096 to both tasks' nodes" || { [ $n != 1 ] && ok "node $n: one task is local" || fail "node $n: no VNI 4096 encapsulation"; }
  grep -q "${P}c2 socket tcp 10.255.0.6:30000: tcp LISTEN .*:30000" "$W/t$n" && grep -q "${P}c3 socket tcp 10.255.0.7:30000: tcp LISTEN .*:30000" "$W/t$n" &&
    ok "node $n: both tasks' sockets" || fail "node $n: not delivered to both tasks' sockets"
done
# --lb-dst follows one candidate
ovnet-trace --from client --minimal --lb-dst 10.255.0.7 tcp 192.0.2.11:30000 > "$W/lb" 2>&1
! grep -q "to 10.255.0.6 (masq)" "$W/lb" && grep -q "to 10.255.0.7 (masq)" "$W/lb" && ok "--lb-dst 10.255.0.7: one path" || { fail "--lb-dst"; cat "$W/lb"; }
# the offline trace over snapshots is the live one
for n in ul n1 n2 n3 s1 s2 s3 c2 c3; do ovnet-inspect -n $P$n > "$W/snap-$n.json" || fail "ovnet-inspect -n $P$n"; done
snaps=(); for n in ul n1 n2 n3 s1 s2 s3 c2 c3; do snaps+=(--snapshot "$W/snap-$n.json"); done
ovnet-trace "${snaps[@]}" --from client --minimal tcp 192.0.2.11:30000 > "$W/off" 2>&1
# offline: the socket table is not in a snapshot (the socket lines aside)
grep -v " socket " "$W/t1" > "$W/t1.cmp"; grep -v " socket " "$W/off" > "$W/off.cmp"
cmp -s "$W/t1.cmp" "$W/off.cmp" && ok "offline trace = live trace" || { fail "offline trace differs"; diff "$W/t1.cmp" "$W/off.cmp"; }

# ---- the internal VIP, from a container
ovnet-sbox -q -n ${P}n1 connect ${P}c1 --bridge ov-ingress --ip 10.255.0.8/16 >/dev/null
for n in 1 2 3; do   # the peers again, c1 among them (the tasks answer its SNAT address)
  for m in 1 2 3; do [ $n = $m ] || ovnet-fdb -n ${P}n$m local -d vx-ingress; done |
    ovnet-fdb -q -n ${P}n$n apply -d vx-ingress --prune >/dev/null
done
ovnet-lb -n ${P}c1 add --vip 10.255.0.5 --backend 10.255.0.6 --backend 10.255.0.7 > /dev/null 2> "$W/lb.err" || fail "ovnet-lb add: $(cat "$W/lb.err")"
r=$(ovnet-sbox exec ${P}c1 -- timeout 60 bash -c "exec 3<>/dev/tcp/10.255.0.5/30000; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1)
case "$r" in task*) ok "the VIP answers c1: $r";; *) fail "the VIP does not answer c1: $r";; esac
ovnet-trace --from ${P}c1 --minimal tcp 10.255.0.5:30000 > "$W/vip" 2>&1; rc=$?
cat "$W/vip"
[ $rc = 0 ] && ok "VIP: delivered (exit 0)" || fail "VIP: exit $rc"
grep -q "${P}c1 netfilter mangle [A-Z-]*: .*=> MARK 0x100 (256)" "$W/vip" && ok "VIP: MARK 0x100 (256)" || fail "VIP: no MARK 0x100"
for d in 6 7; do
  grep -q "${P}c1 ipvs fwm 256: rr \[10.255.0.6:0 w1, 10.255.0.7:0 w1\] => to 10.255.0.$d (masq)" "$W/vip" &&
    ok "VIP: FWM 256 candidate 10.255.0.$d" || fail "VIP: no FWM 256 path to 10.255.0.$d"
done
grep -q "encap vx-ingress: .*=> VXLAN VNI 4096 192.0.2.11 -> 192.0.2.1[23] udp/4789" "$W/vip" && ok "VIP: VNI 4096" || fail "VIP: no VNI 4096"
if ovnet-trace --help 2>&1 | grep -q -- --probe; then
  ovnet-trace --from ${P}c1 --minimal --probe tcp 10.255.0.5:30000 > "$W/probe" 2>&1; rc=$?
  cat "$W/probe"
  grep -q '^probe delivered' "$W/probe" && ok "VIP: the probe is delivered" || fail "VIP: probe (exit $rc)"
  # IPVS's real pick: the probe left through the bridge port of c2 (node 2) or c3 (node 3), both computed candidates
  grep -Eq "^probe delivered.*seen leaving: .*${P}n[23] veth[^,;]*; agrees$" "$W/probe" &&
    ok "VIP: the probe's pick is a computed candidate, and it agrees" || fail "VIP: the probe's path is not a computed one"
  # the IPVS connection the probe created in c1's sandbox (/proc/net/ip_vs_conn there): the probe's
  # own socket as the client, the VIP, and the real server IPVS picked, one of the candidates. The
  # VIP is an address of c1's sandbox, so the socket's source is the VIP itself (the kernel's pick
  # for a local destination); the SNAT to 10.255.0.8 comes after IPVS, at POSTROUTING.
  grep -Eq "^probe ipvs ${P}c1: 10\.255\.0\.5:[0-9]+ -> 10\.255\.0\.5:30000 picked 10\.255\.0\.[67]:30000 \([A-Z_]+\); computed \[10\.255\.0\.6:0, 10\.255\.0\.7:0\]: agrees$" "$W/probe" &&
    ok "VIP: the probe's IPVS connection in c1 names its pick, a computed candidate" || fail "VIP: no probe ipvs line for c1 naming a candidate"
  ovnet-trace --from ${P}c1 -j --probe tcp 10.255.0.5:30000 > "$W/probe.json" 2> "$W/probe.json.err"
  if command -v jq >/dev/null; then
    r=$(jq -c '[.probe.ipvs[0].netns, .probe.ipvs[0].agrees, (.probe.ipvs | length), .probe.agrees]' "$W/probe.json" 2>&1)
    [ "$r" = "[\"${P}c1\",true,1,true]" ] && ok "VIP: JSON .probe.ipvs[0] in ${P}c1 agrees" ||
      { fail "VIP: JSON .probe.ipvs: $r"; cat "$W/probe.json.err"; jq -c .probe.ipvs "$W/probe.json"; }
  else
    echo "note: no jq in the VM: the JSON check of .probe.ipvs is left out"
  fi
  # --lb-dst fixes the computed pick; rr alternates between the two tasks, so of two probes in a
  # row one picks 10.255.0.7 (agrees) and the other 10.255.0.6, which the probe names as a difference
  for k in 1 2; do ovnet-trace --from ${P}c1 --minimal --lb-dst 10.255.0.7 --probe tcp 10.255.0.5:30000 > "$W/probe-lb$k" 2>&1; done
  cat "$W/probe-lb1" "$W/probe-lb2" | grep '^probe '
  n7=$(cat "$W/probe-lb1" "$W/probe-lb2" | grep -Ec "^probe ipvs ${P}c1: .* picked 10\.255\.0\.7:30000 \([A-Z_]+\); computed \[10\.255\.0\.7:0\]: agrees$")
  n6=$(cat "$W/probe-lb1" "$W/probe-lb2" | grep -Ec "^probe differs: ipvs in ${P}c1 \(fwm 256\): computed \[10\.255\.0\.7:0\], the kernel picked 10\.255\.0\.6:30000 for ")
  [ "$n7:$n6" = 1:1 ] && ok "VIP --lb-dst 10.255.0.7: the probe's pick agrees once, and its other pick is named as a difference" ||
    fail "VIP --lb-dst 10.255.0.7: picks agreeing/differing $n7:$n6, not 1:1"
  # the routing mesh: from a client on the underlay (an underlay source, so the answer comes back)
  # to node 1; IPVS picks in the ingress sandbox, for the client as the host's DNAT left it
  ovnet-trace --from client --src 192.0.2.99 --minimal --probe tcp 192.0.2.11:30000 > "$W/probe-mesh" 2>&1; rc=$?
  cat "$W/probe-mesh"
  grep -Eq "^probe ipvs ${P}s1: 192\.0\.2\.99:[0-9]+ -> 172\.18\.0\.2:30000 picked 10\.255\.0\.[67]:30000 \([A-Z_]+\); computed \[10\.255\.0\.6:0, 10\.255\.0\.7:0\]: agrees$" "$W/probe-mesh" &&
    ok "mesh: the probe's IPVS connection in s1 names its pick, a computed candidate" || fail "mesh: no probe ipvs line for s1 naming a candidate (exit $rc)"
fi
echo "trace-mesh body: $(( $(date +%s) - T0 )) s"
finish
