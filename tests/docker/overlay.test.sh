#!/bin/bash
# br0 and vxlan0 in each node's overlay namespace 1-<id10> (ovnet-bridge show, ovnet-vtep show)
# against Docker (VNI, gateway, endpoints) and iproute2 (ip -d -j link).
. "$(dirname "$0")/lib.sh"
load_cluster
for net in ov enc; do
  vni=$(docker_vni $net)
  gw=$(dk 1 network inspect $net | jq -r '.[0].IPAM.Config[0] | .Gateway + "/" + (.Subnet | sub(".*/"; ""))')
  mtu=1450; [ $net = enc ] && mtu=1424   # encrypted: 1450 - 26, rounded down to a multiple of 4
  for n in 1 2; do
    nsp=$(ovnet_ns $n $net); W="$net node $n"
    kl=$(in_ns "$nsp" ip -d -j link show)
    kv=$(jq -c '.[] | select(.ifname == "vxlan0")' <<<"$kl")
    if ok_run "$W: ovnet-vtep show" ovnet-vtep -n "$nsp" show -j; then
      assert_eq "$(jq -r 'map(.name) | join(",")' <<<"$OUT")" vxlan0 "$W: one VTEP, vxlan0"
      v=$(jq -c '.[0]' <<<"$OUT")
      assert_eq "$(jq -r .vni <<<"$v")" "$vni" "$W: VNI = Docker's ($vni)"
      assert_eq "$(jq -r .vni <<<"$v")" "$(jq -r .linkinfo.info_data.id <<<"$kv")" "$W: VNI = iproute2's"
      assert_json_eq "$(jq -c '{port, learning, proxy, l2miss, l3miss, ttl, mtu, master}' <<<"$v")" \
        "$(jq -c '.linkinfo.info_data | {port, learning, proxy, l2miss, l3miss, ttl}' <<<"$kv" |
           jq -c --argjson m "$(jq .mtu <<<"$kv")" '. + {mtu: $m, master: "br0"}')" "$W: port, flags, ttl, mtu as iproute2"
      assert_eq "$(jq -r .mtu <<<"$v")" $mtu "$W: mtu $mtu"
      assert_json_eq "$(jq -c '{ageing, udp_csum, link_netnsid, link_netns}' <<<"$v")" \
        "$(jq -c --arg ns "$P-n$n" '{ageing: .linkinfo.info_data.ageing, udp_csum: .linkinfo.info_data.udp_csum,
             link_netnsid, link_netns: $ns}' <<<"$kv")" "$W: ageing, udp_csum, link_netnsid, link_netns (the daemon's $P-n$n)"
      assert_json_eq "$(jq -c '{ageing, udp_csum}' <<<"$v")" '{"ageing":300,"udp_csum":true}' "$W: Docker's ageing 300, udp_csum on"
      assert_json_eq "$(jq -c '{src_port_min, src_port_max, df, udp6_zero_csum_tx, udp6_zero_csum_rx, remote, external}' <<<"$v")" \
        "$(jq -c '.linkinfo.info_data | {src_port_min: .port_range.low, src_port_max: .port_range.high, df,
             udp6_zero_csum_tx: .udp_zero_csum6_tx, udp6_zero_csum_rx: .udp_zero_csum6_rx,
             remote: (.group // .remote), external: (.external // false)}' <<<"$kv")" \
        "$W: source ports, df, IPv6 checksums, remote (none), external (no) as iproute2"
    fi
    # Both daemons hold a namespace of this name: a plain -n is refused, naming both paths.
    run ovnet-bridge -n "$(basename "$nsp")" show -j
    assert_eq "$RC" 2 "$W: -n $(basename "$nsp") (two daemons hold it): exit 2"
    assert_eq "$(printf '%s' "$ERR" | grep -c '^')" 1 "$W: -n $(basename "$nsp"): one line on stderr"
    [[ "$ERR" == *ambiguous* && "$ERR" == *"/run/$P-dk1/netns/"* && "$ERR" == *"/run/$P-dk2/netns/"* ]] &&
      pass "$W: -n $(basename "$nsp"): ambiguous, both paths named" || fail "$W: -n $(basename "$nsp"): stderr '$ERR'"
    if ok_run "$W: ovnet-bridge show" ovnet-bridge -n "$nsp" show -j; then
      b=$OUT
      assert_eq "$(jq -r 'map(.name) | join(",")' <<<"$b")" br0 "$W: one bridge, br0"
      assert_eq "$(jq -c '.[0].addresses' <<<"$b")" "[\"$gw\"]" "$W: br0 holds Docker's gateway $gw"
      assert_eq "$(jq -c '[.[0].ports[].name] | sort' <<<"$b")" \
        "$(jq -c '[.[] | select(.master == "br0") | .ifname] | sort' <<<"$kl")" "$W: br0's ports = iproute2's"
      # Each veth port leads to one endpoint's sandbox: the peers' namespaces are the sandboxes of
      # Docker's endpoints on this node (containers, tasks, lb_<id9>).
      eps=$(dk $n network inspect -v $net | jq -r '.[0].Containers // {} | keys[]')
      ids=$(grep -v '^lb-' <<<"$eps")
      want=$({ grep -q '^lb-' <<<"$eps" && label_of $n "lb_$(dk $n network inspect -f '{{.Id}}' $net | cut -c1-9)"
               for k in $(dk $n inspect -f '{{.NetworkSettings.SandboxKey}}' $ids); do label_of $n "$(basename "$k")"; done
             } | jq -Rs -c 'split("\n") | map(select(. != "")) | sort')
      assert_json_eq "$(jq -c '[.[0].ports[] | select(.kind == "veth") | .peer.netns] | sort' <<<"$b")" "$want" \
        "$W: br0's veth peers are the endpoints' sandboxes"
      assert_json_eq "$(jq -c '[.[0].ports[] | select(.kind == "veth") | {name, peer: .peer.ifindex}] | sort_by(.name)' <<<"$b")" \
        "$(jq -c '[.[] | select(.master == "br0" and .linkinfo.info_kind == "veth") | {name: .ifname, peer: .link_index}] | sort_by(.name)' <<<"$kl")" \
        "$W: br0's veth peers' ifindex = iproute2's link_index"
    fi
  done
done
done_testing
