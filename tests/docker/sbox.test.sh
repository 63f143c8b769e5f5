#!/bin/bash
# Docker's sandboxes (ovnet-sbox show with --docker-netns-dir): each container's (and each service
# task's) sandbox, its name and container, and each overlay interface's host end: a veth of br0 in
# that overlay's 1-<id10>, checked against docker inspect and iproute2.
. "$(dirname "$0")/lib.sh"
load_cluster
for n in 1 2; do
  # Node 1's directory by the option, node 2's by the environment (both also found from the running
  # daemons' --exec-root).
  if [ $n = 1 ]; then ok_run "node $n: ovnet-sbox --docker-netns-dir DIR show" ovnet-sbox --docker-netns-dir "/run/$P-dk$n/netns" show -j || continue
  else ok_run "node $n: OVNET_DOCKER_NETNS_DIR=DIR ovnet-sbox show" env OVNET_DOCKER_NETNS_DIR="/run/$P-dk$n/netns" ovnet-sbox show -j || continue; fi
  all=$OUT
  ids=$(dk $n ps -q)
  assert_eq "$(echo "$ids" | wc -l)" 2 "node $n: two containers (c$n and a svc task)"
  for id in $ids; do
    ins=$(dk $n inspect "$id" | jq -c '.[0]')
    cname=$(jq -r '.Name | ltrimstr("/")' <<<"$ins"); key=$(jq -r .NetworkSettings.SandboxKey <<<"$ins")
    W="node $n $cname"
    sb=$(jq -c --arg p "$key" '[.[] | select(.path == $p)]' <<<"$all")
    assert_eq "$(jq length <<<"$sb")" 1 "$W: its sandbox $key is listed once"
    sb=$(jq -c '.[0]' <<<"$sb")
    assert_eq "$(jq -r .name <<<"$sb")" "$(label_of $n "$(basename "$key")")" "$W: the sandbox is named by its id"
    assert_eq "$(jq -r .container <<<"$sb")" "$cname" "$W: \"container\" is $cname"
    assert_eq "$(jq -r .source <<<"$sb")" docker "$W: source docker"
    # A sandbox id is unique: a plain name finds it in the daemon's directory.
    if ok_run "$W: ovnet-sbox show <id>" ovnet-sbox show -j "$(basename "$key")"; then
      assert_eq "$(jq -r 'map(.path) | join(",")' <<<"$OUT")" "$key" "$W: show <id> finds $key"
    fi
    for net in $(jq -r '.NetworkSettings.Networks | keys[]' <<<"$ins"); do
      [ "$net" = ov ] || [ "$net" = enc ] || continue
      e=$(jq -c --arg n "$net" '.NetworkSettings.Networks[$n]' <<<"$ins")
      mac=$(jq -r .MacAddress <<<"$e")
      i=$(jq -c --arg m "$mac" '[.interfaces[] | select(.mac == $m)]' <<<"$sb")
      assert_eq "$(jq length <<<"$i")" 1 "$W $net: one interface with Docker's MAC $mac"
      i=$(jq -c '.[0]' <<<"$i")
      assert_eq "$(jq -c .addresses <<<"$i")" "$(jq -c '[.IPAddress + "/" + (.IPPrefixLen | tostring)]' <<<"$e")" \
        "$W $net: the interface holds Docker's address"
      nsp=$(ovnet_ns $n $net)
      assert_eq "$(jq -r .peer.netns <<<"$i")" "$(label_of $n "$(basename "$nsp")")" "$W $net: the veth peer is in $(basename "$nsp")"
      assert_eq "$(jq -r .peer.bridge <<<"$i")" br0 "$W $net: the veth peer is a port of br0"
      # iproute2: the peer's ifindex (link_index seen from the sandbox) and its name and master in 1-<id10>.
      kl=$(in_ns "$key" ip -j link show "$(jq -r .ifname <<<"$i")")
      pidx=$(jq -r '.[0].link_index' <<<"$kl")
      assert_eq "$(jq -r .peer.ifindex <<<"$i")" "$pidx" "$W $net: peer ifindex = iproute2's link_index"
      kp=$(in_ns "$nsp" ip -j link show | jq -c --argjson x "$pidx" '.[] | select(.ifindex == $x) | {ifname, master}')
      assert_json_eq "$(jq -c '.peer | {ifname, master: .bridge}' <<<"$i")" "$kp" "$W $net: peer name and bridge = iproute2's"
    done
  done
done
done_testing
