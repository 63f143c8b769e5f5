#!/bin/bash
# capture: ovnet-capture on the README's three hosts (three_hosts_build). A capture on h2's
# underlay interface with --vxlan, started and waited for (its "listening on" line), sees the
# ping c1 -> c2 as two VXLAN packets: VNI 4097, outer 192.0.2.11 <-> 192.0.2.12, the inner MACs
# and addresses, ICMP echo request then reply; -w writes a pcap file (its magic number). Bad
# input: no such interface, a filter that does not compile: exit 2, one line.
. "$(dirname "$0")/lib.sh"
for t in jq ping od; do command -v $t >/dev/null || skip "$t not installed"; done
command -v ovnet-capture >/dev/null || skip "ovnet-capture not built (no libpcap-dev)"

BR=ov-001001-7672d VNI=4097
C1=$(c 1) H2=$(h 2)
expect_rc 0 "three-host overlay built" three_hosts_build

ovnet-capture -n "$H2" -i eth0 --vxlan -c 2 --timeout 60 -w "$TMP/cap.pcap" >"$TMP/cap.out" 2>"$TMP/cap.err" &
CAP=$!
for _ in $(seq 1200); do grep -q "listening on" "$TMP/cap.err" && break; kill -0 $CAP 2>/dev/null || break; sleep 0.05; done
assert_contains "$(cat "$TMP/cap.err")" "listening on eth0 in $H2 (udp dst port 4789)" "the capture runs, and says so"
expect_rc 0 "ping c1 -> c2" ovnet-sbox exec "$C1" -- ping -c 1 -W 10 10.0.0.3
wait $CAP
assert_eq "$?" 0 "the capture ends after 2 packets: exit 0"
assert_eq "$(grep -c '^{' "$TMP/cap.out")" 2 "two JSON lines"
REQ=$(jq -c 'select(.inner.icmp.type == 8) | [.ip.src, .ip.dst, .udp.dport, .vxlan.vni, .inner.eth.src, .inner.eth.dst, .inner.ip.src, .inner.ip.dst]' "$TMP/cap.out")
assert_eq "$REQ" '["192.0.2.11","192.0.2.12",4789,4097,"02:42:0a:00:00:02","02:42:0a:00:00:03","10.0.0.2","10.0.0.3"]' \
  "the echo request: outer 192.0.2.11 -> 192.0.2.12 udp/4789, VNI 4097, c1's MAC and address to c2's"
REP=$(jq -c 'select(.inner.icmp.type == 0) | [.ip.src, .ip.dst, .vxlan.vni, .inner.ip.src, .inner.ip.dst]' "$TMP/cap.out")
assert_eq "$REP" '["192.0.2.12","192.0.2.11",4097,"10.0.0.3","10.0.0.2"]' "the echo reply, the other way"
assert_eq "$(head -c 4 "$TMP/cap.pcap" | od -An -tx1 | tr -d ' ')" "d4c3b2a1" "-w wrote a pcap file"

# No matching packet at all: --timeout still ends the capture (libpcap's immediate mode alone would
# wait in poll() forever), and so does SIGTERM without --timeout. Both exit 0, having printed nothing.
t0=$SECONDS
timeout 60 ovnet-capture -n "$H2" -i eth0 --esp -c 1 --timeout 2 >"$TMP/none.out" 2>/dev/null; rc=$?
assert_eq "$rc $(wc -c <"$TMP/none.out")" "0 0" "--timeout 2 with no matching packet: exit 0, nothing printed"
[ $((SECONDS - t0)) -lt 30 ] && pass "--timeout 2 ended it ($((SECONDS - t0)) s)" || fail "--timeout 2 took $((SECONDS - t0)) s"
ovnet-capture -n "$H2" -i eth0 --esp >/dev/null 2>"$TMP/term.err" &
cp=$!
for _ in $(seq 600); do grep -q listening "$TMP/term.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM $cp
for _ in $(seq 300); do kill -0 $cp 2>/dev/null || break; sleep 0.1; done
if kill -0 $cp 2>/dev/null; then fail "SIGTERM did not end a capture that saw no packet"; kill -KILL $cp
else wait $cp; assert_eq "$?" 0 "SIGTERM ends a capture that saw no packet (exit 0)"; fi

run ovnet-capture -n "$H2" -i nosuch0 -c 1 --timeout 1
assert_eq "$RC" 2 "no such interface: exit 2"
assert_one_line "$ERR" "no such interface: one line"
assert_contains "$ERR" "nosuch0" "no such interface: named"
run ovnet-capture -n "$H2" -i eth0 -c 1 --timeout 1 "udp port notaport"
assert_eq "$RC" 2 "a filter that does not compile: exit 2"
assert_one_line "$ERR" "bad filter: one line"
done_testing
