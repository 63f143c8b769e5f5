#!/bin/bash
# docker:setup (ctest fixture): a two-node Docker Swarm confined to network namespaces.
#   $P-ul   underlay: bridge br0, one veth per node
#   $P-n1   node 1: eth0 192.0.2.1/24, dockerd (nsenter --net) with its own --data-root/--exec-root/-H/--pidfile
#   $P-n2   node 2: eth0 192.0.2.2/24, the same
# swarm init on node 1, node 2 joins; an attachable overlay "ov" and an attachable encrypted overlay
# "enc"; container c1 on node 1 and c2 on node 2, each on both; service "svc" on "ov", 2 replicas,
# one per node. Writes $OVNET_DOCKER_RUN/cluster.env; without Docker, the reason (exit 77).
. "$(dirname "$0")/lib.sh"
T0=$SECONDS
mkdir -p "$OVNET_DOCKER_RUN"
if [ -s "$ENV_FILE" ] && ! grep -q '^CLEANED=1' "$ENV_FILE"; then
  # A run that never got its cleanup (interrupted): tear it down first.
  log "tearing down the previous run first"
  bash "$(dirname "$0")/cleanup.sh" || die "the previous run's cleanup failed"
fi
rm -rf "$OVNET_DOCKER_RUN"; mkdir -p "$OVNET_DOCKER_RUN"

P="od$$${RANDOM}"
env_set() { printf '%s=%q\n' "$1" "$2" >>"$ENV_FILE"; }
env_set P "$P"
no_docker() { env_set SKIP_REASON "$*"; skip "$*"; }

[ "$(id -u)" = 0 ] || no_docker "needs root"
for b in /usr/bin/docker dockerd containerd runc nsenter jq; do
  command -v "$b" >/dev/null || no_docker "$b not found (docker.io not installed? run scripts/setup.sh --test)"
done
bb=$(command -v busybox) || no_docker "busybox not found (busybox-static: scripts/setup.sh --test)"
unshare -n true 2>/dev/null || no_docker "cannot create network namespaces here"
command -v ovnet-fdb >/dev/null || die "ovnet tools not found in $OVNET_BIN"

# One tier at a time on this machine (another build tree's run would write to the same places
# outside the daemons' roots): a lock held by a background holder until cleanup.sh kills it. The
# holder also lets go when the run's "locked" file goes (build tree removed) or after 2 hours.
LOCK=/run/lock/ovnet-docker-tier.lock
mkdir -p /run/lock
setsid flock -w 600 "$LOCK" -c "f='$OVNET_DOCKER_RUN/locked'; touch \"\$f\"; end=\$((\$(date +%s) + 7200))
  while [ -e \"\$f\" ] && [ \$(date +%s) -lt \$end ]; do sleep 1; done" </dev/null >/dev/null 2>&1 &
env_set LOCK_PGID $!
locked() { [ -e "$OVNET_DOCKER_RUN/locked" ]; }
wait_for 600 "the lock $LOCK (another tests/docker run on this machine)" locked || die "$LOCK stays taken"

# Before: what the root namespace and the shared directories hold.
root_state >"$OVNET_DOCKER_RUN/root.before"
outside_files >"$OVNET_DOCKER_RUN/files.before"
env_set STARTED 1

log "namespaces"
mkns() { ip netns add "$1" && ip netns exec "$1" sysctl -qw net.ipv6.conf.default.addr_gen_mode=1 &&
         ip -n "$1" link set lo up; }
mkns "$P-ul" || die "ip netns add $P-ul"
ip -n "$P-ul" link add br0 type bridge && ip -n "$P-ul" link set br0 up || die "underlay bridge"
for n in 1 2; do
  mkns "$P-n$n" || die "ip netns add $P-n$n"
  ip -n "$P-ul" link add "p$n" type veth peer name eth0 netns "$P-n$n" &&
  ip -n "$P-ul" link set "p$n" master br0 up &&
  ip -n "$P-n$n" addr add "192.0.2.$n/24" dev eth0 &&
  ip -n "$P-n$n" link set eth0 up || die "node $n underlay link"
done

# A local image: a static busybox tree (no registry is reachable). A dynamic busybox gets its libraries.
img=$TMP/img
mkdir -p "$img/bin" "$img/etc" && cp -L "$bb" "$img/bin/busybox" || die "image tree"
for l in $(ldd "$bb" 2>/dev/null | grep -o '/[^ ]*' || true); do mkdir -p "$img$(dirname "$l")"; cp -L "$l" "$img$l"; done
for a in sh sleep ip cat; do ln -s busybox "$img/bin/$a"; done

log "dockerd x2"
for n in 1 2; do
  echo '{}' >"$OVNET_DOCKER_RUN/dk$n.json"
  # setsid + every fd redirected: the daemons outlive this test and ctest does not wait for them.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="/run/netns/$P-n$n" -- \
    dockerd --config-file "$OVNET_DOCKER_RUN/dk$n.json" --data-root "/var/lib/$P-dk$n" \
      --exec-root "/run/$P-dk$n" -H "unix:///run/$P-dk$n.sock" --pidfile "/run/$P-dk$n.pid" \
      </dev/null >"$OVNET_DOCKER_RUN/dk$n.log" 2>&1 &
  env_set "DK${n}_PID" $!
done
for n in 1 2; do
  wait_for 120 "dockerd $n" dk $n version || { tail -30 "$OVNET_DOCKER_RUN/dk$n.log"; die "dockerd $n did not come up"; }
done
log "dockerd up ($((SECONDS - T0)) s)"
for n in 1 2; do
  tar -C "$img" -c . | dk $n import - ovnet-busybox:test >/dev/null || die "docker import on node $n"
done

log "swarm"
dk 1 swarm init --advertise-addr 192.0.2.1 >/dev/null || die "swarm init"
token=$(dk 1 swarm join-token -q worker) || die "join-token"
dk 2 swarm join --token "$token" --advertise-addr 192.0.2.2 192.0.2.1:2377 >/dev/null || die "swarm join"
two_ready() { [ "$(dk 1 node ls --format '{{.Status}}' | grep -c Ready)" = 2 ]; }
wait_for 120 "two Ready nodes" two_ready || die "node 2 never became Ready"
env_set NODE1_ID "$(dk 1 info -f '{{.Swarm.NodeID}}')"
env_set NODE2_ID "$(dk 2 info -f '{{.Swarm.NodeID}}')"

log "networks, containers, service"
dk 1 network create -d overlay --attachable --subnet 10.10.1.0/24 ov >/dev/null || die "network ov"
dk 1 network create -d overlay --attachable --opt encrypted --subnet 10.10.2.0/24 enc >/dev/null || die "network enc"
for n in 1 2; do
  dk $n run -d --name c$n --network ov ovnet-busybox:test sleep 100000000 >/dev/null || die "container c$n"
  dk $n network connect enc c$n || die "connect c$n to enc"
done
dk 1 service create --detach --name svc --replicas 2 --replicas-max-per-node 1 --network ov \
  --no-resolve-image ovnet-busybox:test sleep 100000000 >/dev/null || die "service svc"
svc_running() {  # one running task on each node (the nodes share one hostname: ask each daemon)
  local n
  for n in 1 2; do
    [ "$(dk $n ps -q --filter label=com.docker.swarm.service.name=svc --filter status=running | wc -l)" = 1 ] || return 1
  done
}
wait_for 300 "svc: a running task on each node" svc_running || { dk 1 service ps --no-trunc svc; die "svc never ran on both nodes"; }
for net in ov enc; do env_set "NET_$(echo $net | tr a-z A-Z)_ID" "$(dk 1 network inspect -f '{{.Id}}' $net)"; done

# Converged: each node's vxlan0 holds a permanent fdb entry for every endpoint of the other node.
endpoint_macs() {  # N NET: the MACs of node N's endpoints on NET (containers, tasks, lb-)
  dk "$1" network inspect -v "$2" | jq -r '.[0].Containers // {} | .[].MacAddress' | sort
}
fdb_macs() {  # N NET: the MACs node N's vxlan0 sends to the other node
  in_ns "$(ovnet_ns "$1" "$2")" bridge -j fdb show dev vxlan0 |
    jq -r '.[] | select(.dst == "192.0.2.'$((3 - $1))'") | .mac' | sort
}
converged() {
  local n net a b
  for net in ov enc; do for n in 1 2; do
    a=$(endpoint_macs $((3 - n)) $net); b=$(fdb_macs $n $net)
    [ -n "$a" ] && [ "$a" = "$b" ] || return 1
  done; done
}
wait_for 120 "peers on both nodes" converged || die "the overlays' peers never converged"
has_policies() { [ -n "$(ip -n "$P-n$1" xfrm policy show)" ]; }
for n in 1 2; do wait_for 60 "xfrm policies on node $n" has_policies $n || die "no xfrm policy on node $n"; done

env_set READY 1
log "cluster ready in $((SECONDS - T0)) s"
echo "docker:setup: ready (run $P)"
