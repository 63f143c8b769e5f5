# Shared helpers for the netns tests. Source it first thing:  . "$(dirname "$0")/lib.sh"
#
# Every namespace a test creates must be named with `ns NAME` ("$P-NAME"): $P is unique per run,
# so parallel runs never collide, and the EXIT trap removes every namespace carrying it, even when
# the test fails or is interrupted. Nothing is ever added to the root namespace.
set -uo pipefail
OVNET_BIN=${OVNET_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tools}
export PATH="$OVNET_BIN:$PATH"
TEST_NAME=$(basename "$0" .test.sh)
P="ot$$${RANDOM}"
PASSED=0 FAILED=0
TMP=$(mktemp -d "/tmp/ovnet-$TEST_NAME.XXXXXX")

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v ovnet-bridge >/dev/null || { echo "ovnet tools not found in $OVNET_BIN"; exit 1; }
unshare -n true 2>/dev/null || skip "cannot create network namespaces here"

ns() { echo "$P-$1"; }

_cleanup() {
  local n
  for n in $(ls /run/netns 2>/dev/null | grep "^$P-" || true); do
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ovnet-sbox -q del "$n" >/dev/null 2>&1 || ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED+1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED+1)); echo "FAIL - $*"; }

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR and the exit status in $RC.
run() { "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); }

# expect_rc CODE DESCRIPTION CMD...
expect_rc() {
  local want=$1 what=$2; shift 2
  run "$@"
  if [ "$RC" = "$want" ]; then pass "$what"; else fail "$what: exit $RC, wanted $want; stderr: $ERR"; fi
}
assert_eq() { if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: got '$1', wanted '$2'"; fi; }
assert_contains() { if [[ "$1" == *"$2"* ]]; then pass "$3"; else fail "$3: '$2' not in: $1"; fi; }
assert_not_contains() { if [[ "$1" != *"$2"* ]]; then pass "$3"; else fail "$3: '$2' unexpectedly in: $1"; fi; }
# assert_one_line TEXT DESCRIPTION: errors are one line on stderr.
assert_one_line() { local n; n=$(printf '%s' "$1" | grep -c '^'); if [ "$n" = 1 ]; then pass "$2"; else fail "$2: $n lines: $1"; fi; }

# snapshot NS: the kernel state of a namespace as iproute2 reports it, stable across reads.
snapshot() {
  { ip -n "$1" -d -j link show | jq -S 'map(del(.operstate, .linkinfo.info_slave_data.forward_delay_timer,
        .linkinfo.info_slave_data.hold_timer, .linkinfo.info_slave_data.message_age_timer,
        .linkinfo.info_data.hello_timer, .linkinfo.info_data.tcn_timer, .linkinfo.info_data.topology_change_timer,
        .linkinfo.info_data.gc_timer))'
    ip -n "$1" -j addr show | jq -S 'map(del(.operstate) | .addr_info |= map(del(.valid_life_time, .preferred_life_time)))'
    # Entry order in these tables is hash order: compare them as sets.
    ip -n "$1" -j route show table all | jq -S 'sort_by(tostring)'
    bridge -n "$1" -j fdb show | jq -S 'map(select(.state == "permanent" or .dst != null)) | sort_by(tostring)'
    ip -n "$1" -j neigh show nud permanent | jq -S 'sort_by(tostring)'
  } 2>&1
}
# unchanged_since FILE NS DESCRIPTION: the namespace still matches an earlier snapshot.
unchanged_since() {
  if diff <(cat "$1") <(snapshot "$2") >"$TMP/diff"; then pass "$3"; else fail "$3: state changed:"; cat "$TMP/diff"; fi
}

# mkns NAME: a namespace without IPv6 link-local autoconfiguration, whose background DAD would
# make before/after snapshots differ at random.
mkns() { ip netns add "$1" && ip netns exec "$1" sysctl -qw net.ipv6.conf.default.addr_gen_mode=1; }

# expect_bad_input DESCRIPTION NS NEEDLE... -- CMD...: exit 2, exactly one line on stderr holding every NEEDLE
# (the field and the offending value), and NS exactly as before.
expect_bad_input() {
  local what=$1 n=$2; shift 2
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  snapshot "$n" >"$TMP/bad.snap"
  expect_rc 2 "$what: exit 2" "$@"
  assert_one_line "$ERR" "$what: one line on stderr"
  local x
  for x in "${needles[@]}"; do assert_contains "$ERR" "$x" "$what: stderr names $x"; done
  unchanged_since "$TMP/bad.snap" "$n" "$what: namespace unchanged"
}
# expect_rerun_unchanged DESCRIPTION NS CMD...: a rerun changes nothing, exits 0 and says so.
expect_rerun_unchanged() {
  local what=$1 n=$2; shift 2
  snapshot "$n" >"$TMP/again.snap"
  expect_rc 0 "$what: rerun exits 0" "$@"
  if [[ "$ERR$OUT" == *unchanged* || "$ERR$OUT" == *"nothing changed"* ]]; then pass "$what: rerun says unchanged"
  else fail "$what: rerun does not say unchanged: stdout '$OUT' stderr '$ERR'"; fi
  unchanged_since "$TMP/again.snap" "$n" "$what: rerun left the kernel state identical"
}

# The README's three-host overlay (inspect and diff tests): underlay ul0 in $(ns ul), hosts h1..h3
# (192.0.2.11-13), bridge $BR + VTEP (VNI $VNI) on each, one container c1..c3 (10.0.0.2-4).
# Callers set BR and VNI; h N / c N name the run's host and container namespaces.
h() { ns "h$1"; }
c() { ns "c$1"; }
three_hosts_build() {
  local ul; ul=$(ns ul)
  ovnet-sbox add "$ul" >/dev/null && ovnet-bridge -n "$ul" add ul0 >/dev/null || return 1
  local i
  for i in 1 2 3; do
    ovnet-sbox -n "$ul" connect "$(h $i)" --bridge ul0 --ip "192.0.2.1$i/24" >/dev/null || return 1
    ovnet-bridge -n "$(h $i)" add "$BR" --mtu 1450 -j | ovnet-vtep add --vni "$VNI" --local "192.0.2.1$i" >/dev/null || return 1
    ovnet-sbox -n "$(h $i)" connect "$(c $i)" --bridge "$BR" --ip "10.0.0.$((i+1))/24" >/dev/null || return 1
  done
  three_hosts_peers
}
# Every host's peers: the local endpoints of the two others.
three_hosts_peers() {
  local i j
  for i in 1 2 3; do
    for j in 1 2 3; do [ $i = $j ] || ovnet-fdb -n "$(h $j)" local; done | ovnet-fdb -n "$(h $i)" apply --prune -q >/dev/null || return 1
  done
}

# done_testing: prints the closing line ctest's log shows and sets the exit status.
done_testing() {
  echo "$TEST_NAME: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}
