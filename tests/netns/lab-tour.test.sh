#!/usr/bin/env bash
# ovnet-lab tour, task, check, selftest on a lab of this kernel (no IPVS, no AES-GCM here: those
# steps and checks say what is missing and are skipped, never passed).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "needs jq"
lab() { ovnet-lab --prefix "$P" "$@"; }
trap 'ovnet-lab --prefix "$P" down >/dev/null 2>&1; _cleanup' EXIT

expect_rc 0 "up" lab up

# The steps, and a later step shown before the tour scaled the lab: it scales first.
run lab tour --list
assert_contains "$OUT" "Examine the ingress-sbox namespace" "tour --list names the seed's sections"
assert_contains "$OUT" "Internal Load Balancing -- iptables -t nat, -t mangle and ipvsadm in a task (needs IPVS)" \
  "tour --list marks the IPVS steps"
later=$(printf '%s\n' "$OUT" | grep -m1 'Underlying VXLAN service and traffic' | sed 's/^ *\([0-9]*\)\..*/\1/')
run lab tour --step "$later"
assert_eq "$RC" 0 "tour --step $later (after the scale step) exits 0"
assert_contains "$OUT" "scaling first" "a later step scales the lab first when the tour did not"
assert_contains "$OUT" "Step $later/" "tour --step shows that step"
assert_not_contains "$OUT" "Step 1/" "tour --step shows only that step"

# The whole tour, as a script runs it.
run lab tour --no-pause
assert_eq "$RC" 0 "tour --no-pause exits 0"
for v in "VNI 4096" "VNI 4097" "MTU 1450" "MTU 1424" "02:42:0a:ff:00:02" "02:42:0a:ff:00:03 dst 192.0.2.12" \
         "\"com.docker.network.driver.overlay.vxlanid_list\": \"4096\"" \
         "$ ovnet-fdb -t -n $P-swarm-01 show -d vx-001002-7672d" "$ ovnet-sbox -t show $P-swarm-01-ingress_sbox" \
         "02:42:0a:00:00:06 dst 192.0.2.12: eth0 of redis.1 on swarm-02 (10.0.0.6)" \
         "(already done: the lab is scaled)" "br0 and vxlan0"; do
  assert_contains "$OUT" "$v" "the tour shows: $v"
done
# Live values: ingress_sbox's eth0 and its peer on the ingress bridge, as the kernel numbers them.
idx=$(ip -n "$P-swarm-01-ingress_sbox" -j link show eth0 | jq '.[0].ifindex')
pidx=$(ip -n "$P-swarm-01-ingress_sbox" -j link show eth0 | jq '.[0].link_index')
pname=$(ip -n "$P-swarm-01" -j link show | jq -r ".[] | select(.ifindex == $pidx) | .ifname")
assert_contains "$OUT" "$idx <==> $pidx: eth0 in ingress_sbox (MAC 02:42:0a:ff:00:02, MTU 1450) is the peer of $pname on ov-001000-lpq3t" \
  "the veth correlation (the seed's 9 <==> 10) from the live lab"
ipvs=1; [ -e /proc/net/ip_vs ] || ipvs=0
if [ "$ipvs" = 0 ]; then
  assert_contains "$OUT" "(needs IPVS:" "IPVS steps say that they need IPVS"
  assert_contains "$OUT" "ovnet-lb -t -n $P-swarm-01-redis.2 show" "the IPVS step names its command"
fi

# Tasks and checks.
run lab task 1
assert_contains "$OUT" "Do the same from the other end" "task 1 states the seed's task"
run lab task --list
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^ *[0-9]*\. \[')" 9 "task --list lists 9 tasks"
expect_rc 0 "check 1 accepts the right answer" lab check 1 02:42:0a:00:00:07 redis.2 swarm-01
run lab check -t 1 02:42:0a:00:00:07 redis.2 swarm-01
assert_contains "$OUT" "it is eth0 of redis.2 on swarm-01 (10.0.0.7/24)" "check 1 says which container on which node"
expect_rc 1 "check 1 rejects a wrong container" lab check 1 02:42:0a:00:00:07 redis.1
expect_rc 1 "check 1 rejects a MAC of another node" lab check 1 02:42:0a:00:00:09
expect_rc 2 "check of no such task" lab check 99 x
expect_rc 2 "check of no such id" lab check nonsense
expect_rc 2 "check 1 with a malformed MAC" lab check 1 nonsense
run lab check 7 6
assert_eq "$RC" 0 "check 7: 6 peers on swarm-01 after the scale"
run lab check -j health
assert_eq "$RC" 0 "check health passes"
assert_eq "$(printf '%s' "$OUT" | jq -r '[.checks[] | select(.status == "failed")] | length')" 0 "no health check failed"
expect_rc 0 "check snapshot passes" lab check snapshot
expect_rc 0 "check journey-overlay passes (redis.2 reaches redis.1 over the overlay)" lab check journey-overlay
if [ "$ipvs" = 0 ]; then
  expect_rc 77 "check lb cannot run without IPVS: 77, not passed" lab check lb
  expect_rc 77 "check journey-mesh cannot run without IPVS" lab check journey-mesh
fi

# A break by hand (the break helper's scenarios are graded the same way): a peer without its entries.
ovnet-fdb -q -n "$P-swarm-01" del -d vx-001002-7672d --mac 02:42:0a:00:00:06 >/dev/null
run lab check -t fdb-peers
assert_eq "$RC" 1 "check fdb-peers fails after a peer is removed"
assert_contains "$OUT" "no peer 10.0.0.6 02:42:0a:00:00:06 (redis.1 on swarm-02)" "the failure names the missing peer"
assert_contains "$OUT" "hint:" "the failure has a hint"
expect_rc 1 "check snapshot fails too" lab check snapshot
ovnet-fdb -q -n "$P-swarm-01" add -d vx-001002-7672d --ip 10.0.0.6 --vtep 192.0.2.12 >/dev/null
expect_rc 0 "check fdb-peers passes after the fix" lab check fdb-peers

# selftest: every step and every check that can run here.
run lab selftest
assert_eq "$RC" 0 "selftest passes"
assert_contains "$OUT" "selftest: tour ran" "selftest reports the tour"
[ "$ipvs" = 1 ] || assert_contains "$OUT" "skipped  lb: needs IPVS" "selftest names what it skipped"

expect_rc 0 "down" lab down
assert_eq "$(ls /run/netns | grep -c "^$P-")" 0 "down leaves no namespace"
echo "passed $PASSED, failed $FAILED"
[ "$FAILED" = 0 ]
