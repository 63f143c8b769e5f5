#!/bin/bash
# xfrm-gcm: ESP with AES-GCM (rfc4106(gcm(aes)), 20-byte key, 64-bit ICV) works: a transport-mode SA
# can be installed, and a ping between two namespaces is carried by it.
set -u
a=${VM_NS_PREFIX:-ovt$$-}gcm-a
b=${VM_NS_PREFIX:-ovt$$-}gcm-b
cleanup() { ip netns delete "$a" 2>/dev/null; ip netns delete "$b" 2>/dev/null; }
fail() { echo "FAIL: $*"; cleanup; echo "VM-RESULT: FAIL $*"; exit 1; }

modprobe esp4 || fail "modprobe esp4"
modprobe xfrm_user 2>/dev/null  # may be built in
ip netns add "$a" || fail "ip netns add $a"
ip netns add "$b" || fail "ip netns add $b"
ip link add veth0 netns "$a" type veth peer name veth0 netns "$b" || fail "veth"
ip -n "$a" addr add 192.0.2.1/24 dev veth0; ip -n "$a" link set veth0 up; ip -n "$a" link set lo up
ip -n "$b" addr add 192.0.2.2/24 dev veth0; ip -n "$b" link set veth0 up; ip -n "$b" link set lo up

k1=0x0123456789abcdef0123456789abcdef01234567   # 16-byte AES key + 4-byte salt
k2=0xfedcba9876543210fedcba9876543210fedcba98
for ns in "$a" "$b"; do
  ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x00000101 reqid 1 mode transport \
     aead 'rfc4106(gcm(aes))' $k1 64 || fail "xfrm state add (rfc4106(gcm(aes))) in $ns"
  ip -n "$ns" xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x00000102 reqid 2 mode transport \
     aead 'rfc4106(gcm(aes))' $k2 64 || fail "second xfrm state add in $ns"
done
grep -A3 'rfc4106(gcm(aes))' /proc/crypto | head -4
ip -n "$a" xfrm state list | grep -q 'rfc4106(gcm(aes))' || fail "SA not listed"

ip -n "$a" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode transport || fail "policy a out"
ip -n "$a" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir in  tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 2 mode transport || fail "policy a in"
ip -n "$b" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir out tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 2 mode transport || fail "policy b out"
ip -n "$b" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir in  tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode transport || fail "policy b in"

ip netns exec "$a" ping -c 2 -W 30 192.0.2.2 || fail "ping over ESP failed"
st=$(ip -n "$b" -s xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x00000101)
printf '%s\n' "$st"
pk=$(printf '%s\n' "$st" | sed -n 's/.*(bytes), *\([0-9]*\)(packets).*/\1/p' | head -1)
[ "${pk:-0}" -ge 2 ] || fail "receiving SA counted ${pk:-no} packets (expected >= 2)"
echo "ESP packets decrypted by $b: $pk"

cleanup
echo "VM-RESULT: PASS"
