#!/bin/bash
# vmrun.sh BODIES [EXTRA_FILE...]
#
# Boot Debian's cloud kernel under qemu (TCG software emulation) ONCE and run every test body in it.
#   BODIES      a directory (every *.sh in it, sorted) or a single body script.
#   EXTRA_FILE  binaries (or other files) to put into the guest's /usr/local/bin; ELF files get their
#               shared libraries (as resolved by ldd on the host) copied to the same absolute paths, so a
#               build-tree RPATH (e.g. .../build/lib/libovnet.so) still works in the guest. The directories
#               of non-system libraries are also put on the guest's LD_LIBRARY_PATH, and the libraries
#               themselves also go to the guest's /usr/local/lib (first on LD_LIBRARY_PATH).
#
# The initramfs holds busybox, bash, iproute2 (ip, bridge, ss, tc), iptables (legacy), ipvsadm, coreutils'
# tail/timeout, the kernel's network/crypto modules, the extra files and the bodies. Inside the guest a
# runner executes the bodies one after the other, streams their output prefixed with "[name] ", and prints
#   TEST <name>: PASS|FAIL|SKIP (<detail>)
# per body, then "VM-RUN: DONE <n> run, <f> failed". Between bodies, network namespaces that the body
# created (and the processes in them) are removed; nothing else is touched.
#
# Prints the guest console (CR and escape sequences stripped) on stdout, its own progress on stderr.
# Exit status: 0 all bodies PASS/SKIP, 1 some body failed, 2 the VM run did not complete, 3 setup error.
#
# Environment:
#   OVNET_VM_KERNEL        kernel image (default: newest /boot/vmlinuz-*cloud*)
#   OVNET_VM_MODULES       module directory (default: /lib/modules/<version from kernel file name>)
#   OVNET_VM_QEMU          qemu binary (default: qemu-system-x86_64)
#   OVNET_VM_MEM           guest memory in MB (default 1024)
#   OVNET_VM_CPUS          guest CPUs (default 1)
#   OVNET_VM_ACCEL         qemu accelerator (default tcg; "kvm" if you have a working /dev/kvm)
#   OVNET_VM_TIMEOUT       hard limit for the whole qemu run in seconds (default 1500: TCG on a loaded host is slow)
#   OVNET_VM_BODY_TIMEOUT  limit per body inside the guest in seconds (default 600)
#   OVNET_VM_KEEP=1        keep the temporary directory (its path is printed)
#   OVNET_VM_DOCKER=1      the Docker variant (ctest vm-docker-boot, bodies in docker-bodies/): also ship
#                          Debian's docker.io (the files in OVNET_VM_DOCKER_FILES, default below) and
#                          iptables-nft (as iptables-nft*; `iptables` stays legacy), and default to 2048 MB,
#                          a 1500 s body limit and a 2100 s qemu limit
#   OVNET_TEST_DOCKER_VM   passed into the guest's bodies as is (docker-bodies run only when it is 1)
set -uo pipefail

die() { echo "vmrun: $*" >&2; exit 3; }
[ $# -ge 1 ] || die "usage: vmrun.sh BODIES_DIR|BODY.sh [EXTRA_FILE...]"
bodies_arg=$1; shift

QEMU=${OVNET_VM_QEMU:-qemu-system-x86_64}
DOCKER=${OVNET_VM_DOCKER:-0}
if [ "$DOCKER" = 1 ]; then MEM0=2048 BODY_TMO0=1500 TMO0=2100; else DOCKER=0 MEM0=1024 BODY_TMO0=600 TMO0=1500; fi
MEM=${OVNET_VM_MEM:-$MEM0}
CPUS=${OVNET_VM_CPUS:-1}
ACCEL=${OVNET_VM_ACCEL:-tcg}
TMO=${OVNET_VM_TIMEOUT:-$TMO0}
BODY_TMO=${OVNET_VM_BODY_TIMEOUT:-$BODY_TMO0}
# The Docker variant's files (Debian's docker.io; the client is /usr/bin/docker, never a /usr/local one).
DOCKER_FILES_DEFAULT="/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc
  /usr/bin/docker /usr/bin/docker-init /usr/sbin/docker-proxy /usr/sbin/xtables-nft-multi"

if [ -n "${OVNET_VM_KERNEL:-}" ]; then
  KIMG=$OVNET_VM_KERNEL
else
  KIMG=$(ls -1 /boot/vmlinuz-*cloud* 2>/dev/null | sort -V | tail -1)
fi
[ -n "$KIMG" ] && [ -r "$KIMG" ] || die "no readable kernel image (${KIMG:-/boot/vmlinuz-*cloud*})"
KVER=${KIMG##*/}; KVER=${KVER#vmlinuz-}
MODDIR=${OVNET_VM_MODULES:-/lib/modules/$KVER}
[ -d "$MODDIR/kernel" ] || die "no module directory $MODDIR"
command -v "$QEMU" >/dev/null || die "$QEMU not found"

bodies=()
if [ -d "$bodies_arg" ]; then
  for b in "$bodies_arg"/*.sh; do [ -f "$b" ] && bodies+=("$b"); done
elif [ -f "$bodies_arg" ]; then
  bodies=("$bodies_arg")
else
  die "no such bodies directory or file: $bodies_arg"
fi
[ ${#bodies[@]} -gt 0 ] || die "no bodies (*.sh) in $bodies_arg"

# Remove work directories of earlier runs that were SIGKILLed (e.g. by ctest's timeout): ours, owned by
# us, and whose recorded vmrun.sh process is gone.
for old in "${TMPDIR:-/tmp}"/ovnet-vm.*; do
  [ -d "$old" ] && [ -O "$old" ] && [ -f "$old/vmrun.pid" ] || continue
  op=$(cat "$old/vmrun.pid"); st=$(sed 's/.*) //' "/proc/$op/stat" 2>/dev/null | cut -c1)
  case "$st" in ""|Z|X) rm -rf "$old" ;; esac   # gone or a zombie
done
W=$(mktemp -d "${TMPDIR:-/tmp}/ovnet-vm.XXXXXX") || die "mktemp failed"
echo $$ > "$W/vmrun.pid"
qpid=
cleanup() {
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
  if [ -n "${OVNET_VM_KEEP:-}" ]; then echo "vmrun: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
R=$W/root
t0=$(date +%s.%N)

mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,run,etc,root,vm/bodies,lib/modules/"$KVER"}

# Kernel modules: the parts a network test can need (net, drivers/net, crypto, lib, arch) plus the indexes.
for d in arch crypto lib net drivers/net virt; do
  [ -d "$MODDIR/kernel/$d" ] || continue
  mkdir -p "$R/lib/modules/$KVER/kernel/$(dirname "$d")"
  cp -a "$MODDIR/kernel/$d" "$R/lib/modules/$KVER/kernel/$d"
done
cp -a "$MODDIR"/modules.* "$R/lib/modules/$KVER/" 2>/dev/null

STD_LIBDIRS=" /lib /lib64 /usr/lib /usr/lib64 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu "
extra_libdirs=
# copy FILE...: put each file at its resolved absolute path, with the shared libraries ldd finds.
copy() {
  local f r l d
  for f in "$@"; do
    r=$(readlink -f "$f") || { echo "vmrun: cannot resolve $f" >&2; return 1; }
    mkdir -p "$R$(dirname "$r")"; cp -L "$r" "$R$r" || return 1
    if ldd "$r" 2>/dev/null | grep -q 'not found'; then
      echo "vmrun: warning: unresolved libraries for $f:" >&2; ldd "$r" | grep 'not found' >&2
    fi
    for l in $(ldd "$r" 2>/dev/null | grep -o '/[^ ]*' || true); do
      [ -e "$R$l" ] && continue
      mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l" || return 1
      d=$(dirname "$l")
      case "$STD_LIBDIRS" in *" $d "*) ;; *)
        # A non-system library (e.g. the build tree's libovnet.so): also into /usr/local/lib, which is
        # on the guest's LD_LIBRARY_PATH, in case the RPATH is relative ($ORIGIN) or hidden by a mount.
        mkdir -p "$R/usr/local/lib"; [ -e "$R/usr/local/lib/${l##*/}" ] || cp -L "$l" "$R/usr/local/lib/" || return 1
        case ":$extra_libdirs:" in *":$d:"*) ;; *) extra_libdirs=${extra_libdirs:+$extra_libdirs:}$d;; esac;; esac
    done
  done
}

tools=(/bin/busybox /bin/bash /usr/bin/tail /usr/bin/timeout)
for t in ip bridge ss tc ipvsadm xtables-legacy-multi; do
  p=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v $t) || die "$t not found on the host"
  tools+=("$p")
done
p=$(command -v jq) && tools+=("$p")   # optional: bodies fall back to sed without it
copy "${tools[@]}" || die "copying tools failed"

# Real tools keep their names; iptables is the legacy flavour.
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore \
         iptables-legacy iptables-legacy-save iptables-legacy-restore; do
  ln -sf /usr/sbin/xtables-legacy-multi "$R/usr/sbin/$t"
done
[ -e "$R/usr/sbin/ip" ] || ln -sf /usr/bin/ip "$R/usr/sbin/ip"
[ -e "$R/usr/sbin/bridge" ] || ln -sf /usr/bin/bridge "$R/usr/sbin/bridge"
ln -sf /usr/bin/bash "$R/bin/bash"
ln -sf /usr/bin/busybox "$R/bin/busybox"
mkdir -p "$R/usr/lib/x86_64-linux-gnu"
cp -a /usr/lib/x86_64-linux-gnu/xtables "$R/usr/lib/x86_64-linux-gnu/" 2>/dev/null || true
# Every busybox applet whose name is not taken by a real tool goes to /bin.
for a in $(/bin/busybox --list); do
  [ -e "$R/usr/sbin/$a" ] || [ -e "$R/usr/bin/$a" ] || [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
# The kernel's request_module() (modprobe_path) and iptables-legacy's autoload use /sbin/modprobe.
ln -sf /bin/busybox "$R/sbin/modprobe"

if [ "$DOCKER" = 1 ]; then
  # Docker on Debian writes its rules through iptables-nft: ship it beside the legacy flavour under its
  # own names (a body puts an `iptables` -> xtables-nft-multi first on dockerd's PATH). Symbolic links
  # among the files (docker-init -> tini-static) keep their names.
  dfiles=(${OVNET_VM_DOCKER_FILES:-$DOCKER_FILES_DEFAULT})
  for f in "${dfiles[@]}"; do [ -e "$f" ] || die "$f not found on the host (the Docker variant needs docker.io: sudo scripts/setup.sh --test)"; done
  copy "${dfiles[@]}" || die "copying the Docker files failed"
  for f in "${dfiles[@]}"; do
    [ -L "$f" ] && [ ! -e "$R$f" ] && { mkdir -p "$R$(dirname "$f")"; ln -s "$(readlink -f "$f")" "$R$f"; }
  done
  if [ -e "$R/usr/sbin/xtables-nft-multi" ]; then
    for t in iptables-nft iptables-nft-save iptables-nft-restore ip6tables-nft ip6tables-nft-save ip6tables-nft-restore; do
      ln -sf /usr/sbin/xtables-nft-multi "$R/usr/sbin/$t"
    done
  fi
fi

for f in "$@"; do
  if [ ! -e "$f" ]; then echo "vmrun: warning: extra file $f does not exist, not copied" >&2; continue; fi
  copy "$f" || die "copying $f failed"
  # Debug info is not needed in the guest and makes the initramfs too big to unpack (7 static tools
  # with debug info: ~150 MB, "Initramfs unpacking failed").
  if head -c4 "$f" | grep -q ELF && command -v strip >/dev/null; then
    strip --strip-debug -o "$R/usr/local/bin/${f##*/}" "$f"
  else
    cp -L "$f" "$R/usr/local/bin/${f##*/}"
  fi && chmod +x "$R/usr/local/bin/${f##*/}"
  # copy() also put the unstripped file at its own path (for its libraries): only the stripped one runs.
  r=$(readlink -f "$f"); [ "$r" = "/usr/local/bin/${f##*/}" ] || rm -f "$R$r"
done
for b in "${bodies[@]}"; do cp "$b" "$R/vm/bodies/" || die "copying body $b failed"; done

runid=$(printf '%04x' $((RANDOM & 0xffff)))
cat > "$R/vm/config" <<EOF
BODY_TIMEOUT=$BODY_TMO
RUNID=$runid
EXTRA_LIBDIRS=$extra_libdirs
TEST_DOCKER_VM=${OVNET_TEST_DOCKER_VM:-}
EOF

cat > "$R/init" <<'INIT'
#!/bin/busybox sh
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs run /run   # /tmp stays on the initramfs: libraries of a build tree under /tmp live there
echo 1 4 1 7 > /proc/sys/kernel/printk   # keep kernel messages off the console
ip link set lo up
echo
/usr/bin/bash /vm/runner.sh < /dev/null 2>&1
echo "VM-RUN: runner exited rc=$?"
sync
poweroff -f
INIT

cat > "$R/vm/runner.sh" <<'RUNNER'
#!/bin/bash
# Guest side: run every /vm/bodies/*.sh, one after the other.
. /vm/config
[ -n "$EXTRA_LIBDIRS" ] && export LD_LIBRARY_PATH=/usr/local/lib:$EXTRA_LIBDIRS
[ -n "$TEST_DOCKER_VM" ] && export OVNET_TEST_DOCKER_VM=$TEST_DOCKER_VM
up() { cut -d' ' -f1 /proc/uptime; }
echo "VM-RUN: START kernel $(uname -r), $(nproc) cpu, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MB, up $(up)s"
n=0; fails=0
for t in /vm/bodies/*.sh; do
  name=${t##*/}; name=${name%.sh}; n=$((n+1))
  out=/tmp/vm-out.$name; work=/tmp/vm-work.$name; mkdir -p "$work"
  before=$(ip netns list 2>/dev/null | cut -d' ' -f1 | sort)
  s=$(up)
  echo "=== BEGIN $name"
  : > "$out"
  ( cd "$work" && export VM_TEST_NAME=$name VM_WORKDIR=$work VM_NS_PREFIX="ovt$RUNID-" \
      && exec /usr/bin/timeout -k 10 "$BODY_TIMEOUT" /usr/bin/bash "$t" ) > "$out" 2>&1 < /dev/null &
  bpid=$!
  /usr/bin/tail -s 0.2 -n +1 --pid=$bpid -f "$out" | sed "s/^/[$name] /"
  wait $bpid; rc=$?
  res=$(grep '^VM-RESULT:' "$out" | tail -1)
  res=${res#VM-RESULT: }
  verdict=${res%% *}; reason=
  [ "$verdict" = "$res" ] || reason=${res#* }
  case "$verdict" in
    PASS) ;;
    SKIP) ;;
    *) verdict=FAIL; reason=${res:+body said "$res"}; [ -n "$res" ] || reason="no VM-RESULT line" ;;
  esac
  if [ $rc = 124 ] || [ $rc = 137 ]; then verdict=FAIL; reason="timed out after ${BODY_TIMEOUT}s"; fi
  # Remove the namespaces this body created (and their processes); leave everything else alone.
  leaked=
  for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1 | sort); do
    printf '%s\n' "$before" | grep -qxF "$ns" && continue
    leaked="$leaked $ns"
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  done
  [ -n "$leaked" ] && echo "[$name] runner: removed leftover netns:$leaked"
  rm -rf "$work"
  [ $verdict = FAIL ] && fails=$((fails+1))
  d=$(awk -v s="$s" '{printf "%.1f", $1-s}' /proc/uptime)
  echo "TEST $name: $verdict (${reason:+$reason; }rc=$rc, ${d}s)"
done
echo "VM-RUN: DONE $n run, $fails failed, up $(up)s"
RUNNER
chmod +x "$R/init" "$R/vm/runner.sh"

(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$W/initrd.gz") || die "building the initramfs failed"
t1=$(date +%s.%N)
echo "vmrun: initramfs $(du -m "$W/initrd.gz" | cut -f1) MB built in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s; booting $KIMG (${CPUS} cpu, ${MEM} MB, accel $ACCEL, limit ${TMO}s)" >&2

: > "$W/console.raw"
timeout -k 10 "$TMO" "$QEMU" -accel "$ACCEL" -m "$MEM" -smp "$CPUS" -nographic -no-reboot -nic none \
    -kernel "$KIMG" -initrd "$W/initrd.gz" -append "console=ttyS0 quiet loglevel=1 panic=-1" \
    < /dev/null > "$W/console.raw" 2>&1 &
qpid=$!
# Stream the console while qemu runs (tail exits when qemu does). Waiting in the background keeps
# this script responsive to TERM/INT (the trap then stops qemu).
tail -s 0.2 -n +1 --pid=$qpid -f "$W/console.raw" | tr -d '\r' | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c()][0-9A-B]\{0,1\}//g' &
wait $qpid; qrc=$?; qpid=
wait
t2=$(date +%s.%N)
echo "vmrun: qemu exited rc=$qrc after $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')s (total $(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')s)" >&2
[ $qrc = 124 ] || [ $qrc = 137 ] && echo "vmrun: qemu hit the ${TMO}s limit" >&2

tr -d '\r' < "$W/console.raw" > "$W/console.txt"
# Repeat the verdicts from the complete console file (the live stream above is best effort).
echo "vmrun: summary:"; grep '^TEST [^ ]*: ' "$W/console.txt"
grep -q '^VM-RUN: DONE' "$W/console.txt" || { echo "vmrun: the VM run did not complete" >&2; exit 2; }
grep -q '^TEST [^ ]*: FAIL' "$W/console.txt" && exit 1
exit 0
