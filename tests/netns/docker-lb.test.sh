#!/bin/bash
# docker-lb: `ovnet-lb show` and `ovnet-publish show` list Docker's load-balancing state. Three
# namespaces of this run get a real Swarm node's exact rules (tests/fixtures/docker-node, cut from
# the capture of Docker 20.10.24 on Debian 12) and its addresses on veths: a host-like one
# (nat/filter DOCKER-INGRESS, POSTROUTING MASQUERADE on docker_gwbridge), an ingress_sbox-like one
# (mangle PREROUTING --dport 30000 and INPUT -d 10.0.0.3 marks 0x101, the SNAT) and an lb_-like one
# (INPUT -d 10.0.1.6 and 10.0.1.2 marks 0x100/0x102, the SNAT). The host and the sandbox are loaded
# with iptables-nft, the lb namespace with iptables-legacy when installed (Docker uses either; ovnet
# reads both). The rows must carry owner "docker" and the expected fields; without IPVS (this
# kernel) ipvs and backends are null, exit 0, and one stderr line says IPVS is unavailable. add/del
# refuse Docker's VIPs and ports with exit 2 naming them, and change no rule.
. "$(dirname "$0")/lib.sh"
FIX=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fixtures/docker-node
for t in iptables-nft-restore iptables-nft-save jq; do command -v $t >/dev/null || skip "$t not installed"; done
LEGACY=iptables-legacy-restore
command -v $LEGACY >/dev/null && command -v iptables-legacy-save >/dev/null || LEGACY=iptables-nft-restore

H=$(ns host) S=$(ns ingress_sbox) L=$(ns lb_dufsaehw5)
for n in "$H" "$S" "$L"; do mkns "$n" || { echo "cannot create $n"; exit 1; }; done
# host docker_gwbridge 172.18.0.1/16 <-> ingress_sbox eth1 172.18.0.2/16
ip -n "$H" link add docker_gwbridge type veth peer name eth1 netns "$S"
ip -n "$H" addr add 172.18.0.1/16 dev docker_gwbridge
ip -n "$S" addr add 172.18.0.2/16 dev eth1
# ingress_sbox eth0 10.0.0.2/24 + ingress VIP 10.0.0.3/32 <-> lb eth0 10.0.1.5/24 + VIPs 10.0.1.6, 10.0.1.2
ip -n "$S" link add eth0 type veth peer name eth0 netns "$L"
ip -n "$S" addr add 10.0.0.2/24 dev eth0
ip -n "$S" addr add 10.0.0.3/32 dev eth0
ip -n "$L" addr add 10.0.1.5/24 dev eth0
ip -n "$L" addr add 10.0.1.6/32 dev eth0
ip -n "$L" addr add 10.0.1.2/32 dev eth0
for n in "$H" "$S" "$L"; do ip -n "$n" link set lo up; done
ip -n "$H" link set docker_gwbridge up; ip -n "$S" link set eth1 up; ip -n "$S" link set eth0 up; ip -n "$L" link set eth0 up

# load NS RESTORE FILE: Docker's rules as captured. `-m ipvs` needs IPVS in the kernel: when the
# restore refuses the file, only the "-m ipvs" SNAT rule is dropped (and said so).
SNAT_LOADED=1
load() {
  if ip netns exec "$1" "$2" <"$3" 2>"$TMP/restore.err"; then return 0; fi
  grep -v -- '-m ipvs' "$3" >"$TMP/noipvs"
  ip netns exec "$1" "$2" <"$TMP/noipvs" || { echo "cannot load $3 into $1: $(cat "$TMP/restore.err")"; exit 1; }
  echo "# $2 refused $(basename "$3")'s -m ipvs SNAT rule ($(head -c 120 "$TMP/restore.err" | tr '\n' ' ')): loaded without it"
  SNAT_LOADED=0
}
load "$H" iptables-nft-restore "$FIX/host.iptables-save"
load "$S" iptables-nft-restore "$FIX/ingress_sbox.iptables-save"
load "$L" "$LEGACY" "$FIX/lb_dufsaehw5.iptables-save"
echo "# lb namespace loaded with $LEGACY"
IPVS=0
ovnet-ipvs -n "$L" show -j >/dev/null 2>&1 && IPVS=1
saved() { for n in "$H" "$S" "$L"; do ip netns exec "$n" iptables-nft-save; command -v iptables-legacy-save >/dev/null && ip netns exec "$n" iptables-legacy-save; done 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }
saved >"$TMP/rules.before"

# check_ipvs_half DESCRIPTION JSON: without IPVS ipvs/backends null and the one stderr line.
check_ipvs_half() {
  if [ $IPVS = 0 ]; then
    assert_eq "$(jq -c '[.[] | select(.owner=="docker") | [.ipvs, .backends, .scheduler]] | unique' <<<"$2")" '[[null,null,"-"]]' "$1: ipvs and backends null, scheduler -"
    assert_eq "$(printf '%s' "$ERR" | grep -c '^')" 1 "$1: one stderr line"
    assert_contains "$ERR" "IPVS is unavailable" "$1: stderr says IPVS is unavailable"
  else
    assert_eq "$(jq -c '[.[] | select(.owner=="docker") | .backends] | unique' <<<"$2")" '[[]]' "$1: no FWM service: backends []"
    assert_eq "$ERR" "" "$1: nothing on stderr"
  fi
}
if [ $SNAT_LOADED = 1 ]; then LBNET='"10.0.1.0/24"' LBIP='"10.0.1.5"' INNET='"10.0.0.0/24"' INIP='"10.0.0.2"'
else LBNET=null LBIP=null INNET=null INIP=null; fi

SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# valid SCHEMA WHAT JSON: the output is valid against its JSON Schema (when python3-jsonschema is there).
valid() {
  python3 -c 'import jsonschema' 2>/dev/null || { echo "# python3-jsonschema missing: $2 not validated"; return; }
  if printf '%s' "$3" | python3 "$SRC/tests/schema/validate.py" "$SRC/schema" "$1" - >"$TMP/verr" 2>&1; then pass "$2: valid $1"
  else fail "$2: not valid $1: $(cat "$TMP/verr")"; fi
}

# ---- ovnet-lb -n lb_ show: Docker's two VIPs
expect_rc 0 "lb show -j exits 0" ovnet-lb -n "$L" show -j
J=$OUT
valid 'lb-service[]' "lb show -j" "$J"
assert_eq "$(jq -c 'map([.owner, .netns, .vip, .fwmark, .fwmark_hex, .vip_iface])' <<<"$J")" \
  "[[\"docker\",\"$L\",\"10.0.1.6\",256,\"0x100\",\"eth0\"],[\"docker\",\"$L\",\"10.0.1.2\",258,\"0x102\",\"eth0\"]]" \
  "lb show: both of Docker's VIPs with their marks, owner docker"
assert_eq "$(jq -c 'map([.subnet, .lb_ip]) | unique' <<<"$J")" "[[$LBNET,$LBIP]]" "lb show: subnet and lb_ip from the SNAT rule"
assert_eq "$(jq -r '.[0].rules[0]' <<<"$J")" "mangle INPUT -d 10.0.1.6/32 -j MARK --set-xmark 0x100/0xffffffff" "lb show: the mark rule listed"
check_ipvs_half "lb show" "$J"
expect_rc 0 "lb show table exits 0" ovnet-lb -n "$L" show -t
assert_contains "$(head -1 <<<"$OUT")" "OWNER" "lb table: OWNER column"
assert_eq "$(grep -c '^10\.0\.1\.[26] .*  docker$' <<<"$OUT")" 2 "lb table: two docker rows (OWNER last)"
[ $IPVS = 0 ] && assert_contains "$ERR" "IPVS is unavailable" "lb table: stderr says IPVS is unavailable"
expect_rc 0 "lb show --vip" ovnet-lb -n "$L" show -j --vip 10.0.1.2
assert_eq "$(jq -c 'map(.fwmark)' <<<"$OUT")" "[258]" "lb show --vip: that VIP only"
# the ingress sandbox is a load balancer too: its ingress VIP
expect_rc 0 "lb show in the ingress sandbox" ovnet-lb -n "$S" show -j
assert_eq "$(jq -c 'map([.owner, .vip, .fwmark])' <<<"$OUT")" '[["docker","10.0.0.3",257]]' "lb show: the ingress VIP"

# ---- ovnet-publish show: Docker's published port, host joined with the sandbox
expect_rc 0 "publish show -j exits 0" ovnet-publish -n "$H" show --ingress-sbox "$S" -j
J=$OUT
valid 'published-port[]' "publish show -j" "$J"
assert_eq "$(jq -c 'map([.owner, .netns, .proto, .port, .ingress_sbox, .gw_ip, .gw_bridge, .fwmark, .fwmark_hex, .ingress_vip])' <<<"$J")" \
  "[[\"docker\",\"$H\",\"tcp\",30000,\"$S\",\"172.18.0.2\",\"docker_gwbridge\",257,\"0x101\",\"10.0.0.3\"]]" \
  "publish show: port 30000 via 172.18.0.2 on docker_gwbridge, mark 0x101, ingress VIP 10.0.0.3"
assert_eq "$(jq -c 'map([.subnet, .lb_ip])' <<<"$J")" "[[$INNET,$INIP]]" "publish show: subnet and lb_ip from the sandbox's SNAT"
assert_eq "$(jq -r '.[0].rules[0:4][]' <<<"$J")" "$H: nat DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000
$H: filter DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT
$H: filter DOCKER-INGRESS -p tcp -m state --state RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT
$H: nat POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE" "publish show: the host's rules listed"
assert_contains "$(jq -r '.[0].rules[]' <<<"$J")" "$S: mangle PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x101/0xffffffff" "publish show: the sandbox's port mark listed"
check_ipvs_half "publish show" "$J"
expect_rc 0 "publish show table exits 0" ovnet-publish -n "$H" show --ingress-sbox "$S" -t
assert_contains "$(head -1 <<<"$OUT")" "OWNER" "publish table: OWNER column"
assert_contains "$(sed -n 2p <<<"$OUT")" "30000/tcp  172.18.0.2  docker_gwbridge  257 (0x101)" "publish table: Docker's row"
assert_contains "$(sed -n 2p <<<"$OUT")" "  docker" "publish table: Docker's row says owner docker"

# ---- Docker's rows are never taken over: exit 2 naming the row, no rule changed
expect_bad_input "lb add of Docker's VIP" "$L" "10.0.1.6" "owned by docker" -- \
  ovnet-lb -n "$L" add --vip 10.0.1.6 --backend 10.0.1.7
expect_bad_input "lb del of Docker's VIP" "$L" "10.0.1.2" "owned by docker" -- ovnet-lb -n "$L" del --vip 10.0.1.2
expect_bad_input "publish add of Docker's port" "$H" "30000" "owned by docker" -- \
  ovnet-publish -n "$H" add --port 30000 --ingress-sbox "$S" --gw-ip 172.18.0.2 --backend 10.0.0.4
expect_bad_input "publish del of Docker's port" "$H" "30000" "owned by docker" -- \
  ovnet-publish -n "$H" del --port 30000 --ingress-sbox "$S"
assert_eq "$(saved | diff "$TMP/rules.before" - && echo same)" "same" "Docker's rules unchanged (both backends, three namespaces)"

done_testing
