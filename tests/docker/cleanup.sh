#!/bin/bash
# docker:cleanup (ctest fixture): tears down what docker:setup made, also after a failed setup:
# the swarm's service and containers, both dockerd with their containerd and shims (by pidfile, then
# every process left in the run's namespaces), their mounts and roots, the namespaces; then removes
# what the daemons wrote outside their roots and checks the root namespace and those directories
# are as before the run.
. "$(dirname "$0")/lib.sh"
T0=$SECONDS
[ -r "$ENV_FILE" ] || { echo "docker:cleanup: no run to clean up"; exit 0; }
. "$ENV_FILE"
[ "${CLEANED:-}" = 1 ] && { echo "docker:cleanup: run $P already cleaned up"; exit 0; }
if [ "${STARTED:-}" != 1 ]; then
  echo "CLEANED=1" >>"$ENV_FILE"
  rm -f "$OVNET_DOCKER_RUN/locked"; [ -z "${LOCK_PGID:-}" ] || kill -- "-$LOCK_PGID" 2>/dev/null
  [ -n "${SKIP_REASON:-}" ] && skip "$SKIP_REASON"
  echo "docker:cleanup: setup made nothing"; exit 0
fi

# dockerd of node N, if that pid is still the daemon this run started.
daemon_pid() {
  local pid; pid=$(cat "/run/$P-dk$1.pid" 2>/dev/null) || pid=$(eval echo "\${DK$1_PID:-}")
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--exec-root /run/$P-dk$1 " && echo "$pid"
}
# The inode of every network namespace the run made: its three and every file the daemons mounted.
run_netns_inodes() {
  local f
  for f in /run/netns/"$P"-* /run/"$P"-dk*/netns/*; do
    [ -e "$f" ] && stat -L -c %d:%i "$f" 2>/dev/null
  done | sort -u
}
# Every process whose network namespace is one of the run's (dockerd, containerd, shims, containers).
run_pids() {
  local inodes pid ino; inodes=" $(run_netns_inodes | tr '\n' ' ') "
  for pid in $(ls /proc | grep '^[0-9]*$'); do
    ino=$(stat -L -c %d:%i "/proc/$pid/ns/net" 2>/dev/null) || continue
    [[ "$inodes" == *" $ino "* ]] && [ "$pid" != $$ ] && echo "$pid"
  done
}

log "removing the service and the containers"
for n in 1 2; do
  pid=$(daemon_pid $n) || continue
  [ $n = 1 ] && dk 1 service rm svc >/dev/null 2>&1
  ids=$(dk $n ps -aq 2>/dev/null); [ -z "$ids" ] || dk $n rm -f $ids >/dev/null 2>&1
done
log "stopping dockerd"
for n in 1 2; do pid=$(daemon_pid $n) && kill -TERM "$pid"; done
gone() { ! daemon_pid 1 >/dev/null && ! daemon_pid 2 >/dev/null; }
wait_for 60 "dockerd to exit" gone || echo "dockerd still running after SIGTERM: killing" >&2
pids=$(run_pids)
if [ -n "$pids" ]; then
  log "killing what is left in the run's namespaces: $(echo $pids)"
  kill -KILL $pids 2>/dev/null
  none_left() { [ -z "$(run_pids)" ]; }
  wait_for 30 "the run's processes to exit" none_left || echo "processes left: $(run_pids)" >&2
fi

log "unmounting and removing the daemons' roots"
for n in 1 2; do
  for m in $(findmnt -rn -o TARGET | grep -E "^(/run/$P-dk$n|/var/lib/$P-dk$n)(/|$)" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "cannot unmount $m" >&2
  done
  rm -rf "/run/$P-dk$n" "/var/lib/$P-dk$n" "/run/$P-dk$n.sock" "/run/$P-dk$n.pid"
done
for ns in "$P-n1" "$P-n2" "$P-ul"; do
  [ -e "/run/netns/$ns" ] && { ip netns del "$ns" || echo "cannot delete namespace $ns" >&2; }
done

log "removing what the daemons wrote outside their roots"
outside_files >"$OVNET_DOCKER_RUN/files.after"
comm -13 "$OVNET_DOCKER_RUN/files.before" "$OVNET_DOCKER_RUN/files.after" >"$OVNET_DOCKER_RUN/files.created"
# Deepest first: files and links, then the directories (rmdir: only when empty; cgroups are directories).
sort -r "$OVNET_DOCKER_RUN/files.created" | while read -r f; do
  if [ -d "$f" ] && [ ! -L "$f" ]; then rmdir "$f" || echo "cannot remove directory $f" >&2
  else rm -f "$f"; fi
done
sed 's/^/  created and removed: /' "$OVNET_DOCKER_RUN/files.created"

outside_files >"$OVNET_DOCKER_RUN/files.end"
if diff "$OVNET_DOCKER_RUN/files.before" "$OVNET_DOCKER_RUN/files.end" >"$TMP/d"; then
  pass "the directories outside the daemons' roots are as before"
else fail "files outside the daemons' roots differ from before:"; sed 's/^/    /' "$TMP/d"; fi
root_state >"$OVNET_DOCKER_RUN/root.after"
if diff "$OVNET_DOCKER_RUN/root.before" "$OVNET_DOCKER_RUN/root.after" >"$TMP/d"; then
  pass "the root namespace's links, addresses, routes and rules are as before"
else fail "the root namespace changed:"; sed 's/^/    /' "$TMP/d" | head -60; fi
left=$(ls -d /run/netns/"$P"-* /run/"$P"-* /var/lib/"$P"-* 2>/dev/null)
assert_eq "$left" "" "nothing named after run $P is left"
assert_eq "$(run_pids | tr '\n' ' ')" "" "no process is left in the run's namespaces"
echo "CLEANED=1" >>"$ENV_FILE"
# Release the machine-wide lock: its holder (flock and its sleep) is the process group LOCK_PGID.
rm -f "$OVNET_DOCKER_RUN/locked"; [ -z "${LOCK_PGID:-}" ] || kill -- "-$LOCK_PGID" 2>/dev/null
log "cleanup took $((SECONDS - T0)) s"
done_testing
