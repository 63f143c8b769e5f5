#!/bin/bash
# nesting: every tool verb that reads JSON on stdin refuses 1,000,000 nested arrays or objects with
# exit 2 and one line, without a crash (a recursive DOM parse or print used to overflow the stack)
# and without touching the namespace; 50 MB of junk into ovnet-fdb apply is answered quickly, in
# one line of bounded length. (ovnet-lb and ovnet-publish read nothing on stdin.)
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "needs jq"

N=$(ns n)
BR=ov-001001-7672d VX=vx-001001-7672d
mkns "$N" || { echo "cannot create $N"; exit 1; }
ovnet-bridge -q -n "$N" add "$BR" --mtu 1450 >/dev/null &&
  ovnet-vtep -q -n "$N" add "$VX" --vni 4097 --local 192.0.2.11 --master "$BR" >/dev/null &&
  ovnet-fdb -q -n "$N" add --ip 10.0.0.3 --vtep 192.0.2.12 >/dev/null || { echo "setup of $N failed"; exit 1; }

# The inputs: a million levels of arrays (closed, and never closed) and of objects ({"a":{"a":...1}}).
head -c 1000000 /dev/zero | tr '\0' '[' >"$TMP/open.json"
{ cat "$TMP/open.json"; head -c 1000000 /dev/zero | tr '\0' ']'; } >"$TMP/arrays.json"
{ yes '{"a":' | head -n 1000000 | tr -d '\n'; printf 1; head -c 1000000 /dev/zero | tr '\0' '}'; } >"$TMP/objects.json"
assert_eq "$(head -c 12 "$TMP/objects.json")" '{"a":{"a":{"' "the nested objects are what they say"

VERBS=("ovnet-bridge -n $N apply" "ovnet-bridge -n $N add" "ovnet-vtep -n $N apply" "ovnet-vtep -n $N add"
       "ovnet-sbox -n $N apply" "ovnet-fdb -n $N apply" "ovnet-ipvs -n $N apply")

snapshot "$N" >"$TMP/before.snap"
for input in arrays open objects; do
  for verb in "${VERBS[@]}"; do
    tool=${verb%% *}
    # ovnet-ipvs reads its set before it needs IPVS, so this kernel's lack of it does not matter.
    run $verb <"$TMP/$input.json"
    if [ "$RC" = 2 ]; then pass "$input | $tool ${verb##* }: exit 2"
    else fail "$input | $tool ${verb##* }: exit $RC (a crash is 128+signal); stderr: ${ERR:0:300}"; fi
    assert_one_line "$ERR" "$input | $tool ${verb##* }: one line on stderr"
    # ovnet-fdb refuses an array inside its top-level array first: "got a nested array".
    if [ "$input" = objects ] || [ "$tool" != ovnet-fdb ]; then
      assert_contains "$ERR" "JSON nested deeper than 512 levels at byte " "$input | $tool ${verb##* }: says why"
    else
      assert_contains "$ERR" "nested" "$input | $tool ${verb##* }: says why"
    fi
    assert_contains "$ERR" "$tool: " "$input | $tool ${verb##* }: names the tool"
  done
done
assert_eq "$ERR" "ovnet-ipvs: services: JSON nested deeper than 512 levels at byte 2560" "the byte of the 513th level"
unchanged_since "$TMP/before.snap" "$N" "the namespace is unchanged after every refusal"

# 50 MB of junk of several shapes into ovnet-fdb apply: refused within seconds of CPU (the bound is
# generous; an idle machine answers in well under one), in one line of bounded length.
head -c 50000000 /dev/zero | tr '\0' '[' >"$TMP/junk.open"
head -c 50000000 /dev/zero | tr '\0' '1' >"$TMP/junk.digits"
{ printf '"'; head -c 50000000 /dev/zero | tr '\0' 'a'; } >"$TMP/junk.string"
{ printf '{"ip":"'; head -c 50000000 /dev/zero | tr '\0' 'x'; printf '","mac":1}'; } >"$TMP/junk.value"
head -c 50000000 /dev/zero >"$TMP/junk.nul"
for junk in open digits string value nul; do
  # The bound is on CPU time (user + system of the tool), which a busy machine does not stretch the
  # way it stretches wall time; wall time only has to stay far from a hang.
  t0=$(date +%s%N)
  TIMEFORMAT='%3U %3S'
  { time run ovnet-fdb -n "$N" apply --prune <"$TMP/junk.$junk" ; } 2>"$TMP/cpu"
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$TMP/cpu")
  rm -f "$TMP/junk.$junk"
  assert_eq "$RC" 2 "50 MB of $junk: exit 2"
  assert_one_line "$ERR" "50 MB of $junk: one line on stderr"
  if [ "${#ERR}" -lt 400 ]; then pass "50 MB of $junk: a short line (${#ERR} bytes)"
  else fail "50 MB of $junk: ${#ERR} bytes on stderr: ${ERR:0:300}"; fi
  if [ "$ms" -lt 10000 ] && [ "$wall" -lt 120000 ]; then pass "50 MB of $junk: answered in ${ms} ms of CPU (${wall} ms wall)"
  else fail "50 MB of $junk: answered in ${ms} ms of CPU, ${wall} ms wall (bounds 10 s CPU, 120 s wall)"; fi
done
unchanged_since "$TMP/before.snap" "$N" "the namespace is unchanged after the junk (--prune removed nothing)"

done_testing
