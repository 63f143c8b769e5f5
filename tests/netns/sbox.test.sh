#!/bin/bash
# ovnet-sbox, every verb (show, add, connect, disconnect, apply, del, exec), checked against the
# kernel through iproute2's JSON: the seed's containers (eth0 on the overlay bridge, eth1 on
# docker_gwbridge), Docker's MAC and MTU defaults, the veth correlation of `show`, Docker's netns
# directory (one of this run's own), idempotent reruns, and bad input that must change nothing.
. "$(dirname "$0")/lib.sh"

H=$(ns host)                   # the "host" namespace holding the bridges
OV=ov-001001-7672d GW=docker_gwbridge
C1=$(ns c1) C2=$(ns c2) S1=$(ns s1) A1=$(ns a1) A2=$(ns a2) X=$(ns x)

# A Docker netns directory of this run's own (never /var/run/docker: a real daemon's), named to the
# tools with --docker-netns-dir and $OVNET_DOCKER_NETNS_DIR; its file is unmounted on exit.
DOCKER_DIR=$TMP/$P-docker-netns
DK=$(ns dk)                    # a name that exists only in that directory
mkdir -p "$DOCKER_DIR"
docker_cleanup() {
  local f="$DOCKER_DIR/$DK"
  if [ -e "$f" ]; then umount "$f" 2>/dev/null; rm -f "$f"; fi
  [ -n "${SLEEP_PID:-}" ] && kill "$SLEEP_PID" 2>/dev/null
  return 0
}
trap 'docker_cleanup; _cleanup' EXIT

# link NS IFNAME: one link of `ip -d -j link show` as JSON ("null" when absent).
link() { ip -n "$1" -d -j link show 2>/dev/null | jq -c --arg n "$2" 'map(select(.ifname == $n)) | .[0]'; }
link_by_index() { ip -n "$1" -d -j link show | jq -c --argjson i "$2" 'map(select(.ifindex == $i)) | .[0]'; }
# nsid_name NS ID: the name of the namespace NS knows as nsid ID.
nsid_name() { ip -n "$1" -j netns list-id | jq -r --argjson i "$2" 'map(select(.nsid == $i)) | .[0].name'; }
addrs() { ip -n "$1" -j addr show dev "$2" | jq -c '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"]'; }
ns_list() { ls /run/netns 2>/dev/null | grep "^$P-" | sort; }
# settle NS...: waits (up to 60 s: a loaded machine) until IPv6 DAD is over, so the kernel's own
# link-local addresses and routes stop moving under a snapshot.
settle() {
  local n end=$((SECONDS + 60))
  for n in "$@"; do
    until ip -n "$n" -j addr show | jq -e '[.[].addr_info[] | select(.tentative)] | length == 0' >/dev/null ||
          [ $SECONDS -ge $end ]; do
      sleep 0.1
    done
  done
}

ROOT_FWD=$(cat /proc/sys/net/ipv4/ip_forward)

echo "# add: a sandbox with lo up and a sysctl of its own"
expect_rc 0 "add $S1 --sysctl net.ipv4.ip_forward=1" ovnet-sbox add "$S1" --sysctl net.ipv4.ip_forward=1
assert_eq "$([ -f "/run/netns/$S1" ] && echo yes)" yes "/run/netns/$S1 exists"
assert_eq "$(ip -n "$S1" -j link show lo | jq -r '.[0].flags | index("UP") != null')" true "lo is up inside"
assert_eq "$(ovnet-sbox exec "$S1" -- cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward is 1 inside (exec cat)"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$ROOT_FWD" "root namespace's ip_forward untouched"
assert_eq "$(echo "$OUT" | jq -r '.name + " " + .source')" "$S1 netns" "add prints the sandbox (name, source)"
expect_rc 0 "add $S1 again" ovnet-sbox add "$S1" --sysctl net.ipv4.ip_forward=1
assert_contains "$ERR" "nothing changed" "second add: nothing changed"
echo "# add on an existing sandbox: only the sysctls that differ are written; one that does not exist writes none"
expect_rc 0 "add $S1 with ip_forward=1 (has it) and rp_filter=2" \
  ovnet-sbox add "$S1" --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.rp_filter=2
assert_contains "$ERR" "sysctl net.ipv4.conf.all.rp_filter" "rp_filter reported as set"
assert_not_contains "$ERR" "sysctl net.ipv4.ip_forward" "ip_forward (unchanged) not reported"
assert_eq "$(ovnet-sbox exec "$S1" -- cat /proc/sys/net/ipv4/conf/all/rp_filter)" 2 "rp_filter is 2 inside"
expect_rc 2 "add $S1 with rp_filter=1 and a sysctl that does not exist" \
  ovnet-sbox add "$S1" --sysctl net.ipv4.conf.all.rp_filter=1 --sysctl net.ipv4.no_such_knob=1
assert_contains "$ERR" "net.ipv4.no_such_knob" "the missing sysctl is named"
assert_eq "$(ovnet-sbox exec "$S1" -- cat /proc/sys/net/ipv4/conf/all/rp_filter)" 2 "rp_filter still 2: nothing written"

echo "# the host: overlay bridge (MTU 1450) and a docker_gwbridge-like bridge"
expect_rc 0 "add host $H" ovnet-sbox -q add "$H"
expect_rc 0 "bridge $OV mtu 1450" ovnet-bridge -q -n "$H" add "$OV" --mtu 1450
expect_rc 0 "bridge $GW" ovnet-bridge -q -n "$H" add "$GW" --addr 172.18.0.1/16

echo "# connect: eth0 on the overlay with Docker's defaults"
expect_rc 0 "connect $C1 to $OV (10.0.0.7/24 via 10.0.0.1)" \
  ovnet-sbox -n "$H" connect "$C1" --bridge "$OV" --ip 10.0.0.7/24 --gw 10.0.0.1
assert_eq "$([ -f "/run/netns/$C1" ] && echo yes)" yes "connect created the sandbox"
E0=$(link "$C1" eth0)
assert_eq "$(echo "$E0" | jq -r .address)" 02:42:0a:00:00:07 "eth0 has Docker's MAC 02:42:0a:00:00:07"
assert_eq "$(echo "$E0" | jq -r .mtu)" 1450 "eth0 has the bridge's MTU 1450"
assert_eq "$(echo "$E0" | jq -r '.linkinfo.info_kind')" veth "eth0 is a veth"
assert_eq "$(echo "$E0" | jq -r '.flags | index("UP") != null')" true "eth0 is up"
assert_eq "$(addrs "$C1" eth0)" '["10.0.0.7/24"]' "eth0 has 10.0.0.7/24"
assert_eq "$(ip -n "$C1" -j route show default | jq -c 'map({gateway, dev})')" '[{"gateway":"10.0.0.1","dev":"eth0"}]' \
  "default route via 10.0.0.1 dev eth0"
HE0=$(link_by_index "$H" "$(echo "$E0" | jq -r .link_index)")
assert_eq "$(echo "$HE0" | jq -r .master)" "$OV" "host end of eth0 is a port of $OV"
assert_eq "$(echo "$HE0" | jq -r .mtu)" 1450 "host end has MTU 1450"
assert_eq "$(echo "$HE0" | jq -r '.flags | index("UP") != null')" true "host end is up"
assert_eq "$(echo "$HE0" | jq -r .link_index)" "$(echo "$E0" | jq -r .ifindex)" "host end's peer index is eth0's ifindex"
assert_eq "$(nsid_name "$C1" "$(echo "$E0" | jq -r .link_netnsid)")" "$H" "eth0's link-netnsid is the host namespace"
assert_eq "$(nsid_name "$H" "$(echo "$HE0" | jq -r .link_netnsid)")" "$C1" "host end's link-netnsid is the sandbox"
assert_eq "$(echo "$HE0" | jq -r .ifname | grep -cE '^veth[0-9a-f]{7}$')" 1 "host end is named veth + 7 hex digits"

echo "# connect: a second bridge gets eth1"
expect_rc 0 "connect $C1 to $GW" ovnet-sbox -n "$H" connect "$C1" --bridge "$GW" --ip 172.18.0.7/16
E1=$(link "$C1" eth1)
assert_eq "$(echo "$E1" | jq -r .address)" 02:42:ac:12:00:07 "eth1 has 02:42:ac:12:00:07"
assert_eq "$(echo "$E1" | jq -r .mtu)" 1500 "eth1 has $GW's MTU 1500"
assert_eq "$(addrs "$C1" eth1)" '["172.18.0.7/16"]' "eth1 has 172.18.0.7/16"
HE1=$(link_by_index "$H" "$(echo "$E1" | jq -r .link_index)")
assert_eq "$(echo "$HE1" | jq -r .master)" "$GW" "host end of eth1 is a port of $GW"
assert_eq "$(ip -n "$C1" -j route show default | jq -c 'map({gateway, dev})')" '[{"gateway":"10.0.0.1","dev":"eth0"}]' \
  "default route still via eth0"

echo "# connect: explicit --ifname --host-ifname --mac --mtu"
expect_rc 0 "connect $C2 with every option" ovnet-sbox -n "$H" connect "$C2" --bridge "$OV" --ip 10.0.0.8/24 \
  --ifname ov0 --host-ifname vhost8 --mac 06:00:00:00:00:08 --mtu 1400
L=$(link "$C2" ov0)
assert_eq "$(echo "$L" | jq -c '[.address, .mtu]')" '["06:00:00:00:00:08",1400]' "ov0: --mac and --mtu honoured"
assert_eq "$(link "$C2" eth0)" null "no eth0 when --ifname is given"
HL=$(link "$H" vhost8)
assert_eq "$(echo "$HL" | jq -c '[.master, .mtu, .link_index]')" "[\"$OV\",1400,$(echo "$L" | jq .ifindex)]" \
  "vhost8: port of $OV, MTU 1400, peer of ov0"
assert_eq "$(addrs "$C2" ov0)" '["10.0.0.8/24"]' "ov0 has 10.0.0.8/24"
assert_eq "$(link "$H" "$OV" | jq .mtu)" 1450 "$OV keeps its MTU 1450 after a --mtu 1400 port joined"

echo "# connect into a namespace made elsewhere (ip netns add: lo down): lo comes up"
PRE=$(ns pre)
mkns "$PRE"
assert_eq "$(ip -n "$PRE" -j link show lo | jq -r '.[0].flags | index("UP") != null')" false "$PRE: lo down before"
expect_rc 0 "connect $PRE to $GW" ovnet-sbox -q -n "$H" connect "$PRE" --bridge "$GW" --ip 172.18.0.40/16
assert_eq "$(ip -n "$PRE" -j link show lo | jq -r '.[0].flags | index("UP") != null')" true "$PRE: lo up after connect"
assert_eq "$(link "$H" "$GW" | jq .mtu)" 1500 "$GW keeps its MTU 1500"
expect_rc 0 "del $PRE (its veth goes with it)" ovnet-sbox -q del "$PRE"

echo "# show -j: the veth correlation matches the kernel's view (the seed's eth0 <===> vethX (bridge))"
expect_rc 0 "show $C1 -j" ovnet-sbox show "$C1" -j
SH=$(echo "$OUT" | jq -c '.[0]')
assert_eq "$(echo "$SH" | jq -r '.name + " " + .source + " " + .path')" "$C1 netns /run/netns/$C1" "show: name, source, path"
assert_eq "$(echo "$SH" | jq -c '[.interfaces[].ifname]')" '["eth0","eth1"]' "show: eth0 and eth1 (no lo)"
for ifn in eth0 eth1; do
  IN=$(link "$C1" "$ifn")
  PEER=$(echo "$SH" | jq -c --arg n "$ifn" '.interfaces[] | select(.ifname == $n) | .peer')
  HOST=$(link_by_index "$H" "$(echo "$IN" | jq -r .link_index)")
  want=$(jq -cn --arg ns "$H" --argjson h "$HOST" '{netns: $ns, ifindex: $h.ifindex, ifname: $h.ifname, bridge: $h.master}')
  assert_eq "$PEER" "$want" "show: $ifn's peer {netns, ifindex, ifname, bridge} is the kernel's"
  assert_eq "$(echo "$HOST" | jq .link_index)" "$(echo "$IN" | jq .ifindex)" "kernel: host end of $ifn points back at it"
  assert_eq "$(echo "$SH" | jq -c --arg n "$ifn" '.interfaces[] | select(.ifname == $n) | [.mac, .mtu, .addresses]')" \
    "$(echo "$IN" | jq -c --argjson a "$(addrs "$C1" "$ifn")" '[.address, .mtu, $a]')" "show: $ifn's mac, mtu, addresses"
done
assert_eq "$(echo "$SH" | jq -r '.interfaces[0].peer.bridge + " " + .interfaces[1].peer.bridge')" "$OV $GW" \
  "seed correlation: eth0 on the overlay bridge, eth1 on $GW"
assert_eq "$(echo "$SH" | jq -c '.routes[] | select(.dst == "default") | [.gateway, .dev]')" '["10.0.0.1","eth0"]' \
  "show: default route"
expect_rc 0 "show (all) -j" ovnet-sbox show -j
assert_eq "$(echo "$OUT" | jq -r --arg p "$P-" '[.[] | select(.name | startswith($p)) | .name] | sort | join(" ")')" \
  "$(ns_list | tr '\n' ' ' | sed 's/ $//')" "show lists every sandbox of this run"
assert_eq "$(echo "$OUT" | jq -c --arg n "$C2" '.[] | select(.name == $n) | .interfaces[0].peer')" \
  "{\"netns\":\"$H\",\"ifindex\":$(echo "$HL" | jq .ifindex),\"ifname\":\"vhost8\",\"bridge\":\"$OV\"}" \
  "show (all): $C2's peer is vhost8 on $OV"

echo "# idempotency: connecting twice changes nothing"
settle "$H" "$C1" "$C2"; snapshot "$H" >"$TMP/h.snap"; snapshot "$C1" >"$TMP/c1.snap"
expect_rc 0 "connect $C1 to $OV again" ovnet-sbox -n "$H" connect "$C1" --bridge "$OV" --ip 10.0.0.7/24 --gw 10.0.0.1
assert_contains "$ERR" "nothing changed" "second connect: nothing changed"
unchanged_since "$TMP/h.snap" "$H" "host namespace identical after the rerun"
unchanged_since "$TMP/c1.snap" "$C1" "sandbox identical after the rerun"
expect_rc 0 "connect $C2 again with every option" ovnet-sbox -n "$H" connect "$C2" --bridge "$OV" --ip 10.0.0.8/24 \
  --ifname ov0 --host-ifname vhost8 --mac 06:00:00:00:00:08 --mtu 1400
assert_contains "$ERR" "nothing changed" "second connect with options: nothing changed"
# On a terminal the rerun says so per object ("...: unchanged, nothing to do").
TTY_OUT=$(script -qec "ovnet-sbox -n $H connect $C1 --bridge $OV --ip 10.0.0.7/24 --gw 10.0.0.1" /dev/null | tr -d '\r')
assert_contains "$TTY_OUT" "sandbox $C1 endpoint eth0: unchanged" "second connect on a terminal: unchanged"
unchanged_since "$TMP/h.snap" "$H" "host namespace identical after the second rerun"

echo "# exec: runs inside, exit status propagates"
expect_rc 0 "exec $C1 -- ip -j addr" ovnet-sbox exec "$C1" -- ip -j addr
assert_eq "$(echo "$OUT" | jq -r '[.[].addr_info[] | select(.family == "inet") | .local] | sort | join(",")')" \
  "10.0.0.7,127.0.0.1,172.18.0.7" "exec sees the sandbox's addresses"
expect_rc 7 "exec: the command's exit status (7) is ours" ovnet-sbox exec "$C1" -- sh -c 'exit 7'
expect_rc 1 "exec: false exits 1" ovnet-sbox exec "$C1" -- false
assert_eq "$(ovnet-sbox exec "$C1" -- ping -c1 -W10 -q 10.0.0.8 >/dev/null 2>&1 && echo ok)" ok \
  "exec: $C1 pings $C2 across $OV"
expect_rc 2 "exec in a sandbox that does not exist" ovnet-sbox exec "$X" -- true
assert_contains "$ERR" "$X" "exec: the error names the sandbox"

echo "# disconnect"
HE1_NAME=$(echo "$HE1" | jq -r .ifname)
expect_rc 0 "disconnect $C1 from $GW" ovnet-sbox -n "$H" disconnect "$C1" --bridge "$GW"
assert_eq "$(link "$C1" eth1)" null "eth1 is gone from the sandbox"
assert_eq "$(link "$H" "$HE1_NAME")" null "its host end $HE1_NAME is gone"
assert_eq "$(link "$C1" eth0 | jq -r .address)" 02:42:0a:00:00:07 "eth0 stays"
assert_eq "$(ip -n "$H" -j link show master "$GW" | jq length)" 0 "$GW has no ports left"
settle "$H"; snapshot "$H" >"$TMP/h.snap"
expect_rc 0 "disconnect again" ovnet-sbox -n "$H" disconnect "$C1" --bridge "$GW"
assert_contains "$ERR" "nothing changed" "second disconnect: nothing changed"
unchanged_since "$TMP/h.snap" "$H" "second disconnect changes nothing"

echo "# apply: a list of endpoint objects"
cat >"$TMP/apply.json" <<EOF
[{"sandbox": "$A1", "bridge": "$OV", "ip": "10.0.0.11/24"},
 {"sandbox": "$A2", "bridge": "$OV", "ip": "10.0.0.12/24", "gateway": "10.0.0.1", "ifname": "eth5"},
 {"sandbox": "$A2", "bridge": "$GW", "ip": "172.18.0.12/16", "mac": "06:00:00:00:00:12", "mtu": 1400,
  "sysctls": {"net.ipv4.ip_forward": "1"}}]
EOF
expect_rc 0 "apply 3 endpoints" ovnet-sbox -n "$H" apply <"$TMP/apply.json"
assert_eq "$(link "$A1" eth0 | jq -c '[.address, .mtu]')" '["02:42:0a:00:00:0b",1450]' "apply: $A1 eth0 MAC and MTU"
assert_eq "$(addrs "$A1" eth0)" '["10.0.0.11/24"]' "apply: $A1 eth0 address"
assert_eq "$(addrs "$A2" eth5)" '["10.0.0.12/24"]' "apply: $A2 eth5 (ifname honoured)"
assert_eq "$(ip -n "$A2" -j route show default | jq -c 'map({gateway, dev})')" '[{"gateway":"10.0.0.1","dev":"eth5"}]' \
  "apply: $A2 default route via eth5"
assert_eq "$(link "$A2" eth0 | jq -c '[.address, .mtu]')" '["06:00:00:00:00:12",1400]' "apply: $A2 second endpoint is eth0 with mac and mtu"
assert_eq "$(link "$H" "$(link_by_index "$H" "$(link "$A2" eth0 | jq .link_index)" | jq -r .ifname)" | jq -r .master)" "$GW" \
  "apply: $A2 eth0's host end is on $GW"
assert_eq "$(ovnet-sbox exec "$A2" -- cat /proc/sys/net/ipv4/ip_forward)" 1 "apply: sysctls set inside $A2"
settle "$H" "$A1" "$A2"; snapshot "$H" >"$TMP/h.snap"; snapshot "$A2" >"$TMP/a2.snap"
expect_rc 0 "apply the same set again" ovnet-sbox -n "$H" apply <"$TMP/apply.json"
assert_contains "$ERR" "nothing changed" "second apply: nothing changed"
unchanged_since "$TMP/h.snap" "$H" "second apply: host unchanged"
unchanged_since "$TMP/a2.snap" "$A2" "second apply: sandbox unchanged"

echo "# Docker's netns directory (--docker-netns-dir, \$OVNET_DOCKER_NETNS_DIR)"
touch "$DOCKER_DIR/$DK" && mount --bind "/run/netns/$H" "$DOCKER_DIR/$DK"
expect_rc 2 "show $DK without its directory" ovnet-sbox show "$DK" -j
assert_contains "$ERR" "$DK" "show: the unknown name is named"
expect_rc 0 "show (all) with a namespace in $DOCKER_DIR" env OVNET_DOCKER_NETNS_DIR="$DOCKER_DIR" ovnet-sbox show -j
assert_eq "$(echo "$OUT" | jq -r --arg n "$DK" '.[] | select(.name == $n) | .source + " " + .path')" \
  "docker $DOCKER_DIR/$DK" "show lists $DK with source docker"
expect_rc 0 "show $DK" ovnet-sbox --docker-netns-dir "$DOCKER_DIR" show "$DK" -j
assert_eq "$(echo "$OUT" | jq -r '.[0].source')" docker "show NAME resolves Docker's name"
assert_eq "$(echo "$OUT" | jq -c '.[0].container')" null "show: no container known for $DK"
expect_rc 0 "ovnet-sbox -n $DK show" ovnet-sbox --docker-netns-dir "$DOCKER_DIR" -n "$DK" show -j
assert_eq "$(echo "$OUT" | jq -r 'map(.name) | join(" ")')" "$DK" "ovnet-sbox -n NAME show shows that namespace"
expect_rc 0 "ovnet-bridge -n $DK show" ovnet-bridge -n "$DK" show -j --docker-netns-dir "$DOCKER_DIR"
assert_eq "$(echo "$OUT" | jq -r '[.[].name] | sort | join(" ")')" "$GW $OV" "ovnet-bridge -n <docker name> sees the host's bridges"
expect_rc 0 "ovnet-sbox -n $DK connect" env OVNET_DOCKER_NETNS_DIR="$DOCKER_DIR" \
  ovnet-sbox -n "$DK" connect "$(ns d1)" --bridge "$OV" --ip 10.0.0.21/24
assert_eq "$(link "$(ns d1)" eth0 | jq -r .address)" 02:42:0a:00:00:15 "connect through -n <docker name> works"
expect_rc 0 "exec $DK" ovnet-sbox --docker-netns-dir "$DOCKER_DIR" exec "$DK" -- ip -j link show "$OV"
assert_eq "$(echo "$OUT" | jq -r '.[0].ifname')" "$OV" "exec <docker name> enters that namespace"
umount "$DOCKER_DIR/$DK" && rm -f "$DOCKER_DIR/$DK"

echo "# del: the namespace goes, and the host end at once (even with a process inside)"
ovnet-sbox exec "$C2" -- sleep 30 & SLEEP_PID=$!
end=$((SECONDS + 60)); until [ -n "$(ip netns pids "$C2" 2>/dev/null)" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
assert_eq "$([ -n "$(ip netns pids "$C2" 2>/dev/null)" ] && echo yes)" yes "a process runs inside $C2"
expect_rc 0 "del $C2" ovnet-sbox del "$C2"
assert_eq "$(link "$H" vhost8)" null "vhost8 is gone from the host right away"
assert_eq "$([ -e "/run/netns/$C2" ] && echo yes || echo no)" no "/run/netns/$C2 is gone"
kill "$SLEEP_PID" 2>/dev/null; wait "$SLEEP_PID" 2>/dev/null; SLEEP_PID=
expect_rc 0 "del $C2 again" ovnet-sbox del "$C2"
assert_contains "$ERR" "nothing changed" "second del: nothing changed"
E0H=$(echo "$HE0" | jq -r .ifname)
expect_rc 0 "del $A1 $C1 (two at once)" ovnet-sbox del "$A1" "$C1"
assert_eq "$(link "$H" "$E0H")" null "$C1's host end is gone"
assert_eq "$(ip -n "$H" -j link show master "$OV" | jq -r '[.[].ifname] | length')" 2 "$OV keeps only $A2's and $(ns d1)'s ports"

echo "# bad input: exit 2, one line naming field and value, nothing changed, no namespace created"
ovnet-sbox -q add "$(ns plain)" >/dev/null
ip -n "$H" link add vx-not-br type veth peer name vx-not-br2
settle "$H"
BADN=0
# bad DESC FIELD VALUE CMD...: stdin from $BAD_IN when set.
bad() {
  local what=$1 field=$2 value=$3; shift 3
  BADN=$((BADN+1))
  snapshot "$H" >"$TMP/bad.snap"; ns_list >"$TMP/bad.ns"
  if [ -n "${BAD_IN:-}" ]; then run "$@" <<<"$BAD_IN"; else run "$@"; fi
  assert_eq "$RC" 2 "bad $what: exit 2"
  assert_one_line "$ERR" "bad $what: one line on stderr"
  assert_contains "$ERR" "$field" "bad $what: stderr names the field ($field)"
  assert_contains "$ERR" "$value" "bad $what: stderr names the value ($value)"
  unchanged_since "$TMP/bad.snap" "$H" "bad $what: host unchanged"
  assert_eq "$(ns_list)" "$(cat "$TMP/bad.ns")" "bad $what: no namespace created or removed"
  assert_eq "$([ -e "/run/netns/$X" ] && echo yes || echo no)" no "bad $what: $X does not exist"
}
c() { ovnet-sbox -n "$H" connect "$X" --bridge "$OV" "$@"; }
bad "CIDR" ip 10.0.0.300/24                     c --ip 10.0.0.300/24
bad "CIDR (no prefix)" ip 10.0.0.3              c --ip 10.0.0.3
bad "MAC" mac 02:42:zz:00:00:01                 c --ip 10.0.0.3/24 --mac 02:42:zz:00:00:01
bad "multicast MAC" mac 01:00:5e:00:00:01       c --ip 10.0.0.3/24 --mac 01:00:5e:00:00:01
bad "gateway family" gateway fd00::1            c --ip 10.0.0.3/24 --gw fd00::1
bad "unknown bridge" bridge nosuchbr            ovnet-sbox -n "$H" connect "$X" --bridge nosuchbr --ip 10.0.0.3/24
bad "not a bridge" bridge vx-not-br             ovnet-sbox -n "$H" connect "$X" --bridge vx-not-br --ip 10.0.0.3/24
bad "ifname > 15 bytes" ifname eth0123456789abc c --ip 10.0.0.3/24 --ifname eth0123456789abc
bad "host ifname > 15 bytes" host_ifname veth0123456789abc c --ip 10.0.0.3/24 --host-ifname veth0123456789abc
bad "sandbox name with /" netns "$X/y"          ovnet-sbox -n "$H" connect "$X/y" --bridge "$OV" --ip 10.0.0.3/24
bad "sandbox name with / (add)" netns "a/b"     ovnet-sbox add a/b
bad "sysctl key kernel.panic" sysctl kernel.panic ovnet-sbox add "$X" --sysctl kernel.panic=1
bad "sysctl key net.ipv4..x" sysctl net.ipv4..x c --ip 10.0.0.3/24 --sysctl net.ipv4..x=1
bad "sysctl without =" sysctl net.ipv4.ip_forward ovnet-sbox add "$X" --sysctl net.ipv4.ip_forward
bad "sysctl value the kernel refuses" sysctl net.ipv4.ip_forward=abc ovnet-sbox add "$X" --sysctl net.ipv4.ip_forward=abc
bad "sysctl that does not exist" sysctl net.ipv4.no_such_knob ovnet-sbox add "$X" --sysctl net.ipv4.no_such_knob=1
bad "sysctl that does not exist (connect)" sysctl net.ipv4.no_such_knob c --ip 10.0.0.3/24 --sysctl net.ipv4.no_such_knob=1
bad "IPv6 ip without --mac" mac ""              c --ip fd00::3/64
bad "--mtu 70000" mtu 70000                     c --ip 10.0.0.3/24 --mtu 70000
bad "zero MAC" mac 00:00:00:00:00:00            c --ip 10.0.0.3/24 --mac 00:00:00:00:00:00
BAD_IN="[{\"sandbox\": \"$X\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.3/24\""
bad "malformed JSON on apply" stdin "byte"      ovnet-sbox -n "$H" apply
BAD_IN="[{\"sandbox\": \"$X\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.3/24\", \"colour\": \"red\"}]"
bad "unknown key on apply" colour red           ovnet-sbox -n "$H" apply
BAD_IN="[{\"sandbox\": \"$X\", \"bridge\": \"$OV\", \"ip\": 3}]"
bad "wrong type on apply" ip 3                  ovnet-sbox -n "$H" apply
BAD_IN="[{\"sandbox\": \"$X\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.3/24\"},
         {\"sandbox\": \"$(ns plain)\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.4/24\"},
         {\"sandbox\": \"$(ns y)\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.5/33\"}]"
bad "apply set with one bad ip" ip 10.0.0.5/33  ovnet-sbox -n "$H" apply
BAD_IN="[{\"sandbox\": \"$X\", \"bridge\": \"$OV\", \"ip\": \"10.0.0.3/24\"},
         {\"sandbox\": \"$(ns y)\", \"bridge\": \"vx-not-br\", \"ip\": \"10.0.0.5/24\"}]"
bad "apply set with one non-bridge" bridge vx-not-br ovnet-sbox -n "$H" apply
BAD_IN=
assert_eq "$(link "$(ns plain)" eth0)" null "the good entries of a bad apply set were not connected"
[ "$BADN" -ge 12 ] && pass "$BADN bad-input cases" || fail "only $BADN bad-input cases"

done_testing
