#!/bin/bash
# The encrypted overlay's kernel state (iproute2 for now; ovnet has no xfrm view yet): in each daemon's
# namespace one ESP transport OUT policy per remote node (/32s, udp dport 4789, mark and reqid
# 0xd0c4e3), the u32 mark rule for the network's VNI, and an SA behind each policy where the kernel
# has ESP (without it Docker installs the policies only: its SAs fail with ENOSYS).
. "$(dirname "$0")/lib.sh"
load_cluster
vni=$(docker_vni enc)
for n in 1 2; do
  o=$((3 - n)); W="node $n"
  pol=$(ip -n "$P-n$n" xfrm policy show)
  assert_eq "$(grep -c '^src' <<<"$pol")" 1 "$W: one xfrm policy"
  assert_eq "$(head -1 <<<"$pol" | xargs)" "src 192.0.2.$n/32 dst 192.0.2.$o/32 proto udp dport 4789" \
    "$W: policy selector $n -> $o, udp 4789"
  assert_eq "$(grep -o 'dir [a-z]*' <<<"$pol")" "dir out" "$W: direction out"
  assert_eq "$(grep -o 'mark [^ ]*' <<<"$pol")" "mark 0xd0c4e3/0xffffffff" "$W: mark 0xd0c4e3"
  assert_eq "$(grep -o 'reqid [0-9]*' <<<"$pol")" "reqid $((0xd0c4e3))" "$W: reqid 0xd0c4e3"
  assert_eq "$(grep -o 'tmpl .*' <<<"$pol" | xargs)" "tmpl src 192.0.2.$n dst 192.0.2.$o" "$W: template endpoints"
  assert_eq "$(grep -o 'proto esp.*mode [a-z]*' <<<"$pol" | sed 's/spi [^ ]* //')" \
    "proto esp reqid $((0xd0c4e3)) mode transport" "$W: ESP transport template"
  mangle=$(ip netns exec "$P-n$n" iptables-save -t mangle)
  assert_eq "$(grep -c -- "--dport 4789 .*0x$(printf '%x' $((vni << 8))).*--set-xmark 0xd0c4e3" <<<"$mangle")" 1 \
    "$W: mangle OUTPUT marks the VNI's ($vni) VXLAN packets 0xd0c4e3"
  states=$(ip -n "$P-n$n" xfrm state show)
  spi=$(grep -o 'spi 0x[0-9a-f]*' <<<"$pol" | cut -d' ' -f2)
  if grep -q "proto esp spi $spi" <<<"$states"; then pass "$W: the policy's SA ($spi) exists"
  elif grep -q 'Failed Adding .*SA' "$OVNET_DOCKER_RUN/dk$n.log"; then
    assert_eq "$states" "" "$W: no SA (the kernel has no ESP; dockerd logged the failure)"
    # The OUT policy's SPI is the forward SA's (this node -> the other) that dockerd tried to add.
    # (it retries on every peer event: the same SPI, possibly several times)
    # dockerd writes that line after its attempt, which may come after the policy we read: wait for it.
    # (ip prints the SPI zero-padded, 0x007f7c17; dockerd's log does not, 0x7f7c17)
    lspi=$(printf '0x%x' "$spi")
    for _ in $(seq 600); do
      grep -q "Failed Adding fSA{Dst: 192.0.2.$o, Src: 192.0.2.$n, .*SPI: $lspi," "$OVNET_DOCKER_RUN/dk$n.log" && break
      sleep 0.1
    done
    grep -q "Failed Adding fSA{Dst: 192.0.2.$o, Src: 192.0.2.$n, .*SPI: $lspi," "$OVNET_DOCKER_RUN/dk$n.log"
    assert_eq "$?" 0 \
      "$W: the policy's SPI $spi is the forward SA's dockerd logged"
  else fail "$W: no SA for SPI $spi and dockerd logged no failure"; fi
done
done_testing
