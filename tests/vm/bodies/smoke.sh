#!/bin/bash
# smoke: the guest kernel has IPVS, ipvsadm works inside a network namespace, and the shipped
# ovnet-bridge binary (if any) runs.
set -u
ns=${VM_NS_PREFIX:-ovt$$-}smoke
fail() { echo "FAIL: $*"; ip netns delete "$ns" 2>/dev/null; echo "VM-RESULT: FAIL $*"; exit 1; }

modprobe ip_vs || fail "modprobe ip_vs"
modprobe ip_vs_rr || fail "modprobe ip_vs_rr"
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing after modprobe"
echo "IPVS: $(head -1 /proc/net/ip_vs)"

ip netns add "$ns" || fail "ip netns add $ns"
ip netns exec "$ns" ipvsadm -A -t 192.0.2.1:80 -s rr || fail "ipvsadm -A in $ns"
out=$(ip netns exec "$ns" ipvsadm -Ln) || fail "ipvsadm -Ln in $ns"
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -Eq '^TCP +192\.0\.2\.1:80 +rr' || fail "service 192.0.2.1:80 not listed in $ns"
# The service lives in the namespace only.
ipvsadm -Ln | grep -q '192\.0\.2\.1:80' && fail "service leaked into the initial namespace"

if command -v ovnet-bridge >/dev/null; then
  v=$(ovnet-bridge --version 2>&1); rc=$?
  echo "ovnet-bridge --version: rc=$rc: $v"
  [ $rc = 0 ] || fail "ovnet-bridge --version exited $rc"
else
  echo "note: ovnet-bridge not shipped into the VM (not on PATH); skipped that check"
fi

ip netns delete "$ns" || fail "ip netns delete $ns"
echo "VM-RESULT: PASS"
