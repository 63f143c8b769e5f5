#!/bin/bash
# lab: the whole deep-dive lab (ovnet-lab up of the built-in topology) in the VM, where IPVS and
# AES-GCM exist: the routing mesh answers on port 30000 of every node from both vote tasks; the
# service VIPs answer from their tasks through each task's own IPVS (FWM 256/257/259); ingress_sbox
# holds FWM 258 with the seed's backends 10.255.0.6/.7; the vote network is encrypted (ESP on the
# underlay, no clear VXLAN with VNI 4098); the tour's IPVS steps show those services; scaling redis
# to 5 adds exactly the three new tasks, each as a peer on the two other nodes; the break scenarios
# that need IPVS or ESP fail their check after `break` and pass after the documented fix; selftest
# passes; down leaves nothing. Checks read the kernel with ip/ipvsadm/iptables, never ovnet alone.
set -u
P=${VM_NS_PREFIX:-ovt$$-}lab
W=${VM_WORKDIR:-/tmp/lab.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
finish() {
  ovnet-lab --prefix "$P" down -q >/dev/null 2>&1
  left=$(ip netns list | grep -c "^$P-")
  [ "$left" = 0 ] || fail "down left $left namespaces"
  if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi
  exit 0
}
for t in ovnet-lab ovnet-sbox ovnet-fdb ovnet-ipvs ovnet-capture jq; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat nf_conntrack iptable_nat iptable_mangle iptable_filter iptable_raw xt_mark \
         xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack xt_policy xt_u32 esp4 xfrm_user; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
in_ns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
T0=$(date +%s)

# ---- up
ovnet-lab --prefix "$P" up -t --timings > "$W/up.out" 2>&1; rc=$?
cat "$W/up.out"
# every rule of the lab in one iptables-restore per namespace that has rules: 5 tasks (VIP marks,
# SNAT), 3 ingress sandboxes (the mesh), 3 hosts (DNAT, ESP marks)
grep -q '; 11 iptables-restore)$' "$W/up.out" && ok "up: one iptables-restore per namespace with rules (11)" ||
  fail "up: not one restore per namespace: $(grep '^took' "$W/up.out")"
[ $rc = 0 ] && ok "up ($(( $(date +%s) - T0 )) s)" || { fail "up exit $rc"; finish; }
grep -qi 'skip' "$W/up.out" && fail "up skipped something in the VM: $(grep -i skip "$W/up.out")"
ovnet-lab --prefix "$P" status -t > "$W/status" 2>&1 && ok "status: complete" || { fail "status after up"; cat "$W/status"; }
ovnet-lab --prefix "$P" up -t --timings > "$W/up2.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q ': 0 added, 0 changed, 0 removed' "$W/up2.out" && grep -q '; 0 iptables-restore)$' "$W/up2.out" &&
  ok "second up changes nothing, writes no rule: $(head -1 "$W/up2.out")" || fail "second up: rc=$rc $(cat "$W/up2.out")"

# ---- the routing mesh: every node's port 30000 answers from both vote tasks (HTTP GET from the outside client)
cat > "$W/get.sh" <<'EOF'
for a in "$@"; do
  r=$(timeout 60 bash -c "exec 3<>/dev/tcp/${a%:*}/${a##*:}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1)
  echo "$a $r"
done
EOF
for n in 1 2 3; do
  ip netns exec "$P-ul" bash "$W/get.sh" 192.0.2.1$n:30000 192.0.2.1$n:30000 192.0.2.1$n:30000 192.0.2.1$n:30000 > "$W/mesh$n"
  cat "$W/mesh$n"
  grep -q 'vote\.1' "$W/mesh$n" && grep -q 'vote\.2' "$W/mesh$n" && ok "node $n:30000 answered by vote.1 and vote.2" ||
    fail "node $n:30000: $(tr '\n' ' ' < "$W/mesh$n")"
done
# ---- ingress_sbox: FWM 258 rr with the seed's backends
in_ns swarm-01-ingress_sbox ipvsadm -Ln > "$W/sbox-ipvs"; cat "$W/sbox-ipvs"
grep -Eq '^FWM +258 rr' "$W/sbox-ipvs" && [ "$(grep -Ec -- '-> 10\.255\.0\.[67]:0 +Masq +1 ' "$W/sbox-ipvs")" = 2 ] &&
  ok "ingress_sbox: FWM 258 rr -> 10.255.0.6:0, 10.255.0.7:0 Masq 1" || fail "ingress_sbox IPVS not as the seed"
in_ns swarm-01-ingress_sbox iptables -t mangle -S > "$W/sbox-mangle"
grep -q -- '--dport 30000 -j MARK --set-xmark 0x102/0xffffffff' "$W/sbox-mangle" && ok "ingress_sbox MARK 0x102 on dport 30000" ||
  { fail "no MARK 0x102"; cat "$W/sbox-mangle"; }
in_ns swarm-01 iptables -t nat -S > "$W/host-nat"
grep -q -- '--dport 30000 -j DNAT --to-destination 172.18.0.2:30000' "$W/host-nat" && ok "host DNAT 30000 -> 172.18.0.2:30000" ||
  { fail "no host DNAT"; cat "$W/host-nat"; }
# ---- internal load balancing in a task (the seed's redis container): FWM 256/257/259, SNAT to its own address
in_ns swarm-01-redis.2 ipvsadm -Ln > "$W/task-ipvs"; cat "$W/task-ipvs"
for f in 256 257 259; do grep -Eq "^FWM +$f rr" "$W/task-ipvs" || fail "redis.2: no FWM $f"; done
grep -Eq '^FWM +256 rr' "$W/task-ipvs" && [ "$(awk '/^FWM +256/{s=1;next} /^FWM/{s=0} s && /->/' "$W/task-ipvs" | grep -c 'Masq')" = 2 ] &&
  ok "redis.2: FWM 256 with the two redis tasks" || fail "redis.2: FWM 256 backends"
in_ns swarm-01-redis.2 iptables -t mangle -S > "$W/task-mangle"
grep -q -- '-d 10.0.0.5/32 -j MARK --set-xmark 0x100/0xffffffff' "$W/task-mangle" && ok "redis.2: MARK 0x100 for 10.0.0.5" ||
  { fail "redis.2: no MARK 0x100"; cat "$W/task-mangle"; }
ip netns exec "$P-swarm-01-redis.2" bash "$W/get.sh" 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 > "$W/vip"
cat "$W/vip"
grep -q 'redis\.1' "$W/vip" && grep -q 'redis\.2' "$W/vip" && ok "VIP 10.0.0.5:6379 balanced over redis.1 and redis.2" ||
  fail "VIP 10.0.0.5: $(tr '\n' ' ' < "$W/vip")"
# ---- encryption: the vote network's traffic crosses the underlay as ESP only
ping_bg() { ip netns exec "$P-swarm-01-redis.2" ping -c 40 -i 0.5 -W 2 10.0.0.6 > "$W/ping" 2>&1 & PING=$!; }
ping_bg
# (on swarm-02's eth0: the underlay bridge's own port sees only what is addressed to it)
ovnet-capture -n "$P-swarm-02" -i eth0 --esp -c 3 --timeout 60 > "$W/esp" 2> "$W/esp.err"
ovnet-capture -n "$P-swarm-02" -i eth0 --vxlan --timeout 5 > "$W/vx" 2> "$W/vx.err"
kill $PING 2>/dev/null; wait $PING 2>/dev/null
head -3 "$W/esp"
[ "$(grep -c '"esp":{"spi"' "$W/esp")" = 3 ] && ok "ESP on the underlay while redis.2 pings redis.1 on the vote network" ||
  fail "no ESP seen: $(head -3 "$W/esp") $(cat "$W/esp.err")"
grep -q '"vni":4098' "$W/vx" && fail "clear VXLAN with VNI 4098 on the underlay: $(grep -m1 '"vni":4098' "$W/vx")" ||
  ok "no clear VXLAN with VNI 4098 on the underlay ($(grep -c . "$W/vx") other VXLAN packets)"
# ---- the journey across the encrypted network: computed (the xfrm policy's SA, its SPI) and probed
ovnet-trace --netns-prefix "$P-" --from "$P-swarm-01-redis.2" --minimal tcp 10.0.0.6:6379 > "$W/tr-esp" 2>&1; rc=$?
cat "$W/tr-esp"
[ $rc = 0 ] && grep -q "$P-swarm-01 xfrm policy: .*=> ESP SPI 0x[0-9a-f]* (transport)" "$W/tr-esp" &&
  grep -q "VXLAN VNI 4098 192.0.2.11 -> 192.0.2.12" "$W/tr-esp" &&
  ok "trace redis.2 -> redis.1 (vote, VNI 4098): ESP with the SA's SPI, delivered" || fail "trace across the encrypted network (exit $rc)"
ovnet-trace --netns-prefix "$P-" --from "$P-swarm-01-redis.2" --minimal --probe tcp 10.0.0.6:6379 > "$W/pr-esp" 2>&1; rc=$?
grep '^probe' "$W/pr-esp"
grep -q '^probe delivered' "$W/pr-esp" && ok "probe across the encrypted network: delivered" || { fail "probe across ESP (exit $rc)"; cat "$W/pr-esp"; }
# ---- scale redis=5: three new tasks, each a new peer on the two other nodes (6 new entries in all)
peers() { for n in 1 2 3; do ovnet-fdb -n "$P-swarm-0$n" show -d vx-001002-7672d -j | grep -o '"mac":"02:42:0a:00:00:[0-9a-f]*"' | sort | sed "s/^/$n /"; done; }
peers > "$W/peers-before"
ovnet-lab --prefix "$P" scale redis=5 -t > "$W/scale" 2>&1 || fail "scale: $(cat "$W/scale")"
peers > "$W/peers-after"
grep -vxFf "$W/peers-before" "$W/peers-after" > "$W/peers-new"
cat "$W/peers-new"
want=$(printf '%s\n' '1 "mac":"02:42:0a:00:00:0a"' '1 "mac":"02:42:0a:00:00:0b"' '2 "mac":"02:42:0a:00:00:0a"' \
  '2 "mac":"02:42:0a:00:00:0c"' '3 "mac":"02:42:0a:00:00:0b"' '3 "mac":"02:42:0a:00:00:0c"')
[ "$(sort "$W/peers-new")" = "$want" ] && [ -z "$(grep -vxFf "$W/peers-after" "$W/peers-before")" ] &&
  ok "scale redis=5: redis.3-5 (10.0.0.10-12) each a peer on the two other nodes, nothing removed" ||
  { fail "scale: new peers $(tr '\n' ' ' < "$W/peers-new")"; echo "before:"; cat "$W/peers-before"; echo "after:"; cat "$W/peers-after"; cat "$W/scale"; }
ip netns exec "$P-swarm-01-redis.2" bash "$W/get.sh" 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 \
  10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 10.0.0.5:6379 > "$W/vip5"
[ "$(grep -o 'redis\.[0-9]' "$W/vip5" | sort -u | wc -l)" = 5 ] && ok "after scale: 10.0.0.5 answered by all five redis tasks" ||
  fail "after scale: $(tr '\n' ' ' < "$W/vip5")"
# ---- the tour's IPVS steps
ovnet-lab --prefix "$P" tour --no-pause > "$W/tour" 2>&1; rc=$?
[ $rc = 0 ] && ok "tour --no-pause" || { fail "tour exit $rc"; cat "$W/tour"; }
for want in '256 (0x100)' 'FWM  258' '10.255.0.6' '10.255.0.7' 'DNAT' '0x102' '258'; do
  grep -qF -- "$want" "$W/tour" || fail "tour output lacks '$want'"
done
grep -qi 'needs IPVS\|no IPVS' "$W/tour" && fail "tour says IPVS is missing in the VM" || ok "tour: IPVS steps ran"
# ---- every check (tasks with their right answers, health, snapshot, journeys incl. the VIP and the mesh)
ovnet-lab --prefix "$P" check all -t > "$W/checks" 2>&1; rc=$?
[ $rc = 0 ] && ok "check all: $(tail -1 "$W/checks")" || { fail "check all exit $rc"; cat "$W/checks"; }
# ---- break scenarios that need IPVS or ESP
for s in no-dnat esp-blocked; do
  ovnet-lab --prefix "$P" check "$s" > "$W/c0" 2>&1 || { fail "check $s before break: $(cat "$W/c0")"; continue; }
  ovnet-lab --prefix "$P" break "$s" -t > "$W/b" 2>&1 || { fail "break $s: $(cat "$W/b")"; continue; }
  cat "$W/b"
  ovnet-lab --prefix "$P" check "$s" > "$W/c1" 2>&1 && fail "check $s passes after break" || ok "check $s fails after break: $(head -1 "$W/c1")"
  fix=$(ovnet-lab --prefix "$P" status -j | jq -r --arg s "$s" '.breaks[] | select(.scenario == $s) | .fix[]')
  printf '%s\n' "$fix" > "$W/fix.sh"; bash "$W/fix.sh" > "$W/fix.out" 2>&1 || { fail "fix of $s: $(cat "$W/fix.out")"; continue; }
  ovnet-lab --prefix "$P" check "$s" > "$W/c2" 2>&1 && ok "check $s passes after the fix" || fail "check $s after fix: $(cat "$W/c2")"
done
# ---- selftest: the whole tour with every check
ovnet-lab --prefix "$P" selftest > "$W/self" 2>&1; rc=$?
tail -5 "$W/self"
[ $rc = 0 ] && ok "selftest" || fail "selftest exit $rc"
echo "lab body: $(( $(date +%s) - T0 )) s"
finish
