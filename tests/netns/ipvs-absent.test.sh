#!/bin/bash
# ipvs-absent: on a kernel without IPVS (this machine's), every ovnet-ipvs command that needs the
# kernel says so in one line, with how to load it, and exits 1; bad input still exits 2 first.
# Skips where the kernel does have IPVS (the VM bodies test that case).
. "$(dirname "$0")/lib.sh"
command -v ovnet-ipvs >/dev/null || { echo "ovnet-ipvs not built"; exit 1; }
N=$(ns a)
ovnet-sbox -q add "$N" >/dev/null || { echo "cannot create $N"; exit 1; }
run ovnet-ipvs -n "$N" show
if [ $RC = 0 ] || ! grep -q 'no IPVS' <<<"$ERR"; then skip "this kernel has IPVS (show exited $RC)"; fi
# After show, -t is the global --table (not ipvsadm's -t ADDR:PORT): IPVS's absence, not a usage error.
for cmd in "show" "show -t" "show --tcp-service 10.0.0.1:80" "add -f 258 -s rr" "del -f 258" "apply --prune" "zero" "flush" "timeout"; do
  run ovnet-ipvs -n "$N" $cmd </dev/null
  if [ $RC = 1 ] && [ "$ERR" = "ovnet-ipvs: the kernel has no IPVS (modprobe ip_vs)" ]; then pass "$cmd: exit 1, one line"
  else fail "$cmd: rc=$RC err=$ERR"; fi
done
run ovnet-ipvs -n "$N" add -f 258 -s nosuch
[ $RC = 2 ] && pass "bad input still exit 2 ($ERR)" || fail "bad input: rc=$RC $ERR"
echo "ipvs-absent: $PASSED passed, $FAILED failed"
[ $FAILED = 0 ]
