#!/bin/bash
# inspect-audit: ovnet-inspect and ovnet-audit on the routing mesh and the internal LB of the mesh
# and lb-internal bodies, built the same way with ovnet tools on one set of three nodes (no HTTP
# servers: nothing here sends traffic). One kernel holds the three nodes: node N is the host
# namespace ${P}nN and the namespaces attached to it (its ingress sandbox sN, the load-balancer
# namespace lbN, containers and replicas), split into three snapshots by
# `ovnet-inspect --host-prefix ${P}n`.
#   mesh:  underlay ul0 (192.0.2.11-13), ingress overlay VNI 4096 (ov-ingress/vx-ingress), docker_gwbridge,
#          ingress sandboxes s1-s3, tasks c2 c3 (10.255.0.6-7), port 30000 published on every node
#          (ovnet-publish, fwmark 258 = 0x102);
#   LB:    overlay VNI 4097 (ov-001001-7672d), client c1 and replicas r21 r22 r31 (10.0.0.21/22/31),
#          VIP 10.0.0.5 in lb1-lb3 on every node (ovnet-lb: fwmark 256 = 0x100), as Docker's lb_<id>.
# Checks: the networks view of the whole machine (jq) holds the services (VIP, fwmark, backends),
# the marks (mangle MARK rules of the sandboxes) and the published ports; the snapshots are printed
# as SCHEMA-DOC lines that vm:inspect-audit-schema validates on the host against
# schema/inspect.schema.json (the guest has no python). Then, when ovnet-audit and --host-prefix
# are there: faults injected one at a time are found by the audit and were not there before it:
#   a destination left at weight 0 in lb1 (IPVS_WEIGHT0_LEFTOVER), port 30000 published on nodes 1
#   and 2 only (PUBLISHED_PORT_PARTIAL).
# Without ovnet-audit (or --host-prefix) the inspect checks still run and the body SKIPs with why.
set -u
P=${VM_NS_PREFIX:-ovt$$-}i
W=${VM_WORKDIR:-/tmp/inspect-audit.$$}; mkdir -p "$W"
FAILS=0 DOCS=0 SKIP=
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
NSS="ul n1 n2 n3 s1 s2 s3 c1 c2 c3 lb1 lb2 lb3 r21 r22 r31"
finish() {
  for n in $NSS; do ip netns delete "$P$n" 2>/dev/null; done
  echo "SCHEMA-DOCS: $DOCS"
  if [ $FAILS != 0 ]; then echo "VM-RESULT: FAIL $FAILS check(s) failed"
  elif [ -n "$SKIP" ]; then echo "VM-RESULT: SKIP $SKIP"
  else echo "VM-RESULT: PASS"; fi
  exit 0
}
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-publish ovnet-lb ovnet-ipvs ovnet-inspect jq; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle iptable_filter xt_mark xt_nat xt_ipvs \
         xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }
T0=$(date +%s)
BR=ov-001001-7672d VX=vx-001001-7672d

# ---- setup (ovnet tools only), as mesh.sh and lb-internal.sh do
ovnet-sbox -q add ${P}ul >/dev/null
ovnet-bridge -q -n ${P}ul add ul0 --addr 192.0.2.100/24 >/dev/null
for n in 1 2 3; do
  ovnet-sbox -q -n ${P}ul connect ${P}n$n --bridge ul0 --ip 192.0.2.1$n/24 >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-ingress --mtu 1450 -j | ovnet-vtep -q add --vni 4096 --local 192.0.2.1$n >/dev/null
  ovnet-bridge -q -n ${P}n$n add docker_gwbridge --addr 172.18.0.1/16 >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}s$n --bridge ov-ingress --ip 10.255.0.$((n + 1))/16 >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}s$n --bridge docker_gwbridge --ip 172.18.0.2/16 --gw 172.18.0.1 >/dev/null
  ovnet-bridge -q -n ${P}n$n add $BR --mtu 1450 -j | ovnet-vtep -q add --vni 4097 --local 192.0.2.1$n >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}lb$n --bridge $BR --ip 10.0.0.1$n/24 >/dev/null
done
for n in 2 3; do ovnet-sbox -q -n ${P}n$n connect ${P}c$n --bridge ov-ingress --ip 10.255.0.$((n + 4))/16 >/dev/null; done
ovnet-sbox -q -n ${P}n1 connect ${P}c1 --bridge $BR --ip 10.0.0.2/24 >/dev/null
for r in 21 22 31; do ovnet-sbox -q -n ${P}n${r:0:1} connect ${P}r$r --bridge $BR --ip 10.0.0.$r/24 >/dev/null; done
for vx in vx-ingress $VX; do
  for n in 1 2 3; do
    for m in 1 2 3; do [ $n = $m ] || ovnet-fdb -n ${P}n$m local -d $vx; done |
      ovnet-fdb -q -n ${P}n$n apply -d $vx --prune >/dev/null || fail "ovnet-fdb apply -d $vx on node $n"
  done
done
for n in 1 2 3; do
  ovnet-publish -q -n ${P}n$n add --port 30000 --ingress-sbox ${P}s$n --gw-ip 172.18.0.2 \
    --backend 10.255.0.6 --backend 10.255.0.7 --fwmark 258 >/dev/null 2>"$W/pub$n.err" ||
    fail "ovnet-publish add on node $n: $(cat "$W/pub$n.err")"
  ovnet-lb -q -n ${P}lb$n add --vip 10.0.0.5 --backend 10.0.0.21 --backend 10.0.0.31 --backend 10.0.0.22 \
    >/dev/null 2>"$W/lb$n.err" || fail "ovnet-lb add in lb$n: $(cat "$W/lb$n.err")"
done
echo "setup: $(( $(date +%s) - T0 )) s"

# ---- ovnet-inspect of the whole machine: the networks view
T1=$(date +%s)
ovnet-inspect > "$W/all.json" 2> "$W/inspect.err" || { fail "ovnet-inspect: $(cat "$W/inspect.err")"; finish; }
echo "ovnet-inspect (every namespace): $(( $(date +%s) - T1 )) s, $(wc -c < "$W/all.json") bytes"
echo "SCHEMA-DOC inspect-machine inspect $(cat "$W/all.json")"; DOCS=$((DOCS + 1))
net() { jq -c --arg ns "$P$1" --arg br "$2" '.networks[] | select(.netns == $ns and .bridge == $br)' "$W/all.json"; }
for n in 1 2 3; do
  net n$n $BR > "$W/lbnet$n.json"
  net n$n ov-ingress > "$W/ingnet$n.json"
  # services: the VIP, its fwmark and the three backends, served by this node's lb namespace only
  got=$(jq -r '[.services[] | "\(.netns) \(.vip) \(.fwmark) \(.fwmark_hex) " + ([.backends[] | "\(.address)/w\(.weight)"] | sort | join(","))] | join(";")' "$W/lbnet$n.json")
  [ "$got" = "${P}lb$n 10.0.0.5 256 0x100 10.0.0.21/w1,10.0.0.22/w1,10.0.0.31/w1" ] &&
    ok "node $n: $BR (vni $(jq .vni "$W/lbnet$n.json")) service: $got" || fail "node $n: $BR services \"$got\""
  jq -e '.vni == 4097 and .id == "7672d" and (.peer_hosts | length) == 2' "$W/lbnet$n.json" >/dev/null &&
    ok "node $n: $BR vni 4097, id 7672d, two peer hosts" || fail "node $n: $BR: $(jq -c '{vni, id, peer_hosts}' "$W/lbnet$n.json")"
  # published ports: 30000/tcp through s$n, fwmark 258, the two tasks as backends
  got=$(jq -r '[.published[] | "\(.netns) \(.port)/\(.proto) \(.ingress_sbox) \(.fwmark) \(.fwmark_hex) " + ([.backends[] | .address] | sort | join(","))] | join(";")' "$W/ingnet$n.json")
  [ "$got" = "${P}n$n 30000/tcp ${P}s$n 258 0x102 10.255.0.6,10.255.0.7" ] &&
    ok "node $n: ov-ingress published: $got" || fail "node $n: ov-ingress published \"$got\""
  # the ingress sandbox's published-port service is a fwmark service too (no VIP on it here)
  # marks: the sandboxes' mangle MARK rules behind those fwmarks, as structured rules
  jq -e --arg s "${P}s$n" --arg l "${P}lb$n" '
      ([.netns[$s].netfilter.rules[] | select(.table == "mangle" and .target == "MARK" and (.spec | test("--dport 30000 .*0x102")))] | length) == 1 and
      ([.netns[$l].netfilter.rules[] | select(.table == "mangle" and .target == "MARK" and (.spec | test("-d 10.0.0.5/32 .*0x100")))] | length) == 1 and
      ([.netns[$s].ipvs[] | select(.key == "fwm 258")] | length) == 1 and ([.netns[$l].ipvs[] | select(.key == "fwm 256")] | length) == 1' \
      "$W/all.json" >/dev/null && ok "node $n: marks 0x102 (s$n, port 30000) and 0x100 (lb$n, VIP 10.0.0.5), and their fwm services" ||
    fail "node $n: mark rules or fwm services missing: $(jq -c --arg s "${P}s$n" --arg l "${P}lb$n" \
      '[.netns[$s, $l].netfilter.rules[] | select(.table == "mangle")]' "$W/all.json")"
done
# endpoints of the overlays, with the containers' sandboxes
got=$(jq -r --arg ns "${P}n1" '.networks[] | select(.netns == $ns and .bridge == "ov-001001-7672d") | [.endpoints[].addresses[]] | sort | join(" ")' "$W/all.json")
# (lb1 also holds the VIP, 10.0.0.5/32, on its interface: ovnet-lb puts it there, as Docker does in lb_<id>)
[ "$got" = "10.0.0.11/24 10.0.0.2/24 10.0.0.5/32" ] && ok "node 1: $BR endpoints $got" || fail "node 1: $BR endpoints \"$got\""

# ---- one snapshot per node (--host-prefix), then the audit
if ! ovnet-inspect --help 2>&1 | grep -q -- --host-prefix; then
  SKIP="ovnet-inspect has no --host-prefix here: the audit part (nodes as namespaces) did not run"
  finish
fi
ovnet-inspect --host-prefix ${P}n > "$W/nodes.json" 2> "$W/split.err" || { fail "ovnet-inspect --host-prefix: $(cat "$W/split.err")"; finish; }
jq -s -r '[.[].host] | join(" ")' "$W/nodes.json" > "$W/hosts"
[ "$(cat "$W/hosts")" = "${P}n1 ${P}n2 ${P}n3" ] && ok "--host-prefix: three node snapshots: $(cat "$W/hosts")" ||
  fail "--host-prefix gave hosts \"$(cat "$W/hosts")\""
# (the guest has no /dev/fd: no process substitution)
jq -c . "$W/nodes.json" > "$W/nodes.lines"
i=0; while IFS= read -r doc; do i=$((i + 1)); echo "SCHEMA-DOC inspect-node$i inspect $doc"; DOCS=$((DOCS + 1)); done < "$W/nodes.lines"
# each node holds its own namespaces only (not ul, not another node's)
for n in 1 2 3; do
  case $n in 1) want="c1 lb1 n1 s1";; 2) want="c2 lb2 n2 r21 r22 s2";; 3) want="c3 lb3 n3 r31 s3";; esac
  want=$(for x in $want; do echo "$P$x"; done | sort | tr '\n' ' ' | sed 's/ $//')
  got=$(jq -s -r --argjson i $((n - 1)) '.[$i].netns | keys | join(" ")' "$W/nodes.json")
  [ "$got" = "$want" ] && ok "node $n's namespaces: $got" || fail "node $n's namespaces: $got, want $want"
done
if ! command -v ovnet-audit >/dev/null; then
  SKIP="ovnet-audit not built: the audit part did not run (inspect checks above: passed)"
  finish
fi
# audit FILE: the report's finding codes ("code@node,node") into FILE.codes; rc in AUDIT_RC
audit() {
  ovnet-audit < "$1" > "$1.report" 2> "$1.err"; AUDIT_RC=$?
  jq -r '.findings[] | "\(.code)@\(.nodes | join(","))"' "$1.report" 2>/dev/null | sort -u > "$1.codes"
}
audit "$W/nodes.json"
echo "SCHEMA-DOC audit-clean audit-report $(jq -c . "$W/nodes.json.report")"; DOCS=$((DOCS + 1))
# The faults below are asserted against this baseline (found after, not before); the cluster as
# built (services with their VIP /32 on every lb namespace, as Docker's lb_<id>) must audit clean.
if [ $AUDIT_RC = 0 ] && [ ! -s "$W/nodes.json.codes" ]; then ok "audit of the three nodes as built: clean (exit 0)"
elif [ $AUDIT_RC = 1 ]; then
  fail "audit of the three nodes as built: findings $(tr '\n' ' ' < "$W/nodes.json.codes")"
  jq -c '.findings[] | {code, nodes, objects, message}' "$W/nodes.json.report" 2>/dev/null | head -20
else fail "audit of the three nodes as built: exit $AUDIT_RC $(cat "$W/nodes.json.err")"; fi
# fault NAME CODE: audit after the fault; CODE found (exit 1), it was not found before; --fix
# prints a script naming a command for it.
fault() {
  local name=$1 code=$2
  ovnet-inspect --host-prefix ${P}n > "$W/$name.json" 2>"$W/$name.ierr" || { fail "$name: ovnet-inspect: $(cat "$W/$name.ierr")"; return; }
  audit "$W/$name.json"
  echo "SCHEMA-DOC audit-$name audit-report $(jq -c . "$W/$name.json.report")"; DOCS=$((DOCS + 1))
  if [ $AUDIT_RC = 1 ] && grep -q "^$code@" "$W/$name.json.codes" && ! grep -q "^$code@" "$W/nodes.json.codes"; then
    ok "$name: audit exit 1, $(grep "^$code@" "$W/$name.json.codes" | tr '\n' ' ')(all: $(tr '\n' ' ' < "$W/$name.json.codes"))"
    jq -c --arg c "$code" '.findings[] | select(.code == $c) | {objects, message, fix}' "$W/$name.json.report"
  else
    fail "$name: want $code (exit 1), got exit $AUDIT_RC $(cat "$W/$name.json.err"), codes: $(tr '\n' ' ' < "$W/$name.json.codes")"
  fi
  ovnet-audit --fix < "$W/$name.json" > "$W/$name.fix" 2>&1
  echo "--fix for $name:"; sed 's/^/  | /' "$W/$name.fix" | head -20
}
# 1. a destination left at weight 0 (a drain that never finished) in lb1
ovnet-ipvs -q -n ${P}lb1 edit -f 256 -r 10.0.0.22 -w 0 >/dev/null || fail "ovnet-ipvs edit -w 0"
fault weight0 IPVS_WEIGHT0_LEFTOVER
# its fix (remove the destination) clears it
sh "$W/weight0.fix" > "$W/weight0.fix.out" 2>&1 || fail "the weight0 --fix script: $(cat "$W/weight0.fix.out")"
ovnet-inspect --host-prefix ${P}n > "$W/fixed.json" 2>/dev/null; audit "$W/fixed.json"
grep -q "^IPVS_WEIGHT0_LEFTOVER@" "$W/fixed.json.codes" && fail "IPVS_WEIGHT0_LEFTOVER still found after --fix | sh" ||
  ok "after ovnet-audit --fix | sh: no IPVS_WEIGHT0_LEFTOVER (findings: $(tr '\n' ' ' < "$W/fixed.json.codes"))"
ovnet-ipvs -q -n ${P}lb1 add -f 256 -r 10.0.0.22 -m -w 1 >/dev/null || fail "ovnet-ipvs add the destination back"
# 2. port 30000 published on nodes 1 and 2 only
ovnet-publish -q -n ${P}n3 del --port 30000 --ingress-sbox ${P}s3 >/dev/null 2>"$W/del3.err" || fail "ovnet-publish del on node 3: $(cat "$W/del3.err")"
fault partial PUBLISHED_PORT_PARTIAL
# the finding names the node without the port (in its nodes, objects or message)
jq -e --arg n "${P}n3" '[.findings[] | select(.code == "PUBLISHED_PORT_PARTIAL") | select((.nodes | index($n)) or
    ([.objects[] | select(contains($n))] | length > 0) or (.message | contains($n)))] | length > 0' "$W/partial.json.report" >/dev/null &&
  ok "the partial port names node 3" || fail "PUBLISHED_PORT_PARTIAL does not name ${P}n3"
echo "inspect-audit body: $(( $(date +%s) - T0 )) s"
finish
