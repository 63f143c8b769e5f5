#!/bin/bash
# mesh: the deep dive's routing mesh, built with ovnet tools only (ip/iptables/ipvsadm only check).
# Three nodes on an underlay bridge (192.0.2.11-13), the ingress overlay (VNI 4096: bridge
# ov-ingress + vx-ingress per node), docker_gwbridge 172.18.0.1/16 per node, an ingress sandbox per
# node (10.255.0.2-4 and 172.18.0.2), two tasks (10.255.0.6 on node 2, 10.255.0.7 on node 3) serving
# HTTP on 30000, and port 30000 published on every node with ovnet-publish (FWM 258 = 0x102, as in
# the seed). The nodes' FORWARD policy is DROP, as Docker sets it: the published port passes through
# ovnet's filter OVNET-INGRESS (Docker's DOCKER-INGRESS). Requests to each node are answered by both
# tasks in turn. Then: idempotence (a re-run runs no iptables-restore), the seed's views, bad input
# (exit 2, one line, nothing changed), and del (--drain) removing exactly what add created (a
# foreign rule stays) and restoring the sysctls add changed.
set -u
P=${VM_NS_PREFIX:-ovt$$-}m
W=${VM_WORKDIR:-/tmp/mesh.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
cleanup() { for n in ul n1 n2 n3 s1 s2 s3 c2 c3; do ip netns delete "$P$n" 2>/dev/null; done; }
finish() { cleanup; if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-publish ovnet-ipvs; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE iptable_filter xt_conntrack; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
T0=$(date +%s)
# sh is run inside a namespace for checks; ex runs the tools' output through grep quietly.
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
# The sysctls add changes, as they are before (restored by the last del).
sysctls() { in_ns n1 cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/docker_gwbridge/route_localnet | tr '\n' ' '
  in_ns s1 bash -c 'cd /proc/sys/net/ipv4 && cat vs/conntrack vs/conn_reuse_mode vs/expire_nodest_conn vs/expire_quiescent_template ip_forward' | tr '\n' ' '; }
SYS0=$(sysctls)
echo "sysctls before publish (n1: ip_forward route_localnet; s1: vs.* ip_forward): $SYS0"
# A foreign rule in node 1 and its sandbox: ovnet must never touch it.
in_ns n1 iptables -t nat -A POSTROUTING -s 10.99.0.0/16 -j RETURN
in_ns s1 iptables -t mangle -A PREROUTING -s 10.99.0.0/16 -j RETURN
dump() { { in_ns n1 iptables-save; in_ns s1 iptables-save; in_ns s1 ipvsadm -S -n; } | grep -v '^#'; }
dump > "$W/before-publish"
for n in 1 2 3; do
  ovnet-publish -n ${P}n$n add --port 30000 --ingress-sbox ${P}s$n --gw-ip 172.18.0.2 \
    --backend 10.255.0.6 --backend 10.255.0.7 --fwmark 258 > "$W/pub$n.json" 2> "$W/pub$n.err" ||
    fail "ovnet-publish add on node $n: $(cat "$W/pub$n.err")"
done
echo "setup + publish: $(( $(date +%s) - T0 )) s"
cat "$W/pub1.err"

# ---- requests: from the underlay to every node, twice each; and node 1 to itself (OUTPUT path)
# get.sh LABEL:ADDR...: one HTTP/1.0 request per argument (bash /dev/tcp), prints "LABEL <last line>".
cat > "$W/get.sh" <<'EOF'
for a in "$@"; do
  r=$(timeout 60 bash -c "exec 3<>/dev/tcp/${a#*:}/30000; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1)
  echo "${a%%:*} $r"
done
EOF
ovnet-sbox exec ${P}ul -- bash "$W/get.sh" 1:192.0.2.11 1:192.0.2.11 2:192.0.2.12 2:192.0.2.12 3:192.0.2.13 3:192.0.2.13 > "$W/answers"
ovnet-sbox exec ${P}n1 -- bash "$W/get.sh" self:192.0.2.11 self:192.0.2.11 >> "$W/answers"
cat "$W/answers"
for n in 1 2 3 self; do
  got=$(grep "^$n " "$W/answers" | awk '{print $NF}' | sort | tr '\n' ' ')
  [ "$got" = "c2 c3 " ] && ok "node $n: answered by both tasks in turn" || fail "node $n: answers \"$got\", want c2 and c3"
done

# ---- the seed's views
in_ns n1 iptables -t nat -nvL > "$W/n1-nat"
in_ns n1 iptables -S FORWARD > "$W/n1-fwd"; in_ns n1 iptables -t filter -S OVNET-INGRESS > "$W/n1-filter"
cat "$W/n1-fwd" "$W/n1-filter"
grep -qx -- '-P FORWARD DROP' "$W/n1-fwd" && grep -qx -- '-A FORWARD -j OVNET-INGRESS' "$W/n1-fwd" &&
  ok "FORWARD (policy DROP) jumps to filter OVNET-INGRESS" || fail "no FORWARD jump to OVNET-INGRESS"
printf '%s\n' '-N OVNET-INGRESS' '-A OVNET-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT' \
  '-A OVNET-INGRESS -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT' \
  '-A OVNET-INGRESS -j RETURN' | cmp -s - "$W/n1-filter" && ok "filter OVNET-INGRESS: dport ACCEPT, ESTABLISHED sport ACCEPT, RETURN" ||
  fail "filter OVNET-INGRESS not as Docker's DOCKER-INGRESS"
in_ns s1 iptables -t mangle -nvL > "$W/s1-mangle"
in_ns s1 iptables -t nat -nvL > "$W/s1-nat"
in_ns s1 ipvsadm -Ln > "$W/s1-ipvs"
cat "$W/n1-nat" "$W/s1-mangle" "$W/s1-ipvs"
grep -Eq 'DNAT +(tcp|6) +-- +\* +\* +0\.0\.0\.0/0 +0\.0\.0\.0/0 +tcp dpt:30000 to:172\.18\.0\.2:30000' "$W/n1-nat" && ok "host DNAT to 172.18.0.2:30000" || fail "no DNAT to 172.18.0.2:30000"
grep -Eq 'OVNET-INGRESS +(all|0) .*ADDRTYPE match dst-type LOCAL' "$W/n1-nat" && ok "OVNET-INGRESS jumped to on dst-type LOCAL" || fail "no dst-type LOCAL jump"
[ "$(grep -Ec 'OVNET-INGRESS  *(all|0).*dst-type LOCAL' "$W/n1-nat")" = 2 ] && ok "jumped to from PREROUTING and OUTPUT" || fail "want 2 jumps into OVNET-INGRESS"
grep -Eq 'RETURN +(all|0) .*0\.0\.0\.0/0 +0\.0\.0\.0/0 *$' "$W/n1-nat" && ok "chain ends with RETURN" || fail "no RETURN"
grep -Eq 'MASQUERADE +(all|0) +-- +\* +docker_gwbridge .*ADDRTYPE match src-type LOCAL' "$W/n1-nat" && ok "MASQUERADE on docker_gwbridge" || fail "no MASQUERADE"
grep -Eq 'MARK +(tcp|6) +-- +\* +\* +0\.0\.0\.0/0 +0\.0\.0\.0/0 +tcp dpt:30000 MARK set 0x102' "$W/s1-mangle" && ok "sandbox mark 0x102" || fail "no MARK set 0x102"
grep -Eq 'SNAT +(all|0) +-- +\* +\* +0\.0\.0\.0/0 +10\.255\.0\.0/16 +ipvs to:10\.255\.0\.2' "$W/s1-nat" && ok "sandbox SNAT ipvs to:10.255.0.2" || fail "no SNAT"
grep -Eq '^FWM +258 rr' "$W/s1-ipvs" && ok "FWM 258 rr" || fail "no FWM 258 rr"
[ "$(grep -Ec -- '-> 10\.255\.0\.[67]:0 +Masq +1 ' "$W/s1-ipvs")" = 2 ] && ok "backends 10.255.0.6:0 and .7:0 Masq 1" || fail "backends not as the seed"
[ "$(in_ns n1 cat /proc/sys/net/ipv4/conf/docker_gwbridge/route_localnet)" = 1 ] && ok "route_localnet=1" || fail "route_localnet not set"
[ "$(in_ns s1 cat /proc/sys/net/ipv4/vs/conntrack)" = 1 ] && ok "vs.conntrack=1 in the sandbox" || fail "vs.conntrack"
ovnet-publish -n ${P}n1 show --ingress-sbox ${P}s1 -t > "$W/show" 2>&1; cat "$W/show"
grep -q '30000/tcp *172.18.0.2 *docker_gwbridge *258 (0x102) *10.255.0.0/16 *10.255.0.2 *rr' "$W/show" && ok "ovnet-publish show" || fail "ovnet-publish show"
grep -q 'filter OVNET-INGRESS -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT' "$W/show" &&
  ok "show lists the filter rules" || fail "show without the filter rules"

# ---- idempotence: the same command again changes nothing and runs no iptables-restore
dump > "$W/d1"
OVNET_IPTABLES_RESTORE=/bin/false ovnet-publish -n ${P}n1 add --port 30000 --ingress-sbox ${P}s1 --gw-ip 172.18.0.2 \
  --backend 10.255.0.6 --backend 10.255.0.7 --fwmark 258 > /dev/null 2> "$W/again.err"
rc=$?; dump > "$W/d2"
[ $rc = 0 ] && grep -q 'nothing changed' "$W/again.err" && cmp -s "$W/d1" "$W/d2" && ok "re-run: nothing changed, no restore" ||
  fail "re-run: rc=$rc $(cat "$W/again.err")"
# show's IPVS side is ovnet-ipvs input ("ipvs" names the sandbox): fed back, it writes nothing.
ovnet-publish -n ${P}n1 show --ingress-sbox ${P}s1 -j > "$W/show.json" || fail "ovnet-publish show -j"
if command -v jq >/dev/null; then jq -c '[.[].ipvs]' "$W/show.json"
else sed -n 's/.*"ipvs":\(.*\),"rules":\[.*/[\1]/p' "$W/show.json"; fi > "$W/ipvs.json"   # one port here
grep -q '"backends":\[{"address":"10.255.0.6","port":0,"forward":"masq","weight":1,' "$W/show.json" &&
  grep -q '"ipvs":{"netns":"'"${P}"'s1","key":"fwm 258",' "$W/show.json" && ok "show -j: backends and ipvs in ovnet-ipvs's schema" ||
  { fail "show -j keys"; cat "$W/show.json"; }
ovnet-ipvs apply < "$W/ipvs.json" > /dev/null 2> "$W/ipvs-apply.err"
rc=$?; dump > "$W/d2b"
[ $rc = 0 ] && grep -q ' 0 added, .* 0 removed, .*no write issued' "$W/ipvs-apply.err" && cmp -s "$W/d1" "$W/d2b" &&
  ok "ovnet-publish show -j | [.[].ipvs] | ovnet-ipvs apply: $(cat "$W/ipvs-apply.err")" ||
  { fail "ovnet-ipvs apply of publish show's ipvs: rc=$rc $(cat "$W/ipvs-apply.err")"; cat "$W/ipvs.json"; }

# ---- bad input: exit 2, one line on stderr, nothing changed
# bad NEEDLE ARGS...: exit 2, one line on stderr naming the offending field or value (NEEDLE).
bad() {
  local needle=$1; shift
  local err; err=$(ovnet-publish -n ${P}n1 "$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ "$err" == *"$needle"* ]]; then ok "bad: $* -> $err"
  else fail "bad input $*: rc=$rc, wanted 2 and one line naming '$needle': $err"; fi
}
A="--ingress-sbox ${P}s1 --gw-ip 172.18.0.2"
bad '70000' add --port 70000 $A --backend 10.255.0.6
bad 'port "0"' add --port 0 $A --backend 10.255.0.6
bad 'icmp' add --port 30001 --proto icmp $A --backend 10.255.0.6
bad 'fwmark' add --port 30001 $A --backend 10.255.0.6 --fwmark 0
bad 'fastest' add --port 30001 $A --backend 10.255.0.6 --scheduler fastest
bad '10.255.0.6' add --port 30001 $A --backend 10.255.0.6 --backend 10.255.0.6
bad '10.255.0.300' add --port 30001 $A --backend 10.255.0.300
bad '10.1.1.1' add --port 30001 $A --backend 10.255.0.6 --subnet 10.255.0.0/16 --backend 10.1.1.1
bad 'nope' add --port 30001 --ingress-sbox ${P}nope --gw-ip 172.18.0.2 --backend 10.255.0.6
bad '172.18.0.9' add --port 30001 --ingress-sbox ${P}s1 --gw-ip 172.18.0.9 --backend 10.255.0.6
bad 'fwmark' add --port 30000 $A --backend 10.255.0.6 --fwmark 300
bad 'fd00::6' add --port 30001 $A --backend fd00::6
bad 'frobnicate' frobnicate --port 30000
bad 'abc' del --port 30000 --ingress-sbox ${P}s1 --drain abc
bad '86401' del --port 30000 --ingress-sbox ${P}s1 --drain 86401
dump > "$W/d3"
cmp -s "$W/d1" "$W/d3" && ok "bad input changed nothing" || { fail "bad input changed state"; diff "$W/d1" "$W/d3"; }

# ---- del removes exactly what add created; the foreign rules stay
ovnet-publish -t -n ${P}n1 del --port 30000 --ingress-sbox ${P}s1 --drain 1 > "$W/del.err" 2>&1 || fail "del: $(cat "$W/del.err")"
cat "$W/del.err"
grep -q '^draining fwm 258' "$W/del.err" && ok "del --drain: weight 0 first" || fail "del --drain did not drain"
[ "$(sysctls)" = "$SYS0" ] && grep -q 'restored sysctl net.ipv4.conf.docker_gwbridge.route_localnet' "$W/del.err" &&
  ok "sysctls restored in n1 and s1: $SYS0" || fail "sysctls after del: $(sysctls), want $SYS0"
dump > "$W/after-del"
# Tables the add instantiated stay (empty); compare the rules and the IPVS services.
rules_of() { grep -Ev '^([*:]|COMMIT)' "$1"; }
rules_of "$W/before-publish" > "$W/r0"; rules_of "$W/after-del" > "$W/r1"
if cmp -s "$W/r0" "$W/r1" && ! grep -q OVNET "$W/after-del"; then ok "del: rules and IPVS service back to before publish"
else fail "del left state"; diff "$W/r0" "$W/r1"; fi
grep -q -- '-s 10.99.0.0/16 -j RETURN' "$W/after-del" && ok "foreign rules kept" || fail "foreign rule lost"
ovnet-publish -n ${P}n1 del --port 30000 --ingress-sbox ${P}s1 > /dev/null 2> "$W/del2.err"
[ $? = 0 ] && grep -q 'nothing changed' "$W/del2.err" && ok "del again: nothing changed" || fail "del again: $(cat "$W/del2.err")"
r=$(ovnet-sbox exec ${P}ul -- bash "$W/get.sh" 1:192.0.2.11)
case "$r" in *task*) fail "node 1 still answers on 30000 after del: $r";; *) ok "node 1 no longer publishes 30000";; esac
echo "mesh body: $(( $(date +%s) - T0 )) s"
finish
