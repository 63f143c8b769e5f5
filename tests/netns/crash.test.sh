#!/bin/bash
# Crash consistency of ovnet-fdb apply (issue 8, item 5): a 100,000-peer apply killed with SIGKILL at
# random points leaves every peer whole (its fdb entry and its neighbor together) or untouched, never
# one half; the next apply converges. The kill points are random on purpose: the property must hold
# wherever the kill lands (before the first write, between batches, after the last), so the test
# never depends on timing. Each round switches between two sets that differ in VTEPs, membership and
# size, with --prune, so adds, replaces and prunes are all interrupted.
. "$(dirname "$0")/lib.sh"

BR=ov-001001-7672d VX=vx-001001-7672d
H=$(ns h)
N=${OVNET_CRASH_PEERS:-100000}
ROUNDS=${OVNET_CRASH_ROUNDS:-6}

ovnet-sbox -q add "$H" >/dev/null &&
  ovnet-bridge -q -n "$H" add "$BR" --mtu 1450 -j | ovnet-vtep -q -n "$H" add --vni 4097 --local 192.0.2.11 >/dev/null ||
  { fail "setup"; exit 1; }

# set FIRST COUNT VTEP_BASE: COUNT peers from index FIRST (10.x.y.z / 02:42:<ip>).
gen_set() {
  awk -v first="$1" -v n="$2" -v vb="$3" 'BEGIN {
    for (i = first; i < first + n; i++) {
      a = 10; b = int(i / 65536) % 256 + 1; c = int(i / 256) % 256; d = i % 256
      printf "{\"ip\":\"%d.%d.%d.%d\",\"mac\":\"02:42:%02x:%02x:%02x:%02x\",\"vtep\":\"192.0.2.%d\"}\n", a, b, c, d, a, b, c, d, vb + i % 7
    }
  }'
}
gen_set 0 "$N" 20 >"$TMP/a.json"
gen_set $((N / 4)) "$N" 40 >"$TMP/b.json"       # a quarter new, three quarters shared with new VTEPs

# halves: rows of the joined view that are one half of a peer (fdb-only / neigh-only).
halves() { ovnet-fdb -n "$H" show -d "$VX" -j | jq '[.[] | select(.status == "fdb-only" or .status == "neigh-only")] | length'; }

for r in $(seq 1 "$ROUNDS"); do
  set_file=$TMP/a.json; [ $((r % 2)) = 0 ] && set_file=$TMP/b.json
  ovnet-fdb -q -n "$H" apply -d "$VX" --prune <"$set_file" >/dev/null 2>"$TMP/err.$r" &
  pid=$!
  # A random point: somewhere from the start (reading the set) to well past the writes.
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  h=$(halves)
  assert_eq "$h" 0 "round $r (exit $rc after a kill at a random point): no half peer left"
  # The next apply converges to the set, and a third finds nothing to do.
  expect_rc 0 "round $r: apply after the kill converges" ovnet-fdb -n "$H" apply -d "$VX" --prune -j <"$set_file"
  run ovnet-fdb -n "$H" apply -d "$VX" --prune -j <"$set_file"
  assert_eq "$(echo "$OUT" | jq -c '.summary | [.added, .replaced, .removed, .writes]')" '[0,0,0,0]' \
    "round $r: applied again, nothing left to do"
done
want=$(jq -s 'length' "$TMP/b.json")
[ $((ROUNDS % 2)) = 1 ] && want=$(jq -s 'length' "$TMP/a.json")
assert_eq "$(ovnet-fdb -n "$H" show -d "$VX" -j | jq '[.[] | select(.status == "peer")] | length')" "$want" \
  "the table holds exactly the last set's peers"

echo "crash: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
