#!/bin/bash
# concurrency: mutating verbs on one namespace serialize on its NetnsLock. Eight concurrent
# `ovnet-fdb apply --prune` of different sets on one VTEP all exit 0, run one after the other
# (each one's report shows it started from exactly the set of the one before it), and the VTEP ends
# with exactly the set of the last, every fdb entry with its neighbor; two identical
# `ovnet-sbox connect` at once both exit 0 and make one veth pair.
. "$(dirname "$0")/lib.sh"
export OVNET_STATE_DIR="$TMP/state"   # this run's lock files, not /run/ovnet's

BR=ov-001001-7672d VX=vx-001001-7672d
A=$(ns a)
ovnet-sbox -q add "$A" >/dev/null &&
  ovnet-bridge -q -n "$A" add "$BR" --mtu 1450 -j | ovnet-vtep -q -n "$A" add --vni 4097 --local 192.0.2.11 >/dev/null ||
  { echo "setup of $A failed"; exit 1; }

# set K (10..39): 200 common peers and 20 of its own (MACs 02:42:0a:K:00:..), so that the peers an
# apply removes name the set that was there before it. Round R applies sets R1..R8.
mkset() {
  local k=$1 i
  for i in $(seq 1 200); do
    printf '{"ip": "10.1.%d.%d", "mac": "02:42:0a:01:%02x:%02x", "vtep": "192.0.2.%d"}\n' $((i / 250)) $((i % 250 + 1)) $((i / 250)) $((i % 250 + 1)) $((101 + i % 5))
  done
  for i in $(seq 1 20); do
    printf '{"ip": "10.2.%d.%d", "mac": "02:42:0a:%02d:00:%02x", "vtep": "192.0.2.%d"}\n' "$k" "$i" "$k" "$i" $((101 + k % 50))
  done
}
for r in 1 2 3; do for k in 0 1 2 3 4 5 6 7 8; do mkset "$r$k" >"$TMP/set$r$k.json"; done; done
ovnet-fdb -q -n "$A" apply <"$TMP/set10.json" >/dev/null || { echo "setup: apply of set 0 failed"; exit 1; }
peers() { ovnet-fdb -n "$A" show -j | jq -c 'map(select(.status == "peer") | {ip, mac, vtep}) | sort_by(.mac)'; }

echo "# 8 concurrent apply --prune of different sets on one VTEP"
start_set=10
for round in 1 2 3; do
  pids=()
  for k in 1 2 3 4 5 6 7 8; do
    ( ovnet-fdb -n "$A" apply --prune <"$TMP/set$round$k.json" >"$TMP/out$k" 2>"$TMP/err$k"; echo $? >"$TMP/rc$k" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  bad=""
  for k in 1 2 3 4 5 6 7 8; do [ "$(cat "$TMP/rc$k")" = 0 ] || bad+=" $k:rc=$(cat "$TMP/rc$k"):$(cat "$TMP/err$k")"; done
  assert_eq "$bad" "" "round $round: all 8 appliers exit 0"
  # Each applier removed the 20 own peers of the set before it (its predecessor): with the lock
  # they ran one after the other, so the predecessors form one chain from the set before the round.
  declare -A pred=()
  for k in 1 2 3 4 5 6 7 8; do
    pred[$k]=$(jq -r '[.changes[] | select(.action == "removed") | .mac | select(startswith("02:42:0a:01:") | not) | .[9:11]]
                      | unique | join(",")' "$TMP/out$k" 2>/dev/null)
  done
  chain_ok=yes cur=$start_set seen=0
  while [ "$seen" -lt 9 ]; do
    next=""
    for k in 1 2 3 4 5 6 7 8; do [ "${pred[$k]}" = "$cur" ] && next+=" $round$k"; done
    [ -z "$next" ] && break
    [ ${#next} = 3 ] || { chain_ok="no: set $cur followed by$next"; break; }
    cur=${next# } seen=$((seen + 1))
  done
  [ "$seen" = 8 ] || [ "$chain_ok" != yes ] || chain_ok="no: a chain of $seen ($(declare -p pred))"
  assert_eq "$chain_ok" yes "round $round: each apply started from the set of the one before it (one chain of 8)"
  if [ "$(peers)" = "$(jq -sc 'sort_by(.mac)' "$TMP/set$cur.json")" ]; then pass "round $round: the VTEP holds exactly the set of the last (set $cur)"
  else fail "round $round: the VTEP does not hold set $cur: $(diff <(peers | jq -c '.[]') <(jq -sc 'sort_by(.mac)[]' "$TMP/set$cur.json") | head -5)"; fi
  assert_eq "$(ovnet-fdb -n "$A" show -j | jq -c 'map(select(.status != "peer" and .status != "local" and .status != "learned") | .status) | unique')" \
    '[]' "round $round: no fdb entry without its neighbor, no neighbor without its fdb entry"
  start_set=$cur
  unset pred
done

echo "# 2 identical ovnet-sbox connect at once"
H=$(ns h)
ovnet-sbox -q add "$H" >/dev/null && ovnet-bridge -q -n "$H" add br0 >/dev/null || { echo "setup of $H failed"; exit 1; }
for round in 1 2 3 4; do
  S=$(ns "s$round")
  for k in 1 2; do
    ( ovnet-sbox -n "$H" connect "$S" --bridge br0 --ip "10.9.0.$((round + 1))/24" >"$TMP/sout$k" 2>"$TMP/serr$k"; echo $? >"$TMP/src$k" ) &
  done
  wait
  assert_eq "$(cat "$TMP/src1") $(cat "$TMP/src2")" "0 0" "round $round: both connects exit 0 ($(cat "$TMP/serr1" "$TMP/serr2" | tr '\n' ' '))"
  assert_eq "$(ip -n "$H" -j link show master br0 type veth | jq length)" "$round" "round $round: one more veth on br0 ($round in all)"
  assert_eq "$(ip -n "$S" -j link show type veth | jq length)" 1 "round $round: one veth in the sandbox"
  assert_eq "$(cat "$TMP/serr1" "$TMP/serr2" | grep -c 'nothing changed')" 1 "round $round: the second saw the first's result (nothing changed)"
done

echo "# the lock itself: named by the namespace file's device and inode; show never waits for it"
LOCK="$OVNET_STATE_DIR/netns-$(stat -L -c '%d-%i' "/run/netns/$A").lock"
assert_eq "$(ls "$OVNET_STATE_DIR" | grep -c '^netns-.*\.lock$')" 0 "no lock file left behind by the runs above (each holder removes its own)"
exec 9>>"$LOCK"
flock 9                                   # this shell holds $A's lock now (the file ovnet would lock)
run ovnet-fdb -n "$A" show 9<&-
assert_eq "$RC" 0 "show while the lock is held: exit 0 (read-only verbs never lock)"
ovnet-fdb -q -n "$A" add --ip 10.3.0.1 --vtep 192.0.2.99 9<&- >/dev/null 2>&1 &
adder=$!
for i in $(seq 100); do [ -d "/proc/$adder" ] && grep -q "^State:.*S" "/proc/$adder/status" 2>/dev/null && break; sleep 0.05; done
assert_eq "$(ovnet-fdb -n "$A" show -j 9<&- | jq 'map(select(.ip == "10.3.0.1")) | length')" 0 "add while the lock is held: not done yet"
exec 9<&-                                 # release
wait "$adder"
assert_eq "$?" 0 "add after the lock is released: exit 0"
assert_eq "$(ovnet-fdb -n "$A" show -j | jq -c 'map(select(.ip == "10.3.0.1") | .status)')" '["peer"]' "add after the lock is released: done"
assert_eq "$([ -e "$LOCK" ] && echo left || echo removed)" removed "the add removed the lock file when it was done"

echo "concurrency: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
