#!/bin/bash
# Each node's peers (ovnet-fdb show) are the other node's endpoints as Docker lists them (docker
# network inspect -v: containers, service tasks and the lb- endpoint) and as iproute2 reads them
# (bridge fdb + ip neigh on vxlan0, with the link-netnsid of the VTEP's socket namespace).
. "$(dirname "$0")/lib.sh"
load_cluster
for net in ov enc; do for n in 1 2; do
  o=$((3 - n)); nsp=$(ovnet_ns $n $net)
  ok_run "$net node $n: ovnet-fdb show" ovnet-fdb -n "$nsp" show -j || continue
  show=$OUT
  got=$(jq -c '[.[] | select(.status == "peer") | {ip, mac}] | sort_by(.ip)' <<<"$show")
  assert_json_eq "$got" "$(endpoints $o $net)" "$net node $n: peers = node $o's endpoints (docker network inspect -v)"
  lb=$(dk $o network inspect -v $net | jq -r --arg k "lb-$net" '.[0].Containers[$k].IPv4Address | sub("/.*"; "")')
  assert_eq "$(jq -r --arg ip "$lb" '[.[] | select(.status == "peer" and .ip == $ip)] | length' <<<"$show")" 1 \
    "$net node $n: node $o's lb- endpoint ($lb) is a peer"
  assert_eq "$(jq -c '[.[] | select(.status == "peer") | .vtep] | unique' <<<"$show")" "[\"192.0.2.$o\"]" \
    "$net node $n: every peer's vtep is node $o"
  kern=$(kernel_peers "$nsp" "192.0.2.$o")
  assert_json_eq "$(jq -c '[.[] | select(.status == "peer") | {ip, mac, vtep, link_netnsid}] | sort_by(.ip)' <<<"$show")" \
    "$kern" "$net node $n: peers with link_netnsid = iproute2's fdb/neigh"
  assert_eq "$(jq -c '[.[] | select(.status == "peer") | .fdb_state, .neigh_state] | unique' <<<"$show")" \
    '["permanent"]' "$net node $n: peers are permanent in fdb and neigh"
  # Every row carries every key of the schema (null when absent).
  assert_eq "$(jq -c '[.[] | keys] | unique | length' <<<"$show")" 1 "$net node $n: every row has the same keys"
done; done
done_testing
