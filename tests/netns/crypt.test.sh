#!/bin/bash
# ovnet-crypt on this kernel: the parts that need no ESP SA (bad input refused with nothing
# written, keys never echoed, the iptables chains, policy pruning, show, del) and, on a kernel
# without ESP or rfc4106(gcm(aes)), the one-line exit 1 with nothing written. With ESP and AES-GCM
# (the VM), add/apply/del are checked against the kernel's SAs and policies too.
. "$(dirname "$0")/lib.sh"
command -v iptables-save >/dev/null || skip "no iptables-save"
command -v jq >/dev/null || skip "no jq"

H=$(ns h)
mkns "$H" || skip "cannot create a namespace"
ip -n "$H" xfrm policy list >/dev/null 2>&1 || skip "no xfrm (CONFIG_XFRM_USER)"
ip netns exec "$H" iptables -t mangle -A OUTPUT -p udp -m u32 --u32 "0>>22&0x3C@12=0" -j RETURN 2>/dev/null || skip "no u32 match"
ip netns exec "$H" iptables -t mangle -F OUTPUT
ip netns exec "$H" iptables -A INPUT -m policy --dir in --pol none -j RETURN 2>/dev/null || skip "no policy match"
ip netns exec "$H" iptables -F INPUT

KEY1=00112233445566778899aabbccddeeff
KEY2=ffeeddccbbaa99887766554433221100
K=$TMP/keys
(umask 077; printf '# vote\n3313 %s\n' "$KEY1" >"$K")
K2=$TMP/keys2
(umask 077; printf '3314 %s\n3313 %s\n' "$KEY2" "$KEY1" >"$K2")
L=192.0.2.1
B=192.0.2.2
C=192.0.2.3
# Does this kernel have ESP with AES-GCM? (Docker's own SA, written by hand.)
GCM=0
if ip -n "$H" xfrm state add src $L dst $B proto esp spi 0x1 reqid 1 mode transport \
     aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 64 2>/dev/null; then
  GCM=1
  ip -n "$H" xfrm state flush
fi
echo "# kernel ESP with rfc4106(gcm(aes)): $GCM"
# no_key_in TEXT DESCRIPTION: neither key appears.
no_key_in() { assert_not_contains "$1" "$KEY1" "$2 (key 1)"; assert_not_contains "$1" "$KEY2" "$2 (key 2)"; }
xstate() { ip -n "$H" xfrm state | grep -c '^src' ; }
xpol() { ip -n "$H" xfrm policy | grep -c '^src' ; }

# ---- bad input: exit 2, one line, nothing written, no key echoed ------------------------------------
expect_bad_input "a key of the wrong length" "$H" "line 1" "30 characters" -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --key-file - <<<"1 ${KEY1:2}"
no_key_in "$ERR$OUT" "a key of the wrong length is not echoed"
cp "$K" "$TMP/open"; chmod 644 "$TMP/open"
expect_bad_input "a world-readable key file" "$H" "mode" '"0644"' -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --key-file "$TMP/open"
chmod 640 "$TMP/open"
expect_bad_input "a group-readable key file" "$H" '"0640"' -- \
  ovnet-crypt -n "$H" apply --vni 4098 --local $L --key-file "$TMP/open"
expect_bad_input "an IPv6 peer" "$H" 'peer "2001:db8::2"' IPv4 -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peer 2001:db8::2 --key-file "$K"
expect_bad_input "a VNI out of range" "$H" 'vni "16777216"' -- \
  ovnet-crypt -n "$H" add --vni 16777216 --local $L --peer $B --key-file "$K"
expect_bad_input "the local address as a peer" "$H" "local address" -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $L --key-file "$K"
expect_bad_input "rotate with one key" "$H" "rotate needs" -- \
  ovnet-crypt -n "$H" rotate --vni 4098 --local $L --peer $B --key-file "$K"
expect_rc 2 "there is no option taking a key on the command line" ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --key "$KEY1"
assert_eq "$(xpol)/$(xstate)" "0/0" "no xfrm object was written by any bad input"
assert_not_contains "$(ip netns exec "$H" iptables-save)" "OVNET-CRYPT" "no chain was written by any bad input"

# ---- apply without peers: the iptables part, pruning of our policies, others' left alone -------------
# A left-over policy in Docker's form for a peer that is gone, and someone else's policy.
ip -n "$H" xfrm policy add src $L/32 dst $C/32 proto udp dport 4789 dir out mark 0xd0c4e3 mask 0xffffffff \
  tmpl src $L dst $C proto esp spi 0x1234 reqid 13681891 mode transport
ip -n "$H" xfrm policy add src $L/32 dst $C/32 proto udp dport 4789 dir out mark 0x7 mask 0xffffffff \
  tmpl src $L dst $C proto esp spi 0x99 reqid 7 mode transport
expect_rc 0 "show lists the left-over policy" ovnet-crypt -n "$H" show --local $L -j
assert_eq "$(jq -c '.policies' <<<"$OUT")" \
  '[{"src":"192.0.2.1","dst":"192.0.2.3","dport":4789,"mark":"0x00d0c4e3","mark_mask":"0xffffffff","spi":"0x00001234","reqid":"0x00d0c4e3"}]' \
  "show: only the mark-0xd0c4e3 policy, in Docker's form"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
  if /usr/bin/python3 "$OVNET_SRC/tests/schema/validate.py" "$OVNET_SRC/schema" crypt-show - <<<"$OUT" >"$TMP/v" 2>&1; then
    pass "show -j is valid against crypt-show.schema.json"
  else fail "show -j against the schema: $(cat "$TMP/v")"; fi
fi
expect_rc 0 "apply with no peers (data port 5789)" ovnet-crypt -n "$H" apply --vni 4098 --port 5789 --local $L --key-file "$K"
assert_eq "$(xpol)" "2" "apply of port 5789 leaves port 4789's policy (another overlay's) alone"
expect_rc 0 "apply with no peers (port 4789)" ovnet-crypt -n "$H" apply --vni 4098 --local $L --key-file "$K" -j
assert_contains "$OUT" '"action":"removed","object":"policy out 192.0.2.1 -> 192.0.2.3 dport 4789"' "apply removes the policy of the peer that left"
assert_eq "$(jq -c '[.vni, .port, .local, .summary.added, .summary.removed, .summary.writes > 0]' <<<"$OUT")" '[4098,4789,"192.0.2.1",0,1,true]' \
  "the set report: the overlay, then the summary (nothing added, the left-over policy removed, writes made)"
assert_contains "$ERR" "ovnet-crypt: overlay 4098: " "the summary line on stderr"
if /usr/bin/python3 "$OVNET_SRC/tests/schema/validate.py" "$OVNET_SRC/schema" 'crypt-show#/$defs/report' - <<<"$OUT" >"$TMP/v" 2>&1; then
  pass "the report is valid against crypt-show.schema.json#/\$defs/report"
else fail "report against the schema: $(cat "$TMP/v")"; fi
assert_eq "$(ip -n "$H" xfrm policy | grep -c 'mark 0x7/')" "1" "someone else's policy stays"
SAVE=$(ip netns exec "$H" iptables-save)
U32='"0x0>>0x16&0x3c@0xc&0xffffff00=0x100200"'
assert_contains "$SAVE" "-A OUTPUT -j OVNET-CRYPT-4098" "mangle OUTPUT jumps to OVNET-CRYPT-4098"
assert_contains "$SAVE" "-A INPUT -j OVNET-CRYPT-4098" "filter INPUT jumps to OVNET-CRYPT-4098"
assert_contains "$SAVE" "-A OVNET-CRYPT-4098 -p udp -m udp --dport 4789 -m u32 --u32 $U32 -j MARK --set-xmark 0xd0c4e3/0xffffffff" \
  "the mark rule is Docker's (iptables-save form)"
assert_contains "$SAVE" "-A OVNET-CRYPT-4098 -p udp -m policy --dir in --pol none -m udp --dport 4789 -m u32 --u32 $U32 -j DROP" \
  "unencrypted VXLAN of VNI 4098 is dropped"
assert_contains "$SAVE" "-A OVNET-CRYPT-4098 -p udp -m policy --dir in --pol ipsec -m udp --dport 4789 -m u32 --u32 $U32 -j ACCEPT" \
  "encrypted VXLAN of VNI 4098 is accepted"
expect_rerun_unchanged "apply with no peers" "$H" ovnet-crypt -n "$H" apply --vni 4098 --local $L --key-file "$K"

# ---- keys from stdin ----------------------------------------------------------------------------------
expect_rc 0 "keys from stdin" ovnet-crypt -n "$H" apply --vni 4098 --local $L --key-file - <"$K"
no_key_in "$OUT$ERR" "keys from stdin are not echoed"

# ---- peers from the pipe that feeds ovnet-fdb apply ------------------------------------------------------
ROWS='[{"ip":"10.0.2.3","mac":"02:42:0a:00:02:03","vtep":"192.0.2.2","status":"endpoint"},{"ip":"10.0.2.4","mac":"02:42:0a:00:02:04","vtep":"192.0.2.2","status":"endpoint"},{"ip":"10.0.2.2","mac":"02:42:0a:00:02:02","vtep":"192.0.2.1","status":"endpoint"}]'
expect_bad_input "--peers-from-stdin with keys on stdin" "$H" "key-file" -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peers-from-stdin --key-file - <<<"$ROWS"
expect_bad_input "add without any peer" "$H" "--peers-from-stdin" -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --key-file "$K"
expect_bad_input "a stdin row with a bad vtep" "$H" 'vtep "192.0.2.x"' -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peers-from-stdin --key-file "$K" <<<'[{"vtep":"192.0.2.x"}]'
expect_bad_input "a stdin row naming an IPv6 underlay" "$H" 'peer "2001:db8::2"' -- \
  ovnet-crypt -n "$H" add --vni 4098 --local $L --peers-from-stdin --key-file "$K" <<<'[{"vtep":"2001:db8::2"}]'

if [ "$GCM" = 0 ]; then
  # ---- a kernel without ESP or AES-GCM: one line, exit 1, nothing written ---------------------------
  P0=$(xpol); S0=$(ip netns exec "$H" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')
  expect_rc 1 "add on a kernel without AES-GCM or ESP exits 1" ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --key-file "$K"
  assert_one_line "$ERR" "one line on stderr"
  if [[ "$ERR" == *"rfc4106(gcm(aes)) missing in the kernel"* || "$ERR" == *"ESP (esp4, CONFIG_INET_ESP) missing in the kernel"* ]]; then
    pass "the line names what is missing: $ERR"
  else fail "the line does not name the missing algorithm or ESP: $ERR"; fi
  no_key_in "$ERR$OUT" "the failure does not echo the key"
  assert_eq "$(xpol)/$(xstate)" "$P0/0" "nothing written to xfrm"
  assert_eq "$(ip netns exec "$H" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')" "$S0" "nothing written to iptables"
  # The peer read from stdin is one to write an SA for (which this kernel refuses): it was taken.
  expect_rc 1 "apply --peers-from-stdin takes 192.0.2.2 (once) from the rows" \
    ovnet-crypt -n "$H" apply --vni 4098 --local $L --peers-from-stdin --key-file "$K" <<<"$ROWS"
  expect_rc 0 "apply --peers-from-stdin with only this node's own rows: no peer" \
    ovnet-crypt -n "$H" apply --vni 4098 --local $L --peers-from-stdin --key-file "$K" <<<'[{"ip":"10.0.2.2","vtep":"192.0.2.1"}]'
else
  # ---- ESP with AES-GCM: Docker's SAs and policies ------------------------------------------------------
  expect_rc 0 "add two peers" ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --peer $C --key-file "$K"
  assert_eq "$(xstate)" "4" "an inbound and an outbound SA per peer"
  assert_contains "$(ip -n "$H" xfrm state)" "spi 0x5093b01b reqid 13681891 mode transport" "outbound SA to $B has Docker's SPI"
  assert_contains "$(ip -n "$H" xfrm state)" "spi 0x47ade123 reqid 13681891 mode transport" "inbound SA from $B has Docker's SPI"
  assert_contains "$(ip -n "$H" xfrm state)" "aead rfc4106(gcm(aes)) 0x${KEY1}5093b01b 64" "key then SPI as salt, 64-bit ICV"
  assert_eq "$(ip -n "$H" xfrm policy | grep -c 'mark 0xd0c4e3/0xffffffff')" "2" "one outbound policy per peer"
  expect_rerun_unchanged "add two peers" "$H" ovnet-crypt -n "$H" add --vni 4098 --local $L --peer $B --peer $C --key-file "$K"
  expect_rc 0 "show" ovnet-crypt -n "$H" show --local $L -j
  no_key_in "$OUT" "show prints fingerprints, not keys"
  assert_eq "$(jq '[.sas[] | select(.key_bits == 160 and .icv_bits == 64)] | length' <<<"$OUT")" "4" "show: 160-bit key material, 64-bit ICV"
  expect_rc 0 "show --show-keys" ovnet-crypt -n "$H" show --local $L --show-keys -j
  assert_contains "$OUT" "${KEY1}5093b01b" "--show-keys prints the key material"
  expect_rc 0 "rotate to key 3314" ovnet-crypt -n "$H" rotate --vni 4098 --local $L --peer $B --peer $C --key-file "$K2"
  assert_eq "$(xstate)" "6" "after rotate: new in+out, old in kept per peer"
  assert_contains "$(ip -n "$H" xfrm policy)" "spi 0x44498c6e" "the policy to $B moved to key 3314's SPI"
  expect_rc 0 "apply: $C leaves" ovnet-crypt -n "$H" apply --vni 4098 --local $L --peer $B --key-file "$K2"
  assert_eq "$(xstate)/$(ip -n "$H" xfrm policy | grep -c 'mark 0xd0c4e3/')" "3/1" "$C's SAs and policy are gone"
fi

# ---- del --peer: only that peer's objects ----------------------------------------------------------
for d in $B $C; do
  ip -n "$H" xfrm policy add src $L/32 dst $d/32 proto udp dport 4789 dir out mark 0xd0c4e3 mask 0xffffffff \
    tmpl src $L dst $d proto esp spi 0x1234 reqid 13681891 mode transport
done
expect_rc 0 "del --peer $C" ovnet-crypt -n "$H" del --vni 4098 --local $L --peer $C -j
assert_eq "$(ip -n "$H" xfrm policy | grep -A2 "dst $C/32" | grep -c 'mark 0xd0c4e3/')/$(ip -n "$H" xfrm policy | grep -A2 "dst $B/32" | grep -c 'mark 0xd0c4e3/')" \
  "0/1" "del --peer removes that peer's policy only"
assert_contains "$(ip netns exec "$H" iptables-save)" "-A OUTPUT -j OVNET-CRYPT-4098" "del --peer keeps the overlay's rules"

# ---- the MTU of an encrypted overlay --------------------------------------------------------------
ovnet-bridge -q -n "$H" add ov-vote >/dev/null
expect_rc 0 "ovnet-vtep add --encrypted" ovnet-vtep -n "$H" add vx-vote --vni 4098 --master ov-vote --encrypted -t
assert_contains "$ERR" "encrypted overlay: MTU 1424" "ovnet-vtep says the encrypted MTU"
assert_eq "$(ip -n "$H" -j link show vx-vote | jq '.[0].mtu')" "1424" "kernel: the VTEP's MTU is 1424"
expect_rc 0 "ovnet-sbox connect --encrypted" ovnet-sbox -n "$H" connect "$(ns c1)" --bridge ov-vote --ip 10.0.2.2/24 --encrypted
assert_contains "$ERR" "encrypted overlay: MTU 1424" "ovnet-sbox says the encrypted MTU"
assert_eq "$(ip -n "$(ns c1)" -j link show eth0 | jq '.[0].mtu')" "1424" "kernel: the sandbox's interface MTU is 1424"
expect_rc 2 "--encrypted with --mtu is refused" ovnet-vtep -n "$H" add vx-x --vni 4099 --encrypted --mtu 1450

# ---- del ----------------------------------------------------------------------------------------------
expect_rc 0 "del" ovnet-crypt -n "$H" del --vni 4098 --local $L
assert_not_contains "$(ip netns exec "$H" iptables-save)" "OVNET-CRYPT" "del removes the chains and their hooks"
assert_eq "$(ip -n "$H" xfrm policy | grep -c 'mark 0xd0c4e3/')/$(ip -n "$H" xfrm state | grep -c 'reqid 13681891')" "0/0" \
  "del of the last encrypted overlay removes its policies and SAs"
assert_eq "$(ip -n "$H" xfrm policy | grep -c 'mark 0x7/')" "1" "someone else's policy still stays"
expect_rerun_unchanged "del" "$H" ovnet-crypt -n "$H" del --vni 4098 --local $L

# ---- legacy iptables: the first apply reads the (absent) chains in-process, no iptables-save ------------
LEGACY=$(PATH=/usr/sbin:/sbin:$PATH command -v xtables-legacy-multi || true)
LG=$(ns lg)
if [ -n "$LEGACY" ] && mkns "$LG" && ip netns exec "$LG" "$LEGACY" iptables -t mangle -S >/dev/null 2>&1; then
  mkdir -p "$TMP/legacy"
  for t in iptables iptables-save iptables-restore; do ln -sf "$LEGACY" "$TMP/legacy/$t"; done
  LPATH=$TMP/legacy:$PATH
  if command -v strace >/dev/null; then
    expect_rc 0 "legacy: first apply in a fresh namespace" \
      env PATH="$LPATH" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=execve -o "$TMP/lg.trace" ovnet-crypt -n "$LG" apply --vni 4099 --local $L --key-file "$K"
    assert_eq "$(grep -c 'execve("[^"]*iptables-save' "$TMP/lg.trace")/$(grep -c 'execve("[^"]*iptables-restore' "$TMP/lg.trace")" "0/1" \
      "legacy: the absent chains were read in-process: no iptables-save, one iptables-restore"
  else
    expect_rc 0 "legacy: first apply in a fresh namespace" env PATH="$LPATH" ovnet-crypt -n "$LG" apply --vni 4099 --local $L --key-file "$K"
  fi
  LSAVE=$(PATH=$LPATH ip netns exec "$LG" iptables-save)
  assert_contains "$LSAVE" "-A OUTPUT -j OVNET-CRYPT-4099" "legacy: mangle OUTPUT jumps to OVNET-CRYPT-4099"
  assert_contains "$LSAVE" "-A INPUT -j OVNET-CRYPT-4099" "legacy: filter INPUT jumps to OVNET-CRYPT-4099"
  assert_eq "$(grep -c '^-A OVNET-CRYPT-4099 ' <<<"$LSAVE")" "3" "legacy: the three rules"
  expect_rc 0 "legacy: re-apply" env PATH="$LPATH" ovnet-crypt -n "$LG" apply --vni 4099 --local $L --key-file "$K" -j
  assert_eq "$(jq -c '[.summary.unchanged, .summary.writes]' <<<"$OUT")" "[2,0]" "legacy: the re-apply reads the existing chains (iptables-save) and writes nothing"
  expect_rc 0 "legacy: del" env PATH="$LPATH" ovnet-crypt -n "$LG" del --vni 4099 --local $L
  assert_not_contains "$(PATH=$LPATH ip netns exec "$LG" iptables-save)" "OVNET-CRYPT" "legacy: del removes the chains"
else
  echo "# no iptables-legacy (xtables-legacy-multi) here: the in-process read is left to the VM bodies"
fi

done_testing
