#!/bin/bash
# netns-safety: a -n name never acts through a symbolic link or on something that is not a network
# namespace; -n '' is bad input (not "the caller's namespace"); ovnet-sbox del removes a stale
# /run/netns entry as ip netns del does; without a capability the tools say which one is missing.
. "$(dirname "$0")/lib.sh"

A=$(ns a) B=$(ns b)
LINK=$(ns link) STALE=$(ns stale)
BR=ov-001001-7672d
mkns "$A" && mkns "$B" || { echo "cannot create the namespaces"; exit 1; }
ovnet-bridge -q -n "$A" add "$BR" >/dev/null || { echo "setup of $A failed"; exit 1; }
# Every entry this test makes in /run/netns carries $P, so the EXIT trap removes it too.
ln -s "/run/netns/$A" "/run/netns/$LINK"
rm_extra() { rm -f "/run/netns/$LINK" "/run/netns/$STALE"; }
trap 'rm_extra; _cleanup' EXIT

# --- a symbolic link under /run/netns -------------------------------------------------------
snapshot "$A" >"$TMP/a.snap"
expect_rc 2 "sbox del LINK: exit 2" ovnet-sbox del "$LINK"
assert_one_line "$ERR" "sbox del LINK: one line"
assert_contains "$ERR" "symbolic link" "sbox del LINK: says it is a link"
assert_contains "$ERR" "netns" "sbox del LINK: names netns"
if mountpoint -q "/run/netns/$A"; then pass "sbox del LINK: the target is still mounted"
else fail "sbox del LINK: the target namespace was unmounted"; fi
expect_rc 0 "sbox del LINK: the target is still usable" ovnet-bridge -n "$A" -j show "$BR"
[ -L "/run/netns/$LINK" ] && pass "sbox del LINK: the link itself is left alone" || fail "sbox del LINK: the link was removed"
expect_bad_input "bridge -n LINK add" "$A" netns "$LINK" "symbolic link" -- ovnet-bridge -n "$LINK" add ov-001002-7672d
unchanged_since "$TMP/a.snap" "$A" "the target namespace is exactly as before"
expect_rc 2 "bridge -n /run/netns/LINK (a path) show: exit 2" ovnet-bridge -n "/run/netns/$LINK" -j show
assert_contains "$ERR" "symbolic link" "bridge -n /run/netns/LINK: says it is a link"

# --- files that are not network namespaces ---------------------------------------------------
echo "not a namespace" >"$TMP/plain"
for f in /etc/passwd "$TMP/plain" /proc/self/ns/uts; do
  expect_rc 2 "bridge -n $f show: exit 2" ovnet-bridge -n "$f" show
  assert_one_line "$ERR" "bridge -n $f show: one line"
  assert_contains "$ERR" "not a network namespace" "bridge -n $f show: says why"
  assert_contains "$ERR" "netns" "bridge -n $f show: names netns"
done
expect_rc 2 "bridge -n /etc/passwd add: exit 2" ip netns exec "$B" ovnet-bridge -n /etc/passwd add ov-001002-7672d
assert_contains "$ERR" "not a network namespace" "bridge -n /etc/passwd add: says why"

# --- -n '' ----------------------------------------------------------------------------------
for tool in ovnet-bridge ovnet-vtep ovnet-fdb ovnet-sbox ovnet-ipvs ovnet-lb ovnet-publish; do
  expect_rc 2 "$tool -n '' show: exit 2" "$tool" -n '' show
  assert_one_line "$ERR" "$tool -n '': one line"
  assert_contains "$ERR" "netns" "$tool -n '': names netns"
done
# Run from inside $B, so that the code before this fix (which took -n '' as "the caller's
# namespace") would have added the bridge there, never in the root namespace.
expect_rc 2 "bridge add -n '' (after the verb): exit 2" ip netns exec "$B" ovnet-bridge add ov-001002-7672d -n ''
ip -n "$B" link show ov-001002-7672d >/dev/null 2>&1 && fail "-n '' created a bridge in the caller's namespace" ||
  pass "-n '' created nothing in the caller's namespace"

# --- a stale entry ----------------------------------------------------------------------------
: >"/run/netns/$STALE"
expect_rc 2 "bridge -n STALE show: exit 2" ovnet-bridge -n "$STALE" show
assert_contains "$ERR" "not a network namespace" "bridge -n STALE: says why"
expect_rc 0 "sbox del STALE: exit 0" ovnet-sbox -j del "$STALE"
assert_contains "$OUT$ERR" "$STALE" "sbox del STALE: reports the sandbox"
assert_contains "$OUT$ERR" "removed" "sbox del STALE: reports it removed"
[ -e "/run/netns/$STALE" ] && fail "sbox del STALE: the entry is still there" || pass "sbox del STALE: the entry is gone"
expect_rc 0 "sbox del STALE again: exit 0" ovnet-sbox del "$STALE"
assert_contains "$OUT$ERR" "no such sandbox" "sbox del STALE again: nothing to do"

# --- missing capabilities ---------------------------------------------------------------------
if command -v setpriv >/dev/null && setpriv --inh-caps=-all --bounding-set=-all --no-new-privs true 2>/dev/null; then
  nocaps() { setpriv --inh-caps=-all --bounding-set=-all --no-new-privs "$@"; }
  expect_rc 1 "no caps: bridge -n NS show: exit 1" nocaps ovnet-bridge -n "$A" show
  assert_one_line "$ERR" "no caps: bridge -n NS show: one line"
  assert_contains "$ERR" "entering namespace $A needs CAP_SYS_ADMIN" "no caps: bridge -n NS show: names CAP_SYS_ADMIN"
  # In a namespace of its own (entered with ip netns exec before the caps go), so nothing could
  # land in the caller's namespace even if the refusal failed.
  expect_rc 1 "no caps: bridge add: exit 1" ip netns exec "$B" setpriv --inh-caps=-all --bounding-set=-all \
    --no-new-privs ovnet-bridge add ov-001002-7672d
  assert_one_line "$ERR" "no caps: bridge add: one line"
  assert_contains "$ERR" "needs CAP_NET_ADMIN" "no caps: bridge add: names CAP_NET_ADMIN"
  # A batched write (ovnet-fdb) says the same.
  ovnet-bridge -q -n "$B" add "$BR" >/dev/null &&
    ovnet-vtep -q -n "$B" add vx-001001-7672d --vni 4097 --local 192.0.2.11 --master "$BR" >/dev/null ||
    fail "setup of the VTEP in $B"
  expect_rc 1 "no caps: fdb add: exit 1" ip netns exec "$B" setpriv --inh-caps=-all --bounding-set=-all \
    --no-new-privs ovnet-fdb add --ip 10.0.0.3 --vtep 192.0.2.12
  assert_one_line "$ERR" "no caps: fdb add: one line"
  assert_contains "$ERR" "needs CAP_NET_ADMIN" "no caps: fdb add: names CAP_NET_ADMIN"
  run nocaps ovnet-sbox -j show
  if [ "$RC" = 0 ] && [ "$OUT" = "[]" ]; then fail "no caps: sbox show printed [] and exit 0"
  else pass "no caps: sbox show does not claim there are no sandboxes"; fi
  assert_eq "$RC" 1 "no caps: sbox show: exit 1"
  assert_contains "$ERR" "needs CAP_SYS_ADMIN" "no caps: sbox show: names CAP_SYS_ADMIN"
  expect_rc 1 "no caps: sbox del NS: exit 1" nocaps ovnet-sbox del "$A"
  assert_contains "$ERR" "CAP_SYS_ADMIN" "no caps: sbox del NS: names CAP_SYS_ADMIN"
  mountpoint -q "/run/netns/$A" && pass "no caps: sbox del NS left the namespace" || fail "no caps: sbox del NS removed it"
else
  echo "# setpriv cannot drop capabilities here: privilege checks skipped"
fi

done_testing
