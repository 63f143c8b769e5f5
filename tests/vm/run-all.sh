#!/bin/bash
# run-all.sh RESULTS_FILE [EXTRA_BINARY...] BODIES_DIR
#
# The "boot" step of the VM tests (ctest: vm-boot). Boots the VM once (vmrun.sh) with the extra binaries
# and every BODIES_DIR/*.sh, and writes
#   RESULTS_FILE      one line per body: "<name> PASS|FAIL|SKIP <detail>"
#                     (or, when the VM cannot run here, a first line "SKIP <reason>" and every body SKIP)
#   RESULTS_FILE.log  the host-side messages and the full guest console
# check-result.sh turns one line into a ctest verdict.
#
# Exit status: 0 when the results file was written (even if bodies failed or the boot broke: those
# show up as FAIL lines, so the per-body tests report them), 77 when everything is skipped, 2 on usage errors.
#
# Skips: the harness installs nothing (an apt-get killed by a time limit leaves dpkg half-configured):
# scripts/setup.sh --test installs qemu, the cloud kernel and the host tools (scripts/test.sh runs it
# first). If qemu-system-x86_64, a /boot/vmlinuz-*cloud* kernel or a host tool the guest needs is
# missing, every body is SKIP with the reason (exit 77), never PASS. Environment overrides (see also vmrun.sh):
#   OVNET_VM_DISABLE=1        skip the VM tests
#   OVNET_VM_KERNEL=FILE      use this kernel image; if it does not exist, skip
#   OVNET_VM_QEMU=BINARY      use this qemu; if it does not exist, skip
#   OVNET_VM_DOCKER=1         the Docker variant (ctest vm-docker-boot sets it): opt-in, everything is
#                             skipped unless OVNET_TEST_DOCKER_VM=1, or when docker.io is not installed
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -lt 2 ]; then echo "usage: run-all.sh RESULTS_FILE [EXTRA_BINARY...] BODIES_DIR" >&2; exit 2; fi
results=$1; shift
bodies_dir=${!#}
bins=("${@:1:$#-1}")
log=$results.log
mkdir -p "$(dirname "$results")"
rm -f "$results" "$log" "$results.tmp"
[ -d "$bodies_dir" ] || { echo "run-all: no bodies directory $bodies_dir" >&2; exit 2; }

names=()
for b in "$bodies_dir"/*.sh; do [ -f "$b" ] || continue; n=${b##*/}; names+=("${n%.sh}"); done

say() { echo "run-all: $*" | tee -a "$log" >&2; }
skip_all() {
  say "SKIP: $*"
  { echo "SKIP $*"; for n in "${names[@]}"; do echo "$n SKIP $*"; done; } > "$results.tmp"
  mv "$results.tmp" "$results"
  exit 77
}
say "$(date -u '+%F %T') UTC; bodies: ${names[*]:-none}; binaries: ${bins[*]:-none}"
[ ${#names[@]} -gt 0 ] || { : > "$results"; say "no bodies in $bodies_dir"; exit 0; }
[ -z "${OVNET_VM_DISABLE:-}" ] || [ "${OVNET_VM_DISABLE}" = 0 ] || skip_all "VM tests disabled by OVNET_VM_DISABLE"

find_kernel() { ls -1 /boot/vmlinuz-*cloud* 2>/dev/null | sort -V | tail -1; }
# missing: print what the VM needs but this host lacks (empty when all is there).
missing() {
  local m=() k t
  if [ -n "${OVNET_VM_QEMU:-}" ]; then command -v "$OVNET_VM_QEMU" >/dev/null || m+=("qemu ($OVNET_VM_QEMU)")
  else command -v qemu-system-x86_64 >/dev/null || m+=(qemu-system-x86_64); fi
  if [ -n "${OVNET_VM_KERNEL:-}" ]; then k=$OVNET_VM_KERNEL; else k=$(find_kernel); fi
  if [ -z "$k" ]; then m+=("kernel /boot/vmlinuz-*cloud*")
  elif [ ! -r "$k" ]; then m+=("readable kernel $k")
  else
    k=${k##*/}; k=${k#vmlinuz-}
    [ -d "${OVNET_VM_MODULES:-/lib/modules/$k}/kernel" ] || m+=("modules ${OVNET_VM_MODULES:-/lib/modules/$k}")
  fi
  for t in busybox cpio gzip ldd bash ipvsadm xtables-legacy-multi ip bridge ss tc; do
    PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH command -v $t >/dev/null || m+=("$t")
  done
  [ -x /bin/busybox ] || m+=(/bin/busybox)
  for t in /usr/bin/tail /usr/bin/timeout; do [ -x $t ] || m+=("$t"); done
  echo "${m[*]}"
}

miss=$(missing)
if [ "${OVNET_VM_DOCKER:-0}" = 1 ]; then
  # The Docker variant boots its own VM for several minutes: only when asked for.
  [ "${OVNET_TEST_DOCKER_VM:-0}" = 1 ] ||
    skip_all "the Docker VM variant is opt-in: run it with OVNET_TEST_DOCKER_VM=1 (2-4 min; see tests/vm/README.md)"
  for t in ${OVNET_VM_DOCKER_FILES:-/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/bin/docker /usr/bin/docker-init /usr/sbin/xtables-nft-multi}; do
    [ -e "$t" ] || miss="${miss:+$miss }$t"
  done
  # The image is a static busybox (docker import of a one-file tree).
  if [ -x /bin/busybox ] && ldd /bin/busybox >/dev/null 2>&1; then miss="${miss:+$miss }busybox-static"; fi
fi
[ -z "$miss" ] || skip_all "missing: $miss (install with: sudo scripts/setup.sh --test)"

# qemu's own limit (vmrun.sh) stays inside ctest's TIMEOUT for vm-boot (1800 s, tests/vm/CMakeLists.txt;
# the Docker variant: 2100 s inside 2400 s).
if [ "${OVNET_VM_DOCKER:-0}" = 1 ]; then export OVNET_VM_TIMEOUT=${OVNET_VM_TIMEOUT:-2100}
else export OVNET_VM_TIMEOUT=${OVNET_VM_TIMEOUT:-1500}; fi
t0=$(date +%s)
# vmrun.sh writes into the log; tail shows it live. Both run in the background so that a TERM/INT
# (e.g. ctest's timeout) reaches vmrun.sh, which then stops qemu and removes its temporary directory.
off=$(stat -c %s "$log")
bash "$here/vmrun.sh" "$bodies_dir" "${bins[@]}" >> "$log" 2>&1 &
vpid=$!
tpid=
trap 'kill -TERM $vpid 2>/dev/null; wait $vpid; [ -n "$tpid" ] && kill $tpid 2>/dev/null; say "interrupted"; exit 143' TERM INT HUP
tail -s 0.2 -c +$((off + 1)) --pid=$vpid -f "$log" &
tpid=$!
wait $vpid; rc=$?
wait $tpid
trap - TERM INT HUP
say "vmrun.sh exited $rc after $(( $(date +%s) - t0 ))s"
case $rc in
  0|1) why="no TEST line for this body in the console" ;;
  2)   why="the VM run did not complete (crash, panic or time limit)" ;;
  *)   why="vmrun.sh failed (rc=$rc) before or while booting" ;;
esac
for n in "${names[@]}"; do
  line=$(awk -v p="TEST $n: " 'index($0, p) == 1' "$log" | tail -1)
  if [ -n "$line" ]; then
    v=${line#TEST $n: }; detail=${v#* }; v=${v%% *}
    detail=${detail#(}; detail=${detail%)}
    echo "$n $v $detail"
  else
    echo "$n FAIL $why; see $log"
  fi
done > "$results.tmp"
mv "$results.tmp" "$results"
say "results in $results:"; sed 's/^/  /' "$results" | tee -a "$log" >&2
exit 0
