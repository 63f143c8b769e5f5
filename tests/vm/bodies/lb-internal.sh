#!/bin/bash
# lb-internal: internal load balancing of a service VIP, built with ovnet tools only (ip/iptables/
# ipvsadm only check). Overlay VNI 4097 (ov-001001-7672d) on three nodes; on node 1 a client c1
# (10.0.0.2) and the load-balancer namespace lb1 (10.0.0.11); replicas serving HTTP on nodes 2 and 3
# (10.0.0.21-23, 10.0.0.31-32). ovnet-lb puts VIP 10.0.0.5 in lb1 (mark 256 = 0x100 allocated,
# FWM service rr/masq, SNAT -m ipvs to 10.0.0.11). Checks: the client is balanced across the three
# replicas; scaling to five adds two backends while an open connection carries on; removing one
# drains it (weight 0, then gone); a second service gets 257; re-runs change nothing (no
# iptables-restore); bad input exits 2 with one line and changes nothing; del --drain takes every
# weight to 0 before it removes the service; del restores the state, the sysctls included (kept
# while another service remains, back to the originals after the last del).
set -u
P=${VM_NS_PREFIX:-ovt$$-}l
W=${VM_WORKDIR:-/tmp/lb.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
NSS="ul n1 n2 n3 c1 lb1 r21 r22 r23 r31 r32"
finish() { for n in $NSS; do ip netns delete "$P$n" 2>/dev/null; done
  if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-lb ovnet-ipvs; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle xt_mark xt_nat xt_ipvs xt_tcpudp; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
T0=$(date +%s)
in_ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
BR=ov-001001-7672d VX=vx-001001-7672d

# ---- setup, ovnet tools only
ovnet-sbox -q add ${P}ul >/dev/null
ovnet-bridge -q -n ${P}ul add ul0 >/dev/null
for n in 1 2 3; do
  ovnet-sbox -q -n ${P}ul connect ${P}n$n --bridge ul0 --ip 192.0.2.1$n/24 >/dev/null
  ovnet-bridge -q -n ${P}n$n add $BR --mtu 1450 -j | ovnet-vtep -q add --vni 4097 --local 192.0.2.1$n >/dev/null
done
ovnet-sbox -q -n ${P}n1 connect ${P}c1 --bridge $BR --ip 10.0.0.2/24 >/dev/null
ovnet-sbox -q -n ${P}n1 connect ${P}lb1 --bridge $BR --ip 10.0.0.11/24 >/dev/null
for r in 21 22 23 31 32; do
  ovnet-sbox -q -n ${P}n${r:0:1} connect ${P}r$r --bridge $BR --ip 10.0.0.$r/24 >/dev/null
  mkdir -p "$W/www$r"; echo "replica r$r" > "$W/www$r/index.html"
  ovnet-sbox exec ${P}r$r -- httpd -p 80 -h "$W/www$r"
done
for n in 1 2 3; do
  for m in 1 2 3; do [ $n = $m ] || ovnet-fdb -n ${P}n$m local -d $VX; done |
    ovnet-fdb -q -n ${P}n$n apply -d $VX --prune >/dev/null
done
in_ns lb1 iptables -t mangle -A INPUT -s 10.99.0.0/16 -j RETURN   # a foreign rule: must survive
dump() { { in_ns lb1 iptables-save; in_ns lb1 ipvsadm -S -n; } | grep -Ev '^(#|[*:]|COMMIT)'; }
dump > "$W/before"
SYSCTLS="vs/conntrack vs/conn_reuse_mode vs/expire_nodest_conn vs/expire_quiescent_template ip_forward"
sysctls() { in_ns lb1 bash -c "cd /proc/sys/net/ipv4 && for k in $SYSCTLS; do echo \$k=\$(cat \$k); done" | tr '\n' ' '; }
SYS0=$(sysctls)
echo "sysctls before add: $SYS0"
echo "setup: $(( $(date +%s) - T0 )) s"

# get.sh N: N HTTP/1.0 requests to the VIP from the client, one answer a line.
cat > "$W/get.sh" <<'EOF'
for i in $(seq "$1"); do
  timeout 60 bash -c "exec 3<>/dev/tcp/10.0.0.5/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1
done
EOF
balanced() {   # balanced N WANT...: N requests answered by exactly the WANT replicas, once each
  local n=$1; shift
  local got; got=$(ovnet-sbox exec ${P}c1 -- bash "$W/get.sh" "$n" | awk '{print $NF}' | sort | tr '\n' ' ')
  local want; want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  [ "$got" = "$want" ] && ok "balanced across $want" || fail "answers \"$got\", want \"$want\""
}
# Timing: wait for the kernel state a check needs, with generous deadlines (TCG on a loaded host can be
# 10x slower); never compare after a fixed sleep.
# active: the number of connections IPVS counts as active (ActiveConn summed over lb1's backends).
active() { in_ns lb1 ipvsadm -Ln | awk '$1 == "->" && $2 ~ /^10\./ {s += $5} END {print s + 0}'; }
# watch.sh WANT OUT (in lb1): snapshots `ipvsadm -Ln` in a tight loop (one process per round, no sleep)
# until WANT holds, then writes that snapshot to OUT and the OVNET-LB mangle rules of that moment to
# OUT.mark; touches OUT.ready after its first round, stops at OUT.stop (or after 300 s).
cat > "$W/watch.sh" <<'EOF'
want=$1 out=$2 end=$((SECONDS + 300))
while [ ! -e "$out.stop" ] && [ $SECONDS -lt $end ]; do
  s=$(ipvsadm -Ln)
  [ -e "$out.ready" ] || : > "$out.ready"
  n=0 z=0 svc=0 w32=
  while read -r a b c d e; do
    [ "$a" = FWM ] && [ "$b" = 256 ] && svc=1
    if [ "$a" = "->" ] && [[ $b == 10.* ]] && [ "$c" = Masq ]; then
      n=$((n + 1)); [ "$d" = 0 ] && z=$((z + 1)); [ "$b" = 10.0.0.32:0 ] && w32=$d
    fi
  done <<< "$s"
  case $want in
    32-at-0) [ "$w32" = 0 ] ;;
    all-at-0) [ $svc = 1 ] && [ $n = 4 ] && [ $z = 4 ] ;;
  esac && { printf '%s\n' "$s" > "$out"; iptables -w -t mangle -S OVNET-LB > "$out.mark" 2>&1; exit 0; }
done
exit 1
EOF
# watch_start WANT OUT: watch.sh in the background, started BEFORE the command whose transient state
# it must see; returns once its first round is done. watch_stop: ends it after that command.
watch_start() {
  rm -f "$2" "$2".*; in_ns lb1 bash "$W/watch.sh" "$1" "$2" & WATCH=$! WOUT=$2
  local end=$((SECONDS + 120)); until [ -e "$2.ready" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
}
watch_stop() { : > "$WOUT.stop"; wait $WATCH; }

# ---- three replicas
ovnet-lb -n ${P}lb1 add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.31 --backend 10.0.0.22 > "$W/add.json" 2> "$W/add.err" ||
  fail "ovnet-lb add: $(cat "$W/add.err")"
cat "$W/add.err"
in_ns lb1 iptables -t mangle -nvL OVNET-LB > "$W/mangle"; in_ns lb1 iptables -t nat -nvL OVNET-LB-SNAT > "$W/nat"; in_ns lb1 ipvsadm -Ln > "$W/ipvs"
cat "$W/mangle" "$W/nat" "$W/ipvs"
grep -Eq 'MARK +(all|0) +-- +\* +\* +0\.0\.0\.0/0 +10\.0\.0\.5 +MARK set 0x100' "$W/mangle" && ok "mark 0x100 (256) allocated for the VIP" || fail "no MARK set 0x100 for 10.0.0.5"
grep -Eq 'SNAT +(all|0) +-- +\* +\* +0\.0\.0\.0/0 +10\.0\.0\.0/24 +ipvs to:10\.0\.0\.11' "$W/nat" && ok "SNAT -m ipvs to 10.0.0.11" || fail "no SNAT"
grep -Eq '^FWM +256 rr' "$W/ipvs" && [ "$(grep -Ec -- '-> 10\.0\.0\.(21|22|31):0 +Masq +1 ' "$W/ipvs")" = 3 ] && ok "FWM 256 rr, 3 Masq backends" || fail "IPVS service"
for k in vs/conntrack:1 vs/conn_reuse_mode:0 vs/expire_nodest_conn:1 vs/expire_quiescent_template:1 ip_forward:1; do
  [ "$(in_ns lb1 cat /proc/sys/net/ipv4/${k%%:*})" = "${k#*:}" ] || fail "sysctl ${k%%:*} != ${k#*:}"
done
in_ns lb1 ip -4 addr show | grep -q 'inet 10.0.0.5/32' && ok "VIP 10.0.0.5/32 in lb1" || fail "VIP address missing"
balanced 3 r21 r22 r31

# ---- scale to five while a connection is open
# The connection stays open (no request yet) until the scale and both snapshots are done ($W/scaled;
# at most 40 s: busybox httpd drops a silent client after 60 s); the snapshots are taken once IPVS
# counts it as active.
ovnet-sbox exec ${P}c1 -- bash -c "exec 3<>/dev/tcp/10.0.0.5/80 || exit 1; e=\$((SECONDS + 40)); until [ -e $W/scaled ] || [ \$SECONDS -ge \$e ]; do sleep 0.2; done; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3 | tail -1 > $W/long.out" &
LONG=$!
end=$((SECONDS + 30)); until [ "$(active)" = 1 ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
[ "$(active)" = 1 ] && ok "the long connection is active in IPVS" || fail "the long connection never showed as active: $(in_ns lb1 ipvsadm -Ln)"
in_ns lb1 ipvsadm -Ln | grep -E -- '-> [0-9]' | awk '{print $2, $3, $4, $5}' | sort > "$W/dests-before"
ovnet-lb -n ${P}lb1 add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.31 --backend 10.0.0.22 \
  --backend 10.0.0.23 --backend 10.0.0.32 > /dev/null 2> "$W/scale.err" || fail "scale: $(cat "$W/scale.err")"
cat "$W/scale.err"
in_ns lb1 ipvsadm -Ln | grep -E -- '-> [0-9]' | awk '{print $2, $3, $4, $5}' | sort > "$W/dests-after"
# The three existing backends keep their entries and connection counts.
grep -E '10\.0\.0\.(21|22|31):0' "$W/dests-after" | cmp -s - "$W/dests-before" && ok "existing backends untouched by the scale" ||
  { fail "existing backends changed"; cat "$W/dests-before" "$W/dests-after"; }
grep -Ec '10\.0\.0\.(23|32):0' "$W/dests-after" | grep -q 2 && ok "two backends added" || fail "new backends missing"
: > "$W/scaled"
wait $LONG
grep -q replica "$W/long.out" 2>/dev/null && ok "the connection opened before the scale carried on: $(cat "$W/long.out")" || fail "open connection broken by the scale"
balanced 5 r21 r22 r23 r31 r32

# ---- idempotence: the same command changes nothing and runs no iptables-restore
dump > "$W/d1"
OVNET_IPTABLES_RESTORE=/bin/false ovnet-lb -n ${P}lb1 add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.31 \
  --backend 10.0.0.22 --backend 10.0.0.23 --backend 10.0.0.32 > /dev/null 2> "$W/again.err"
rc=$?; dump > "$W/d2"
[ $rc = 0 ] && grep -q 'nothing changed' "$W/again.err" && cmp -s "$W/d1" "$W/d2" && ok "re-run: nothing changed, no restore" ||
  fail "re-run: rc=$rc $(cat "$W/again.err")"

# ---- show's IPVS side is ovnet-ipvs input: backends in its destination schema, and
# `ovnet-lb show -j | jq '[.[].ipvs]' | ovnet-ipvs apply` (the object names its netns) writes nothing
ovnet-lb -n ${P}lb1 show -j > "$W/show.json" || fail "ovnet-lb show -j"
if command -v jq >/dev/null; then jq -c '[.[].ipvs]' "$W/show.json"
else sed -n 's/.*"ipvs":\(.*\),"rules":\[.*/[\1]/p' "$W/show.json"; fi > "$W/ipvs.json"   # one service here
grep -q '"backends":\[{"address":"10.0.0.21","port":0,"forward":"masq","weight":1,' "$W/show.json" &&
  grep -q '"ipvs":{"netns":"'"${P}"'lb1","key":"fwm 256",' "$W/show.json" && ok "show -j: backends and ipvs in ovnet-ipvs's schema" ||
  { fail "show -j keys"; cat "$W/show.json"; }
ovnet-ipvs apply < "$W/ipvs.json" > /dev/null 2> "$W/ipvs-apply.err"
rc=$?; dump > "$W/d2b"
[ $rc = 0 ] && grep -q ' 0 added, .* 0 removed, .*no write issued' "$W/ipvs-apply.err" && cmp -s "$W/d1" "$W/d2b" &&
  ok "ovnet-lb show -j | [.[].ipvs] | ovnet-ipvs apply: $(cat "$W/ipvs-apply.err")" ||
  { fail "ovnet-ipvs apply of lb show's ipvs: rc=$rc $(cat "$W/ipvs-apply.err")"; cat "$W/ipvs.json"; }

# ---- remove one with --drain: weight 0 first, then gone (a 5 s window, watched from before the command)
watch_start 32-at-0 "$W/ipvs-w0"
ovnet-lb -n ${P}lb1 add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.31 --backend 10.0.0.22 \
  --backend 10.0.0.23 --drain 5 > /dev/null 2> "$W/drain.err" || fail "drain: $(cat "$W/drain.err")"
watch_stop
cat "$W/drain.err"
seen0=0; [ -s "$W/ipvs-w0" ] && seen0=1
[ $seen0 = 1 ] && ok "drained backend had weight 0" || fail "weight 0 never seen for 10.0.0.32"
in_ns lb1 ipvsadm -Ln | grep -q '10.0.0.32:0' && fail "drained backend still there" || ok "drained backend removed after the drain"

# ---- a second service gets the next mark; deleting it leaves the first alone
ovnet-lb -n ${P}lb1 add --vip 10.0.0.6 --backend 10.0.0.31 > /dev/null 2>&1 || fail "second service"
in_ns lb1 ipvsadm -Ln | grep -Eq '^FWM +257 rr' && ok "second service: FWM 257" || fail "second service not 257"
ovnet-lb -n ${P}lb1 show -t > "$W/show" 2>&1; cat "$W/show"
grep -q '^10.0.0.6 *257 (0x101) *10.0.0.0/24 *10.0.0.11 *rr *10.0.0.31:0/w1' "$W/show" && ok "ovnet-lb show" || fail "ovnet-lb show"
dump > "$W/d3"
ovnet-lb -n ${P}lb1 add --vip 10.0.0.6 --backend 10.0.0.31 > /dev/null 2>&1
ovnet-lb -n ${P}lb1 del --vip 10.0.0.6 > /dev/null 2> "$W/del6.err" || fail "del second"
grep -q restored "$W/del6.err" && fail "sysctls restored while 10.0.0.5 remains" || true
[ "$(sysctls)" = "$(for k in $SYSCTLS; do echo -n "$k=$([ $k = vs/conn_reuse_mode ] && echo 0 || echo 1) "; done)" ] &&
  ok "sysctls kept while another service remains" || fail "sysctls changed by del of 10.0.0.6: $(sysctls)"
in_ns lb1 ipvsadm -Ln | grep -q 'FWM  257' && fail "FWM 257 left" || true
in_ns lb1 iptables -t nat -S OVNET-LB-SNAT | grep -q 'to-source 10.0.0.11' && ok "SNAT kept for the remaining service" || fail "SNAT removed too early"

# ---- bad input: exit 2, one line, nothing changed
dump > "$W/d4"
# bad NEEDLE ARGS...: (in $BAD_NETNS, default lb1) exit 2, one line on stderr naming the offending field or value (NEEDLE).
bad() {
  local needle=$1; shift
  local err; err=$(ovnet-lb -n "${BAD_NETNS:-${P}lb1}" "$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ "$err" == *"$needle"* ]]; then ok "bad: $* -> $err"
  else fail "bad input $*: rc=$rc, wanted 2 and one line naming '$needle': $err"; fi
}
bad '10.0.0.300' add --vip 10.0.0.300 --backend 10.0.0.21
bad 'fd00::5' add --vip fd00::5 --backend 10.0.0.21
bad 'fwmark' add --vip 10.0.0.7 --backend 10.0.0.21 --fwmark 0
bad '0x1g' add --vip 10.0.0.7 --backend 10.0.0.21 --fwmark 0x1g
bad '4294967296' add --vip 10.0.0.7 --backend 10.0.0.21 --fwmark 4294967296
bad 'fastest' add --vip 10.0.0.7 --backend 10.0.0.21 --scheduler fastest
bad '10.0.0.21' add --vip 10.0.0.7 --backend 10.0.0.21 --backend 10.0.0.21
bad '10.0.0.0/33' add --vip 10.0.0.7 --backend 10.0.0.21 --subnet 10.0.0.0/33
bad '10.9.9.9' add --vip 10.0.0.7 --backend 10.9.9.9 --subnet 10.0.0.0/24
bad '10.0.0.99' add --vip 10.0.0.7 --backend 10.0.0.21 --lb-ip 10.0.0.99
bad 'fwmark' add --vip 10.0.0.5 --backend 10.0.0.21 --fwmark 300
bad '256' add --vip 10.0.0.7 --backend 10.0.0.21 --fwmark 256
bad '10.0.0.7' add --vip 10.0.0.7 --backend 10.0.0.7
bad 'backend' add --vip 10.0.0.7
bad '999999' add --vip 10.0.0.7 --backend 10.0.0.21 --drain 999999
bad 'nope' del --vip nope
bad '-1' del --vip 10.0.0.5 --drain -1
bad 'abc' del --vip 10.0.0.5 --drain abc
bad '86401' del --vip 10.0.0.5 --drain 86401
BAD_NETNS=${P}nope bad "${P}nope" add --vip 10.0.0.7 --backend 10.0.0.21
dump > "$W/d5"
cmp -s "$W/d4" "$W/d5" && ok "bad input changed nothing" || { fail "bad input changed state"; diff "$W/d4" "$W/d5"; }

# ---- del --drain: every weight 0 (the service still there), then everything gone
watch_start all-at-0 "$W/ipvs-drain"
ovnet-lb -t -n ${P}lb1 del --vip 10.0.0.5 --drain 5 > "$W/del.err" 2>&1 || fail "del --drain: $(cat "$W/del.err")"  # -t: every change listed
watch_stop
cat "$W/del.err"
drained=0; [ -s "$W/ipvs-drain" ] && drained=1
cp "$W/ipvs-drain.mark" "$W/mark-drain" 2>/dev/null
[ $drained = 1 ] && grep -q 'MARK --set-xmark 0x100' "$W/mark-drain" && ok "del --drain: 4 backends at weight 0 while the service stays" ||
  { fail "del --drain: weights never all 0 before removal"; cat "$W/ipvs-drain" "$W/mark-drain"; }
# ---- del: back to the state before add (the foreign rule stays), VIP address gone, sysctls back
dump > "$W/after"
cmp -s "$W/before" "$W/after" && ok "del: rules and IPVS back to before add" || { fail "del left state"; diff "$W/before" "$W/after"; }
in_ns lb1 ip -4 addr show | grep -q '10.0.0.5/32' && fail "VIP address left" || ok "VIP address removed"
[ "$(sysctls)" = "$SYS0" ] && grep -q 'restored.*sysctl net.ipv4.vs.conntrack' "$W/del.err" && ok "sysctls restored: $SYS0" ||
  fail "sysctls after the last del: $(sysctls), want $SYS0"
ovnet-lb -n ${P}lb1 del --vip 10.0.0.5 --drain 1 > /dev/null 2> "$W/del2.err"
[ $? = 0 ] && grep -q 'nothing changed' "$W/del2.err" && ok "del again: nothing changed" || fail "del again: $(cat "$W/del2.err")"
echo "lb-internal body: $(( $(date +%s) - T0 )) s"
finish
