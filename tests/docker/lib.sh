# Shared helpers for the real-Docker tier (tests/docker/README.md). Source it first thing.
#
# docker:setup brings up a two-node swarm (two dockerd, each confined to a network namespace with
# nsenter --net) and writes $OVNET_DOCKER_RUN/cluster.env; the checks source that file through
# load_cluster; docker:cleanup tears everything down. Every name carries the run's prefix $P.
set -uo pipefail
OVNET_BIN=${OVNET_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tools}
export PATH="$OVNET_BIN:$PATH"
# The run directory (env file, snapshots, daemon logs): in the build tree, given by ctest.
OVNET_DOCKER_RUN=${OVNET_DOCKER_RUN:-$(cd "$OVNET_BIN/.." && pwd)/tests/docker/run}
ENV_FILE=$OVNET_DOCKER_RUN/cluster.env
# Debian's client: /usr/local/bin/docker may be anything (on the CI machine: an unrelated 28.x client).
DOCKER=/usr/bin/docker
TEST_NAME=$(basename "$0" .sh); TEST_NAME=${TEST_NAME%.test}
PASSED=0 FAILED=0
TMP=$(mktemp -d "/tmp/ovnet-docker-$TEST_NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $*"; exit 77; }
pass() { PASSED=$((PASSED+1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED+1)); echo "FAIL - $*"; }
log() { echo "# $(date +%T.%N | cut -c1-12) $*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

# dk N ARGS...: the docker client of node N.
dk() { local n=$1; shift; "$DOCKER" -H "unix:///run/$P-dk$n.sock" "$@"; }

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR and the exit status in $RC.
run() { "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); }
# ok_run DESCRIPTION CMD...: runs it (as run) and fails the check unless it exits 0.
ok_run() { local what=$1; shift; run "$@"; [ "$RC" = 0 ] || { fail "$what: exit $RC: $ERR"; return 1; }; }
assert_eq() { if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: got '$1', wanted '$2'"; fi; }
# assert_json_eq GOT WANTED DESCRIPTION: equal as JSON values (keys sorted).
assert_json_eq() {
  local a b; a=$(jq -S . <<<"$1" 2>&1); b=$(jq -S . <<<"$2" 2>&1)
  if [ "$a" == "$b" ]; then pass "$3"
  else fail "$3:"; diff <(echo "$b") <(echo "$a") | sed 's/^/    /' | head -40; fi
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD (every 0.2 s) until it succeeds; 1 after SECONDS.
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "timed out after ${limit}s waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}

# load_cluster: the setup's facts ($P, namespaces, daemons, networks, containers); exit 77 with the
# setup's reason when it could not run Docker.
load_cluster() {
  [ -r "$ENV_FILE" ] || die "no cluster ($ENV_FILE): run the docker:setup test first (ctest -L docker)"
  . "$ENV_FILE"
  [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
  [ "${READY:-}" = 1 ] || die "the cluster of run $P never became ready (see the docker:setup log)"
}

# ovnet_ns N NETNAME: the path of node N's overlay namespace for a network (1-<id[:10]>).
ovnet_ns() { echo "/run/$P-dk$1/netns/1-$(dk "$1" network inspect -f '{{.Id}}' "$2" | cut -c1-10)"; }
# in_ns PATH CMD...: runs CMD in the namespace at PATH (iproute2's -n takes only names in /run/netns).
in_ns() { local p=$1; shift; nsenter --net="$p" -- "$@"; }

done_testing() {
  echo "$TEST_NAME: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}

# What dockerd/containerd write outside their --data-root/--exec-root (docker-overlay-facts.md §4):
# compared before and after, and what the run added is removed. /run/docker/netns is left out: the
# confined daemons use <exec-root>/netns, and other tests may put entries there.
WATCH=(/run/docker /var/lib/docker /etc/docker /run/containerd /var/lib/containerd /etc/containerd
       /run/docker.sock /run/docker.pid /run/containerd.sock /run/runc)
outside_files() {
  { find "${WATCH[@]}" ! -path '/run/docker/netns/*' 2>/dev/null
    find /sys/fs/cgroup/*/docker -type d 2>/dev/null; } | sort
}
# root_state: the root namespace's links, addresses, routes and rules (stable fields, sorted).
root_state() {
  ip -j link show | jq -S 'map({ifindex, ifname, link_type, address, mtu, master}) | sort_by(.ifindex)'
  ip -j addr show | jq -S 'map({ifname, addr: [.addr_info[] | {family, local, prefixlen}]}) | sort_by(.ifname)'
  ip -j -4 route show table all | jq -S 'sort_by(tostring)'
  ip -j -6 route show table all | jq -S 'map(del(.expires)) | sort_by(tostring)'
  ip -j -4 rule show | jq -S .
  ip -j -6 rule show | jq -S .
}

# Docker's view and iproute2's, as JSON for comparisons.
# endpoints N NET: node N's endpoints on NET (containers, tasks, its lb- endpoint), [{ip, mac}] by ip.
endpoints() {
  dk "$1" network inspect -v "$2" |
    jq -c '[.[0].Containers // {} | .[] | {ip: (.IPv4Address | sub("/.*"; "")), mac: .MacAddress}] | sort_by(.ip)'
}
# kernel_peers NSPATH VTEP: the peers Docker programmed on vxlan0 toward VTEP (permanent fdb entry
# + permanent neighbor), [{ip, mac, vtep, link_netnsid}] by ip, read with iproute2.
kernel_peers() {
  local f; f=$(in_ns "$1" bridge -j fdb show dev vxlan0)
  in_ns "$1" ip -j neigh show dev vxlan0 nud permanent | jq -c --argjson f "$f" --arg v "$2" '
    [ .[] as $n | $f[] | select(.mac == $n.lladdr and .dst == $v and .state == "permanent")
      | {ip: $n.dst, mac, vtep: .dst, link_netnsid: .linkNetNsId} ] | sort_by(.ip)'
}
# vni NET: Docker's VXLAN id of an overlay.
docker_vni() { dk 1 network inspect "$1" | jq -r '.[0].Options["com.docker.network.driver.overlay.vxlanid_list"]'; }
# label_of N NAME: how ovnet names node N's Docker namespace NAME: the name when no other directory
# holds one (sandbox ids), else the absolute path (1-<id>, lb_<id>, ingress_sbox: both daemons have them).
label_of() {
  local other=/run/$P-dk$((3 - $1))/netns/$2
  if [ -e "$other" ] || [ -e "/run/netns/$2" ] || [ -e "/run/docker/netns/$2" ]; then echo "/run/$P-dk$1/netns/$2"
  else echo "$2"; fi
}
