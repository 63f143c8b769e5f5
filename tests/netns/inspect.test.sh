#!/bin/bash
# inspect: ovnet-inspect on the README's three-host overlay (built as three-hosts.test.sh builds it:
# hosts h1..h3 on the underlay ul0, bridge ov-001001-7672d + VTEP vx-001001-7672d, VNI 4097, one
# container each). Checked: the networks view (VNI 4097, the three containers, on each host the two
# peer hosts), the snapshot against schema/inspect.schema.json, every per-object part equal to the
# object's own tool's output (.netns[h1].peers[vtep] | ovnet-fdb apply changes nothing), an xfrm
# policy, -n, the
# terminal summary, and a missing --netns-dir (exit 2, one line).
. "$(dirname "$0")/lib.sh"
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OVNET_PYTHON:-/usr/bin/python3}
for t in jq script; do command -v $t >/dev/null || skip "$t not installed"; done

BR=ov-001001-7672d VX=vx-001001-7672d VNI=4097
UL=$(ns ul)
expect_rc 0 "three-host overlay built (underlay, bridge | vtep, containers, peers)" three_hosts_build

# An xfrm policy as Docker's encrypted overlays have (no SA: this kernel may lack ESP).
ip -n "$(h 1)" xfrm policy add src 192.0.2.11/32 dst 192.0.2.12/32 proto udp dport 4789 dir out \
  mark 0xd0c4e3 mask 0xffffffff tmpl proto esp reqid 13681891 mode transport 2>/dev/null || skip "no xfrm here"

expect_rc 0 "ovnet-inspect: exit 0" ovnet-inspect
cp "$TMP/out" "$TMP/snap.json"
S=$TMP/snap.json
assert_eq "$(jq -r .schema "$S")" "ovnet-inspect/1" "snapshot: schema ovnet-inspect/1"
assert_eq "$(jq -r .host "$S")" "$(hostname)" "snapshot: host is the hostname"
for n in "$UL" "$(h 1)" "$(h 2)" "$(h 3)" "$(c 1)" "$(c 2)" "$(c 3)"; do
  assert_eq "$(jq --arg n "$n" -r '.netns[$n].label' "$S")" "$n" "snapshot: namespace $n read, keyed by its label"
done

# ---- the networks view ----
for i in 1 2 3; do
  H=$(h $i)
  net=$(jq -c --arg h "$H" '[.networks[] | select(.netns == $h)]' "$S")
  assert_eq "$(jq -c '[.[] | [.vni, .bridge, .vtep, .id, .mtu, .port, .local]]' <<<"$net")" \
    "[[$VNI,\"$BR\",\"$VX\",\"7672d\",1450,4789,\"192.0.2.1$i\"]]" "h$i: one network, VNI $VNI, $BR/$VX, id 7672d, mtu 1450, port 4789"
  assert_eq "$(jq -c '[.[0].endpoints[] | [.sandbox, .ifname, .mac, .addresses]]' <<<"$net")" \
    "[[\"$(c $i)\",\"eth0\",\"02:42:0a:00:00:0$((i+1))\",[\"10.0.0.$((i+1))/24\"]]]" "h$i: its endpoint is c$i eth0 with MAC and IP"
  want=$(for j in 1 2 3; do [ $i = $j ] || echo "192.0.2.1$j"; done | jq -R . | jq -sc .)
  assert_eq "$(jq -c '.[0].peer_hosts' <<<"$net")" "$want" "h$i: peer hosts are the two other hosts"
  want=$(for j in 1 2 3; do [ $i = $j ] || echo "10.0.0.$((j+1)) 02:42:0a:00:00:0$((j+1)) 192.0.2.1$j"; done | jq -R . | jq -sc .)
  assert_eq "$(jq -c '[.[0].peers[] | "\(.ip) \(.mac) \(.vtep)"] | sort' <<<"$net")" "$want" "h$i: peers are the two remote containers"
  assert_eq "$(jq -c '.[0].subnets' <<<"$net")" '["10.0.0.0/24"]' "h$i: subnet 10.0.0.0/24"
done
got=$(jq -c --arg p "$P-" '[.networks[] | select(.netns | startswith($p)) | select(.vni == 4097) | .endpoints[].sandbox] | sort' "$S")
assert_eq "$got" "$(for i in 1 2 3; do c $i; done | jq -R . | jq -sc .)" "VNI 4097: the three containers, one endpoint each"

# ---- the snapshot against its schema ----
if "$PY" -c 'import jsonschema' 2>/dev/null; then
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" inspect "$S" >"$TMP/verr" 2>&1; then pass "snapshot: valid against schema/inspect.schema.json"
  else fail "snapshot: not valid against the schema:"; head -20 "$TMP/verr"; fi
else
  echo "# python3-jsonschema not installed: schema check not run"
fi

# ---- every per-object part is what the object's own tool prints ----
H1=$(h 1)
assert_eq "$(jq -c --arg h "$H1" '.netns[$h].bridges' "$S")" "$(ovnet-bridge -n "$H1" show -j | jq -c .)" "h1: .bridges equals ovnet-bridge show -j"
assert_eq "$(jq -c --arg h "$H1" '.netns[$h].vteps' "$S")" "$(ovnet-vtep -n "$H1" show -j | jq -c .)" "h1: .vteps equals ovnet-vtep show -j"
assert_eq "$(jq -c --arg h "$H1" --arg v $VX '.netns[$h].peers[$v]' "$S")" "$(ovnet-fdb -n "$H1" show -j | jq -c .)" \
  "h1: .peers[$VX] equals ovnet-fdb show -j"
C1=$(c 1)
assert_eq "$(jq -c --arg c "$C1" '.netns[$c] | [.interfaces, [.routes[] | select(.dst | contains(":") | not)], .container]' "$S")" \
  "$(ovnet-sbox show "$C1" -j | jq -c '.[0] | [.interfaces, .routes, .container]')" \
  "c1: .interfaces and the IPv4 .routes equal ovnet-sbox show -j (the snapshot adds IPv6 routes)"
jq --arg h "$H1" --arg v $VX '.netns[$h].peers[$v]' "$S" >"$TMP/peers.json"
run ovnet-fdb -n "$H1" apply --prune -j <"$TMP/peers.json"
assert_eq "$RC" 0 "h1: .peers[$VX] | ovnet-fdb apply --prune: exit 0"
assert_eq "$(jq -c '.summary | [.added, .replaced, .removed, .writes]' <<<"$OUT")" "[0,0,0,0]" \
  "h1: .peers[$VX] | ovnet-fdb apply --prune changes nothing"
assert_eq "$(jq -c --arg h "$H1" '.netns[$h] | [(.links | map(.name) | sort), .sysctls["net.ipv4.ip_forward"],
    (.netfilter == null) == (.netfilter_error != null), (.ipvs == null) == (.ipvs_error != null)]' "$S")" \
  "[$(ip -n "$H1" -j link show | jq -c 'map(.ifname) | sort'),\"$(ip netns exec "$H1" cat /proc/sys/net/ipv4/ip_forward)\",true,true]" \
  "h1: links as ip link lists them, ip_forward as /proc says, ipvs/netfilter null exactly when an error says why"

assert_eq "$(jq -c --arg h "$H1" '.netns[$h].xfrm.policies | map([.dir, .src, .dst, .proto, .dport, .mark,
    (.templates | map([.proto, .mode, .reqid]))])' "$S")" \
  '[["out","192.0.2.11/32","192.0.2.12/32",17,4789,"0x00d0c4e3",[["esp","transport",13681891]]]]' "h1: the xfrm policy, as ip xfrm policy shows it"
assert_eq "$(jq -c --arg h "$(h 2)" '.netns[$h].xfrm' "$S")" '{"states":[],"policies":[]}' "h2: no xfrm"

# ---- -n: one namespace ----
run ovnet-inspect -n "$H1"
assert_eq "$RC" 0 "-n h1: exit 0"
assert_eq "$(jq -c '[.netns | keys[]]' <<<"$OUT")" "[\"$H1\"]" "-n h1: the snapshot holds h1 alone"
assert_eq "$(jq -c '[.networks[] | [.vni, .peer_hosts, (.endpoints[] | [.sandbox, .mac])]]' <<<"$OUT")" \
  "[[$VNI,[\"192.0.2.12\",\"192.0.2.13\"],[\"$C1\",null]]]" "-n h1: the network, its peer hosts, its endpoint named (its sandbox not read)"

# ---- the terminal summary ----
script -qec "ovnet-inspect -n $H1" /dev/null >"$TMP/tty" 2>&1
tr -d '\r' <"$TMP/tty" >"$TMP/tty2"
assert_contains "$(cat "$TMP/tty2")" "network 7672d (vni 4097) in $H1" "terminal: a section per network"
assert_contains "$(cat "$TMP/tty2")" "peer hosts: 192.0.2.12, 192.0.2.13" "terminal: the peer hosts"

# ---- bad input ----
run ovnet-inspect --netns-dir "$TMP/missing"
assert_eq "$RC" 2 "--netns-dir missing directory: exit 2"
assert_one_line "$ERR" "--netns-dir missing directory: one line"
assert_contains "$ERR" "$TMP/missing" "--netns-dir missing directory: the message names it"
run ovnet-inspect --netns-dir ""
assert_eq "$RC" 2 "--netns-dir \"\": exit 2"
assert_one_line "$ERR" "--netns-dir \"\": one line"
run ovnet-inspect -n "$P-nosuch"
assert_eq "$RC" 2 "-n missing namespace: exit 2"
assert_one_line "$ERR" "-n missing namespace: one line"

# ---- --netns-dir: an empty directory adds nothing, a directory with a namespace adds it ----
mkdir -p "$TMP/nsdir"
run ovnet-inspect --netns-dir "$TMP/nsdir"
assert_eq "$RC" 0 "--netns-dir (empty directory): exit 0"
DX=$(ns dx)
touch "$TMP/nsdir/$DX"
trap 'umount "$TMP/nsdir/$DX" 2>/dev/null; _cleanup' EXIT
if mount --bind "/run/netns/$C1" "$TMP/nsdir/$DX" 2>/dev/null; then
  run ovnet-inspect --netns-dir "$TMP/nsdir"
  assert_eq "$RC" 0 "--netns-dir DIR holding c1 as $DX: exit 0"
  assert_eq "$(jq -c --arg d "$DX" '.netns[$d] | [.source, .path, (.interfaces | map(.mac))]' <<<"$OUT")" \
    "[\"docker\",\"$TMP/nsdir/$DX\",[\"02:42:0a:00:00:02\"]]" "--netns-dir: its namespace read (source docker, c1's interface)"
  umount "$TMP/nsdir/$DX"
else
  echo "# cannot bind-mount a namespace file here: --netns-dir with a namespace not checked"
fi

done_testing
