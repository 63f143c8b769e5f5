# shellcheck shell=bash
# bench/lab-guest.sh: sourced (bash) by the guest side of bench/lab, bench/lab-ab and bench/lab-floor,
# which ship it to the VM beside themselves. Needs $W (a work directory) and die() set first.

# The modules a lab and the reference mesh use, loaded up front (none is loaded while timed), with
# any extra module names given.
lab_modules() {
  local m
  for m in veth bridge vxlan ip_vs ip_vs_rr nf_nat nf_conntrack iptable_nat iptable_mangle iptable_filter \
           iptable_raw xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack xt_REDIRECT \
           xt_policy xt_u32 esp4 xfrm_user "$@"; do
    modprobe "$m" 2>/dev/null
  done
}

# Untimed, after each teardown: the kernel frees deleted namespaces in the background (cleanup_net),
# which would otherwise land in the next timed step. settle asks the kernel: it waits until the CPU
# has been idle (under 3% busy in /proc/stat) for two quarter-seconds in a row (at most 60 s).
cpu_busy() {   # sets BUSY and TOTAL (jiffies since boot), no subshell: the wait must not be the load
  local _c u n s i w q sq st
  read -r _c u n s i w q sq st _ < /proc/stat
  BUSY=$((u + n + s + q + sq + st)) TOTAL=$((u + n + s + i + w + q + sq + st))
}
rm -f "$W/never"; mkfifo "$W/never" && exec {NEVER}<> "$W/never" || die "no FIFO in $W"   # read -t on it: a wait without a process
settle() {
  local b0 t0 calm=0 k
  cpu_busy; b0=$BUSY t0=$TOTAL
  for ((k = 0; k < 240 && calm < 2; k++)); do
    read -r -t 0.25 -u "$NEVER" _
    cpu_busy
    if [ $((TOTAL - t0)) -gt 0 ] && [ $(( (BUSY - b0) * 100 / (TOTAL - t0) )) -lt 3 ]; then calm=$((calm + 1)); else calm=0; fi
    b0=$BUSY t0=$TOTAL
  done
  [ $calm -ge 2 ] || echo "settle: the CPU did not go idle within 60 s" >&2
}

now() { echo "${EPOCHREALTIME/./}"; }
# The median of the numbers on stdin, one a line.
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
