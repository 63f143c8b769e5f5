#!/bin/bash
# docker-node: a real one-node Docker Swarm (Debian's docker.io, shipped by vmrun.sh's Docker variant)
# with IPVS, and ovnet's views of it checked against Docker's own state and the kernel's.
#
# dockerd runs in its own network namespace ${P}dk (nsenter --net, so its namespace files stay visible:
# ip netns exec would give it a private mount namespace), with exec-root /run/${P}dk and data-root
# /var/lib/${P}dk, vfs storage, cgroup v2, iptables-nft (as Docker on Debian uses it), and the node
# address 192.0.2.1 on a veth to a client namespace ${P}cl (192.0.2.2). The image is a static busybox
# tree brought in with `docker import` (no registry): it answers "hello-from-bb" over HTTP. ip_forward is
# on in the guest's initial namespace for the run (Docker's sandboxes inherit it from there, as on a real
# node; restored at the end). Services:
# `web` (2 replicas, --publish 30000:80, the routing mesh through ingress_sbox) and `redis` (1 replica),
# both on the attachable overlay mynet0 (10.0.1.0/24), plus a container c1 on mynet0.
#
# Once Docker's state has converged (polled: replicas running, and each service's IPVS firewall-mark
# service holding exactly the tasks `docker network inspect --verbose` lists), it checks:
# - Docker's rules went to nf_tables (iptables-nft-save shows its DOCKER-INGRESS DNAT);
# - ovnet-ipvs on ingress_sbox and lb_<id> (by path, and by name through the running dockerd's
#   exec-root) lists what ipvsadm lists (-S form, and fwmark/scheduler/destinations from show -j);
# - ovnet-publish (--docker-netns-dir <exec-root>/netns, -n the daemon's namespace) lists port 30000/tcp
#   owned by docker, with Docker's mark (LocalLBIndex), the ingress sandbox's gwbridge address and the
#   bridge, the ingress VIP, and the web tasks' ingress addresses as backends;
# - ovnet-lb on lb_<id> lists each VIP of mynet0 (owner docker, mark, backends = the tasks' addresses),
#   and on ingress_sbox the ingress VIP;
# - ovnet-sbox names c1's sandbox after the container;
# - requests from the client to 192.0.2.1:30000, and from c1 to both VIPs, are answered.
#
# Opt-in: runs only with OVNET_TEST_DOCKER_VM=1 (ctest vm-docker-boot passes it on); else SKIP.
# Under TCG this takes minutes (see tests/vm/README.md); every wait polls the state it needs.
set -u
P=${VM_NS_PREFIX:-ovt$$-}
W=${VM_WORKDIR:-/tmp/docker-node.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
T0=$SECONDS
stamp() { echo "[t+$((SECONDS - T0))s] $*"; }

[ "${OVNET_TEST_DOCKER_VM:-0}" = 1 ] || { echo "VM-RESULT: SKIP opt-in: set OVNET_TEST_DOCKER_VM=1"; exit 0; }
for t in /usr/sbin/dockerd /usr/bin/docker /usr/bin/containerd /usr/sbin/runc /usr/sbin/xtables-nft-multi; do
  [ -x $t ] || { echo "VM-RESULT: SKIP $t not in the guest (boot with OVNET_VM_DOCKER=1: ctest vm-docker-boot)"; exit 0; }
done
for t in ovnet-ipvs ovnet-lb ovnet-publish ovnet-sbox ipvsadm jq nsenter timeout; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not shipped into the VM"; exit 0; }
done
# Docker's rules need these (xt_REDIRECT: a task's ingress port); load them rather than rely on the
# kernel's autoload through busybox's modprobe.
for m in veth bridge br_netfilter vxlan ip_vs ip_vs_rr nf_tables nft_compat nft_chain_nat nf_nat xt_ipvs \
         xt_mark xt_nat xt_addrtype xt_conntrack xt_tcpudp xt_MASQUERADE xt_REDIRECT xt_state xt_multiport; do
  modprobe $m 2>/dev/null
done
[ -e /proc/net/ip_vs ] || { echo "VM-RESULT: SKIP no IPVS in this kernel"; exit 0; }

D=${P}dk CL=${P}cl
XR=/run/${P}dk DR=/var/lib/${P}dk SOCK=/run/${P}dk.sock
export DOCKER_HOST=unix://$SOCK
DK=/usr/bin/docker   # Debian's client (never a /usr/local one)
dpid=
finish() {
  # Stop dockerd (it stops the containers), then whatever is left in its namespace; unmount Docker's
  # namespace files and remove ours.
  if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
    kill -TERM "$dpid"; local end=$((SECONDS + 120))
    while kill -0 "$dpid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 1; done
  fi
  for p in $(ip netns pids "$D" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  local ino f p
  for f in "$XR"/netns/*; do
    [ -e "$f" ] || continue
    ino=$(stat -L -c %i "$f" 2>/dev/null)
    for p in /proc/[0-9]*; do
      [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$ino" ] && kill -9 "${p#/proc/}" 2>/dev/null
    done
    umount "$f" 2>/dev/null
  done
  grep -o " $XR[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null; done
  ip netns delete "$D" 2>/dev/null; ip netns delete "$CL" 2>/dev/null
  [ -n "${FWD0:-}" ] && echo "$FWD0" > /proc/sys/net/ipv4/ip_forward
  stamp "cleaned up"
  if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi
  exit 0
}
trap finish EXIT
abort() { fail "$*"; echo "--- last dockerd log lines:"; tail -n 25 "$W/dockerd.log" 2>/dev/null; exit 0; }
# poll SECONDS CMD...: run CMD until it succeeds; 1 when the deadline passes first.
poll() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 2; done; }

# ---- the node: its namespace, the underlay veth to the client, cgroup v2, dockerd
ip netns add "$D" && ip netns add "$CL" || abort "ip netns add"
ip link add eth0 netns "$D" type veth peer name eth0 netns "$CL" || abort "veth"
ip -n "$D" link set lo up; ip -n "$D" link set eth0 up; ip -n "$D" addr add 192.0.2.1/24 dev eth0
ip -n "$CL" link set lo up; ip -n "$CL" link set eth0 up; ip -n "$CL" addr add 192.0.2.2/24 dev eth0
ip -n "$D" route add default via 192.0.2.2
grep -q '^[^ ]* /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup || abort "mount cgroup2"
# Docker's namespaces take their IPv4 settings from the initial namespace (devconf_inherit_init_net 0),
# where a real node's dockerd has turned ip_forward on; with dockerd confined to ${P}dk the guest's initial
# namespace must say so too, or ingress_sbox and lb_<id> drop IPVS's replies (restored at the end).
FWD0=$(cat /proc/sys/net/ipv4/ip_forward); echo 1 > /proc/sys/net/ipv4/ip_forward
mkdir -p "$W/nft"
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -s /usr/sbin/xtables-nft-multi "$W/nft/$t"
done
# DOCKER_RAMDISK: the guest's root is the initramfs, which runc cannot pivot_root away from.
# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: services use the local image (no registry is reachable).
env PATH="$W/nft:$PATH" DOCKER_RAMDISK=1 DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
  nsenter --net=/run/netns/"$D" /usr/sbin/dockerd --exec-root "$XR" --data-root "$DR" -H "unix://$SOCK" \
  --pidfile "$XR.pid" --storage-driver vfs > "$W/dockerd.log" 2>&1 &
dpid=$!
poll 300 $DK version --format '{{.Server.Version}}' > /dev/null 2>&1 || abort "dockerd did not answer within 300 s"
stamp "dockerd up: $($DK info --format '{{.ServerVersion}} storage {{.Driver}}, cgroup v{{.CgroupVersion}} {{.CgroupDriver}}, kernel {{.KernelVersion}}')"

mkdir -p "$W/img/bin" "$W/img/www"
cp -L /bin/busybox "$W/img/bin/busybox" && echo hello-from-bb > "$W/img/www/index.html"
tar -C "$W/img" -cf "$W/bb.tar" . || abort "tar of the image"
$DK import -c 'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]' "$W/bb.tar" ovt-bb:1 > /dev/null \
  || abort "docker import"
stamp "image imported"

$DK swarm init --advertise-addr 192.0.2.1 > /dev/null || abort "docker swarm init"
stamp "swarm init"
$DK network create -d overlay --attachable --subnet 10.0.1.0/24 mynet0 > /dev/null || abort "network create"
$DK service create -d --no-resolve-image --name web --replicas 2 --publish 30000:80 --network mynet0 ovt-bb:1 \
  > /dev/null || abort "service create web"
$DK service create -d --no-resolve-image --name redis --replicas 1 --network mynet0 ovt-bb:1 > /dev/null \
  || abort "service create redis"
stamp "services created"
$DK run -d --name c1 --network mynet0 ovt-bb:1 > /dev/null || abort "docker run c1"
stamp "c1 started"

replicas() { [ "$($DK service ls --format '{{.Name}}={{.Replicas}}' 2>/dev/null | sort | tr '\n' ' ')" = "redis=1/1 web=2/2 " ]; }
poll 900 replicas || abort "replicas not running within 900 s: $($DK service ls 2>&1 | tr '\n' ';')"
stamp "replicas running: $($DK service ps --format '{{.Name}} {{.CurrentState}}' web redis 2>&1 | tr '\n' ';')"

NETID=$($DK network inspect -f '{{.Id}}' mynet0)
ING=$XR/netns/ingress_sbox LB=$XR/netns/lb_${NETID:0:9}
# Docker's own view: "VIP MARK IP,IP" per service (network inspect --verbose), the expectation below.
svc_view() {   # NETWORK
  $DK network inspect --verbose "$1" 2>/dev/null | jq -r '.[0].Services // {} | to_entries[]
    | select(.value.VIP != "<nil>" and .value.VIP != "")
    | "\(.key) \(.value.VIP) \(.value.LocalLBIndex) \([.value.Tasks[].EndpointIP] | sort | sort | join(","))"' | sort
}
# The kernel's: "MARK IP,IP" per firewall-mark service in a namespace (ipvsadm -Ln).
ipvs_view() {   # NETNS_PATH
  nsenter --net="$1" ipvsadm -Ln 2>/dev/null | awk '
    $1 == "FWM" { if (m != "") print m, d; m = $2; d = ""; next }
    $1 == "->" && m != "" { split($2, a, ":"); d = d (d == "" ? "" : ",") a[1] }
    END { if (m != "") print m, d }' | while read -r m d; do
      echo "$m $(echo "$d" | tr ',' '\n' | sort | tr '\n' ',' | sed 's/,$//')"; done | sort
}
# converged: mynet0 has its 2 VIPs with 3 tasks, ingress its VIP with 2, and each VIP's FWM service in
# lb_<id> / ingress_sbox has exactly those tasks as destinations.
converged() {
  local n ns v want
  for n in mynet0 ingress; do
    if [ $n = mynet0 ]; then ns=$LB want="2 3"; else ns=$ING want="1 2"; fi
    [ -e "$ns" ] || return 1
    v=$(svc_view $n)
    [ "$(echo "$v" | awk 'NF == 4 { s++; t += split($4, a, ",") } END { print s + 0, t + 0 }')" = "$want" ] || return 1
    [ "$(echo "$v" | awk '{print $3, $4}' | sort)" = "$(ipvs_view "$ns")" ] || return 1
  done
}
poll 600 converged || {
  echo "mynet0: $(svc_view mynet0 | tr '\n' ';')  ipvs lb: $(ipvs_view "$LB" | tr '\n' ';')"
  echo "ingress: $(svc_view ingress | tr '\n' ';')  ipvs ingress_sbox: $(ipvs_view "$ING" | tr '\n' ';')"
  abort "Docker's IPVS state did not converge within 600 s"
}
stamp "IPVS converged"
svc_view mynet0 > "$W/mynet0"; svc_view ingress > "$W/ingress"
sed 's/^/docker mynet0: /' "$W/mynet0"; sed 's/^/docker ingress: /' "$W/ingress"
GWIP=$($DK network inspect docker_gwbridge | jq -r '.[0].Containers["ingress-sbox"].IPv4Address // "" | sub("/.*"; "")')
[ -n "$GWIP" ] || GWIP=$(nsenter --net="$ING" ip -4 -o addr show dev eth1 | awk '{sub("/.*", "", $4); print $4; exit}')
C1KEY=$($DK inspect -f '{{.NetworkSettings.SandboxKey}}' c1)
echo "ingress-sbox on docker_gwbridge: $GWIP; lb: $LB; c1's sandbox: $C1KEY"

# Docker wrote through iptables-nft, as on Debian (ovnet reads both backends).
nsenter --net=/run/netns/"$D" iptables-nft-save -t nat 2>/dev/null | grep -q '^-A DOCKER-INGRESS .*--dport 30000 .*-j DNAT' \
  && ok "Docker's DOCKER-INGRESS DNAT is in nf_tables" || fail "no DOCKER-INGRESS DNAT in iptables-nft-save of $D"

# ---- ovnet-ipvs against ipvsadm
# canon: "MARK SCHED ADDR FORWARD WEIGHT,..." per FWM service, from ipvsadm -Ln or from show -j.
ipvsadm_canon() {
  nsenter --net="$1" ipvsadm -Ln | awk '
    $1 == "FWM" { if (m != "") print m, s, d; m = $2; s = $3; d = ""; next }
    $1 == "->" && m != "" { split($2, a, ":"); d = d (d == "" ? "" : ",") a[1] " " tolower($3) " " $4 }
    END { if (m != "") print m, s, d }' | while read -r m sch d; do
      echo "$m $sch $(echo "$d" | tr ',' '\n' | sort | tr '\n' ',' | sed 's/,$//')"; done | sort
}
ovnet_canon() {
  jq -r '.[] | select(.protocol == "fwm")
    | "\(.fwmark) \(.scheduler) \([.dests[] | "\(.address) \(.forward) \(.weight)"] | sort | join(","))"' | sort
}
for ns in "$ING" "$LB"; do
  n=${ns##*/}
  want=$(nsenter --net="$ns" ipvsadm -S -n); got=$(ovnet-ipvs -n "$ns" show --ipvsadm 2>&1)
  [ -n "$want" ] && [ "$got" = "$want" ] && ok "$n: ovnet-ipvs show --ipvsadm == ipvsadm -S -n" \
    || { fail "$n: ovnet-ipvs show --ipvsadm differs"; diff <(echo "$want") <(echo "$got"); }
  want=$(ipvsadm_canon "$ns"); got=$(ovnet-ipvs -n "$ns" show -j | ovnet_canon)
  [ -n "$want" ] && [ "$got" = "$want" ] && ok "$n: ovnet-ipvs show -j FWM services == ipvsadm -Ln: $(echo "$got" | tr '\n' ';')" \
    || { fail "$n: ovnet-ipvs show -j differs from ipvsadm -Ln"; diff <(echo "$want") <(echo "$got"); }
done
# By name: found through the running dockerd's --exec-root, and through --docker-netns-dir.
got=$(ovnet-ipvs -n ingress_sbox show --ipvsadm 2>&1)
[ "$got" = "$(nsenter --net="$ING" ipvsadm -S -n)" ] && ok "ovnet-ipvs -n ingress_sbox finds the daemon's exec-root" \
  || fail "ovnet-ipvs -n ingress_sbox (no --docker-netns-dir): $got"
got=$(ovnet-ipvs --docker-netns-dir "$XR/netns" -n "lb_${NETID:0:9}" show --ipvsadm 2>&1)
[ "$got" = "$(nsenter --net="$LB" ipvsadm -S -n)" ] && ok "ovnet-ipvs --docker-netns-dir -n lb_${NETID:0:9}" \
  || fail "ovnet-ipvs --docker-netns-dir -n lb_${NETID:0:9}: $got"

# ---- ovnet-publish: the published port, against Docker's ingress view
read -r _ ivip imark itasks < "$W/ingress"
pub=$(ovnet-publish --docker-netns-dir "$XR/netns" -n "$D" show -j 2>"$W/pub.err"); rc=$?
echo "ovnet-publish show -j (rc $rc): $pub"; [ -s "$W/pub.err" ] && sed 's/^/  stderr: /' "$W/pub.err"
row=$(echo "$pub" | jq -c '[.[] | select(.port == 30000 and .proto == "tcp")]' 2>/dev/null)
if [ "$(echo "$row" | jq length 2>/dev/null)" != 1 ]; then
  fail "ovnet-publish show: not exactly one row for 30000/tcp: $row"
else
  got=$(echo "$row" | jq -r '.[0] | "\(.owner) \(.fwmark) \(.gw_ip) \(.gw_bridge) \(.ingress_vip) \(if .backends == null then "null" else [.backends[].address] | sort | join(",") end) \(.ipvs.fwmark)"')
  want="docker $imark $GWIP docker_gwbridge $ivip $itasks $imark"
  [ "$got" = "$want" ] && ok "ovnet-publish: 30000/tcp owner docker, mark, gateway, bridge, VIP, backends, ipvs: $want" \
    || fail "ovnet-publish 30000/tcp: got \"$got\", want \"$want\" (owner fwmark gw_ip gw_bridge ingress_vip backends ipvs.fwmark)"
fi

# ---- ovnet-lb: the VIPs of mynet0 in lb_<id>, the ingress VIP in ingress_sbox
lb_check() {   # NETNS_PATH EXPECTATION_FILE
  local out rc v want got
  out=$(ovnet-lb -n "$1" show -j 2>"$W/lb.err"); rc=$?
  echo "ovnet-lb -n ${1##*/} show -j (rc $rc): $out"; [ -s "$W/lb.err" ] && sed 's/^/  stderr: /' "$W/lb.err"
  [ "$(echo "$out" | jq '[.[] | select(.owner == "docker")] | length' 2>/dev/null)" = "$(wc -l < "$2")" ] \
    && ok "${1##*/}: one docker row per VIP ($(wc -l < "$2"))" || fail "${1##*/}: docker rows != $(wc -l < "$2") VIPs"
  while read -r name v mark tasks; do
    got=$(echo "$out" | jq -r --arg v "$v" '[.[] | select(.vip == $v)][0] // empty | "\(.owner) \(.fwmark) \(if .backends == null then "null" else [.backends[].address] | sort | join(",") end) \(.ipvs.fwmark)"')
    want="docker $mark $tasks $mark"
    [ "$got" = "$want" ] && ok "${1##*/}: VIP $v ($name): owner docker, mark $mark, backends $tasks" \
      || fail "${1##*/}: VIP $v ($name): got \"$got\", want \"$want\" (owner fwmark backends ipvs.fwmark)"
  done < "$2"
}
lb_check "$LB" "$W/mynet0"
lb_check "$ING" "$W/ingress"

# ---- ovnet-sbox: c1's sandbox carries the container's name
got=$(ovnet-sbox show -j 2>/dev/null | jq -r --arg k "$C1KEY" '.[] | select(.path == $k) | .container')
[ "$got" = c1 ] && ok "ovnet-sbox: ${C1KEY##*/} is container c1" || fail "ovnet-sbox: sandbox $C1KEY: container \"$got\", want c1"

# ---- traffic: the routing mesh from the client, the VIPs from c1
# get NETNS_FILE IP PORT: an HTTP/1.0 GET from that namespace, the answer's last line (bash's /dev/tcp:
# the static busybox's wget crashes with -T).
get() {
  nsenter --net="$1" timeout "${T:-60}" bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
    "$2" "$3" 2>&1 | tail -n 1 | tr -d '\r'
}
# diag: where a request stops (printed once, after the first failure).
diagnosed=
diag() {
  [ -n "$diagnosed" ] && return; diagnosed=1
  local t f
  t=$(awk '{split($4, a, ","); print a[1]; exit}' "$W/mynet0")
  echo "diag: c1 -> 127.0.0.1:80: $(T=20 get "$C1KEY" 127.0.0.1 80)"
  echo "diag: c1 -> task $t:80: $(T=20 get "$C1KEY" "$t" 80)"
  echo "diag: $D -> 192.0.2.1:30000: $(T=20 get /run/netns/"$D" 192.0.2.1 30000)"
  echo "diag: $D -> $GWIP:30000: $(T=20 get /run/netns/"$D" "$GWIP" 30000)"
  for f in "$ING" "$LB"; do
    echo "diag: ${f##*/}: ipvsadm -Ln --stats:"; nsenter --net="$f" ipvsadm -Ln --stats | sed 's/^/    /'
    echo "diag: ${f##*/}: iptables-nft-save -c (mangle, nat):"
    nsenter --net="$f" iptables-nft-save -c 2>&1 | grep -E '^\[[1-9]|^\*' | sed 's/^/    /'
    echo "diag: ${f##*/}: iptables-legacy-save lines: $(nsenter --net="$f" iptables-legacy-save 2>/dev/null | grep -c '^-A')"
  done
  echo "diag: $D: iptables-nft-save -c, used rules:"
  nsenter --net=/run/netns/"$D" iptables-nft-save -c 2>&1 | grep -E '^\[[1-9]|^\*' | sed 's/^/    /'
  f=$($DK inspect -f '{{.NetworkSettings.SandboxKey}}' $($DK ps -q -f name=web. | head -n 1))
  echo "diag: a web task's sandbox ${f##*/}: iptables-nft-save -c:"
  nsenter --net="$f" iptables-nft-save -c 2>&1 | grep -E '^\[|^\*' | sed 's/^/    /'
  echo "diag: modules: $(grep -oE '^(xt|nft|nf_nat)_[a-zA-Z_]+' /proc/modules | sort | tr '\n' ' ')"
  echo "diag: dockerd errors:"; grep -E 'level=(error|fatal)' "$W/dockerd.log" | tail -n 10 | cut -c1-300
  echo "diag: c1 logs: $($DK logs c1 2>&1 | tail -n 3 | tr '\n' ';')"
}
n=0
for i in 1 2 3 4; do
  a=$(get /run/netns/"$CL" 192.0.2.1 30000)
  [ "$a" = hello-from-bb ] && n=$((n + 1)) || { echo "request $i to 192.0.2.1:30000: $a"; diag; break; }
done
[ $n = 4 ] && ok "4/4 requests to the published port 192.0.2.1:30000 answered" || fail "$n/4 requests to 192.0.2.1:30000 answered"
while read -r name v _; do
  a=$(get "$C1KEY" "$v" 80)
  [ "$a" = hello-from-bb ] && ok "c1 -> $name VIP $v answered" || { fail "c1 -> $name VIP $v: $a"; diag; }
done < "$W/mynet0"
stamp "checks done"
