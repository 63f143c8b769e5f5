#!/usr/bin/env bash
# ovnet-lab tour on a terminal (tmux): one step at a time, Enter for the next, q quits.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "needs tmux"
T="$P-tmux"
trap 'tmux -L "$T" kill-server >/dev/null 2>&1; ovnet-lab --prefix "$P" down >/dev/null 2>&1; _cleanup' EXIT
expect_rc 0 "up" ovnet-lab --prefix "$P" up

pane() { tmux -L "$T" capture-pane -p -J -S - -t lab; }
# wait_for TEXT: until the pane shows TEXT (the tour waits for Enter there), at most 30 s.
wait_for() {
  local i
  for i in $(seq 300); do
    pane | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  return 1
}
# wait_n TEXT N: until the pane shows TEXT N times.
wait_n() {
  local i
  for i in $(seq 300); do
    [ "$(pane | grep -cF -- "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
tmux -L "$T" new-session -d -s lab -x 200 -y 50 \
  "'$OVNET_BIN/ovnet-lab' --prefix '$P' tour; echo TOUR-END \$?; sleep 600"
if wait_for "-- Enter: next step, q: quit --"; then pass "the tour pauses after step 1"; else fail "no pause: $(pane)"; fi
out=$(pane)
assert_contains "$out" "==== Step 1/" "step 1 is shown"
assert_not_contains "$out" "==== Step 2/" "step 2 is not shown before Enter"
tmux -L "$T" send-keys -t lab Enter
if wait_for "==== Step 2/"; then pass "Enter shows step 2"; else fail "no step 2: $(pane)"; fi
wait_n "-- Enter: next step, q: quit --" 2
out=$(pane)
assert_eq "$(printf '%s\n' "$out" | grep -c -- '-- Enter: next step, q: quit --')" 2 "it pauses again after step 2"
assert_not_contains "$out" "==== Step 3/" "step 3 is not shown before Enter"
tmux -L "$T" send-keys -t lab q Enter
if wait_for "TOUR-END 0"; then pass "q quits the tour (exit 0)"; else fail "q did not quit: $(pane)"; fi
assert_not_contains "$(pane)" "==== Step 3/" "nothing after q"
echo "passed $PASSED, failed $FAILED"
[ "$FAILED" = 0 ]
