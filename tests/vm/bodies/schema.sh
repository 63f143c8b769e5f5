#!/bin/bash
# schema: the JSON that needs IPVS, for the schema tests. The guest has no python, so this body
# prints every document on one console line, "SCHEMA-DOC <label> <schema> <compact JSON>", and the
# host-side test vm:schema-docs (tests/schema/vm-docs.sh) validates them against schema/ with
# tests/schema/validate.py. Here: ovnet-ipvs show -j (fwm, tcp persistent with a netmask, udp sh
# with flags, IPv6, tunnel/gue, dr and masq destinations), timeout -j, the reports of add, edit,
# del, zero, flush, timeout and apply; ovnet-lb show/add/del -j; ovnet-publish show/add/del -j.
# Checked in the guest: `ovnet-ipvs show -j | ovnet-ipvs apply` writes nothing (summary all
# unchanged, "writes":0) and the next show is byte-identical; into a fresh namespace the same pipe
# rebuilds the same services (show --ipvsadm equal), and a second apply there writes nothing.
set -u
P=${VM_NS_PREFIX:-ovt$$-}s
W=${VM_WORKDIR:-/tmp/schema.$$}; mkdir -p "$W"
FAILS=0 DOCS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
NSS="ipvs ipvs2 lbh lb1 ul n1 s1"
finish() { for n in $NSS; do ip netns delete "$P$n" 2>/dev/null; done
  echo "SCHEMA-DOCS: $DOCS"
  if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-ipvs ovnet-lb ovnet-publish; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_lc ip_vs_pe_sip nf_nat iptable_nat iptable_mangle iptable_filter \
         xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }

# doc LABEL SCHEMA CMD...: runs CMD (exit 0 wanted) and prints its stdout as one SCHEMA-DOC line.
OUT=
doc() {
  local label=$1 schema=$2; shift 2
  OUT=$("$@" 2>"$W/err"); local rc=$?
  if [ $rc != 0 ]; then fail "$label: exit $rc: $(cat "$W/err")"; return 1; fi
  case "$OUT" in *$'\n'*) fail "$label: not one line of JSON"; return 1;; esac
  echo "SCHEMA-DOC $label $schema $OUT"
  DOCS=$((DOCS + 1))
}

# ---- IPVS: one service of every shape, through the verbs
I="ovnet-ipvs -n ${P}ipvs"
ovnet-sbox -q add ${P}ipvs >/dev/null && ovnet-sbox -q add ${P}ipvs2 >/dev/null || { fail "sbox add"; finish; }
doc ipvs-add-fwm change-report $I add -f 258 -s rr -j
doc ipvs-add-dest change-report $I add -f 258 -r 10.255.0.6 -m -w 1 -j
$I -q add -f 258 -r 10.255.0.7 -m -w 1 || fail "add dest 10.255.0.7"
$I -q add -t 10.0.0.5:80 -s wrr -p 300 -M 255.255.255.0 || fail "add -t persistent"
$I -q add -t 10.0.0.5:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 10 || fail "add masq dest"
$I -q add -t 10.0.0.5:80 -r 10.0.0.3 -i --tun-type gue --tun-port 6080 -w 2 || fail "add gue dest"
$I -q add -t 10.0.0.5:80 -r 10.0.0.4 -g -w 0 || fail "add dr dest"
$I -q add -u 10.0.0.5:53 -s sh -b sh-fallback,sh-port -o || fail "add udp sh"
$I -q add -u 10.0.0.5:5060 -s rr -p 60 --pe sip || fail "add sip pe"
$I -q add -t [fd00::1]:443 -s rr -p 60 -M 64 || fail "add v6"
$I -q add -t [fd00::1]:443 -r [fd00::2]:443 || fail "add v6 dest"
$I -q add -f 259 -6 -s lc -p || fail "add fwm6"
doc ipvs-add-again change-report $I add -f 258 -s rr -j
doc ipvs-edit change-report $I edit -t 10.0.0.5:80 -s wlc -j
doc ipvs-edit-dest change-report $I edit -f 258 -r 10.255.0.6 -w 5 -j
doc ipvs-show 'ipvs-service[]' $I show -j
doc ipvs-show-one 'ipvs-service[]' $I show -f 258 -j
doc ipvs-show-pretty 'ipvs-service[]' bash -c "$I show -p | tr -d '\n'"
doc ipvs-timeout ipvs-timeouts $I timeout -j
doc ipvs-timeout-set change-report $I timeout --tcp 901 --udp 301 -j
doc ipvs-zero change-report $I zero -j

# show -j | apply: no write, and the same show after
$I show -j > "$W/before"
doc ipvs-roundtrip ipvs-apply-report bash -c "ovnet-ipvs apply -j < $W/before" &&
  case "$OUT" in *'"added":0,"edited":0,"removed":0,'*'"writes":0}'*) ok "show -j | apply: nothing added, edited or removed, no write";;
                 *) fail "show -j | apply wrote: $OUT";; esac
[ "$($I show -j)" = "$(cat "$W/before")" ] && ok "show after == show before" || fail "show changed after show -j | apply"
doc ipvs-roundtrip-prune ipvs-apply-report bash -c "ovnet-ipvs apply --prune -j < $W/before" &&
  case "$OUT" in *'"removed":0,'*'"writes":0}'*) ok "show -j | apply --prune: no write";; *) fail "apply --prune wrote: $OUT";; esac
# Into a fresh namespace: the same services, and then no write.
doc ipvs-copy ipvs-apply-report bash -c "ovnet-ipvs -n ${P}ipvs2 apply -j < $W/before"
[ "$(ovnet-ipvs -n ${P}ipvs2 show --ipvsadm)" = "$($I show --ipvsadm)" ] && ok "show -j | apply -n other: the same services" ||
  fail "the copy differs: $(ovnet-ipvs -n ${P}ipvs2 show --ipvsadm)"
doc ipvs-copy-again ipvs-apply-report bash -c "ovnet-ipvs -n ${P}ipvs2 show -j | ovnet-ipvs apply -j" &&
  case "$OUT" in *'"writes":0}'*) ok "the copy's show -j | apply: no write";; *) fail "copy re-apply wrote: $OUT";; esac
doc ipvs-apply-change ipvs-apply-report bash -c "echo '{\"fwmark\":258,\"scheduler\":\"rr\",\"dests\":[{\"address\":\"10.255.0.6\"},{\"address\":\"10.255.0.8\"}]}' | $I apply -j"
doc ipvs-del-dest change-report $I del -f 258 -r 10.255.0.8 -j
doc ipvs-del-dest-again change-report $I del -f 258 -r 10.255.0.8 -j
doc ipvs-del change-report $I del -t 10.0.0.5:80 -j
doc ipvs-flush change-report $I flush -j
doc ipvs-flush-again change-report $I flush -j
doc ipvs-show-empty 'ipvs-service[]' $I show -j

# ---- ovnet-lb: a load-balancer namespace on a bridge of 10.0.0.0/24
ovnet-sbox -q add ${P}lbh >/dev/null && ovnet-bridge -q -n ${P}lbh add br0 >/dev/null &&
  ovnet-sbox -q -n ${P}lbh connect ${P}lb1 --bridge br0 --ip 10.0.0.11/24 >/dev/null || fail "lb setup"
L="ovnet-lb -n ${P}lb1"
doc lb-add lb-service $L add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.22 -j
doc lb-add-second lb-service $L add --vip 10.0.0.6 --backend 10.0.0.23 --scheduler wrr -j
doc lb-add-again lb-service $L add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.22 -j
doc lb-show 'lb-service[]' $L show -j
doc lb-show-one 'lb-service[]' $L show --vip 10.0.0.6 -j
doc lb-del 'lb-service#/$defs/removed' $L del --vip 10.0.0.6 -j
doc lb-del-again 'lb-service#/$defs/removed' $L del --vip 10.0.0.6 -j
doc lb-del-last 'lb-service#/$defs/removed' $L del --vip 10.0.0.5 -j
doc lb-show-empty 'lb-service[]' $L show -j

# ---- ovnet-publish: a node n1 with docker_gwbridge, its ingress sandbox s1 on it and on ov-ingress
ovnet-sbox -q add ${P}n1 >/dev/null &&
  ovnet-bridge -q -n ${P}n1 add docker_gwbridge --addr 172.18.0.1/16 >/dev/null &&
  ovnet-bridge -q -n ${P}n1 add ov-ingress >/dev/null &&
  ovnet-sbox -q -n ${P}n1 connect ${P}s1 --bridge ov-ingress --ip 10.255.0.2/16 >/dev/null &&
  ovnet-sbox -q -n ${P}n1 connect ${P}s1 --bridge docker_gwbridge --ip 172.18.0.2/16 --gw 172.18.0.1 >/dev/null ||
  fail "publish setup"
U="ovnet-publish -n ${P}n1"
doc publish-add published-port $U add --port 30000 --ingress-sbox ${P}s1 --gw-ip 172.18.0.2 --backend 10.255.0.6 --backend 10.255.0.7 --fwmark 258 -j
doc publish-add-udp published-port $U add --port 30001 --proto udp --ingress-sbox ${P}s1 --gw-ip 172.18.0.2 --backend 10.255.0.6 -j
doc publish-show 'published-port[]' $U show --ingress-sbox ${P}s1 -j
doc publish-del 'published-port#/$defs/removed' $U del --port 30001 --proto udp --ingress-sbox ${P}s1 -j
doc publish-del-last 'published-port#/$defs/removed' $U del --port 30000 --ingress-sbox ${P}s1 -j
doc publish-del-again 'published-port#/$defs/removed' $U del --port 30000 --ingress-sbox ${P}s1 -j
doc publish-show-empty 'published-port[]' $U show --ingress-sbox ${P}s1 -j
finish
