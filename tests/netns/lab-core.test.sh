#!/usr/bin/env bash
# ovnet-lab's core: up (the deep dive, what this kernel supports), status, a second up that
# changes nothing, traffic across VXLAN between nodes, the responders, scale redis=5, down, down
# after an up killed halfway, and a bad topology refused before anything is made.
. "$(dirname "$0")/lib.sh"
command -v ovnet-lab >/dev/null || skip "ovnet-lab not built"
command -v jq >/dev/null || skip "needs jq"

LAB() { ovnet-lab --prefix "$P" "$@"; }
trap 'ovnet-lab --prefix "$P" down >/dev/null 2>&1; ovnet-lab --prefix "${P}k" down >/dev/null 2>&1; _cleanup' EXIT
STATE=${OVNET_STATE_DIR:-/run/ovnet}

lab_namespaces() { ls /run/netns 2>/dev/null | grep "^$1-" | sort; }
lab_processes() {  # processes in any namespace of prefix $1
  local n
  for n in $(lab_namespaces "$1"); do ip netns pids "$n" 2>/dev/null; done
}

# ---- no lab yet
expect_rc 1 "status without a lab exits 1" LAB status
assert_contains "$ERR" "no lab with prefix $P" "status says there is no lab"

# ---- bad topology: exit 2, one line, nothing created
printf 'name: bad\nunderlay: 192.0.2.0/24\nnodes: [swarm-01, swarm-01]\ngwbridge: 172.18.0.0/16\ningress: {name: ingress, id: lpq3tzoevynhq1sd5jr4k7h2x, vni: 4096, subnet: 10.255.0.0/16}\n' >"$TMP/bad.yaml"
expect_rc 2 "a topology naming a node twice is refused" LAB --topology "$TMP/bad.yaml" up
assert_one_line "$ERR" "the refusal is one line"
assert_contains "$ERR" "swarm-01" "the refusal names the value"
assert_eq "$(lab_namespaces "$P")" "" "nothing was created for the bad topology"
[ ! -e "$STATE/lab-$P" ] && pass "no state dir for the bad topology" || fail "state dir made for the bad topology"
printf 'name: bad\nnodes: [a, b\n' >"$TMP/bad2.yaml"
expect_rc 2 "malformed YAML is refused" LAB --topology "$TMP/bad2.yaml" up
assert_contains "$ERR" "bad2.yaml: line" "the YAML error names the file and line"

# ---- up
expect_rc 0 "up" LAB up
UP=$OUT
assert_eq "$(jq -r '.prefix' <<<"$UP")" "$P" "the report names the prefix"
[ "$(jq '.summary.added' <<<"$UP")" -gt 50 ] && pass "up added the lab" || fail "up added: $(jq -c .summary <<<"$UP")"
[ -f "$STATE/lab-$P/plan.json" ] && pass "the plan is recorded" || fail "no plan.json"
assert_eq "$(lab_namespaces "$P" | wc -l)" "12" "12 namespaces (underlay, 3 nodes, 3 ingress_sbox, 5 tasks)"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
  expect_rc 0 "the recorded plan is valid against schema/lab-plan.schema.json" \
    /usr/bin/python3 "$OVNET_SRC/tests/schema/validate.py" "$OVNET_SRC/schema" lab-plan "$STATE/lab-$P/plan.json"
fi
if [ ! -e /proc/net/ip_vs ]; then
  assert_contains "$(jq -r '.skipped[]' <<<"$UP")" "IPVS" "up says IPVS was skipped"
fi
L=$(ip -n "$P-swarm-01" -d -j link show)
assert_eq "$(jq -r '.[] | select(.ifname=="vx-001000-lpq3t") | .linkinfo.info_data.id' <<<"$L")" "4096" "ingress VTEP VNI 4096"
assert_eq "$(jq -r '.[] | select(.ifname=="ov-001002-7672d") | .mtu' <<<"$L")" "1424" "vote bridge MTU 1424"
A=$(ip -n "$P-swarm-01-ingress_sbox" -j addr show eth0)
assert_eq "$(jq -r '.[0].address' <<<"$A")" "02:42:0a:ff:00:02" "ingress_sbox of swarm-01: MAC 02:42:0a:ff:00:02"
assert_contains "$(jq -r '.[0].addr_info[].local' <<<"$A")" "10.255.0.2" "ingress_sbox of swarm-01: 10.255.0.2"
assert_contains "$(ip -n "$P-swarm-02-redis.1" -j addr show eth0 | jq -r '.[0].addr_info[].local')" "10.0.0.6" "redis.1 on swarm-02 has 10.0.0.6"

# ---- status
expect_rc 0 "status of a complete lab exits 0" LAB status
assert_eq "$(jq -r '.complete' <<<"$OUT")" "true" "status: complete"
assert_eq "$(jq '[.items[] | select(.kind=="responder" and .present)] | length' <<<"$OUT")" "5" "status: 5 responders alive"
expect_rc 0 "status on a terminal form (-t)" LAB status -t
assert_contains "$OUT" "0 missing" "status -t says nothing is missing"

# ---- second up: nothing changes
expect_rc 0 "second up" LAB up --timings
assert_eq "$(jq -c '[.summary.added, .summary.changed, .summary.removed]' <<<"$OUT")" "[0,0,0]" "second up changes nothing"
assert_eq "$(jq -c '.timings_ms | keys_unsorted' <<<"$OUT")" '["plan","state","nodes","sandboxes","peers","lb","esp","rules","responders"]' \
  "--timings: every phase, the plan first"
assert_eq "$(jq '.restores' <<<"$OUT")" "0" "--timings: a second up runs no iptables-restore"

# ---- traffic: redis.1 (swarm-02) -> redis.2 (swarm-01) over the vote overlay's VXLAN
if ip netns exec "$P-swarm-02-redis.1" ping -c 1 -W 3 10.0.0.7 >/dev/null; then pass "redis.1 reaches redis.2 across VXLAN"
else fail "redis.1 cannot ping redis.2 (10.0.0.7)"; fi
R=$(ip netns exec "$P-swarm-02-redis.1" bash -c 'exec 3<>/dev/tcp/10.0.0.9/8080; cat <&3' 2>&1)
assert_eq "$R" "worker.1 on swarm-03" "the worker's responder answers with its task and node"
R=$(ip netns exec "$P-swarm-01-redis.2" bash -c 'exec 3<>/dev/tcp/10.0.0.14/80; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3' 2>&1)
assert_contains "$R" "HTTP/1.0 200 OK" "a GET gets an HTTP answer"
assert_contains "$R" "vote.1 on swarm-02" "the HTTP body names the task and node"

# ---- down one namespace: status says what is missing (exit 1)
WPID=$(ip netns pids "$P-swarm-03-worker.1")
ovnet-sbox -q del "$P-swarm-03-worker.1" >/dev/null 2>&1
expect_rc 1 "status of a partly missing lab exits 1" LAB status
assert_contains "$(jq -r '.items[] | select(.present|not) | .name' <<<"$OUT")" "$P-swarm-03-worker.1" "status names the missing namespace"
expect_rc 0 "up repairs it" LAB up
assert_eq "$(jq -r '[.changes[] | select(.action=="added") | .object] | map(select(startswith("sandbox ") and (contains(" ")|not) or . == "sandbox '"$P"'-swarm-03-worker.1")) | length' <<<"$OUT")" "1" "up makes the missing task again"
if [ -n "$WPID" ] && [ -e "/proc/$WPID" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$WPID/stat"; then fail "the old responder of worker.1 still runs"
else pass "the old responder of worker.1 was stopped"; fi
expect_rc 0 "status is complete again" LAB status

# ---- scale redis=5: the three new tasks, and on each node exactly the other nodes' new tasks as peers
expect_rc 0 "scale redis=5" LAB scale redis=5
SC=$OUT
assert_eq "$(jq -r '[.changes[] | select(.action=="added" and (.object|test("^sandbox [^ ]+$"))) | .object] | sort | join(" ")' <<<"$SC")" \
  "sandbox $P-swarm-01-redis.5 sandbox $P-swarm-02-redis.4 sandbox $P-swarm-03-redis.3" "scale adds exactly redis.3, redis.4 and redis.5"
for n in 01 02 03; do
  got=$(jq -r --arg n "swarm-$n" '[.changes[] | select(.action=="added" and (.object|startswith($n + " vx-")) ) | .object | split(" ")[3]] | sort | join(" ")' <<<"$SC")
  case $n in 01) want="10.0.0.10 10.0.0.11";; 02) want="10.0.0.10 10.0.0.12";; 03) want="10.0.0.11 10.0.0.12";; esac
  assert_eq "$got" "$want" "swarm-$n gets exactly the other nodes' new tasks as peers"
done
assert_eq "$(jq '[.changes[] | select(.action=="removed")] | length' <<<"$SC")" "0" "scale removes nothing"
assert_eq "$(lab_namespaces "$P" | wc -l)" "15" "15 namespaces after scale"
if ip netns exec "$P-swarm-01-redis.5" ping -c 1 -W 3 10.0.0.10 >/dev/null; then pass "redis.5 reaches redis.3 across VXLAN"
else fail "redis.5 cannot ping redis.3"; fi
expect_rc 0 "scale again" LAB scale redis=5
assert_eq "$(jq -c '[.summary.added, .summary.changed, .summary.removed]' <<<"$OUT")" "[0,0,0]" "scale again changes nothing"
expect_rc 2 "scale of an unknown service" LAB scale nosuch=3
assert_one_line "$ERR" "its error is one line"

# ---- down
PIDS=$(lab_processes "$P")
expect_rc 0 "down" LAB down
assert_eq "$(lab_namespaces "$P")" "" "down leaves no namespace"
[ ! -e "$STATE/lab-$P" ] && pass "down removes the state dir" || fail "state dir left: $(ls "$STATE/lab-$P")"
left=""
for p in $PIDS; do  # a zombie waits for init to reap it: it runs no more
  [ -e "/proc/$p" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$p/stat" 2>/dev/null && left="$left $p"
done
assert_eq "$left" "" "down leaves no responder running"
expect_rc 0 "down again (idempotent)" LAB down
expect_rc 1 "status after down: no lab" LAB status

# ---- up killed halfway, then down cleans everything
K="${P}k"
ovnet-lab --prefix "$K" up >/dev/null 2>&1 &
UPPID=$!
# Kill it once the plan is recorded and a few namespaces exist (waiting on the state, not a time).
# (a deadline, not a count of rounds: under ASan the tool starts slower than the rounds run)
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
  [ -f "$STATE/lab-$K/plan.json" ] && [ "$(lab_namespaces "$K" | wc -l)" -ge 3 ] && break
  kill -0 "$UPPID" 2>/dev/null || break
  sleep 0.01
done
kill -9 "$UPPID" 2>/dev/null
wait "$UPPID" 2>/dev/null
n=$(lab_namespaces "$K" | wc -l)
[ -f "$STATE/lab-$K/plan.json" ] && pass "the killed up had recorded its plan ($n namespaces made)" || fail "no plan after the killed up"
expect_rc 0 "down after a killed up" ovnet-lab --prefix "$K" down
assert_eq "$(lab_namespaces "$K")" "" "no namespace left after the killed up"
[ ! -e "$STATE/lab-$K" ] && pass "no state left after the killed up" || fail "state left after the killed up"
assert_eq "$(lab_processes "$K")" "" "no process left after the killed up"

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
