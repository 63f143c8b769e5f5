#!/usr/bin/env bash
# ovnet-lab break, capture, graph: on a lab of this run's prefix, every scenario this kernel
# supports: its check passes before, `break` prints the fix, the check fails naming the problem
# (and ovnet-audit over the lab's nodes agrees), the printed fix applied, the check passes again
# (and the audit is clean of it). Scenarios needing IPVS or ESP say they need the VM (break: exit
# 1; check: skipped, 77).
# Capture on swarm-01's underlay during a ping between tasks on two nodes sees VXLAN VNI 4098 with
# the inner addresses; graph's DOT (and with a trace drawn over it) is accepted by dot.
. "$(dirname "$0")/lib.sh"
command -v ovnet-lab >/dev/null || skip "ovnet-lab not built"
command -v jq >/dev/null || skip "needs jq"

LAB() { ovnet-lab --prefix "$P" "$@"; }
trap 'ovnet-lab --prefix "$P" down >/dev/null 2>&1; _cleanup' EXIT

# audit_lab: ovnet-audit over one snapshot per node of the lab (each node's host namespace and its
# sandboxes "$P-NODE-*"), cut from one ovnet-inspect of the machine.
audit_lab() {
  ovnet-inspect >"$TMP/machine.json" 2>"$TMP/inspect.err" || { echo "inspect failed: $(cat "$TMP/inspect.err")" >&2; return 1; }
  local n
  for n in swarm-01 swarm-02 swarm-03; do
    jq -c --arg h "$P-$n" '{schema, host: $h, time, netns: (.netns | with_entries(select(.key == $h or (.key | startswith($h + "-"))))),
                            networks: [.networks[] | select(.netns == $h)]}' "$TMP/machine.json"
  done | ovnet-audit -j
}
# audit_codes: the codes of the lab's audit findings, space separated.
audit_codes() { audit_lab | jq -r '[.findings[].code] | unique | join(" ")'; }

expect_rc 0 "up" LAB up
[ "$RC" = 0 ] || exit 1

# ---- break --list
expect_rc 0 "break --list" LAB break --list
assert_eq "$(jq -r '[.[].name] | join(" ")' <<<"$OUT")" "fdb-half-entry learned-shadow no-dnat departed-peer mtu-mismatch esp-blocked" "six scenarios"
assert_eq "$(jq -r '.[] | select(.name=="fdb-half-entry") | .issue' <<<"$OUT")" "moby/moby#52661" "fdb-half-entry names its issue"
SCEN=$OUT
expect_rc 0 "break --list -t" LAB break --list -t
assert_contains "$OUT" "moby/moby#31588" "the table names the issues"
expect_rc 2 "an unknown scenario: exit 2" LAB break nope
assert_one_line "$ERR" "unknown scenario: one line"
assert_contains "$ERR" "fdb-half-entry" "unknown scenario: the message names the scenarios"
expect_rc 2 "check of an unknown name: exit 2" LAB check no-such-scenario

BASE=$(audit_codes)
for s in $(jq -r '.[].name' <<<"$SCEN"); do
  needs=$(jq -r --arg s "$s" '.[] | select(.name==$s) | .needs // ""' <<<"$SCEN")
  codes=$(jq -r --arg s "$s" '.[] | select(.name==$s) | .codes | join(" ")' <<<"$SCEN")
  run LAB break "$s"
  if [ -n "$needs" ] && [ "$RC" = 1 ] && [[ "$ERR" == *"needs the"*VM* ]]; then
    pass "$s: this kernel lacks $needs: break says it needs the VM"
    assert_one_line "$ERR" "$s: one line"
    run LAB check "$s"
    assert_eq "$RC" 77 "$s: check is skipped here (77)"
    assert_contains "$(jq -r '.checks[0].message' <<<"$OUT")" "VM" "$s: the skipped check says it needs the VM"
    continue
  fi
  assert_eq "$RC" 0 "$s: break (stderr: $ERR)"
  [ "$RC" = 0 ] || continue
  BRK=$OUT
  mapfile -t FIX < <(jq -r '.fix[]' <<<"$BRK")
  [ "${#FIX[@]}" -gt 0 ] && pass "$s: break prints a fix" || fail "$s: no fix in: $BRK"
  [ -f "/run/ovnet/lab-$P/break-$s.json" ] && pass "$s: recorded in the state dir" || fail "$s: no record"
  expect_rc 1 "$s: check fails after break" LAB check "$s"
  code=$(jq -r '.checks[0].message | split(" ")[0]' <<<"$OUT")
  assert_contains " $codes " " $code " "$s: the check names the problem ($code)"
  [ -n "$(jq -r '.checks[0].hint // empty' <<<"$OUT")" ] && pass "$s: the failed check gives a hint" || fail "$s: no hint"
  run LAB check "$s" -t
  assert_contains "$OUT" "$code" "$s: check on a terminal prints the finding"
  expect_rc 2 "$s: breaking it twice is refused" LAB break "$s"
  if [[ "$code" != DNAT_MISSING && "$code" != ESP_BLOCKED ]]; then
    AFTER=$(audit_codes)
    assert_contains " $AFTER " " $code " "$s: ovnet-audit agrees ($code)"
  fi
  # The documented fix, as printed (with this run's prefix).
  for c in "${FIX[@]}"; do
    [[ "$c" == \#* ]] && continue
    bash -o pipefail -c "$c" >"$TMP/fix.out" 2>&1 || fail "$s: fix \"$c\" failed: $(cat "$TMP/fix.out")"
  done
  expect_rc 0 "$s: check passes after the documented fix" LAB check "$s"
  [ ! -f "/run/ovnet/lab-$P/break-$s.json" ] && pass "$s: the record is gone" || fail "$s: record left"
  assert_eq "$(audit_codes)" "$BASE" "$s: ovnet-audit is back to the lab's baseline"
done
expect_rc 0 "every check passes on the fixed lab" LAB check fdb-half-entry

# ---- capture: VXLAN on swarm-01's underlay while redis.2 (swarm-01) pings redis.1 (swarm-02)
expect_rc 2 "capture of an unknown hop: exit 2" LAB capture swarm-09/eth0
assert_contains "$ERR" "swarm-01" "the unknown hop's message names the nodes"
expect_rc 2 "capture of a task on the wrong node: exit 2" LAB capture swarm-01/redis.1:eth0
assert_contains "$ERR" "runs on swarm-02" "the wrong node's message says where the task runs"
LAB capture swarm-01/eth0 --vxlan -c 2 --timeout 20 >"$TMP/cap.out" 2>"$TMP/cap.err" &
CAP=$!
for _ in $(seq 200); do grep -q "listening on" "$TMP/cap.err" && break; sleep 0.05; done
grep -q "listening on" "$TMP/cap.err" && pass "capture: listening" || fail "capture did not start: $(cat "$TMP/cap.err")"
ip netns exec "$P-swarm-01-redis.2" ping -c 3 -i 0.2 -W 2 10.0.0.6 >/dev/null 2>&1 || fail "ping redis.2 -> redis.1 failed"
wait "$CAP"
assert_eq "$?" 0 "capture: exit 0"
assert_contains "$(cat "$TMP/cap.err")" "underlay eth0" "capture says which hop it is"
assert_contains "$(jq -r '.vxlan.vni' "$TMP/cap.out" | sort -u | tr '\n' ' ')" "4098" "capture: VXLAN VNI 4098"
INNER=$(jq -r '.inner.ip.src + ">" + .inner.ip.dst' "$TMP/cap.out" | sort -u | tr '\n' ' ')
assert_contains "$INNER" "10.0.0.7>10.0.0.6" "capture: the inner addresses (redis.2 -> redis.1)"

# ---- graph
expect_rc 0 "graph" LAB graph
printf '%s\n' "$OUT" >"$TMP/lab.dot"
assert_contains "$OUT" "cluster_$P-swarm-02-redis.1" "graph: a task's sandbox is a sub-cluster"
assert_contains "$OUT" "VNI 4098" "graph: the overlays by VNI"
if command -v dot >/dev/null; then
  dot -Tsvg "$TMP/lab.dot" >"$TMP/lab.svg" 2>"$TMP/dot.err" && pass "dot accepts the graph" || fail "dot: $(cat "$TMP/dot.err")"
  expect_rc 0 "graph -o x.svg" LAB graph -o "$TMP/x.svg"
  grep -q "<svg" "$TMP/x.svg" && pass "graph -o x.svg is an SVG" || fail "no SVG in $TMP/x.svg"
  run ovnet-trace --netns-prefix "$P-" --from "$P-swarm-01-redis.2" icmp 10.0.0.6 -j
  if jq -e '.schema == "ovnet-trace/1"' <<<"$OUT" >/dev/null 2>&1; then
    printf '%s\n' "$OUT" >"$TMP/trace.json"
    expect_rc 0 "graph --trace" LAB graph --trace "$TMP/trace.json" -o "$TMP/journey.dot"
    grep -q "penwidth" "$TMP/journey.dot" && pass "graph --trace draws the journey" || fail "no journey in $TMP/journey.dot"
    dot -Tsvg "$TMP/journey.dot" >/dev/null 2>"$TMP/dot.err" && pass "dot accepts the journey" || fail "dot: $(cat "$TMP/dot.err")"
  else
    fail "ovnet-trace gave no trace: $ERR"
  fi
fi
expect_rc 2 "graph --trace of a file that is no trace: exit 2" LAB graph --trace "$TMP/lab.dot"

# A break left unfixed: down removes its record with the rest of the state.
expect_rc 0 "break departed-peer (left unfixed)" LAB break departed-peer
expect_rc 0 "down" LAB down
[ -e "/run/ovnet/lab-$P" ] && fail "down left /run/ovnet/lab-$P: $(ls "/run/ovnet/lab-$P")" || pass "down removed the state dir, break records included"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
