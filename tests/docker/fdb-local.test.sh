#!/bin/bash
# `ovnet-fdb local` on one node (without --vtep: the address comes from the namespace of the VTEP's
# socket, the daemon's) is exactly what Docker programmed for that node's endpoints on the other node.
. "$(dirname "$0")/lib.sh"
load_cluster
for net in ov enc; do for n in 1 2; do
  o=$((3 - n))
  ok_run "$net node $n: ovnet-fdb local" ovnet-fdb -n "$(ovnet_ns $n $net)" local -j || continue
  loc=$OUT
  assert_eq "$(jq -c '[.[].status] | unique' <<<"$loc")" '["endpoint"]' "$net node $n: local rows are endpoints"
  want=$(kernel_peers "$(ovnet_ns $o $net)" "192.0.2.$n" | jq -c 'map({ip, mac, vtep})')
  assert_json_eq "$(jq -c 'map({ip, mac, vtep}) | sort_by(.ip)' <<<"$loc")" "$want" \
    "$net node $n: local = the peers Docker programmed on node $o"
  assert_json_eq "$(jq -c 'map({ip, mac}) | sort_by(.ip)' <<<"$loc")" "$(endpoints $n $net)" \
    "$net node $n: local = node $n's endpoints (docker network inspect -v)"
done; done
done_testing
