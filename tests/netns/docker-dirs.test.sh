#!/bin/bash
# Docker's namespace directories are found, not assumed: two fake dockerd processes (a program
# named dockerd that only waits), one with --exec-root/--data-root on its command line, one whose
# directories come from its --config-file and live in a mount namespace of its own (reachable only
# through /proc/<pid>/root). Checks: -n NAME resolves in each, a name both hold is ambiguous
# (exit 2 naming both paths), a symbolic link entry is refused, --docker-netns-dir and
# $OVNET_DOCKER_NETNS_DIR add a directory, `ovnet-sbox show` lists every directory's namespaces
# with veth peers labelled across them and "container" read from a fake config.v2.json.
# Nothing outside this run's directory (under $TMP) and its namespaces is created or removed.
. "$(dirname "$0")/lib.sh"

FAKE=${OVNET_FAKE_DOCKERD:-$(dirname "$OVNET_BIN")/tests/netns/fake-dockerd/dockerd}
[ -x "$FAKE" ] || skip "fake dockerd not built ($FAKE)"
unshare --mount --propagation private true 2>/dev/null || skip "cannot create mount namespaces here"

H=$(ns host) BR=br0
D=$TMP/$P-docker               # everything the fake daemons use
A_EXEC=$D/a-exec A_DATA=$D/a-data
B_DIR=$D/b                     # a tmpfs in daemon B's own mount namespace
C_DIR=$D/extra                 # no daemon's: only --docker-netns-dir / $OVNET_DOCKER_NETNS_DIR name it
ING=$(ns ingress_sbox) SB1=$(ns sb1) SB2=$(ns sb2) CX=$(ns cx) LNK=$(ns link)
MOUNTS=() PIDS=()
docker_cleanup() {
  local m p
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  return 0
}
trap 'docker_cleanup; _cleanup' EXIT

# bind_ns FILE: a fresh network namespace kept alive by a bind mount on FILE (in our mount namespace).
bind_ns() { touch "$1" && unshare --net -- mount --bind /proc/self/ns/net "$1" && MOUNTS+=("$1"); }
# wait_for DESCRIPTION CMD...: until CMD succeeds (60 s at most: a loaded machine).
wait_for() {
  local what=$1 end=$((SECONDS + 60)); shift
  until "$@" || [ $SECONDS -ge $end ]; do sleep 0.05; done
  "$@" && pass "$what" || fail "$what: timed out"
}

mkdir -p "$A_EXEC/netns" "$A_DATA/containers/aaa111" "$B_DIR" "$C_DIR"

echo "# daemon A: --exec-root and --data-root on its command line"
"$FAKE" --exec-root "$A_EXEC" --data-root="$A_DATA" & PIDS+=($!); PID_A=$!
bind_ns "$A_EXEC/netns/$ING"
bind_ns "$A_EXEC/netns/$SB1"
ln -s "/run/netns/$H" "$A_EXEC/netns/$LNK"
cat >"$A_DATA/containers/aaa111/config.v2.json" <<EOF
{"ID": "aaa111", "Name": "/$P-c1", "NetworkSettings": {"SandboxID": "x", "SandboxKey": "$A_EXEC/netns/$SB1"}}
EOF

echo "# daemon B: directories from its daemon.json, in a mount namespace of its own"
cat >"$D/b-daemon.json" <<EOF
{"exec-root": "$B_DIR/exec", "data-root": "$B_DIR/data", "log-level": "warn"}
EOF
unshare --mount --propagation private -- bash -c '
  set -e
  mount -t tmpfs ovnet-test "$1"
  mkdir -p "$1/exec/netns" "$1/data/containers/bbb222"
  for n in "$2" "$3"; do touch "$1/exec/netns/$n"; unshare --net -- mount --bind /proc/self/ns/net "$1/exec/netns/$n"; done
  printf "{\"Name\": \"/%s\", \"NetworkSettings\": {\"SandboxKey\": \"%s\"}}\n" "$4" "$1/exec/netns/$3" \
    >"$1/data/containers/bbb222/config.v2.json"
  exec "$5" --config-file "$6"' _ "$B_DIR" "$ING" "$SB2" "$P-c2" "$FAKE" "$D/b-daemon.json" & PIDS+=($!); PID_B=$!
B_NETNS=/proc/$PID_B/root$B_DIR/exec/netns
wait_for "daemon B runs as dockerd" grep -qx dockerd "/proc/$PID_B/comm"
wait_for "daemon B's namespaces are in its mount namespace" test -e "$B_NETNS/$SB2"
assert_eq "$([ -e "$B_DIR/exec" ] && echo visible || echo hidden)" hidden "B's directory is not in our mount namespace"

echo "# the host namespace with a bridge"
expect_rc 0 "add $H" ovnet-sbox -q add "$H"
expect_rc 0 "bridge $BR" ovnet-bridge -q -n "$H" add "$BR"

echo "# -n NAME resolves in each daemon's directory"
expect_rc 0 "show $SB1 (daemon A's)" ovnet-sbox show "$SB1" -j
assert_eq "$(echo "$OUT" | jq -r '.[0] | .path + " " + .source')" "$A_EXEC/netns/$SB1 docker" "$SB1: A's path, source docker"
assert_eq "$(echo "$OUT" | jq -r '.[0].container')" "$P-c1" "$SB1: container from A's config.v2.json"
expect_rc 0 "show $SB2 (daemon B's)" ovnet-sbox show "$SB2" -j
assert_eq "$(echo "$OUT" | jq -r '.[0] | .path + " " + .source')" "$B_NETNS/$SB2 docker" \
  "$SB2: through /proc/<pid>/root, source docker"
assert_eq "$(echo "$OUT" | jq -r '.[0].container')" "$P-c2" "$SB2: container from B's config.v2.json (its data-root)"
expect_rc 0 "ovnet-sbox -n $SB1 show" ovnet-sbox -n "$SB1" show -j
assert_eq "$(echo "$OUT" | jq -r 'map(.path) | join(" ")')" "$A_EXEC/netns/$SB1" "-n NAME show shows that namespace"
expect_rc 0 "-n PATH show NAME of the same namespace" ovnet-sbox -n "$A_EXEC/netns/$SB1" show "$SB1" -j
expect_rc 2 "-n and SANDBOX naming different namespaces" ovnet-sbox -n "$SB1" show "$H"
assert_contains "$ERR" "give one" "-n and SANDBOX differ: says to give one"
expect_rc 0 "ovnet-sbox -t show $SB1" ovnet-sbox -t show "$SB1"
assert_contains "$OUT" "$SB1 (docker: $P-c1)" "table: the sandbox with its container"
expect_rc 0 "connect $SB1 by name" ovnet-sbox -q -n "$H" connect "$SB1" --bridge "$BR" --ip 10.0.0.2/24
expect_rc 0 "connect $SB2 by name" ovnet-sbox -q -n "$H" connect "$SB2" --bridge "$BR" --ip 10.0.0.3/24
assert_eq "$(nsenter --net="$B_NETNS/$SB2" ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local')" \
  10.0.0.3 "$SB2's eth0 (in B's mount namespace) has 10.0.0.3"

echo "# a name in both daemons' directories is ambiguous"
for cmd in "ovnet-sbox show $ING" "ovnet-bridge -n $ING show" "ovnet-sbox exec $ING -- true"; do
  expect_rc 2 "$cmd: exit 2" $cmd
  assert_one_line "$ERR" "$cmd: one line"
  assert_contains "$ERR" "$A_EXEC/netns/$ING" "$cmd: names A's path"
  assert_contains "$ERR" "$B_NETNS/$ING" "$cmd: names B's path"
  assert_contains "$ERR" "give the path" "$cmd: says to give the path"
done
expect_rc 2 "connect to the ambiguous name" ovnet-sbox -n "$H" connect "$ING" --bridge "$BR" --ip 10.0.0.9/24
assert_contains "$ERR" "give the path" "connect: says to give the path"
assert_eq "$([ -e "/run/netns/$ING" ] && echo yes || echo no)" no "connect created no sandbox of that name"
expect_rc 0 "the path works" ovnet-sbox show "$B_NETNS/$ING" -j
assert_eq "$(echo "$OUT" | jq -r '.[0].source')" docker "the path of B's $ING: source docker"

echo "# a symbolic link entry is refused (by name and by path) and never listed"
expect_rc 2 "-n $LNK (a link)" ovnet-bridge -n "$LNK" show
assert_contains "$ERR" "symbolic link" "-n $LNK: says symbolic link"
expect_rc 2 "-n <path of the link>" ovnet-bridge -n "$A_EXEC/netns/$LNK" show
assert_contains "$ERR" "symbolic link" "-n <path of the link>: says symbolic link"

echo "# --docker-netns-dir and \$OVNET_DOCKER_NETNS_DIR"
bind_ns "$C_DIR/$CX"
expect_rc 2 "$CX is in no known directory" ovnet-sbox show "$CX"
expect_rc 0 "--docker-netns-dir" ovnet-sbox --docker-netns-dir "$C_DIR" show "$CX" -j
assert_eq "$(echo "$OUT" | jq -r '.[0].path')" "$C_DIR/$CX" "--docker-netns-dir: $CX found"
expect_rc 0 "--docker-netns-dir after the verb" ovnet-bridge -n "$CX" show --docker-netns-dir "$C_DIR" -j
expect_rc 0 "\$OVNET_DOCKER_NETNS_DIR" env OVNET_DOCKER_NETNS_DIR="/nonexistent:$C_DIR" ovnet-sbox show "$CX" -j
assert_eq "$(echo "$OUT" | jq -r '.[0].source')" docker "\$OVNET_DOCKER_NETNS_DIR: $CX found, source docker"
expect_rc 2 "--docker-netns-dir that does not exist" ovnet-sbox --docker-netns-dir "$D/nope" show
assert_contains "$ERR" "$D/nope" "names the missing directory"

echo "# show lists every directory's namespaces, veth peers labelled across them"
# A veth from B's $ING (an ambiguous name: labelled by its path) to the host's bridge.
nsenter --net="$B_NETNS/$ING" ip link add eth0 type veth peer name vingb netns "$H"
ip -n "$H" link set vingb master "$BR" up
expect_rc 0 "show -j (all)" ovnet-sbox show -j --docker-netns-dir "$C_DIR"
ALL=$OUT
names() { echo "$ALL" | jq -r --arg p "$P-" '[.[] | select(.name | startswith($p)) | .path] | sort | join(" ")'; }
want=$(printf '%s\n' "/run/netns/$H" "$A_EXEC/netns/$ING" "$A_EXEC/netns/$SB1" "$B_NETNS/$ING" "$B_NETNS/$SB2" "$C_DIR/$CX" | sort | tr '\n' ' ' | sed 's/ $//')
assert_eq "$(names)" "$want" "show lists /run/netns, both daemons' and the extra directory's namespaces (no link)"
sb() { echo "$ALL" | jq -c --arg p "$1" '.[] | select(.path == $p)'; }
assert_eq "$(sb "$A_EXEC/netns/$SB1" | jq -c '[.container, .interfaces[0].peer.netns, .interfaces[0].peer.bridge]')" \
  "[\"$P-c1\",\"$H\",\"$BR\"]" "$SB1: container, peer in $H on $BR"
assert_eq "$(sb "$B_NETNS/$SB2" | jq -c '[.container, .interfaces[0].peer.netns, .interfaces[0].peer.bridge]')" \
  "[\"$P-c2\",\"$H\",\"$BR\"]" "$SB2: container, peer in $H on $BR"
assert_eq "$(sb "$A_EXEC/netns/$ING" | jq -c '.container')" null "A's $ING: no container"
assert_eq "$(sb "/run/netns/$H" | jq -r '[.interfaces[] | select(.kind == "veth") | .peer.netns] | sort | join(" ")')" \
  "$(printf '%s\n' "$B_NETNS/$ING" "$SB1" "$SB2" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "$H's veth peers: $SB1, $SB2 by name, B's $ING by its path (never nsid:N)"
expect_rc 0 "ovnet-bridge -n $H show" ovnet-bridge -n "$H" show -j
assert_eq "$(echo "$OUT" | jq -r --arg b "$BR" '[.[] | select(.name == $b) | .ports[].peer.netns] | sort | join(" ")')" \
  "$(printf '%s\n' "$B_NETNS/$ING" "$SB1" "$SB2" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "bridge view: the same labels for the ports' peers"

done_testing
