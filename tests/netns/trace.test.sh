#!/bin/bash
# trace: ovnet-trace on the README's three hosts (three_hosts_build). c1 -> c2 across VXLAN is
# delivered with the expected hops (VNI 4097, the peer's VTEP 192.0.2.12, decapsulation on h2,
# the listener in c2); the JSON is valid against schema/trace.schema.json; the trace computed
# offline from an ovnet-inspect snapshot equals the live one (--minimal, the socket line aside:
# snapshots carry no socket table). Failures injected one at a time with iproute2/iptables in
# this run's namespaces, each named by its code (exit 1): NO_LISTENER, NO_ROUTE, DROP_RULE,
# XFRM_NO_SA, IP_FORWARD_OFF, FDB_MISS, FDB_HALF_ENTRY, MTU_EXCEEDED (DF; --no-df fragments). Bad input:
# exit 2, one line. The probe's kernel rule trace (nftrace): iptables-nft rules on c1 -> c2 (h2's on
# the VXLAN packet, c2's) observed and named by their computed hops; an unmodelled match resolved by
# the path the kernel took; a real difference named; no ovnet_probe table left in any namespace,
# also after ^C and SIGKILL; legacy rules said to be invisible. The counters the probe moved: h1's
# VXLAN device, h2's veth toward c2, the nft rules on the path, in the path's namespace order.
. "$(dirname "$0")/lib.sh"
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OVNET_PYTHON:-/usr/bin/python3}
for t in jq python3 ss; do command -v $t >/dev/null || skip "$t not installed"; done

BR=ov-001001-7672d VX=vx-001001-7672d VNI=4097
C1=$(c 1) C2=$(c 2) H1=$(h 1) H2=$(h 2)
expect_rc 0 "three-host overlay built" three_hosts_build

# a listener in c2 on 6379, waited for in the socket table
ip netns exec "$C2" python3 -c 'import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 6379)); s.listen(); time.sleep(300)' &
for _ in $(seq 200); do [ -n "$(ip netns exec "$C2" ss -Hltn 'sport = :6379')" ] && break; sleep 0.05; done

bad() {   # bad DESCRIPTION NEEDLE ARGS...
  local what=$1 needle=$2; shift 2
  run ovnet-trace "$@"
  assert_eq "$RC" 2 "$what: exit 2"
  assert_one_line "$ERR" "$what: one line"
  assert_contains "$ERR" "$needle" "$what: names $needle"
}

# probe_tables: how many nf_tables tables named ovnet_probe_* this run's namespaces hold (one
# NFT_MSG_GETTABLE dump in each, from one process; there is no nft(8) here to list them).
# probe_tables wait: the same once there is one (polled in that process, for up to 10 s).
probe_tables() {
  python3 - "$P-" "${1:-}" <<'PY'
import ctypes, os, socket, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def count():
  total = 0
  for n in sorted(os.listdir("/run/netns")):
      if not n.startswith(sys.argv[1]): continue
      fd = os.open("/run/netns/" + n, os.O_RDONLY)
      if libc.setns(fd, 0x40000000) != 0: sys.exit("setns " + n)   # CLONE_NEWNET
      os.close(fd)
      s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12); s.bind((0, 0))
      s.send(struct.pack("=IHHIIBBH", 20, (10 << 8) | 1, 0x301, 1, 0, 0, 0, 0))   # NFT_MSG_GETTABLE dump, every family
      done = False
      while not done:
          d, off = s.recv(1 << 16), 0
          while off < len(d):
              ln, typ = struct.unpack_from("=IH", d, off)
              if typ in (2, 3): done = True; break   # NLMSG_ERROR, NLMSG_DONE
              a = off + 20
              while a + 4 <= off + ln:
                  alen, atyp = struct.unpack_from("=HH", d, a)
                  if alen < 4: break
                  total += atyp & 0x7fff == 1 and d[a + 4:a + alen].startswith(b"ovnet_probe")   # NFTA_TABLE_NAME
                  a += (alen + 3) & ~3
              off += (ln + 3) & ~3
      s.close()
  return total
deadline = time.time() + 10
total = count()
while sys.argv[2] == "wait" and total == 0 and time.time() < deadline:
    time.sleep(0.005)
    total = count()
print(total)
PY
}

# ---- delivered ----
run ovnet-trace --from "$C1" --minimal tcp 10.0.0.3:6379
assert_eq "$RC" 0 "c1 -> c2:6379 delivered: exit 0"
LIVE=$OUT
assert_contains "$OUT" "$C1 route out eth0" "c1 routes out eth0"
assert_contains "$OUT" "$H1 bridge $BR: 02:42:0a:00:00:03 -> port $VX dst 192.0.2.12" "h1's bridge sends c2's MAC to the VXLAN port, VTEP 192.0.2.12"
assert_contains "$OUT" "=> VXLAN VNI $VNI 192.0.2.11 -> 192.0.2.12 udp/4789" "encapsulation: VNI 4097, 192.0.2.11 -> 192.0.2.12, udp/4789"
assert_contains "$OUT" "$(ns ul) bridge ul0: " "the underlay bridge forwards it"
assert_contains "$OUT" "$H2 decap $VX: VNI $VNI udp/4789 => into $H2 $VX" "h2 decapsulates"
assert_contains "$OUT" "$C2 socket tcp 10.0.0.3:6379: tcp LISTEN 0.0.0.0:6379 => delivered" "c2's listener takes it"
assert_eq "$(tail -1 <<<"$OUT")" "delivered" "last line: delivered"

run ovnet-trace --from "$C1" tcp 10.0.0.3:6379
assert_eq "$(jq -c '[.schema, .mode, .outcome, .code, (.paths | length)]' <<<"$OUT")" '["ovnet-trace/1","live","delivered",null,1]' \
  "JSON when piped: live, delivered, one path"
printf '%s' "$OUT" >"$TMP/trace.json"
if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" trace "$TMP/trace.json" >"$TMP/verr" 2>&1; then pass "the JSON is valid against schema/trace.schema.json"
else fail "schema: $(cat "$TMP/verr")"; fi

# ---- the probe: one real packet beside the computed trace ----
if ovnet-trace --help | grep -q -- --probe && [ "$(ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379 2>&1 >/dev/null)" != *"without libpcap"* ]; then
  run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
  assert_eq "$RC:$(jq -c '[.probe.answer, .probe.outcome, .probe.agrees]' <<<"$OUT")" '0:["connected","delivered",true]' \
    "probe c1 -> c2:6379: connected, agrees"
  assert_eq "$(jq -r '[.probe.seen[] | select(.packets > 0) | .netns + " " + .iface] | join(", ")' <<<"$OUT")" \
    "$(jq -r '[.probe.seen[] | .netns + " " + .iface] | join(", ")' <<<"$OUT")" "the probe was seen leaving every device of the path"
  assert_contains "$(jq -r '[.probe.seen[].iface] | join(" ")' <<<"$OUT")" "$VX" "one of them is h1's VXLAN port"
  assert_eq "$(jq -c '[.probe.conntrack[] | select((.nat | length) > 0 or (.computed | length) > 0)]' <<<"$OUT")" '[]' \
    "no NAT computed or done on c1 -> c2 (conntrack)"
  assert_eq "$(jq -c '.probe.ipvs' <<<"$OUT")" '[]' "no IPVS hop on c1 -> c2: no IPVS connection reported"
  # the counters that moved: h1's VXLAN device sent the packet, h2's veth toward c2 passed it on
  VETH2=$(jq -r --arg h "$H2" '[.probe.seen[] | select(.netns == $h) | .iface] | last' <<<"$OUT")
  assert_eq "$(jq --arg h "$H1" --arg d "$VX" '[.probe.moved[] | select(.netns == $h and .kind == "link" and .object == $d and .tx >= 1)] | length' <<<"$OUT")" 1 \
    "moved: h1's VXLAN device $VX sent it (tx >= 1)"
  assert_eq "$(jq --arg h "$H2" --arg d "$VETH2" '[.probe.moved[] | select(.netns == $h and .kind == "link" and .object == $d and .tx >= 1)] | length' <<<"$OUT")" 1 \
    "moved: h2's veth toward c2 ($VETH2) passed it on (tx >= 1)"
  assert_eq "$(jq -c --arg h "$H2" --arg d "$VX" '[.probe.moved[] | select(.netns == $h and .object == $d) | [.kind, .rx >= 1, .packets == .rx + .tx]]' <<<"$OUT")" \
    '[["link",true,true]]' "moved: h2's VXLAN device received it; a link's packets are rx + tx"
  # in the path's namespace order (c1, h1, the underlay, h2, c2), nothing outside it
  assert_eq "$(jq -c '[.probe.moved[].netns] | unique' <<<"$OUT")" "$(jq -c '[.paths[0].hops[].netns] | unique' <<<"$OUT")" \
    "moved: counters of every namespace of the path, no other"
  assert_eq "$(jq -r '[.probe.moved[].netns] | reduce .[] as $n ([]; if (.[-1] // "") == $n then . else . + [$n] end) | join(" ")' <<<"$OUT")" \
    "$(jq -r '[.paths[0].hops[].netns] | reduce .[] as $n ([]; if index([$n]) then . else . + [$n] end) | join(" ")' <<<"$OUT")" \
    "moved: grouped by namespace, in the path's order"
  printf '%s' "$OUT" >"$TMP/probe.json"
  if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" trace "$TMP/probe.json" >"$TMP/verr" 2>&1; then pass "the probe's JSON is valid"
  else fail "probe schema: $(cat "$TMP/verr")"; fi
  run ovnet-trace --from "$C1" --probe --minimal tcp 10.0.0.3:6379
  assert_contains "$(grep "^probe moved $H1: " <<<"$OUT")" "link $VX tx+" "--minimal: a probe moved line for h1 names its VXLAN device's tx"
  assert_eq "$(tail -1 <<<"$OUT" | cut -d' ' -f1-3)" "probe delivered (connected)," "--minimal: the probe's outcome line stays the last"
  # the kernel's own rule trace (nftrace): iptables-nft rules on the path, on the overlay's
  # packet (c2) and on the VXLAN packet carrying it (h2), each observed and named by its computed hop
  if iptables -V 2>/dev/null | grep -q nf_tables && ip netns exec "$H2" iptables -A INPUT -p udp --dport 4789 -j ACCEPT 2>/dev/null; then
    ip netns exec "$C2" iptables -A INPUT -p tcp --dport 6379 -j ACCEPT
    run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
    for want in "$H2 filter INPUT -A INPUT -p udp -m udp --dport 4789 -j ACCEPT" "$C2 filter INPUT -A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT"; do
      assert_eq "$(jq -r ".probe.rules[] | select(.position != null) | select(.netns + \" \" + .table + \" \" + .chain + \" \" + .rule == \"$want\") | [.verdict, .computed] | join(\" \")" <<<"$OUT")" \
        "ACCEPT true" "nftrace: the kernel ran $want (ACCEPT), computed"
      assert_eq "$(jq -r ". as \$d | .probe.rules[] | select(.netns + \" \" + .table + \" \" + .chain + \" \" + .rule == \"$want\") | \$d.paths[\$d.probe.path].hops[.hop] | .netns + \" \" + .object + \" \" + .entry" <<<"$OUT")" \
        "$want" "nftrace: the computed hop names the same rule ($want)"
    done
    assert_eq "$(jq -c '[.probe.agrees, .probe.rules_agree, .probe.rules_differ, ([.probe.rules[] | select(.computed | not) | select(.rule != "policy ACCEPT")] | length)]' <<<"$OUT")" \
      '[true,true,null,0]' "nftrace: every rule the kernel ran was computed, the probe agrees"
    assert_eq "$(jq -c --arg h1 "$H1" --arg c1 "$C1" '.probe.traced - [$h1, $c1]' <<<"$OUT")" "[\"$H2\",\"$C2\"]" "nftrace: traced in h2 and c2"
    # the same rules' packet counters moved (iptables-save -c before and after)
    for want in "$H2 filter INPUT -A INPUT -p udp -m udp --dport 4789 -j ACCEPT" "$C2 filter INPUT -A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT"; do
      assert_eq "$(jq --arg w "$want" '[.probe.moved[] | select(.kind == "rule" and .netns + " " + .object == $w and .packets >= 1)] | length' <<<"$OUT")" 1 \
        "moved: the rule counter of $want"
    done
    printf '%s' "$OUT" >"$TMP/probe-nft.json"
    if "$PY" "$SRC/tests/schema/validate.py" "$SRC/schema" trace "$TMP/probe-nft.json" >"$TMP/verr" 2>&1; then pass "the probe's JSON with a rule trace is valid"
    else fail "probe nftrace schema: $(cat "$TMP/verr")"; fi
    run ovnet-trace --table --from "$C1" --probe tcp 10.0.0.3:6379
    assert_contains "$(grep " filter INPUT " <<<"$OUT" | grep -c " ran$")" "2" "terminal: the KERNEL RAN column marks both rules"
    assert_contains "$OUT" "kernel ran $H2 filter INPUT: -A INPUT -p udp -m udp --dport 4789 -j ACCEPT -> ACCEPT" "terminal: the observed rules listed"
    assert_contains "$(grep "^  moved $H2: " <<<"$OUT")" "rule filter INPUT -A INPUT -p udp -m udp --dport 4789 -j ACCEPT +" "terminal: the moved rule counter listed"
    assert_eq "$(probe_tables)" 0 "nftrace: no probe table left in any namespace"
    # a rule behind a match ovnet does not model: the trace forks on it, the kernel ran the next
    # rule, as the second path computed: the rules are compared with that path
    if ip netns exec "$C2" iptables -I INPUT -p tcp --dport 6379 -m recent --name ovnft --rcheck -j ACCEPT 2>/dev/null; then
      run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
      assert_eq "$(jq -c "[(.paths | length), .probe.path, .probe.rules_agree, (.probe.rules[] | select(.netns == \"$C2\") | .position, .computed)]" <<<"$OUT")" \
        '[2,1,true,2,true]' "nftrace: an unmodelled match in c2: the kernel ran rule 2, as the second path computed"
      ip netns exec "$C2" iptables -D INPUT -p tcp --dport 6379 -m recent --name ovnft --rcheck -j ACCEPT
    fi
    # a real difference: the computed packet's source port (--sport 1) is not the probe's (the
    # kernel's pick), so c2's rule on source port 1 is computed and not run, the next one run
    ip netns exec "$C2" iptables -I INPUT -p tcp --sport 1 --dport 6379 -j ACCEPT
    run ovnet-trace --from "$C1" --sport 1 --probe tcp 10.0.0.3:6379
    assert_eq "$(jq -c '[.probe.answer, .probe.agrees, .probe.rules_agree]' <<<"$OUT")" '["connected",true,false]' "nftrace: a rule on the computed source port: connected, the rules differ"
    assert_eq "$(jq -r .probe.rules_differ <<<"$OUT")" \
      "nftrace in $C2 filter INPUT: the kernel ran -A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT (ACCEPT), not computed; nftrace in $C2 filter INPUT: computed -A INPUT -p tcp -m tcp --sport 1 --dport 6379 -j ACCEPT, the kernel did not run it" \
      "nftrace: the difference names the rule the kernel ran and the computed one it did not"
    run ovnet-trace --table --from "$C1" --sport 1 --probe tcp 10.0.0.3:6379
    assert_contains "$(grep -- "--sport 1 --dport 6379" <<<"$OUT")" "NOT RUN" "terminal: the computed rule the kernel did not run is marked NOT RUN"
    assert_contains "$OUT" "kernel ran $C2 filter INPUT: -A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT -> ACCEPT (NOT computed)" "terminal: the rule it ran instead, NOT computed"
    ip netns exec "$C2" iptables -D INPUT -p tcp --sport 1 --dport 6379 -j ACCEPT
    ip netns exec "$C2" iptables -D INPUT -p tcp --dport 6379 -j ACCEPT
    ip netns exec "$H2" iptables -D INPUT -p udp --dport 4789 -j ACCEPT
  else
    echo "# no iptables-nft: the kernel rule trace not tested"
  fi
  run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6380
  assert_eq "$RC:$(jq -c '[.code, .probe.answer, .probe.agrees]' <<<"$OUT")" '1:["NO_LISTENER","refused",true]' \
    "probe to a closed port: refused, agrees with NO_LISTENER"
  run ovnet-trace --from "$C1" --probe --size 1000 icmp 10.0.0.4
  assert_eq "$RC:$(jq -c '[.probe.answer, .probe.agrees]' <<<"$OUT")" '0:["answered",true]' "probe ping c1 -> c3 (1000 bytes): answered, agrees"
  if ip netns exec "$H2" iptables -A INPUT -p udp --dport 4789 -j DROP 2>/dev/null; then
    run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
    assert_eq "$RC:$(jq -c '[.code, .probe.answer, .probe.agrees, .probe.last_seen]' <<<"$OUT")" \
      "1:[\"DROP_RULE\",\"timeout\",true,\"$(ns ul) $(jq -r '.paths[0].hops[] | select(.netns | endswith("-ul")) | select(.stage == "bridge") | .effect | ltrimstr("out ")' <<<"$OUT")\"]" \
      "probe with h2 dropping udp/4789: timeout, last seen leaving the underlay toward h2, agrees with DROP_RULE"
    ip netns exec "$H2" iptables -D INPUT -p udp --dport 4789 -j DROP
  fi
  # conntrack: the NAT the kernel really did, read back through ctnetlink, beside the computed hop
  if ip netns exec "$C1" iptables -t nat -A OUTPUT -p tcp -d 10.0.0.99 --dport 80 -j DNAT --to-destination 10.0.0.3:6379 2>/dev/null; then
    run ovnet-trace --from "$C1" --probe tcp 10.0.0.99:80
    assert_eq "$RC:$(jq -c '[.probe.answer, .probe.agrees]' <<<"$OUT")" '0:["connected",true]' "probe to a DNAT'd 10.0.0.99:80 in c1: connected, agrees"
    assert_eq "$(jq -c ".probe.conntrack[] | select(.netns == \"$C1\") | [.nat, .computed, .agrees]" <<<"$OUT")" \
      '[["DNAT to 10.0.0.3:6379"],["DNAT to 10.0.0.3:6379"],true]' "c1's conntrack entry confirms the computed DNAT to 10.0.0.3:6379"
    assert_contains "$(jq -r ".probe.conntrack[] | select(.netns == \"$C1\") | .orig + \" / \" + .reply" <<<"$OUT")" \
      " -> 10.0.0.99:80 / tcp 10.0.0.3:6379 -> 10.0.0.2:" "the entry: original to 10.0.0.99:80, reply from 10.0.0.3:6379"
    # the kernel's own rule trace (nftrace) for that packet: c1's DNAT rule really ran, as computed
    if [ "$(jq -r '.probe.nftrace | join(";")' <<<"$OUT")" = "" ]; then
      assert_eq "$(jq -c ".probe.rules[] | select(.netns == \"$C1\" and .table == \"nat\" and .chain == \"OUTPUT\") | select(.rule | test(\"DNAT\")) | [.position, .verdict, .computed]" <<<"$OUT")" \
        '[1,"ACCEPT",true]' "nftrace: c1's nat OUTPUT rule 1, the DNAT, really hit (ACCEPT), as computed"
      assert_eq "$(jq '[.probe.rules[] | select(.computed | not) | select(.rule != "policy ACCEPT")] | length' <<<"$OUT")" 0 \
        "nftrace: every rule the packet hit was computed (an empty chain's ACCEPT policy aside)"
    else
      echo "# no kernel rule trace here: $(jq -r '.probe.nftrace | join("; ")' <<<"$OUT")"
    fi
    assert_eq "$(probe_tables)" 0 "nftrace: the probe's trace tables are gone"
    # with a source port SNAT too: both translations in one entry
    ip netns exec "$C1" iptables -t nat -A POSTROUTING -p tcp -d 10.0.0.3 --dport 6379 -j SNAT --to-source 10.0.0.2:5555
    run ovnet-trace --from "$C1" --probe --minimal tcp 10.0.0.99:80
    assert_contains "$OUT" "probe conntrack $C1: tcp 10.0.0.2:" "--minimal: the probe's conntrack line"
    assert_contains "$OUT" ": DNAT to 10.0.0.3:6379, SNAT to 10.0.0.2:5555 (computed DNAT to 10.0.0.3:6379, SNAT to 10.0.0.2:5555): agrees" \
      "DNAT and SNAT, computed and confirmed"
    ip netns exec "$C1" iptables -t nat -D POSTROUTING -p tcp -d 10.0.0.3 --dport 6379 -j SNAT --to-source 10.0.0.2:5555
    # a DNAT behind a match ovnet does not model: the trace forks, its first path takes the DNAT,
    # the kernel did not (the recent list is empty): the conntrack entry says so
    if ip netns exec "$C1" iptables -t nat -I OUTPUT -p tcp -d 10.0.0.3 --dport 6379 -m recent --name ovprobe --rcheck \
         -j DNAT --to-destination 10.0.0.4:6379 2>/dev/null; then
      run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
      assert_eq "$(jq -c ".probe.path, (.probe.rules[] | select(.netns == \"$C1\" and .chain == \"OUTPUT\") | [.rule, .computed])" <<<"$OUT" | paste -sd' ')" \
        '1 ["policy ACCEPT",true]' "nftrace: the kernel ran c1's nat OUTPUT to its policy, as the second path (no DNAT) computed"
      assert_eq "$(jq -c '[.paths[0].assumptions != [], .probe.answer, .probe.agrees]' <<<"$OUT")" '[true,"connected",false]' \
        "an unmodelled match before a DNAT: the probe connects, and disagrees with the first path"
      assert_eq "$(jq -r .probe.differs <<<"$OUT")" \
        "conntrack in $C1: computed DNAT to 10.0.0.4:6379, the kernel's entry no NAT ($(jq -r ".probe.conntrack[] | select(.netns == \"$C1\") | .orig" <<<"$OUT"))" \
        "the difference names c1's entry: computed DNAT to 10.0.0.4:6379, no NAT done"
      ip netns exec "$C1" iptables -t nat -D OUTPUT -p tcp -d 10.0.0.3 --dport 6379 -m recent --name ovprobe --rcheck \
        -j DNAT --to-destination 10.0.0.4:6379
    fi
    ip netns exec "$C1" iptables -t nat -D OUTPUT -p tcp -d 10.0.0.99 --dport 80 -j DNAT --to-destination 10.0.0.3:6379
  else
    echo "# no usable iptables nat: the probe's conntrack DNAT not tested"
  fi
  bad "--probe with --snapshot" "not with --snapshot" --probe --snapshot "$TMP/trace.json" --from "$C1" tcp 10.0.0.3:1
  # from the underlay: a throwaway namespace on ul0 holds the client's address (an underlay one,
  # so that h2's answer comes back), and is gone afterwards
  UL=$(ns ul)
  leftovers() { echo "$(ip netns list | grep -c "^ovnet-probe-")/$(ip -n "$UL" -o link show master ul0 | grep -c ": ovp")"; }
  ip netns exec "$H2" python3 -c 'import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 7946)); s.listen(); time.sleep(300)' &
  for _ in $(seq 200); do [ -n "$(ip netns exec "$H2" ss -Hltn 'sport = :7946')" ] && break; sleep 0.05; done
  run ovnet-trace --from client --src 192.0.2.99 --probe tcp 192.0.2.12:7946
  assert_eq "$RC:$(jq -c '[.start.netns, .start.iif, .probe.answer, .probe.outcome, .probe.agrees]' <<<"$OUT")" \
    "0:[\"$H2\",\"eth0\",\"connected\",\"delivered\",true]" "probe from a client on the underlay to h2:7946: connected, agrees"
  assert_contains "$(jq -r .probe.injected <<<"$OUT")" "$UL ovp" "injected from a port on the underlay's namespace"
  assert_eq "$(leftovers)" "0/0" "the client's namespace and its bridge port are gone"
  if ip netns exec "$H2" iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.0.2.12:7946 2>/dev/null; then
    run ovnet-trace --from client --src 192.0.2.99 --probe tcp 192.0.2.12:8080
    assert_eq "$RC:$(jq -c "[.probe.answer, .probe.agrees, (.probe.conntrack[] | select(.netns == \"$H2\") | .nat, .computed)]" <<<"$OUT")" \
      '0:["connected",true,["DNAT to 192.0.2.12:7946"],["DNAT to 192.0.2.12:7946"]]' \
      "client -> h2:8080, DNAT'd by h2's PREROUTING: connected, the conntrack entry confirms the DNAT"
    ip netns exec "$H2" iptables -t nat -D PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.0.2.12:7946
  fi
  run ovnet-trace --from "$H2" --iif eth0 --src 192.0.2.98 --probe --minimal tcp 192.0.2.12:7946
  assert_eq "$RC:$(tail -1 <<<"$OUT")" "0:probe delivered (connected), seen leaving: nowhere; agrees" "--from h2 --iif eth0: injected there, connected"
  # ^C while the probe waits (h2 drops the SYN): exit 1, one line, nothing left behind
  ip netns exec "$H2" iptables -I INPUT -p tcp --dport 7946 -j DROP
  ovnet-trace --from client --src 192.0.2.99 --probe tcp 192.0.2.12:7946 >"$TMP/int.out" 2>"$TMP/int.err" &
  pid=$!
  for _ in $(seq 400); do [ "$(ip -n "$UL" -o link show master ul0 | grep -c ": ovp")" != 0 ] && break; sleep 0.01; done
  assert_eq "$(probe_tables wait)" 1 "^C test: the probe's trace table is in h2 while it waits"
  kill -INT $pid; wait $pid; rc=$?
  assert_eq "$rc:$(cat "$TMP/int.err")" "1:ovnet-trace: --probe: interrupted; what it added is removed" "^C: exit 1, one line"
  assert_eq "$(leftovers)" "0/0" "^C: nothing left behind"
  assert_eq "$(probe_tables)" 0 "^C: no probe table left in any namespace"
  # even SIGKILL leaves no trace table: the kernel owns it to the probe's netlink socket
  # (NFT_TABLE_F_OWNER) and deletes it when the socket goes (the throwaway namespace would stay:
  # a sandbox probe here)
  ip netns exec "$C2" iptables -I INPUT -p tcp --dport 6379 -j DROP
  ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379 >/dev/null 2>&1 &
  pid=$!
  assert_eq "$([ "$(probe_tables wait)" -ge 1 ] && echo yes)" yes "SIGKILL test: the probe's trace tables are there while it waits"
  kill -KILL $pid; wait $pid 2>/dev/null
  for _ in $(seq 100); do [ "$(probe_tables)" = 0 ] && break; sleep 0.02; done
  assert_eq "$(probe_tables)" 0 "SIGKILL: the kernel removed the probe's trace tables"
  ip netns exec "$C2" iptables -D INPUT -p tcp --dport 6379 -j DROP
  ip netns exec "$H2" iptables -D INPUT -p tcp --dport 7946 -j DROP
  # iptables-legacy rules: the kernel's tracer cannot follow them, and the probe says so
  if command -v iptables-legacy >/dev/null && ip netns exec "$C2" iptables-legacy -A INPUT -p tcp --dport 6379 -j ACCEPT 2>/dev/null; then
    run ovnet-trace --from "$C1" --probe tcp 10.0.0.3:6379
    assert_contains "$(jq -r '.probe.nftrace | join("; ")' <<<"$OUT")" "$C2: iptables-legacy rules, which the kernel's tracer (nf_tables only) cannot follow" \
      "a legacy rule in c2: the probe says the kernel cannot trace it"
    ip netns exec "$C2" iptables-legacy -D INPUT -p tcp --dport 6379 -j ACCEPT
  fi
  bad "--probe from an interface with no bridged peer" "not a veth whose peer is on a bridge" --probe --from "$C1" --iif lo --src 10.0.0.9 tcp 10.0.0.2:1
  assert_eq "$(leftovers)" "0/0" "a refused probe leaves nothing"
  kill %2 2>/dev/null
else
  echo "# ovnet-trace built without libpcap: --probe not tested"
fi

# ---- offline equals live ----
ovnet-inspect >"$TMP/full.json"
jq --arg p "$P-" '.netns |= with_entries(select(.key | startswith($p))) | .networks |= map(select(.netns | startswith($p)))' \
  "$TMP/full.json" >"$TMP/snap.json"
run ovnet-trace --snapshot "$TMP/snap.json" --from "$C1" --minimal tcp 10.0.0.3:6379
assert_eq "$RC" 0 "offline: exit 0"
assert_eq "$(grep -v " socket " <<<"$OUT")" "$(grep -v " socket " <<<"$LIVE")" "offline trace = live trace, hop by hop"
assert_contains "$OUT" "$C2 socket tcp 10.0.0.3:6379: unknown" "offline: the socket is not known, and said so"
# one snapshot per namespace, as one per node would be: the same trace
args=()
for n in ul h1 h2 h3 c1 c2 c3; do ovnet-inspect -n "$(ns $n)" >"$TMP/ns-$n.json"; args+=(--snapshot "$TMP/ns-$n.json"); done
run ovnet-trace "${args[@]}" --from "$C1" --minimal tcp 10.0.0.3:6379
assert_eq "$(grep -v " socket " <<<"$OUT")" "$(grep -v " socket " <<<"$LIVE")" "seven snapshots, one per namespace: the same trace"
run ovnet-trace --snapshot - --from "$C1" tcp 10.0.0.3:6379 <"$TMP/snap.json"
assert_eq "$(jq -r .mode <<<"$OUT")" "snapshot" "a snapshot on stdin: mode snapshot"

# ---- failures, one at a time ----
expect_code() {   # expect_code CODE DESCRIPTION ARGS...
  local code=$1 what=$2; shift 2
  run ovnet-trace --from "$C1" "$@"
  assert_eq "$RC:$(jq -r .code <<<"$OUT")" "1:$code" "$what: exit 1, $code"
}
expect_code NO_LISTENER "nothing on c2:6380" tcp 10.0.0.3:6380
expect_code NO_ROUTE "no route to 10.9.9.9 in c1" tcp 10.9.9.9:80
expect_code MTU_EXCEEDED "1472 bytes with DF over c1's MTU 1450" --size 1472 udp 10.0.0.3:53
run ovnet-trace --from "$C1" --size 1472 --no-df icmp 10.0.0.3
assert_eq "$RC" 0 "1472 bytes without DF: fragmented, delivered"

if command -v iptables >/dev/null && ip netns exec "$H2" iptables -A INPUT -p udp --dport 4789 -j DROP 2>/dev/null; then
  expect_code DROP_RULE "h2 drops udp/4789 on INPUT" tcp 10.0.0.3:6379
  assert_contains "$(jq -r .fix <<<"$OUT")" "iptables -t filter -D INPUT -p udp -m udp --dport 4789 -j DROP" "the fix deletes that rule"
  ip netns exec "$H2" iptables -D INPUT -p udp --dport 4789 -j DROP
else
  echo "# no usable iptables: DROP_RULE not injected"
fi

if ip -n "$H1" xfrm policy add src 192.0.2.11/32 dst 192.0.2.12/32 proto udp dport 4789 dir out \
     tmpl src 192.0.2.11 dst 192.0.2.12 proto esp mode transport 2>/dev/null; then
  expect_code XFRM_NO_SA "an xfrm policy on h1 selecting the VXLAN packets, without its SA" tcp 10.0.0.3:6379
  ip -n "$H1" xfrm policy del src 192.0.2.11/32 dst 192.0.2.12/32 proto udp dport 4789 dir out
else
  echo "# no xfrm here: XFRM_NO_SA not injected"
fi

# forwarding: c1 reaches 198.51.100.0/24 through h1 (10.0.0.1 on the bridge), h1 on to h2
ip -n "$H1" addr add 10.0.0.1/24 dev $BR && ip -n "$C1" route add 198.51.100.0/24 via 10.0.0.1 &&
  ip -n "$H1" route add 198.51.100.0/24 via 192.0.2.12
expect_code IP_FORWARD_OFF "h1 must forward, ip_forward 0" tcp 198.51.100.7:443
ip netns exec "$H1" sysctl -qw net.ipv4.ip_forward=1
expect_code NO_ROUTE "ip_forward 1 on h1: h2 has no route on" tcp 198.51.100.7:443
assert_contains "$(jq -r '.paths[0].hops | map(.netns) | unique | join(" ")' <<<"$OUT")" "$H2" "the packet got to h2"
ip netns exec "$H1" sysctl -qw net.ipv4.ip_forward=0
ip -n "$C1" route del 198.51.100.0/24; ip -n "$H1" route del 198.51.100.0/24; ip -n "$H1" addr del 10.0.0.1/24 dev $BR

bridge -n "$H1" fdb del 02:42:0a:00:00:03 dev $VX dst 192.0.2.12 self
expect_code FDB_HALF_ENTRY "h1's neighbor for c2 without its fdb entry" tcp 10.0.0.3:6379
ip -n "$H1" neigh del 10.0.0.3 dev $VX
expect_code FDB_MISS "neither neighbor nor fdb entry for c2 on h1" tcp 10.0.0.3:6379
three_hosts_peers
run ovnet-trace --from "$C1" tcp 10.0.0.3:6379
assert_eq "$RC" 0 "peers distributed again: delivered"

# ---- bad input ----
bad "unknown sandbox" "$P-nosuch" --from "$P-nosuch" tcp 10.0.0.3:1
bad "malformed address" "10.0.0.300" --from "$C1" tcp 10.0.0.300:80
bad "port out of range" "70000" --from "$C1" tcp 10.0.0.3:70000
bad "icmp with a port" "icmp has no ports" --from "$C1" icmp 10.0.0.3:80
bad "unknown protocol" "gre" --from "$C1" gre 10.0.0.3
jq '.schema = "ovnet-inspect/2"' "$TMP/snap.json" >"$TMP/v2.json"
bad "a snapshot of another version" "v2.json" --snapshot "$TMP/v2.json" --from "$C1" tcp 10.0.0.3:1

kill %1 2>/dev/null
done_testing
