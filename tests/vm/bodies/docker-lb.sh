#!/bin/bash
# docker-lb: `ovnet-lb show` and `ovnet-publish show` list Docker's load-balancing state, IPVS half
# included. Three namespaces get a real Swarm node's exact rules (tests/fixtures/docker-node, cut
# from the capture of Docker 20.10.24 on Debian 12; inlined below, the -m ipvs SNAT rules loaded
# here since this kernel has xt_ipvs) with its addresses on veths, and Docker's FWM services as
# ipvsadm -Ln showed them (ingress_sbox: FWM 257 -> 10.0.0.4, 10.0.0.5; lb_: FWM 256 -> 10.0.1.7,
# 10.0.1.8 and FWM 258 -> 10.0.1.3, 10.0.1.4). Checks: Docker's rows (owner docker) with subnet,
# lb_ip, scheduler and backends filled, nothing on stderr, the OWNER column; add/del of Docker's
# VIP and port exit 2; an ovnet service added next to Docker's gets the lowest mark Docker does
# not use (257) and is listed first, owner ovnet; Docker's rules and services stay as they were.
set -u
P=${VM_NS_PREFIX:-ovt$$-}d
W=${VM_WORKDIR:-/tmp/docker-lb.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
H=${P}host S=${P}ingress_sbox L=${P}lb_dufsaehw5
cleanup() { for n in "$H" "$S" "$L"; do ip netns delete "$n" 2>/dev/null; done; }
finish() { cleanup; if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-lb ovnet-publish; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
command -v jq >/dev/null || { echo "VM-RESULT: SKIP jq not in the VM"; exit 0; }
for m in veth ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle iptable_filter xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack xt_state; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

for n in "$H" "$S" "$L"; do ip netns add "$n"; in_ns "$n" ip link set lo up; done
ip -n "$H" link add docker_gwbridge type veth peer name eth1 netns "$S"
ip -n "$H" addr add 172.18.0.1/16 dev docker_gwbridge
ip -n "$S" addr add 172.18.0.2/16 dev eth1
ip -n "$S" link add eth0 type veth peer name eth0 netns "$L"
ip -n "$S" addr add 10.0.0.2/24 dev eth0
ip -n "$S" addr add 10.0.0.3/32 dev eth0
ip -n "$L" addr add 10.0.1.5/24 dev eth0
ip -n "$L" addr add 10.0.1.6/32 dev eth0
ip -n "$L" addr add 10.0.1.2/32 dev eth0
ip -n "$H" link set docker_gwbridge up; ip -n "$S" link set eth1 up; ip -n "$S" link set eth0 up; ip -n "$L" link set eth0 up

# Docker's rules, exactly as iptables-save printed them on the node.
cat >"$W/host" <<'RULES'
*mangle
:PREROUTING ACCEPT [20:1960]
:INPUT ACCEPT [20:1960]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [30:1640]
:POSTROUTING ACCEPT [30:1640]
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-INGRESS - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER-INGRESS
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE
-A POSTROUTING -s 172.18.0.0/16 ! -o docker_gwbridge -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker_gwbridge -j RETURN
-A DOCKER -i docker0 -j RETURN
-A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000
-A DOCKER-INGRESS -j RETURN
COMMIT
*filter
:INPUT ACCEPT [20:1960]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [28:1560]
:DOCKER - [0:0]
:DOCKER-INGRESS - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-INGRESS
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker_gwbridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker_gwbridge -j DOCKER
-A FORWARD -i docker_gwbridge ! -o docker_gwbridge -j ACCEPT
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A FORWARD -i docker_gwbridge -o docker_gwbridge -j DROP
-A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT
-A DOCKER-INGRESS -p tcp -m state --state RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT
-A DOCKER-INGRESS -j RETURN
-A DOCKER-ISOLATION-STAGE-1 -i docker_gwbridge ! -o docker_gwbridge -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker_gwbridge -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
RULES
cat >"$W/sbox" <<'RULES'
*mangle
:PREROUTING ACCEPT [48:3520]
:INPUT ACCEPT [28:1560]
:FORWARD ACCEPT [20:1960]
:OUTPUT ACCEPT [28:1560]
:POSTROUTING ACCEPT [48:3520]
-A PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x101/0xffffffff
-A INPUT -d 10.0.0.3/32 -j MARK --set-xmark 0x101/0xffffffff
COMMIT
*nat
:PREROUTING ACCEPT [4:240]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER_OUTPUT - [0:0]
:DOCKER_POSTROUTING - [0:0]
-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING
-A POSTROUTING -d 10.0.0.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.0.2
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:35719
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:42853
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 35719 -j SNAT --to-source :53
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 42853 -j SNAT --to-source :53
COMMIT
*filter
:INPUT ACCEPT [28:1560]
:FORWARD ACCEPT [20:1960]
:OUTPUT ACCEPT [28:1560]
COMMIT
RULES
cat >"$W/lb" <<'RULES'
*mangle
:PREROUTING ACCEPT [38:2744]
:INPUT ACCEPT [21:1170]
:FORWARD ACCEPT [17:1574]
:OUTPUT ACCEPT [29:2250]
:POSTROUTING ACCEPT [38:2744]
-A INPUT -d 10.0.1.6/32 -j MARK --set-xmark 0x100/0xffffffff
-A INPUT -d 10.0.1.2/32 -j MARK --set-xmark 0x102/0xffffffff
COMMIT
*nat
:PREROUTING ACCEPT [3:180]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER_OUTPUT - [0:0]
:DOCKER_POSTROUTING - [0:0]
-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING
-A POSTROUTING -d 10.0.1.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.1.5
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:35031
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:57390
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 35031 -j SNAT --to-source :53
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 57390 -j SNAT --to-source :53
COMMIT
*filter
:INPUT ACCEPT [21:1170]
:FORWARD ACCEPT [17:1574]
:OUTPUT ACCEPT [21:1170]
COMMIT
RULES
in_ns "$H" iptables-restore <"$W/host" || fail "cannot load the host's rules"
in_ns "$S" iptables-restore <"$W/sbox" || fail "cannot load ingress_sbox's rules (with -m ipvs)"
in_ns "$L" iptables-restore <"$W/lb" || fail "cannot load lb_'s rules (with -m ipvs)"
# Docker's FWM services.
svc() { local n=$1 m=$2; shift 2; in_ns "$n" ipvsadm -A -f "$m" -s rr; for b in "$@"; do in_ns "$n" ipvsadm -a -f "$m" -r "$b:0" -m -w 1; done; }
svc "$S" 257 10.0.0.4 10.0.0.5
svc "$L" 256 10.0.1.7 10.0.1.8
svc "$L" 258 10.0.1.3 10.0.1.4
state() { for n in "$H" "$S" "$L"; do in_ns "$n" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; in_ns "$n" ipvsadm -Ln; done; }
state >"$W/before"

# ---- ovnet-lb -n lb_ show
ovnet-lb -n "$L" show -j >"$W/lb.json" 2>"$W/lb.err"; rc=$?
[ $rc = 0 ] && ok "lb show exits 0" || fail "lb show: rc=$rc $(cat "$W/lb.err")"
[ -s "$W/lb.err" ] && fail "lb show wrote to stderr: $(cat "$W/lb.err")" || ok "lb show: nothing on stderr"
got=$(jq -c 'map([.owner, .vip, .fwmark, .subnet, .lb_ip, .vip_iface, .scheduler, [.backends[].address], .ipvs.key])' "$W/lb.json")
want='[["docker","10.0.1.6",256,"10.0.1.0/24","10.0.1.5","eth0","rr",["10.0.1.7","10.0.1.8"],"fwm 256"],["docker","10.0.1.2",258,"10.0.1.0/24","10.0.1.5","eth0","rr",["10.0.1.3","10.0.1.4"],"fwm 258"]]'
[ "$got" = "$want" ] && ok "lb show: Docker's two VIPs with SNAT and IPVS" || fail "lb show: got $got"
ovnet-lb -n "$L" show -t >"$W/lb.table" 2>&1
grep -q '^10.0.1.6 *256 (0x100) *10.0.1.0/24 *10.0.1.5 *rr *10.0.1.7:0/w1 10.0.1.8:0/w1 *docker$' "$W/lb.table" &&
  ok "lb table: Docker's row, OWNER docker" || { fail "lb table"; cat "$W/lb.table"; }

# ---- ovnet-publish show
ovnet-publish -n "$H" show --ingress-sbox "$S" -j >"$W/pub.json" 2>"$W/pub.err"; rc=$?
[ $rc = 0 ] && ok "publish show exits 0" || fail "publish show: rc=$rc $(cat "$W/pub.err")"
[ -s "$W/pub.err" ] && fail "publish show wrote to stderr: $(cat "$W/pub.err")" || ok "publish show: nothing on stderr"
got=$(jq -c 'map([.owner, .proto, .port, .gw_ip, .gw_bridge, .fwmark, .ingress_vip, .subnet, .lb_ip, .scheduler, [.backends[].address], .ipvs.netns, .ipvs.key])' "$W/pub.json")
want='[["docker","tcp",30000,"172.18.0.2","docker_gwbridge",257,"10.0.0.3","10.0.0.0/24","10.0.0.2","rr",["10.0.0.4","10.0.0.5"],"'"$S"'","fwm 257"]]'
[ "$got" = "$want" ] && ok "publish show: Docker's port joined with the sandbox's mark, SNAT and IPVS" || fail "publish show: got $got"
ovnet-publish -n "$H" show --ingress-sbox "$S" -t >"$W/pub.table" 2>&1
grep -q '^30000/tcp *172.18.0.2 *docker_gwbridge *257 (0x101) *10.0.0.0/24 *10.0.0.2 *rr *10.0.0.4:0/w1 10.0.0.5:0/w1 *docker$' "$W/pub.table" &&
  ok "publish table: Docker's row, OWNER docker" || { fail "publish table"; cat "$W/pub.table"; }

# ---- Docker's rows are never taken over
bad() { local what=$1; shift; "$@" >/dev/null 2>"$W/bad.err"; local rc=$?
  [ $rc = 2 ] && grep -q 'owned by docker' "$W/bad.err" && [ "$(wc -l <"$W/bad.err")" = 1 ] && ok "$what: exit 2, owned by docker" ||
    fail "$what: rc=$rc $(cat "$W/bad.err")"; }
bad "lb add of Docker's VIP" ovnet-lb -n "$L" add --vip 10.0.1.6 --backend 10.0.1.7
bad "lb del of Docker's VIP" ovnet-lb -n "$L" del --vip 10.0.1.2
bad "publish add of Docker's port" ovnet-publish -n "$H" add --port 30000 --ingress-sbox "$S" --gw-ip 172.18.0.2 --backend 10.0.0.4
bad "publish del of Docker's port" ovnet-publish -n "$H" del --port 30000 --ingress-sbox "$S"
ovnet-lb -n "$L" add --fwmark 258 --vip 10.0.1.30 --backend 10.0.1.7 >/dev/null 2>"$W/bad.err"; rc=$?
[ $rc = 2 ] && grep -q 'fwmark' "$W/bad.err" && ok "lb add --fwmark of Docker's mark: exit 2" || fail "lb add --fwmark 258: rc=$rc $(cat "$W/bad.err")"
state | diff "$W/before" - >"$W/diff" && ok "refusals changed nothing" || { fail "refusals changed state"; cat "$W/diff"; }

# ---- an ovnet service next to Docker's: the lowest mark Docker does not use, listed first
ovnet-lb -n "$L" add --vip 10.0.1.20 --backend 10.0.1.7 -j >"$W/add.json" 2>"$W/add.err" || fail "lb add next to Docker: $(cat "$W/add.err")"
got=$(ovnet-lb -n "$L" show -j | jq -c 'map([.owner, .vip, .fwmark])')
[ "$got" = '[["ovnet","10.0.1.20",257],["docker","10.0.1.6",256],["docker","10.0.1.2",258]]' ] &&
  ok "ovnet's service gets mark 257 and is listed first, owner ovnet" || fail "lb show with ovnet's service: $got"
ovnet-lb -n "$L" del --vip 10.0.1.20 >/dev/null 2>"$W/del.err" || fail "lb del of ovnet's service: $(cat "$W/del.err")"
state | diff "$W/before" - >"$W/diff" && ok "after del: Docker's rules and services as they were" || { fail "del changed Docker's state"; cat "$W/diff"; }
finish
