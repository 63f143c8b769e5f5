#!/bin/bash
# ovnet-inspect on a real swarm node: the snapshot of the machine holds node 1's overlays (ov, enc)
# with Docker's VNIs, br0 and the VTEP, the network id of the 1-<id10> namespace, node 1's
# containers as endpoints with Docker's addresses, and node 2 as the one peer host; each overlay's
# peers are what ovnet-fdb shows; ov's services are node 1's lb_ rows; enc is
# encrypted (Docker's mark rule, the xfrm OUT policy), ov is not; the snapshot validates against
# schema/inspect.schema.json.
. "$(dirname "$0")/lib.sh"
load_cluster
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ok_run "ovnet-inspect" ovnet-inspect || { done_testing; exit; }
cp "$TMP/out" "$TMP/snap.json"
S=$TMP/snap.json
for net in ov enc; do
  vni=$(docker_vni $net); nsp=$(ovnet_ns 1 $net)
  vx=$(ovnet-vtep -n "$nsp" show -j | jq -r '.[0].name')
  id10=${nsp##*/1-}
  enc=false; [ $net = enc ] && enc=true
  got=$(jq -c --arg n "$nsp" '[.networks[] | select(.netns == $n) | [.vni, .bridge, .vtep, .id, .peer_hosts, .encrypted]]' "$S")
  assert_eq "$got" "[[$vni,\"br0\",\"$vx\",\"$id10\",[\"192.0.2.2\"],$enc]]" \
    "$net node 1: one network, VNI $vni (Docker's), br0/$vx, id $id10, peer host node 2, encrypted $enc"
  want=$(dk 1 network inspect -v $net | jq -c '[.[0].Containers[] | select(.Name == "c1") | .IPv4Address]')
  got=$(jq -c --arg n "$nsp" '[.networks[] | select(.netns == $n) | .endpoints[] | select(.container == "c1") | .addresses[]]' "$S")
  assert_eq "$got" "$want" "$net node 1: container c1 is an endpoint with Docker's address"
  if [ $net = enc ]; then
    got=$(jq -c --arg n "$nsp" '.netns[.netns[$n].vteps[0].link_netns].xfrm.policies | map(select(.dir == "out")) |
      map([.dst, .dport, .mark, (.templates | map([.proto, .reqid]))])' "$S")
    assert_eq "$got" "[[\"192.0.2.2/32\",4789,\"0x00d0c4e3\",[[\"esp\",$((0xd0c4e3))]]]]" \
      "enc node 1: the daemon's namespace has the OUT xfrm policy toward node 2"
  fi
  assert_json_eq "$(jq -c --arg n "$nsp" --arg v "$vx" '.netns[$n].peers[$v]' "$S")" "$(ovnet-fdb -n "$nsp" show -j)" \
    "$net node 1: the snapshot's peers = ovnet-fdb show"
done
# ov's services: the rows ovnet-lb shows in node 1's lb_ namespace (Docker's VIP of svc), none of
# node 2's. Without IPVS Docker programs no VIP rule there, and both are empty.
id=$(dk 1 network inspect -f '{{.Id}}' ov)
want=$(ovnet-lb -n "/run/$P-dk1/netns/lb_${id:0:9}" show -j | jq -c '[.[] | [.vip, .owner, .netns]]')
got=$(jq -c --arg n "$(ovnet_ns 1 ov)" '[.networks[] | select(.netns == $n) | .services[] | [.vip, .owner, .netns]]' "$S")
assert_eq "$got" "$want" "ov node 1: the network's services = ovnet-lb show in node 1's lb_ namespace ($want)"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
  if /usr/bin/python3 "$SRC/tests/schema/validate.py" "$SRC/schema" inspect "$S" >"$TMP/verr" 2>&1; then
    pass "snapshot valid against schema/inspect.schema.json"
  else fail "snapshot not valid against the schema: $(head -5 "$TMP/verr")"; fi
fi
done_testing
