#!/bin/bash
# ovnet-bridge, every verb (show, add, apply, del, attach, detach) against the kernel state that
# iproute2 reports: creation with every option, JSON on stdin, show -j | apply round trip, veth peer
# correlation across namespaces, the table, idempotency, bad input (exit 2, one line, nothing
# changed) and kernel refusals (exit 1 with the kernel's words).
. "$(dirname "$0")/lib.sh"
exec </dev/null   # no command below reads stdin unless the test feeds it explicitly

A=$(ns a) R=$(ns r) B=$(ns b) S=$(ns s)

# lnk NS DEV JQ: a field of `ip -d -j link show DEV`.
lnk() { ip -n "$1" -d -j link show "$2" | jq -r ".[0]$3"; }
# is_up NS DEV: "up" when the administrative UP flag is set.
is_up() { ip -n "$1" -j link show "$2" | jq -r 'if (.[0].flags | index("UP")) then "up" else "down" end'; }
# v4addrs NS DEV: the IPv4 addresses, CIDR, sorted, comma separated.
v4addrs() { ip -n "$1" -j addr show dev "$2" | jq -r '[.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"] | sort | join(",")'; }

mkns "$A"
mkns "$B"
ip -n "$A" link add v0 type veth peer name v1        # v0: a future port (MTU 1500, down)
ip -n "$A" link add w0 type veth peer name w1        # w0/w1: for attach/detach

# ---- add with every option ---------------------------------------------------------------------
expect_rc 0 "add br0 with --mtu --mac --addr --addr --port" \
  ovnet-bridge -n "$A" add br0 --mtu 1400 --mac 02:aa:bb:cc:dd:01 --addr 10.1.0.1/24 --addr 10.2.0.1/16 --port v0
assert_eq "$(echo "$OUT" | jq -r '.name')" "br0" "add prints the bridge object (JSON off a terminal)"
assert_contains "$ERR" "added bridge br0" "add reports the creation on stderr"
assert_eq "$(lnk "$A" br0 .linkinfo.info_kind)" "bridge" "br0 is a bridge"
# The kernel moves a bridge's MTU to its smallest port's when a port joins: --mtu must still hold.
assert_eq "$(lnk "$A" br0 .mtu)" "1400" "br0 mtu 1400 (kept after enslaving a 1500 port)"
assert_eq "$(lnk "$A" br0 .address)" "02:aa:bb:cc:dd:01" "br0 mac"
assert_eq "$(v4addrs "$A" br0)" "10.1.0.1/24,10.2.0.1/16" "br0 addresses"
assert_eq "$(is_up "$A" br0)" "up" "br0 is up"
assert_eq "$(lnk "$A" v0 .master)" "br0" "v0 is a port of br0"
assert_eq "$(is_up "$A" v0)" "up" "port v0 was brought up"
assert_eq "$(echo "$OUT" | jq -c '[.mtu, .mac, .addresses, [.ports[].name]]')" \
  '[1400,"02:aa:bb:cc:dd:01",["10.1.0.1/24","10.2.0.1/16"],["v0"]]' "add's output matches the kernel"

expect_rerun_unchanged "add br0 (same options)" "$A" \
  ovnet-bridge -n "$A" add br0 --mtu 1400 --mac 02:aa:bb:cc:dd:01 --addr 10.1.0.1/24 --addr 10.2.0.1/16 --port v0
expect_rerun_unchanged "add br0 (name only)" "$A" ovnet-bridge -n "$A" add br0

# ---- add with objects on stdin (no NAME) -----------------------------------------------------------
run ovnet-bridge -n "$A" add <<<'{"name":"brj","mtu":1300,"mac":"02:aa:bb:cc:dd:02","addresses":["10.3.0.1/24"]}
{"name":"brk"}'
assert_eq "$RC" "0" "add with two objects on stdin exits 0"
assert_eq "$(lnk "$A" brj .mtu),$(lnk "$A" brj .address),$(v4addrs "$A" brj),$(is_up "$A" brj)" \
  "1300,02:aa:bb:cc:dd:02,10.3.0.1/24,up" "brj from stdin: mtu, mac, address, up"
assert_eq "$(lnk "$A" brk .linkinfo.info_kind),$(is_up "$A" brk)" "bridge,up" "brk from stdin: a bridge, up"
assert_eq "$(echo "$OUT" | jq -c 'map(.name)')" '["brj","brk"]' "add from stdin prints both bridges"
expect_rerun_unchanged "add from stdin" "$A" ovnet-bridge -n "$A" add <<<'{"name":"brj","mtu":1300,"mac":"02:aa:bb:cc:dd:02","addresses":["10.3.0.1/24"]}'

# ---- show ----------------------------------------------------------------------------------------
expect_rc 0 "show" ovnet-bridge -n "$A" show
SHOW=$OUT
assert_eq "$(echo "$SHOW" | jq -r 'map(.name) | sort | join(",")')" "br0,brj,brk" "show lists every bridge (JSON off a terminal)"
assert_eq "$(echo "$SHOW" | jq -c '.[] | select(.name == "br0") | [.netns, .ifindex, .state, [.ports[] | .name, .kind, .state]]')" \
  "[\"$A\",$(lnk "$A" br0 .ifindex),\"up\",[\"v0\",\"veth\",\"up\"]]" "show br0: netns, ifindex, state, ports"
assert_eq "$(echo "$SHOW" | jq -c '.[] | select(.name == "br0") | .ports[0].peer | [.netns, .ifname, .ifindex]')" \
  "[\"\",\"v1\",$(lnk "$A" v1 .ifindex)]" "show: a veth port's same-namespace peer (v1)"
expect_rc 0 "show br0 (one bridge)" ovnet-bridge -n "$A" show br0
assert_eq "$(echo "$OUT" | jq -r 'map(.name) | join(",")')" "br0" "show NAME shows only that bridge"
expect_rc 0 "options after the verb: show -n NS -p" ovnet-bridge show -n "$A" -p
assert_eq "$(echo "$OUT" | jq -r 'map(.name) | sort | join(",")')" "br0,brj,brk" "show -p is the same document"
assert_eq "$(echo "$OUT" | wc -l | tr -d ' ')" "$(echo "$OUT" | jq . | wc -l | tr -d ' ')" "show -p is pretty-printed"

# ---- show -j | apply round trip into a fresh namespace ------------------------------------------------
mkns "$R"
ip -n "$R" link add v0 type veth peer name v1        # the port br0 lists, under the same name
expect_rc 0 "show -j | apply into a fresh namespace" \
  bash -c 'ovnet-bridge -n "$1" show -j | ovnet-bridge -n "$2" apply' _ "$A" "$R"
proj() { ovnet-bridge -n "$1" show -j | jq -c 'map({name, mtu, mac, state, addresses, ports: [.ports[].name]}) | sort_by(.name)'; }
assert_eq "$(proj "$R")" "$(proj "$A")" "apply recreated the same bridges (name, mtu, mac, state, addresses, ports)"
for b in br0 brj brk; do
  assert_eq "$(lnk "$R" $b .mtu),$(lnk "$R" $b .address),$(v4addrs "$R" $b)" \
    "$(lnk "$A" $b .mtu),$(lnk "$A" $b .address),$(v4addrs "$A" $b)" "kernel: $b in the copy has the same mtu, mac, addresses"
done
assert_eq "$(lnk "$R" v0 .master)" "br0" "kernel: v0 is a port of br0 in the copy"
expect_rerun_unchanged "show -j | apply (rerun)" "$R" bash -c 'ovnet-bridge -n "$1" show -j | ovnet-bridge -n "$2" apply' _ "$A" "$R"
# Without -n, add and apply work where the objects were shown from (their "netns"), never in the
# caller's namespace; objects from two namespaces need -n.
root_links=$(ip -j link show | jq -c '[.[].ifname] | sort')
for verb in add apply; do
  expect_rerun_unchanged "show -j | $verb, no -n: stays in the objects' namespace" "$R" \
    bash -c 'ovnet-bridge -n "$1" show -j | ovnet-bridge "$2"' _ "$R" "$verb"
  expect_bad_input "$verb with objects from two namespaces" "$R" "netns" "several namespaces" "choose one with -n" -- \
    bash -c '{ ovnet-bridge -n "$1" show -j; ovnet-bridge -n "$2" show -j; } | ovnet-bridge "$3"' _ "$A" "$R" "$verb"
done
assert_eq "$(ip -j link show | jq -c '[.[].ifname] | sort')" "$root_links" "no link appeared in the root namespace"

# ---- veth peers in other namespaces ------------------------------------------------------------------
expect_rc 0 "ovnet-sbox connect a sandbox to br0" ovnet-sbox -n "$A" connect "$S" --bridge br0 --ip 10.1.0.2/24
ip -n "$A" link add x0 type veth peer name x1 netns "$B"   # plain iproute2, peer in B
expect_rc 0 "attach x0 (peer in another namespace)" ovnet-bridge -n "$A" attach br0 x0
expect_rc 0 "show br0 with cross-namespace peers" ovnet-bridge -n "$A" show br0
P0=$OUT
SB_IDX=$(lnk "$S" eth0 .ifindex)
S_NSID=$(ip -n "$A" -j netns list-id | jq -r --arg n "$S" '.[] | select(.name == $n) | .nsid')
HOST_IF=$(ip -n "$A" -j link show master br0 |
  jq -r --argjson i "$SB_IDX" --argjson id "${S_NSID:-null}" '.[] | select(.link_index == $i and .link_netnsid == $id) | .ifname')
[ -n "$HOST_IF" ] && pass "kernel: the sandbox's host-side veth is a port of br0 ($HOST_IF)" || fail "no port of br0 leads to $S eth0"
assert_eq "$(echo "$P0" | jq -c --arg n "$HOST_IF" '.[0].ports[] | select(.name == $n) | .peer | [.netns, .ifname, .ifindex]')" \
  "[\"$S\",\"eth0\",$SB_IDX]" "peer of the sandbox's veth: netns, ifname, ifindex match the sandbox"
assert_eq "$(lnk "$S" eth0 .link_index)" "$(lnk "$A" "$HOST_IF" .ifindex)" "kernel: the sandbox's eth0 leads back to that port"
assert_eq "$(echo "$P0" | jq -c '.[0].ports[] | select(.name == "x0") | .peer | [.netns, .ifname, .ifindex]')" \
  "[\"$B\",\"x1\",$(lnk "$B" x1 .ifindex)]" "peer of x0 (made by ip link ... netns): netns, ifname, ifindex"
assert_eq "$(echo "$P0" | jq -r '[.[0].ports[].name] | sort | join(",")')" "$(echo "$HOST_IF,v0,x0" | tr , '\n' | sort | paste -sd,)" \
  "show lists every port of br0"

# ---- the human table -------------------------------------------------------------------------------
TABLE=$(script -qc "ovnet-bridge -n $A show" /dev/null | tr -d '\r')
assert_contains "$(echo "$TABLE" | head -1)" "BRIDGE" "on a terminal show prints a table (header)"
assert_not_contains "$TABLE" '{' "the table is not JSON"
assert_contains "$TABLE" "$HOST_IF <===> $S $SB_IDX: eth0" "the table correlates the sandbox's veth"
assert_contains "$TABLE" "x0 <===> $B $(lnk "$B" x1 .ifindex): x1" "the table correlates x0 with x1 in $B"
assert_contains "$TABLE" "10.1.0.1/24,10.2.0.1/16" "the table shows br0's addresses"
TABLE=$(script -qc "ovnet-bridge -n $A add brt" /dev/null | tr -d '\r')
assert_eq "$TABLE" "added bridge brt" "on a terminal add prints the change"
TABLE=$(script -qc "ovnet-bridge -n $A add brt" /dev/null | tr -d '\r')
assert_eq "$TABLE" "bridge brt: unchanged, nothing to do" "on a terminal a rerun says unchanged"

# ---- attach / detach ----------------------------------------------------------------------------------
expect_rc 0 "attach br0 w0" ovnet-bridge -n "$A" attach br0 w0
assert_eq "$(lnk "$A" w0 .master),$(is_up "$A" w0)" "br0,up" "kernel: w0 is an up port of br0"
assert_contains "$(echo "$OUT" | jq -r '[.ports[].name] | join(",")')" "w0" "attach prints the bridge with w0"
expect_rerun_unchanged "attach br0 w0" "$A" ovnet-bridge -n "$A" attach br0 w0
expect_rc 0 "attach w0 to another bridge (brk) moves it" ovnet-bridge -n "$A" attach brk w0
assert_eq "$(lnk "$A" w0 .master)" "brk" "kernel: w0 moved to brk"
expect_rc 0 "detach brk w0" ovnet-bridge -n "$A" detach brk w0
assert_eq "$(lnk "$A" w0 .master)" "null" "kernel: w0 has no master"
expect_rerun_unchanged "detach brk w0" "$A" ovnet-bridge -n "$A" detach brk w0
expect_rerun_unchanged "detach br0 w0 (not its port)" "$A" ovnet-bridge -n "$A" detach br0 w0
expect_rc 0 "detach x0" ovnet-bridge -n "$A" detach br0 x0
assert_eq "$(lnk "$A" x0 .master)" "null" "kernel: x0 detached"

# ---- bad input: exit 2, one line naming field and value, nothing changed ------------------------------
expect_bad_input "malformed JSON (apply)" "$A" "stdin" "malformed JSON" -- ovnet-bridge -n "$A" apply <<<'{"name":"brz",'
expect_bad_input "malformed JSON (add)" "$A" "stdin" "malformed JSON" -- ovnet-bridge -n "$A" add <<<'{"name":"brz" "mtu":1500}'
expect_bad_input "not an object" "$A" "expected a JSON object" "42" -- ovnet-bridge -n "$A" apply <<<'[42]'
expect_bad_input "mtu as a string" "$A" 'mtu "1500"' "string" -- ovnet-bridge -n "$A" add <<<'{"name":"brz","mtu":"1500"}'
expect_bad_input "--mtu not a number" "$A" "--mtu" "abc" -- ovnet-bridge -n "$A" add brz --mtu abc
expect_bad_input "--mac malformed" "$A" 'mac "02:00:5e:00:00"' -- ovnet-bridge -n "$A" add brz --mac 02:00:5e:00:00
expect_bad_input "--mac multicast" "$A" 'mac "01:00:5e:00:00:01"' "unicast" -- ovnet-bridge -n "$A" add brz --mac 01:00:5e:00:00:01
expect_bad_input "--mac multicast on an existing bridge" "$A" 'mac "03:00:00:00:00:01"' -- ovnet-bridge -n "$A" add br0 --mac 03:00:00:00:00:01
expect_bad_input "--mac zero" "$A" 'mac "00:00:00:00:00:00"' -- ovnet-bridge -n "$A" add brz --mac 00:00:00:00:00:00
expect_bad_input "--addr prefix length 33" "$A" 'addresses "10.0.0.1/33"' -- ovnet-bridge -n "$A" add br0 --addr 10.0.0.1/33
expect_bad_input "--addr without a prefix" "$A" 'addresses "10.0.0.1"' -- ovnet-bridge -n "$A" add brz --addr 10.0.0.1
expect_bad_input "addresses: bad CIDR in JSON" "$A" 'addresses "10.0.0.300/24"' -- ovnet-bridge -n "$A" apply <<<'{"name":"brz","addresses":["10.0.0.300/24"]}'
expect_bad_input "addresses: not an array" "$A" 'addresses' '"10.0.0.1/24"' -- ovnet-bridge -n "$A" apply <<<'{"name":"brz","addresses":"10.0.0.1/24"}'
expect_bad_input "name of 16 bytes" "$A" 'name "abcdefghijklmnop"' "15" -- ovnet-bridge -n "$A" add abcdefghijklmnop
expect_bad_input "name with /" "$A" 'name "br/1"' -- ovnet-bridge -n "$A" add br/1
expect_bad_input "name missing in JSON" "$A" 'name' 'missing' -- ovnet-bridge -n "$A" apply <<<'{"mtu":1500}'
expect_bad_input "mtu 70000" "$A" 'mtu "70000"' "68..65535" -- ovnet-bridge -n "$A" add brz --mtu 70000
expect_bad_input "mtu 10 on an existing bridge" "$A" 'mtu "10"' "68..65535" -- ovnet-bridge -n "$A" add br0 --mtu 10
expect_bad_input "mtu 10 in JSON" "$A" 'mtu "10"' -- ovnet-bridge -n "$A" apply <<<'{"name":"brz","mtu":10}'
expect_bad_input "unknown JSON key" "$A" 'colour "red"' "unknown field" -- ovnet-bridge -n "$A" apply <<<'{"name":"brz","colour":"red"}'
expect_bad_input "--port unknown interface" "$A" 'ports "nope0"' "no such interface" -- ovnet-bridge -n "$A" add brz --port nope0
expect_bad_input "--port unknown on an existing bridge" "$A" 'ports "nope0"' -- ovnet-bridge -n "$A" add br0 --mtu 1500 --port nope0
expect_bad_input "--port is a bridge" "$A" 'ports "brj"' "is a bridge" -- ovnet-bridge -n "$A" add brz --port brj
expect_bad_input "apply: one bad entry among good ones" "$A" 'bridge brz2' 'mac "zz"' -- ovnet-bridge -n "$A" apply <<<'[{"name":"brz1","mtu":1400},{"name":"brz2","mac":"zz"},{"name":"brz3"}]'
expect_bad_input "apply: last entry's port missing" "$A" 'ports "nope0"' -- ovnet-bridge -n "$A" apply <<<'{"name":"brz1"} {"name":"br0","mtu":1600} {"name":"brz3","ports":["nope0"]}'
expect_bad_input "apply: duplicate name in the set" "$A" 'name "brz1"' "twice" -- ovnet-bridge -n "$A" apply <<<'[{"name":"brz1"},{"name":"brz1","mtu":1400}]'
expect_bad_input "attach an unknown interface" "$A" 'ports "nope0"' -- ovnet-bridge -n "$A" attach br0 w0 nope0
expect_bad_input "attach to a missing bridge" "$A" 'name "brz"' "no such bridge" -- ovnet-bridge -n "$A" attach brz w0
expect_bad_input "detach from a non-bridge" "$A" 'name "w1"' "not a bridge" -- ovnet-bridge -n "$A" detach w1 w0
expect_bad_input "del a non-bridge" "$A" 'name "w1"' "not a bridge" -- ovnet-bridge -n "$A" del brj w1
expect_bad_input "-n ../etc" "$A" 'netns "../etc"' -- ovnet-bridge -n ../etc show
for verb in show "add brz" apply "del br0" "attach br0 w0" "detach br0 v0"; do
  # shellcheck disable=SC2086
  expect_bad_input "-n missing namespace ($verb)" "$A" "netns \"$P-missing\"" -- ovnet-bridge -n "$P-missing" $verb <<<'{"name":"brz"}'
done
assert_eq "$(ip -n "$A" -j link show | jq -r '[.[].ifname | select(startswith("brz"))] | length')" "0" "no brz* bridge was created by any bad input"

# ---- runtime failures: exit 1 with the kernel's words, nothing changed ----------------------------------
snapshot "$A" >"$TMP/rt.snap"
expect_rc 1 "add a bridge whose name is a veth" ovnet-bridge -n "$A" add w1
assert_one_line "$ERR" "name clash: one line"
assert_contains "$ERR" "File exists" "name clash: strerror(EEXIST)"
assert_contains "$ERR" "veth" "name clash: says what w1 is"
expect_rc 1 "attach lo (the kernel refuses loopback ports)" ovnet-bridge -n "$A" attach br0 lo
assert_one_line "$ERR" "attach lo: one line"
assert_contains "$ERR" "lo" "attach lo: names the port"
assert_contains "$ERR" "Invalid argument" "attach lo: the kernel's EINVAL"
ip netns exec "$A" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/br0/disable_ipv6'
expect_rc 1 "add an IPv6 address where IPv6 is disabled (the kernel refuses it)" ovnet-bridge -n "$A" add br0 --addr 2001:db8::5/64
assert_one_line "$ERR" "IPv6 disabled: one line"
assert_contains "$ERR" "2001:db8::5/64" "IPv6 disabled: names the address"
assert_contains "$ERR" "IPv6 is disabled" "IPv6 disabled: the kernel's extack message"
ip netns exec "$A" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/br0/disable_ipv6'
unchanged_since "$TMP/rt.snap" "$A" "runtime failures left the namespace unchanged"

# ---- del -----------------------------------------------------------------------------------------------
expect_rc 0 "del brj brk" ovnet-bridge -n "$A" del brj brk
assert_contains "$ERR" "removed bridge brj" "del reports the removal"
assert_eq "$(ip -n "$A" -j link show | jq -r '[.[] | select(.ifname == "brj" or .ifname == "brk")] | length')" "0" "kernel: brj and brk are gone"
expect_rerun_unchanged "del brj brk" "$A" ovnet-bridge -n "$A" del brj brk
expect_rc 0 "del br0 (with ports)" ovnet-bridge -n "$A" del br0
assert_eq "$(lnk "$A" v0 .master),$(lnk "$A" "$HOST_IF" .master)" "null,null" "kernel: br0's ports are released"
assert_eq "$(ovnet-bridge -n "$A" show | jq -r 'map(.name) | join(",")')" "brt" "show lists what is left"

done_testing
