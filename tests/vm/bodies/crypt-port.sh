#!/bin/bash
# crypt-port: an encrypted overlay on Docker's default data port 4789 beside a plain overlay on the
# same port, and what encryption costs. Two nodes on an underlay bridge (192.0.2.21-22), each with
# VNI 4100 encrypted (no --port: 4789; MTU 1424) and VNI 4101 plain (4789 too, MTU 1450), one
# container on each. Checks: pings cross on both; on both nodes nothing of VNI 4100 arrives in clear
# on 4789 while ESP arrives and VNI 4101 does arrive in clear on the same port (the policy follows the
# mark of one VNI, not the port alone); a timed TCP transfer (bash /dev/tcp to busybox nc) over each
# overlay, encrypted vs plain, reported, not gated; the SA byte counters cover the encrypted transfer.
set -u
P=${VM_NS_PREFIX:-ovt$$-}cp
W=${VM_WORKDIR:-/tmp/crypt-port.$$}; mkdir -p "$W"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
cleanup() { for n in ul n1 n2 e1 e2 p1 p2; do ip netns delete "$P$n" 2>/dev/null; done; }
finish() { cleanup; if [ $FAILS = 0 ]; then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL $FAILS check(s) failed"; fi; exit 0; }
for t in ovnet-sbox ovnet-bridge ovnet-vtep ovnet-fdb ovnet-crypt jq nc; do
  command -v $t >/dev/null || { echo "VM-RESULT: FAIL $t not in the VM"; exit 0; }
done
for m in veth bridge vxlan esp4 xfrm_user xt_policy xt_u32 xt_mark xt_tcpudp iptable_mangle iptable_filter iptable_raw; do
  modprobe $m 2>/dev/null
done
in_ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
ip4() { echo "192.0.2.2$1"; }
MB=${CRYPT_PORT_MB:-8}

ovnet-sbox -q add ${P}ul >/dev/null
ovnet-bridge -q -n ${P}ul add ul0 >/dev/null
for n in 1 2; do
  ovnet-sbox -q -n ${P}ul connect ${P}n$n --bridge ul0 --ip "$(ip4 $n)/24" >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-enc --mtu 1424 >/dev/null
  ovnet-vtep -q -n ${P}n$n add vx-enc --vni 4100 --encrypted --local "$(ip4 $n)" --master ov-enc >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}e$n --bridge ov-enc --ip 10.0.4.$((n + 1))/24 --encrypted >/dev/null
  ovnet-bridge -q -n ${P}n$n add ov-plain --mtu 1450 >/dev/null
  ovnet-vtep -q -n ${P}n$n add vx-plain --vni 4101 --local "$(ip4 $n)" --master ov-plain >/dev/null
  ovnet-sbox -q -n ${P}n$n connect ${P}p$n --bridge ov-plain --ip 10.0.5.$((n + 1))/24 >/dev/null
done
for n in 1 2; do
  m=$((3 - n))
  for d in vx-enc vx-plain; do ovnet-fdb -n ${P}n$m local -d $d | ovnet-fdb -q -n ${P}n$n apply -d $d --prune >/dev/null; done
done
in_ns n1 ip -d link show vx-enc | grep -q 'dstport 4789' && ok "vx-enc uses the default port 4789" || fail "vx-enc is not on 4789"
(umask 077; printf '7 %s\n' 00112233445566778899aabbccddeeff > "$W/k")
U32E="0>>22&0x3C@12&0xFFFFFF00=0x100400"   # VNI 4100
U32P="0>>22&0x3C@12&0xFFFFFF00=0x100500"   # VNI 4101
for n in 1 2; do
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p udp -m policy --dir in --pol none --dport 4789 -m u32 --u32 "$U32E" -j ACCEPT
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p esp -j ACCEPT
  in_ns n$n iptables -t raw -A PREROUTING -i eth0 -p udp -m policy --dir in --pol none --dport 4789 -m u32 --u32 "$U32P" -j ACCEPT
  m=$((3 - n))
  ovnet-crypt -q -n ${P}n$n add --vni 4100 --local "$(ip4 $n)" --peer "$(ip4 $m)" --key-file "$W/k" > /dev/null 2> "$W/add.err" ||
    fail "ovnet-crypt add on node $n: $(cat "$W/add.err")"
done
raw_count() { in_ns n$1 iptables -t raw -nvxL PREROUTING | awk -v r=$(($2 + 2)) 'NR == r { print $1 }'; }
in_ns n1 ip xfrm policy | grep -q 'dport 4789' && ok "the policy matches the default data port 4789" || fail "no policy for port 4789"

for t in "e1 10.0.4.3" "p1 10.0.5.3"; do
  set -- $t
  in_ns $1 timeout 90 ping -c 3 -W 30 $2 > "$W/ping.out" 2>&1 && ok "ping $1 -> $2" || { fail "ping $1 -> $2"; cat "$W/ping.out"; }
done

# xfer FROM TO_NS TO_IP: MB megabytes from FROM to a busybox nc in TO_NS; prints "<ms> <bytes received>".
xfer() {
  local from=$1 to=$2 ip=$3 port=$((5000 + RANDOM % 1000))
  ip netns exec "$P$to" nc -l -p $port > "$W/rx" 2>/dev/null &
  local srv=$!
  for _ in $(seq 300); do in_ns "$to" ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
  local t0=${EPOCHREALTIME/./}
  ip netns exec "$P$from" bash -c "exec 3<>/dev/tcp/$ip/$port && head -c $((MB << 20)) /dev/zero >&3 && exec 3>&-" ||
    echo "xfer $from -> $ip: the sender failed" >&2
  # busybox nc exits when the sender closes: the time covers every byte received.
  timeout 120 tail --pid=$srv -f /dev/null
  local t1=${EPOCHREALTIME/./}
  kill $srv 2>/dev/null; wait $srv 2>/dev/null
  echo "$(( (t1 - t0) / 1000 )) $(wc -c < "$W/rx")"
}
sa_bytes() { ovnet-crypt -n ${P}n$1 show --local "$(ip4 $1)" -j | jq "[.sas[] | select(.dir == \"$2\") | .bytes] | add // 0"; }
b0=$(sa_bytes 2 in)
r=$(xfer e1 e2 10.0.4.3); t_enc=${r% *} n_enc=${r#* }   # (no /dev/fd in the guest: no process substitution)
r=$(xfer p1 p2 10.0.5.3); t_plain=${r% *} n_plain=${r#* }
b1=$(sa_bytes 2 in)
want=$((MB << 20))
[ "$n_enc" = $want ] && ok "encrypted transfer: $n_enc bytes" || fail "encrypted transfer: $n_enc of $want bytes"
[ "$n_plain" = $want ] && ok "plain transfer: $n_plain bytes" || fail "plain transfer: $n_plain of $want bytes"
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", t ? b / 1048576 / (t / 1000) : 0 }'; }
echo "THROUGHPUT ${MB} MiB over TCP (1 vCPU, TCG): encrypted (rfc4106(gcm(aes)), port 4789) ${t_enc} ms = $(rate "$n_enc" "$t_enc") MiB/s; plain ${t_plain} ms = $(rate "$n_plain" "$t_plain") MiB/s; encrypted/plain time $(awk -v a="$t_enc" -v b="$t_plain" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x"
[ $((b1 - b0)) -ge $want ] && ok "node 2's inbound SA counted $((b1 - b0)) bytes (>= the transfer)" || fail "inbound SA bytes rose by $((b1 - b0)) only"

for n in 1 2; do
  clear=$(raw_count $n 1) esp=$(raw_count $n 2) plain=$(raw_count $n 3)
  echo "node $n: clear VNI 4100 on 4789 $clear, esp $esp, clear VNI 4101 on 4789 $plain"
  [ "$clear" = 0 ] && ok "node $n: no clear VXLAN of VNI 4100 on port 4789" || fail "node $n: $clear clear VNI 4100 packets"
  [ "${esp:-0}" -gt 0 ] && ok "node $n: ESP arrives" || fail "node $n: no ESP"
  [ "${plain:-0}" -gt 0 ] && ok "node $n: VNI 4101 stays clear on the same port" || fail "node $n: no clear VNI 4101"
done
finish
