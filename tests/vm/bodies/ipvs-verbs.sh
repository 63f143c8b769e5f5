#!/bin/bash
# ipvs-verbs: every ovnet-ipvs verb in a fresh namespace, interop with ipvsadm both ways, apply/prune
# and the no-write re-apply, drain, zero/flush/timeouts, and bad input (exit 2, one line, no change).
# ipvsadm is used only to check (and, for the interop direction ipvsadm -> ovnet, in a second netns).
set -u
ns=${VM_NS_PREFIX:-ovt$$-}ipvs
ns2=${VM_NS_PREFIX:-ovt$$-}ipvs2
F=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; F=$((F+1)); }
die() { echo "VM-RESULT: FAIL $*"; ovnet-sbox -q del "$ns" >/dev/null 2>&1; ovnet-sbox -q del "$ns2" >/dev/null 2>&1; exit 1; }
command -v ovnet-ipvs >/dev/null || die "ovnet-ipvs not shipped"
modprobe ip_vs || die "modprobe ip_vs"
for m in rr wrr lc wlc sh mh; do modprobe ip_vs_$m; done
modprobe ip_vs_pe_sip 2>/dev/null
ovnet-sbox -q add "$ns" >/dev/null || die "ovnet-sbox add $ns"
ovnet-sbox -q add "$ns2" >/dev/null || die "ovnet-sbox add $ns2"
I="ovnet-ipvs -n $ns"
A="ip netns exec $ns ipvsadm"

# --- add / show
$I -q add -f 258 -s rr || bad "add -f 258"
$I -q add -f 258 -r 10.255.0.6 -m -w 1 || bad "add dest 10.255.0.6"
$I -q add -f 258 -r 10.255.0.7 -m -w 1 || bad "add dest 10.255.0.7"
$I -q add -t 10.0.0.5:80 -s wrr -p 300 -M 255.255.255.0 || bad "add -t"
$I -q add -t 10.0.0.5:80 -r 10.0.0.2:8080 -m -w 3 || bad "add tcp dest"
$I -q add -t 10.0.0.5:80 -r 10.0.0.3 -i --tun-type gue --tun-port 6080 -w 2 || bad "add gue dest"
$I -q add -t 10.0.0.5:80 -r 10.0.0.4 -g -w 0 || bad "add dr dest"
$I -q add -u 10.0.0.5:53 -s sh -b sh-fallback,sh-port -o || bad "add udp sh"
$I -q add -t [fd00::1]:443 -s rr -p 60 -M 64 || bad "add v6"
$I -q add -t [fd00::1]:443 -r [fd00::2]:443 || bad "add v6 dest"
$I -q add -f 259 -6 -s lc -p || bad "add fwm6"
out=$($I add -f 258 -s rr 2>&1); echo "$out" | grep -q unchanged && ok "add again: unchanged" || bad "add again: $out"
want='-A -t 10.0.0.5:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.0.0.5:80 -r 10.0.0.2:8080 -m -w 3
-a -t 10.0.0.5:80 -r 10.0.0.3:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 10.0.0.5:80 -r 10.0.0.4:80 -g -w 0
-A -u 10.0.0.5:53 -s sh -o -b sh-fallback,sh-port
-A -t [fd00::1]:443 -s rr -p 60 -M 64
-a -t [fd00::1]:443 -r [fd00::2]:443 -m -w 1
-A -f 258 -s rr
-a -f 258 -r 10.255.0.6:0 -m -w 1
-a -f 258 -r 10.255.0.7:0 -m -w 1
-A -f 259 -6 -s lc -p 360'
got=$($A -S -n)
[ "$got" = "$want" ] && ok "ipvsadm -S -n lists what ovnet added" || { bad "ipvsadm -S -n differs"; diff <(echo "$want") <(echo "$got"); }
mine=$($I show --ipvsadm)
[ "$mine" = "$got" ] && ok "show --ipvsadm == ipvsadm -S -n" || { bad "show --ipvsadm differs"; diff <(echo "$got") <(echo "$mine"); }
$A -Ln | grep -q '^FWM  258 rr' && ok "ipvsadm -Ln shows FWM 258" || bad "ipvsadm -Ln"
t=$($I -t show); echo "$t" | head -4
echo "$t" | grep -q '10.255.0.6:0' && ok "table" || bad "table"
$I -t show --stats | grep -q Conns && ok "--stats table" || bad "--stats"
$I -t show --rate | grep -q CPS && ok "--rate table" || bad "--rate"
j=$($I show -f 258)
echo "$j" | grep -q '"fwmark":258' && echo "$j" | grep -q '"address":"10.255.0.7","port":0,"forward":"masq","weight":1' \
  && ok "show -f 258 JSON" || bad "show JSON: $j"

# --- edit
$I -q edit -t 10.0.0.5:80 -s wlc || bad "edit service"
$I -q edit -f 258 -r 10.255.0.6 -w 5 || bad "edit dest"
$A -S -n | grep -q -- '-A -t 10.0.0.5:80 -s wlc -p 300 -M 255.255.255.0' && ok "edit scheduler kept persistence" || bad "edit service: $($A -S -n | head -1)"
$A -S -n | grep -q -- '-a -f 258 -r 10.255.0.6:0 -m -w 5' && ok "edit weight" || bad "edit dest"

# --- interop ipvsadm -> ovnet (second namespace), and --from-ipvsadm round trip
B="ip netns exec $ns2 ipvsadm"
$B -A -t 192.0.2.10:80 -s wrr -p 120 -M 255.255.0.0 && $B -a -t 192.0.2.10:80 -r 192.0.2.11:8080 -m -w 7 -x 100 -y 10 \
  && $B -A -f 300 -s mh -b mh-port && $B -a -f 300 -r 192.0.2.12 -g -w 2 || bad "ipvsadm setup in ns2"
j=$(ovnet-ipvs -n "$ns2" show)
# Every key on every row: what does not apply to a service's kind is null (fwmark of a tcp service,
# address/port of a fwm one, a non-tunnel destination's tun_type/tun_port).
for pat in '"protocol":"tcp","fwmark":null,"address":"192.0.2.10","port":80,"scheduler":"wrr","persistent":true,"timeout":120,"netmask":16' \
           '"address":"192.0.2.11","port":8080,"forward":"masq","weight":7,"u_threshold":100,"l_threshold":10,"tun_type":null,"tun_port":null' \
           '"fwmark":300,"address":null,"port":null,"scheduler":"mh","persistent":false,"timeout":null,"netmask":null' \
           '"sh_fallback":false,"sh_port":true,"pe":null' '"address":"192.0.2.12","port":0,"forward":"dr","weight":2'; do
  echo "$j" | grep -qF "$pat" && ok "ovnet shows ipvsadm's: $pat" || bad "missing $pat in $j"
done
s2=$($B -S -n)
$B -C
echo "$s2" | ovnet-ipvs -n "$ns2" -q apply --from-ipvsadm || bad "apply --from-ipvsadm"
[ "$($B -S -n)" = "$s2" ] && ok "ipvsadm -S | apply --from-ipvsadm round trip" || bad "from-ipvsadm round trip"
# show -j | apply (the null form as input): no write; into an emptied namespace, the same services.
j2=$(ovnet-ipvs -n "$ns2" show -j)
echo "$j2" | ovnet-ipvs -n "$ns2" apply 2>err >/dev/null; grep -q 'no write issued' err && ok "show -j | apply (nulls read as absent): no write" || bad "null-form re-apply: $(cat err)"
$B -C
echo "$j2" | ovnet-ipvs -n "$ns2" -q apply || bad "apply of show -j into an empty table"
[ "$($B -S -n)" = "$s2" ] && [ "$(ovnet-ipvs -n "$ns2" show -j)" = "$j2" ] && ok "show -j | apply round trip: same services, same show" ||
  bad "show -j round trip: $($B -S -n)"

# --- listing many destinations: a service whose destinations take several dump replies, between
# two small services: show and the diff of apply read all of them.
big=$(awk 'BEGIN { printf "{\"fwmark\":401,\"scheduler\":\"rr\",\"dests\":[{\"address\":\"192.0.2.1\"}]}\n";
  printf "{\"fwmark\":402,\"scheduler\":\"rr\",\"dests\":[";
  for (i = 0; i < 300; i++) printf "%s{\"address\":\"%s.%d\"}", (i ? "," : ""), (i < 200 ? "198.51.100" : "203.0.113"), 1 + i % 200;
  printf "]}\n{\"fwmark\":403,\"scheduler\":\"rr\",\"dests\":[{\"address\":\"192.0.2.3\"}]}\n" }')
echo "$big" | ovnet-ipvs -n "$ns2" -q apply --prune >/dev/null || bad "apply 300 destinations"
[ "$(ovnet-ipvs -n "$ns2" show --ipvsadm)" = "$($B -S -n)" ] && [ "$($B -S -n | grep -c '^-a -f 402')" = 300 ] \
  && ok "show lists 300 destinations of one service and the services around it" || bad "big show: $($B -S -n | grep -c '^-a')"
echo "$big" | ovnet-ipvs -n "$ns2" apply 2>err >/dev/null; grep -q 'no write issued' err && ok "re-apply of 300 destinations: no write" || bad "big re-apply: $(cat err)"

# --- a namespace with its loopback down, as `ip netns add` leaves it (test scaffolding: ovnet-sbox
# always brings lo up): the kernel refuses IPv4 destinations there with a bare EINVAL. The error
# says why, and what had gone through in that batch is undone, so the namespace is as before.
ns3=${VM_NS_PREFIX:-ovt$$-}ipvs3
ip netns add "$ns3"
C="ip netns exec $ns3 ipvsadm"
echo '{"fwmark":500,"scheduler":"rr","dests":[{"address":"10.255.0.6"}]}' | ovnet-ipvs -n "$ns3" apply >/dev/null 2>err
rc=$?
[ $rc = 1 ] && [ "$(wc -l <err)" = 1 ] && grep -q 'dest 10.255.0.6:0 of fwm 500: add: Invalid argument (.*loopback up.*; the 1 request that had gone through was undone' err \
  && [ -z "$($C -S -n)" ] && ok "lo down: exit 1, one line naming the destination and the cause, service undone" || bad "lo down: rc=$rc $(cat err) / $($C -S -n)"
printf '%s\n' '{"fwmark":501,"scheduler":"rr"}' '{"fwmark":502,"scheduler":"wlc","persistent":true,"timeout":60}' | ovnet-ipvs -n "$ns3" -q apply >/dev/null || bad "apply 501 502"
before3=$($C -S -n)
# Prune 502, edit 501, add 503 and its destination (refused): every request but the last goes
# through, and all of them are undone.
printf '%s\n' '{"fwmark":501,"scheduler":"wrr"}' '{"fwmark":503,"scheduler":"rr","dests":[{"address":"10.255.0.6"}]}' \
  | ovnet-ipvs -n "$ns3" apply --prune >/dev/null 2>err
rc=$?
[ $rc = 1 ] && grep -q 'the 3 requests that had gone through were undone' err && [ "$($C -S -n)" = "$before3" ] \
  && ok "failed batch undone: removed service back, edit reverted, new service gone" || bad "undo: rc=$rc $(cat err) / $($C -S -n)"
ip netns del "$ns3"

# --- apply / prune / re-apply no write
set1=$($I show)
echo "$set1" | $I apply 2>err >/dev/null; grep -q 'no write issued' err && ok "re-apply of show: no write" || bad "re-apply: $(cat err)"
echo '{"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6","weight":1},{"address":"10.255.0.8"}]}' | $I apply 2>err >/dev/null
cat err
s=$($A -S -n)
echo "$s" | grep -q 'r 10.255.0.8:0' && ! echo "$s" | grep -q 'r 10.255.0.7:0' && echo "$s" | grep -q -- '-r 10.255.0.6:0 -m -w 1' \
  && echo "$s" | grep -q '10.0.0.5:80' && ok "apply: dest added, missing dest removed, weight edited, others kept" || bad "apply: $s"
echo '{"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.8"}]}' | $I apply --prune 2>err >/dev/null
[ "$($A -S -n | grep -c '^-A')" = 1 ] && ok "apply --prune leaves one service" || bad "prune: $($A -S -n)"
echo '{"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.8"}]}' | $I apply --prune 2>err >/dev/null
grep -q 'no write issued' err && ok "unchanged apply --prune: no write" || bad "re-apply prune: $(cat err)"
# an empty set with --prune (a producer upstream failed) is refused: exit 2, one line, nothing removed
before=$($A -S -n)
for input in "" "[]" "--from-ipvsadm"; do
  if [ "$input" = "[]" ]; then echo '[]' | $I apply --prune >/dev/null 2>err; else $I apply --prune $input </dev/null >/dev/null 2>err; fi
  rc=$?
  [ $rc = 2 ] && [ "$(wc -l <err)" = 1 ] && grep -q -- 'empty set with --prune would remove every service.*--allow-empty' err \
    && [ "$($A -S -n)" = "$before" ] && ok "empty set (${input:-no document}) with --prune: exit 2, nothing removed" || bad "empty set (${input:-no document}): rc=$rc $(cat err)"
done

# --- drain
s0=$(date +%s)
# The weight-0 window (5 s) is watched by a loop started (and through its first round) BEFORE the
# command, so a slow machine cannot miss it.
w0=$PWD/w0; rm -f "$w0" "$w0".*
ip netns exec "$ns" bash -c 'e=$((SECONDS + 300)); while [ ! -e "$1.stop" ] && [ $SECONDS -lt $e ]; do
  s=$(ipvsadm -S -n); : > "$1.ready"; [[ $s == *"-r 10.255.0.8:0 -m -w 0"* ]] && { printf "%s\n" "$s" > "$1"; exit; }; done' - "$w0" &
wpid=$!
e=$((SECONDS + 120)); until [ -e "$w0.ready" ] || [ $SECONDS -ge $e ]; do sleep 0.1; done
$I -q del -f 258 -r 10.255.0.8 --drain 5 || bad "del --drain 5"
: > "$w0.stop"; wait $wpid
[ -s "$w0" ] && ok "drain: weight 0 first" || bad "drain weight: weight 0 never seen"
$A -S -n | grep -q '10.255.0.8' && bad "drain: still there" || ok "drain: removed after $(( $(date +%s) - s0 ))s"
out=$($I del -f 258 -r 10.255.0.8 2>&1); echo "$out" | grep -q unchanged && ok "del again: unchanged" || bad "del again: $out"

# --- timeouts, zero, flush, del service
$I -q timeout --tcp 901 --udp 301 || bad "timeout set"
$A -L --timeout | grep -q '901 120 301' && ok "timeout set" || bad "timeout: $($A -L --timeout)"
$I timeout | grep -q '"tcp":901,"tcp_fin":120,"udp":301' && ok "timeout get" || bad "timeout get"
$I -q zero && $I -q zero -f 258 && ok "zero" || bad "zero"

# --- bad input: exit 2, one line on stderr, state unchanged
before=$($A -S -n)
n=0
badcase() { # stdin-json|- args...
  local in=$1; shift
  if [ "$in" = - ]; then $I "$@" </dev/null >/dev/null 2>err; else printf '%s' "$in" | $I "$@" >/dev/null 2>err; fi
  local rc=$? lines; lines=$(wc -l <err)
  n=$((n+1))
  if [ $rc = 2 ] && [ "$lines" = 1 ]; then echo "ok - bad input #$n rc=2: $(cat err)"; else bad "bad input #$n ($*): rc=$rc lines=$lines: $(cat err)"; fi
}
badcase - add -t 10.0.0.9:80 -s foo
badcase - add -f 0 -s rr
badcase - add -t 10.0.0.9:70000
badcase - add -t 10.0.0.9 -s rr
badcase - add -t 300.0.0.1:80
badcase - add -f 258 -r fd00::9 -m
badcase - add -f 258 -r 10.255.0.9 -w 70000
badcase - add -f 258 -r 10.255.0.9 -x 5 -y 10
badcase - add -f 258 -r 10.255.0.9 -m -g
badcase - add -f 258 -s rr -b sh-port
badcase - add -f 999 -r 10.255.0.9
badcase - add -t 10.0.0.9:80 -u 10.0.0.9:53
badcase - edit -f 999 -s rr
badcase - add -f 258 -r 10.255.0.9 --tun-type gue
badcase - del -f 258 --drain 3
badcase '{"fwmark":258,"scheduler":"rr","dests":[{"weight":1}]}' apply
badcase '{"protocol":"icmp","address":"10.0.0.9","port":1}' apply
badcase '{"fwmark":260,"dests":[{"address":"10.255.0.9","forward":"tunnel","tun_type":"vxlan"}]}' apply
badcase '{"fwmark":261}{"fwmark":261}' apply
badcase '{"fwmark":262,"colour":"red"}' apply
badcase '[{"fwmark":263,"scheduler":"rr"},{"fwmark":264,"scheduler":"xx"}]' apply --prune
badcase '-a -f 999 -r 10.255.0.9:0 -m -w 1' apply --from-ipvsadm
badcase '-A -t 10.0.0.9:80 -s rr --bogus' apply --from-ipvsadm
badcase - timeout --tcp 0
[ "$($A -S -n)" = "$before" ] && ok "state unchanged after $n bad inputs" || bad "state changed by bad input"

$I -q del -f 258 && ! $A -S -n | grep -q 'f 258' && ok "del service" || bad "del service"
$I -q add -f 270 -s rr && $I -q flush && [ -z "$($A -S -n)" ] && ok "flush" || bad "flush"
out=$($I flush 2>&1); echo "$out" | grep -q unchanged && ok "flush again: unchanged" || bad "flush again: $out"

ovnet-sbox -q del "$ns" >/dev/null; ovnet-sbox -q del "$ns2" >/dev/null
[ $F = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL $F checks failed"
