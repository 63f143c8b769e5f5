#!/bin/bash
# ovnet-vtep (show, add, apply, del) against the kernel state iproute2 reports: every option and
# flag, the documented defaults, the deep dive's `ovnet-bridge add ... | ovnet-vtep add` pipe,
# Docker's --netid naming, show -j | apply round trip, idempotency, conflicts, bad input (exit 2,
# one line, nothing changed) and kernel refusals (exit 1).
. "$(dirname "$0")/lib.sh"
exec </dev/null   # no command below reads stdin unless the test feeds it explicitly

H=$(ns h) R=$(ns r)

lnk() { ip -n "$1" -d -j link show "$2" | jq -r ".[0]$3"; }
is_up() { ip -n "$1" -j link show "$2" | jq -r 'if (.[0].flags | index("UP")) then "up" else "down" end'; }
# vx NS DEV: the VXLAN settings as iproute2 shows them (absent flags are off), one line.
vx() {
  ip -n "$1" -d -j link show "$2" | jq -r '.[0] | .linkinfo.info_data as $d |
    "id=\($d.id) port=\($d.port) local=\($d.local // "-") dev=\($d.link // "-") learning=\($d.learning // false) proxy=\($d.proxy // false) l2miss=\($d.l2miss // false) l3miss=\($d.l3miss // false) ttl=\($d.ttl // 0) mtu=\(.mtu) master=\(.master // "-")"'
}

# Host H: an underlay device u0 (192.0.2.1/24, TEST-NET) and a bridge br0.
setup_host() {
  mkns "$1"
  ip -n "$1" link add u0 type veth peer name u1
  ip -n "$1" addr add 192.0.2.1/24 dev u0
  ip -n "$1" link set u0 up
  ovnet-bridge -q -n "$1" add br0 >/dev/null
}
setup_host "$H"

# ---- add with every option and flag -------------------------------------------------------------
FULL=(--vni 100 --port 8472 --local 192.0.2.1 --dev u0 --ttl 64 --mtu 1400 --master br0
      --learning --no-proxy --no-l2miss --no-l3miss)
expect_rc 0 "add vxfull with every option" ovnet-vtep -n "$H" add vxfull "${FULL[@]}"
assert_contains "$ERR" "added vtep vxfull" "add reports the creation on stderr"
assert_eq "$(lnk "$H" vxfull .linkinfo.info_kind)" "vxlan" "vxfull is a vxlan device"
assert_eq "$(vx "$H" vxfull)" \
  "id=100 port=8472 local=192.0.2.1 dev=u0 learning=true proxy=false l2miss=false l3miss=false ttl=64 mtu=1400 master=br0" \
  "kernel: vxfull has every option as given"
assert_eq "$(is_up "$H" vxfull)" "up" "vxfull is up"
assert_eq "$(echo "$OUT" | jq -c '[.name, .vni, .port, .local, .dev, .learning, .proxy, .l2miss, .l3miss, .ttl, .mtu, .master, .state, .netns]')" \
  "[\"vxfull\",100,8472,\"192.0.2.1\",\"u0\",true,false,false,false,64,1400,\"br0\",\"up\",\"$H\"]" "add prints the VTEP as the kernel has it"
expect_rerun_unchanged "add vxfull" "$H" ovnet-vtep -n "$H" add vxfull "${FULL[@]}"

# ---- defaults: port 4789, MTU 1450, learning off, proxy/l2miss/l3miss on, ttl 0 ----------------
expect_rc 0 "add vxdef --vni 101 (defaults)" ovnet-vtep -n "$H" add vxdef --vni 101
assert_eq "$(vx "$H" vxdef)" \
  "id=101 port=4789 local=- dev=- learning=false proxy=true l2miss=true l3miss=true ttl=0 mtu=1450 master=-" \
  "kernel: the documented defaults"
expect_rerun_unchanged "add vxdef" "$H" ovnet-vtep -n "$H" add vxdef --vni 101
expect_rerun_unchanged "add vxdef with the defaults spelled out" "$H" \
  ovnet-vtep -n "$H" add vxdef --vni 101 --port 4789 --mtu 1450 --ttl 0 --no-learning --proxy --l2miss --l3miss
expect_rc 0 "add vxdef --mtu 1400 --master br0 converges MTU and master" ovnet-vtep -n "$H" add vxdef --vni 101 --mtu 1400 --master br0
assert_eq "$(lnk "$H" vxdef .mtu),$(lnk "$H" vxdef .master),$(lnk "$H" vxdef .ifindex)" "1400,br0,$(echo "$OUT" | jq .ifindex)" \
  "kernel: same device, MTU and master set"
expect_rerun_unchanged "add vxdef --mtu 1400 --master br0" "$H" ovnet-vtep -n "$H" add vxdef --vni 101 --mtu 1400 --master br0

# A VTEP object on stdin (no NAME).
expect_rc 0 "add with a VTEP object on stdin" ovnet-vtep -n "$H" add <<<'{"name":"vxs","vni":102,"port":4790,"l3miss":false}'
assert_eq "$(vx "$H" vxs)" \
  "id=102 port=4790 local=- dev=- learning=false proxy=true l2miss=true l3miss=false ttl=0 mtu=1450 master=-" "kernel: vxs from stdin"

# ---- the deep dive's pipe: the bridge object names the namespace, the bridge and the device ------
expect_rc 0 "ovnet-bridge add ov-001001-7672d --mtu 1450 -j | ovnet-vtep add --vni 4097 --local 192.0.2.11" \
  bash -c 'ovnet-bridge -n "$1" add ov-001001-7672d --mtu 1450 -j | ovnet-vtep add --vni 4097 --local 192.0.2.11' _ "$H"
assert_eq "$(echo "$OUT" | jq -r '[.name, .netns, .master] | join(",")')" "vx-001001-7672d,$H,ov-001001-7672d" \
  "the pipe prints vx-001001-7672d in $H on ov-001001-7672d"
assert_eq "$(vx "$H" vx-001001-7672d)" \
  "id=4097 port=4789 local=192.0.2.11 dev=- learning=false proxy=true l2miss=true l3miss=true ttl=0 mtu=1450 master=ov-001001-7672d" \
  "kernel: vx-001001-7672d in the bridge's namespace, attached to it"
assert_eq "$(lnk "$H" ov-001001-7672d .mtu)" "1450" "kernel: ov-001001-7672d mtu 1450"
expect_rerun_unchanged "the pipe" "$H" \
  bash -c 'ovnet-bridge -n "$1" add ov-001001-7672d --mtu 1450 -j | ovnet-vtep add --vni 4097 --local 192.0.2.11' _ "$H"

# ---- --netid names the device like Docker ----------------------------------------------------------
expect_rc 0 "add --vni 4096 --netid lpq3tzoevynh" ovnet-vtep -n "$H" add --vni 4096 --netid lpq3tzoevynh
assert_eq "$(echo "$OUT" | jq -r .name)" "vx-001000-lpq3t" "--netid: prints vx-001000-lpq3t"
assert_eq "$(lnk "$H" vx-001000-lpq3t .linkinfo.info_data.id)" "4096" "kernel: vx-001000-lpq3t has VNI 4096"
expect_rerun_unchanged "add --netid" "$H" ovnet-vtep -n "$H" add --vni 4096 --netid lpq3tzoevynh

# ---- show ----------------------------------------------------------------------------------------
expect_rc 0 "show" ovnet-vtep -n "$H" show
assert_eq "$(echo "$OUT" | jq -r 'map(.name) | sort | join(",")')" "vx-001000-lpq3t,vx-001001-7672d,vxdef,vxfull,vxs" \
  "show lists every VTEP and nothing else (JSON off a terminal)"
assert_eq "$(echo "$OUT" | jq -c '.[] | select(.name == "vxfull") | [.ifindex, .mac]')" \
  "[$(lnk "$H" vxfull .ifindex),\"$(lnk "$H" vxfull .address)\"]" "show: ifindex and mac as the kernel has them"
expect_rc 0 "show NAME" ovnet-vtep show vxdef -n "$H"
assert_eq "$(echo "$OUT" | jq -c 'map([.name, .vni, .mtu, .master])')" '[["vxdef",101,1400,"br0"]]' "show NAME (options after the verb)"
expect_bad_input "show a missing VTEP" "$H" 'name "vxnone"' "no such vtep" -- ovnet-vtep -n "$H" show vxnone
TABLE=$(script -qc "ovnet-vtep -n $H show" /dev/null | tr -d '\r')
assert_contains "$(echo "$TABLE" | head -1)" "NAME" "on a terminal show prints a table (header)"
assert_not_contains "$TABLE" '{' "the table is not JSON"
assert_eq "$(echo "$TABLE" | awk '$1 == "vxfull" {print $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12}')" \
  "100 8472 192.0.2.1 u0 br0 1400 on off off off 64" "the table row of vxfull"

# ---- show -j | apply on a fresh namespace ----------------------------------------------------------
setup_host "$R"
expect_rc 0 "bridges first: ovnet-bridge show | (no ports) | apply" \
  bash -c 'ovnet-bridge -n "$1" show -j | jq "map(.ports = [])" | ovnet-bridge -n "$2" apply' _ "$H" "$R"
expect_rc 0 "ovnet-vtep show -j | apply into the fresh namespace" \
  bash -c 'ovnet-vtep -n "$1" show -j | ovnet-vtep -n "$2" apply' _ "$H" "$R"
proj() { ovnet-vtep -n "$1" show -j | jq -c 'map(del(.netns, .ifindex, .mac)) | sort_by(.name)'; }
assert_eq "$(proj "$R")" "$(proj "$H")" "apply reproduced every VTEP (all fields but netns, ifindex, mac)"
for d in vxfull vxdef vxs vx-001001-7672d vx-001000-lpq3t; do
  assert_eq "$(vx "$R" $d)" "$(vx "$H" $d)" "kernel: $d in the copy"
done
expect_rerun_unchanged "show -j | apply (rerun)" "$R" bash -c 'ovnet-vtep -n "$1" show -j | ovnet-vtep -n "$2" apply' _ "$H" "$R"
# Without -n, add and apply work where the objects were shown from (their "netns"), never in the
# caller's namespace; objects from two namespaces need -n.
root_links=$(ip -j link show | jq -c '[.[].ifname] | sort')
expect_rerun_unchanged "show -j | add, no -n: stays in the objects' namespace" "$R" \
  bash -c 'ovnet-vtep -n "$1" show -j | ovnet-vtep add' _ "$R"
expect_rerun_unchanged "show -j | apply, no -n: stays in the objects' namespace" "$R" \
  bash -c 'ovnet-vtep -n "$1" show -j | ovnet-vtep apply' _ "$R"
assert_eq "$(ip -j link show | jq -c '[.[].ifname] | sort')" "$root_links" "no link appeared in the root namespace"
for verb in add apply; do
  expect_bad_input "$verb with objects from two namespaces" "$R" "netns" "several namespaces" "choose one with -n" -- \
    bash -c '{ ovnet-vtep -n "$1" show -j; ovnet-vtep -n "$2" show -j; } | ovnet-vtep "$3"' _ "$H" "$R" "$verb"
done

# ---- conflicts with existing devices: exit 1, nothing changed -------------------------------------------
snapshot "$H" >"$TMP/rt.snap"
expect_rc 1 "add vxdef with another VNI" ovnet-vtep -n "$H" add vxdef --vni 202
assert_one_line "$ERR" "another VNI: one line"
assert_contains "$ERR" "vni is 101, wanted 202" "another VNI: names the differing field and both values"
assert_contains "$ERR" "File exists" "another VNI: EEXIST"
expect_rc 1 "add vxfull with another port and local" ovnet-vtep -n "$H" add vxfull --vni 100 --port 4789 --local 192.0.2.2 --dev u0 --ttl 64 --mtu 1400 --master br0 \
  --learning --no-proxy --no-l2miss --no-l3miss
assert_contains "$ERR" "port is 8472, wanted 4789" "another port: names it"
assert_contains "$ERR" "local is 192.0.2.1, wanted 192.0.2.2" "another local: names it"
expect_rc 1 "add a device whose name is a bridge" ovnet-vtep -n "$H" add br0 --vni 300
assert_contains "$ERR" "not a vxlan device" "name clash: says so"
assert_contains "$ERR" "File exists" "name clash: EEXIST"
expect_rc 1 "add a second device with VNI 101 on port 4789 (the kernel refuses)" ovnet-vtep -n "$H" add vxtwin --vni 101
assert_one_line "$ERR" "kernel refusal: one line"
assert_contains "$ERR" "vxtwin" "kernel refusal: names the device"
assert_contains "$ERR" "File exists" "kernel refusal: the kernel's EEXIST"
assert_contains "$ERR" "VNI" "kernel refusal: the kernel's own message"
unchanged_since "$TMP/rt.snap" "$H" "conflicts left the namespace unchanged"

# ---- bad input: exit 2, one line naming field and value, nothing changed ---------------------------------
expect_bad_input "VNI 0" "$H" 'vni "0"' -- ovnet-vtep -n "$H" add vxbad --vni 0
expect_bad_input "VNI 16777216" "$H" 'vni "16777216"' "1..16777215" -- ovnet-vtep -n "$H" add vxbad --vni 16777216
expect_bad_input "VNI not a number" "$H" "--vni" "abc" -- ovnet-vtep -n "$H" add vxbad --vni abc
expect_bad_input "VNI missing" "$H" 'vni' 'missing' -- ovnet-vtep -n "$H" add vxbad
expect_bad_input "port 0" "$H" 'port "0"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --port 0
expect_bad_input "port 70000" "$H" 'port "70000"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --port 70000
expect_bad_input "--local not an address" "$H" 'local "192.0.2.300"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --local 192.0.2.300
expect_bad_input "--local multicast" "$H" 'local "239.1.1.1"' "unicast" -- ovnet-vtep -n "$H" add vxbad --vni 900 --local 239.1.1.1
expect_bad_input "--local IPv6 multicast" "$H" 'local "ff02::1"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --local ff02::1
expect_bad_input "--local 0.0.0.0" "$H" 'local "0.0.0.0"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --local 0.0.0.0
expect_bad_input "name of 16 bytes" "$H" 'name "vx-0123456789abc"' "15" -- ovnet-vtep -n "$H" add vx-0123456789abc --vni 900
expect_bad_input "name with /" "$H" 'name "vx/1"' -- ovnet-vtep -n "$H" add vx/1 --vni 900
expect_bad_input "--dev unknown" "$H" 'dev "nodev0"' "no such device" -- ovnet-vtep -n "$H" add vxbad --vni 900 --dev nodev0
expect_bad_input "--master unknown" "$H" 'master "nobr0"' "no such bridge" -- ovnet-vtep -n "$H" add vxbad --vni 900 --master nobr0
expect_bad_input "--master not a bridge" "$H" 'master "u1"' "not a bridge" -- ovnet-vtep -n "$H" add vxbad --vni 900 --master u1
expect_bad_input "--master unknown on an existing VTEP" "$H" 'master "nobr0"' -- ovnet-vtep -n "$H" add vxdef --vni 101 --mtu 1300 --master nobr0
expect_bad_input "--ttl 256" "$H" 'ttl "256"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --ttl 256
expect_bad_input "--mtu 10" "$H" 'mtu "10"' -- ovnet-vtep -n "$H" add vxbad --vni 900 --mtu 10
expect_bad_input "--mtu over the underlay's (the kernel would clamp it)" "$H" 'mtu "1500"' "1450" -- ovnet-vtep -n "$H" add vxbad --vni 900 --dev u0 --mtu 1500
expect_bad_input "--learning with --no-learning" "$H" "--learning" "--no-learning" -- ovnet-vtep -n "$H" add vxbad --vni 900 --learning --no-learning
expect_bad_input "--netid with a dash" "$H" 'netid "ab-cd"' -- ovnet-vtep -n "$H" add --vni 900 --netid ab-cd
expect_bad_input "malformed JSON" "$H" "stdin" "malformed JSON" -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":'
expect_bad_input "vni as a string" "$H" 'vni "900"' "string" -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":"900"}'
expect_bad_input "learning as a string" "$H" 'learning "yes"' -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":900,"learning":"yes"}'
expect_bad_input "unknown key" "$H" 'colour "red"' "unknown field" -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":900,"colour":"red"}'
expect_bad_input "multicast group" "$H" 'group' '239.1.1.1' -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":900,"group":"239.1.1.1"}'
expect_bad_input "not a vxlan object" "$H" 'kind "bridge"' -- ovnet-vtep -n "$H" apply <<<'{"name":"vxbad","vni":900,"kind":"bridge"}'
expect_bad_input "duplicate VNI in one set" "$H" 'vni "900"' "vxbad1" -- ovnet-vtep -n "$H" apply <<<'[{"name":"vxbad1","vni":900},{"name":"vxbad2","vni":900}]'
expect_bad_input "duplicate name in one set" "$H" 'name "vxbad1"' "twice" -- ovnet-vtep -n "$H" apply <<<'[{"name":"vxbad1","vni":900},{"name":"vxbad1","vni":901}]'
expect_bad_input "a set with one bad entry" "$H" 'vtep vxbad2' 'port "0"' -- \
  ovnet-vtep -n "$H" apply <<<'[{"name":"vxbad1","vni":900},{"name":"vxbad2","vni":901,"port":0},{"name":"vxbad3","vni":902}]'
expect_bad_input "a set whose last entry names a missing master" "$H" 'master "nobr0"' -- \
  ovnet-vtep -n "$H" apply <<<'{"name":"vxbad1","vni":900} {"name":"vxdef","vni":101,"mtu":1300} {"name":"vxbad3","vni":902,"master":"nobr0"}'
expect_bad_input "del a bridge" "$H" 'name "br0"' "not a vxlan device" -- ovnet-vtep -n "$H" del vxdef br0
expect_bad_input "-n ../etc" "$H" 'netns "../etc"' -- ovnet-vtep -n ../etc show
for verb in show "add vxbad --vni 900" apply "del vxdef"; do
  # shellcheck disable=SC2086
  expect_bad_input "-n missing namespace ($verb)" "$H" "netns \"$P-missing\"" -- ovnet-vtep -n "$P-missing" $verb <<<'{"name":"vxbad","vni":900}'
done
assert_eq "$(ip -n "$H" -j link show | jq -r '[.[].ifname | select(startswith("vxbad"))] | length')" "0" "no vxbad* device was created by any bad input"

# ---- del ---------------------------------------------------------------------------------------------
expect_rc 0 "del vxfull vxs" ovnet-vtep -n "$H" del vxfull vxs
assert_contains "$ERR" "removed vtep vxfull" "del reports the removal"
assert_eq "$(ip -n "$H" -j link show | jq -r '[.[] | select(.ifname == "vxfull" or .ifname == "vxs")] | length')" "0" "kernel: vxfull and vxs are gone"
assert_eq "$(lnk "$H" br0 .linkinfo.info_kind)" "bridge" "kernel: their bridge stays"
expect_rerun_unchanged "del vxfull vxs" "$H" ovnet-vtep -n "$H" del vxfull vxs
assert_eq "$(ovnet-vtep -n "$H" show | jq -r 'map(.name) | sort | join(",")')" "vx-001000-lpq3t,vx-001001-7672d,vxdef" "show lists what is left"

done_testing
