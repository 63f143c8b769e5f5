#!/bin/bash
# audit: the one-machine form of the audit on the real swarm. `ovnet-inspect --host-prefix $P-n`
# with both daemons' netns directories gives one snapshot per node holding that node's Docker
# namespaces (ingress_sbox, the 1-<id> of ov, enc and ingress, the lb_ namespaces, the containers'
# and the task's sandboxes) and none of the other node's, each valid against
# schema/inspect.schema.json; each node's networks view names the overlays with Docker's VNIs
# (docker network inspect -v of that node), encrypted true for enc only, the node's endpoints as
# Docker lists them and the other node as the one peer host. `| ovnet-audit` finds nothing on the
# healthy swarm. Then one fault: node 1 loses the peer (fdb entry + neighbor) of c2 on ov; the
# audit reports exactly PEER_MISSING for it, and `ovnet-audit --fix --node <node 1>`, run by sh in
# node 1's namespace, restores Docker's peers (its ovnet-fdb -n takes the absolute-path label of
# node 1's 1-<id>), and the audit is clean again.
. "$(dirname "$0")/lib.sh"
load_cluster
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
HP=$P-n
DIRS=(--docker-netns-dir "/run/$P-dk1/netns" --docker-netns-dir "/run/$P-dk2/netns")

ok_run "ovnet-inspect --host-prefix $HP (both daemons' netns dirs)" ovnet-inspect --host-prefix "$HP" "${DIRS[@]}" ||
  { done_testing; exit; }
cp "$TMP/out" "$TMP/nodes.json"
S=$TMP/nodes.json
assert_eq "$(wc -l <"$S") $(jq -sc 'map(.host)' "$S")" "2 [\"$P-n1\",\"$P-n2\"]" "two documents, one a line: nodes $P-n1, $P-n2"
for n in 1 2; do
  o=$((3 - n)); doc=$(jq -sc --argjson i $((n - 1)) '.[$i]' "$S")
  # The node's namespaces: its host namespace and every namespace its daemon made, as labelled.
  want=$( { echo "$P-n$n"; for f in "/run/$P-dk$n/netns"/*; do label_of $n "${f##*/}"; done; } | sort | jq -R . | jq -sc .)
  assert_eq "$(jq -c '.netns | keys | sort' <<<"$doc")" "$want" "node $n: its host namespace and all of its daemon's namespaces"
  kinds=$(jq -r '.netns | keys[]' <<<"$doc" | sed -n "s|^/run/$P-dk$n/netns/||p" | sed 's/_.*/_/; s/^1-.*/1-/' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
  assert_eq "$kinds" " 3 1-, 1 ingress_, 2 lb_," "node $n: ingress_sbox, three 1-<id> (ov, enc, ingress), two lb_"
  for c in "c$n" $(dk $n ps -q --filter "label=com.docker.swarm.service.name=svc"); do
    sb=$(dk $n inspect -f '{{.NetworkSettings.SandboxKey}}' "$c")
    assert_eq "$(jq -c --arg l "$(label_of $n "${sb##*/}")" '.netns | has($l)' <<<"$doc")" true "node $n: the sandbox of $c (${sb##*/})"
  done
  assert_eq "$(jq -c --arg o "/run/$P-dk$o/" --arg h "$P-n$o" '[.netns | keys[] | select(startswith($o) or . == $h)]' <<<"$doc")" "[]" \
    "node $n: none of node $o's namespaces"
  for net in ov enc ingress; do
    id=$(dk $n network inspect -f '{{.Id}}' $net)
    vni=$(dk $n network inspect -v $net | jq -r '.[0].Options["com.docker.network.driver.overlay.vxlanid_list"]')
    enc=false; [ $net = enc ] && enc=true
    got=$(jq -c --arg id "${id:0:10}" '[.networks[] | select(.id == $id) | [.netns, .vni, .encrypted, .peer_hosts]]' <<<"$doc")
    assert_eq "$got" "[[\"$(label_of $n "1-${id:0:10}")\",$vni,$enc,[\"192.0.2.$o\"]]]" \
      "node $n $net: one network in 1-${id:0:10}, VNI $vni (Docker's), encrypted $enc, peer host node $o"
    got=$(jq -c --arg id "${id:0:10}" '[.networks[] | select(.id == $id) | .endpoints[]
      | {ip: (.addresses[0] | sub("/.*"; "")), mac}] | sort_by(.ip)' <<<"$doc")
    assert_json_eq "$got" "$(endpoints $n $net)" "node $n $net: the endpoints are Docker's (docker network inspect -v)"
  done
done
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
  if /usr/bin/python3 "$SRC/tests/schema/validate.py" "$SRC/schema" inspect "$S" >"$TMP/verr" 2>&1; then
    pass "both snapshots valid against schema/inspect.schema.json"
  else fail "a snapshot is not valid against the schema: $(head -5 "$TMP/verr")"; fi
else
  echo "# python3-jsonschema not installed: schema check not run"
fi

# ---- the audit ----
# audit: inspects the nodes and audits them (snapshots $TMP/snaps.json, report $TMP/report.json,
# exit status $ARC).
audit() {
  ovnet-inspect --host-prefix "$HP" "${DIRS[@]}" >"$TMP/snaps.json" 2>"$TMP/ierr" || fail "inspect --host-prefix: $(cat "$TMP/ierr")"
  ovnet-audit <"$TMP/snaps.json" >"$TMP/report.json" 2>"$TMP/aerr"
  ARC=$?
}
expect_clean() {
  audit
  if [ "$ARC" = 0 ] && [ "$(jq -c '[(.findings | length), .summary.error, .summary.warning, .summary.info]' "$TMP/report.json")" = "[0,0,0,0]" ]
  then pass "$1: audit clean (exit 0, no finding)"
  else fail "$1: audit exit $ARC, wanted 0 and no finding: $(cat "$TMP/aerr") $(jq -c '.findings' "$TMP/report.json" 2>/dev/null)"; fi
}
run bash -c 'set -o pipefail; ovnet-inspect --host-prefix "$1" "${@:2}" | ovnet-audit' _ "$HP" "${DIRS[@]}"
assert_eq "$RC" 0 "ovnet-inspect --host-prefix | ovnet-audit on the healthy swarm: exit 0"
want=$(for net in ov enc ingress; do dk 1 network inspect -v $net | jq -c '[.[0].Id[0:10], (.[0].Options["com.docker.network.driver.overlay.vxlanid_list"] | tonumber)]'; done | jq -sc 'sort')
assert_eq "$(jq -c '[.nodes, (.findings | length), ([.networks[] | [.id, .vni]] | sort), ([.networks[] | .nodes | length] | unique)]' <<<"$OUT" 2>&1)" \
  "[[\"$P-n1\",\"$P-n2\"],0,$want,[2]]" "the report: both nodes, ov, enc and ingress on both (Docker's ids and VNIs), zero findings"
expect_clean "the healthy swarm"

echo "# a missing peer on node 1: c2's fdb entry and neighbor deleted in node 1's 1-<id> of ov"
NS1=$(ovnet_ns 1 ov); L1=$(label_of 1 "${NS1##*/}")
read -r ip mac < <(dk 2 network inspect -v ov | jq -r '.[0].Containers[] | select(.Name == "c2") | "\(.IPv4Address | sub("/.*"; "")) \(.MacAddress)"')
before=$(kernel_peers "$NS1" 192.0.2.2)
in_ns "$NS1" bridge fdb del "$mac" dev vxlan0 self
in_ns "$NS1" ip neigh del "$ip" dev vxlan0
assert_eq "$(kernel_peers "$NS1" 192.0.2.2 | jq -c --arg m "$mac" 'map(select(.mac == $m))')" "[]" "node 1 has no peer for c2 ($ip $mac) any more"
audit
assert_eq "$ARC" 1 "missing peer: audit exits 1"
assert_eq "$(jq -c '[.findings[] | [.code, .severity, .objects, .nodes]]' "$TMP/report.json")" \
  "[[\"PEER_MISSING\",\"error\",[\"$P-n1:vxlan0 peer $mac\"],[\"$P-n1\",\"$P-n2\"]]]" "missing peer: exactly PEER_MISSING for c2's MAC on node 1"
assert_eq "$(jq -r '.findings[0].message' "$TMP/report.json" | grep -c " $ip .* behind 192.0.2.2")" 1 "missing peer: the message names c2's address and node 2's VTEP"
ovnet-audit --fix --node "$P-n1" <"$TMP/snaps.json" >"$TMP/fix.sh" 2>"$TMP/ferr"
assert_eq "$?" 1 "--fix --node $P-n1: exit 1 (findings)"
echo "# the fix:"; sed 's/^/#   /' "$TMP/fix.sh"
assert_eq "$(grep '^# node ' "$TMP/fix.sh")" "# node $P-n1" "--fix --node: node 1's part only"
assert_eq "$(grep -c "^ovnet-fdb -n $L1 apply -d vxlan0 --prune <<'EOF'\$" "$TMP/fix.sh")" 1 \
  "--fix: ovnet-fdb -n with the absolute-path label of node 1's 1-<id> ($L1)"
got=$(sed -n "/<<'EOF'/,/^EOF/p" "$TMP/fix.sh" | sed '1d;$d' | jq -c 'map({ip, mac}) | sort_by(.ip)')
assert_json_eq "$got" "$(endpoints 2 ov)" "--fix: the peer set is node 2's endpoints on ov"
assert_eq "$(sed -n "/<<'EOF'/,/^EOF/p" "$TMP/fix.sh" | sed '1d;$d' | jq -c 'map(.vtep) | unique')" '["192.0.2.2"]' "--fix: every peer behind node 2"
ok_run "ovnet-fdb -n $L1 show (the label as the fix uses it)" ovnet-fdb -n "$L1" show -j &&
  pass "ovnet-fdb -n takes the absolute-path label"
if nsenter --net="/run/netns/$P-n1" sh -e "$TMP/fix.sh" >"$TMP/fixout" 2>&1; then pass "the fix runs in node 1's namespace (sh -e)"
else fail "the fix script failed: $(cat "$TMP/fixout")"; fi
assert_json_eq "$(kernel_peers "$NS1" 192.0.2.2)" "$before" "after the fix: node 1's peers toward node 2 as Docker made them (iproute2)"
expect_clean "missing peer fixed"
done_testing
