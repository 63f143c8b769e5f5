#!/bin/sh
# A copy of ../shared/vm/mesh-ref.sh (the project's reference routing mesh, built with iproute2/iptables/ipvsadm
# only), for bench/lab: its set-up (everything before "set +x") is the baseline ovnet-lab up is timed against.
# Reference routing mesh built with iproute2/iptables/ipvsadm only (the seed's recipe), for comparison.
set -x
get() { timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3" 2>&1 | tail -1; }
for m in xt_LOG xt_conntrack nf_log_syslog veth bridge vxlan ip_vs ip_vs_rr nf_nat iptable_nat iptable_mangle xt_mark xt_nat xt_ipvs xt_tcpudp xt_REDIRECT xt_addrtype br_netfilter; do modprobe $m; done
ip netns add under; ip -n under link add ubr type bridge; ip -n under link set ubr up; ip -n under addr add 192.0.2.100/24 dev ubr
i=0
for n in 1 2 3; do
  ip netns add n$n
  ip link add eth0 netns n$n type veth peer name u$n netns under
  ip -n under link set u$n master ubr up
  ip -n n$n addr add 192.0.2.1$n/24 dev eth0; ip -n n$n link set eth0 up; ip -n n$n link set lo up
  ip netns exec n$n sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
  # ingress overlay: bridge + vxlan 4096
  ip -n n$n link add ov-ingress type bridge; ip -n n$n link set ov-ingress mtu 1450 up
  ip -n n$n link add vx-ingress type vxlan id 4096 dstport 4789 local 192.0.2.1$n dev eth0 nolearning proxy l2miss l3miss
  ip -n n$n link set vx-ingress master ov-ingress mtu 1450 up
  # gwbridge
  ip -n n$n link add docker_gwbridge type bridge; ip -n n$n addr add 172.18.0.1/16 dev docker_gwbridge; ip -n n$n link set docker_gwbridge up
  # ingress_sbox
  ip netns add n$n-sbox
  ip link add eth0 netns n$n-sbox type veth peer name vsb0 netns n$n
  ip -n n$n link set vsb0 master ov-ingress mtu 1450 up
  ip -n n$n-sbox link set eth0 mtu 1450 address 02:42:0a:ff:00:0$((n+1)) up
  ip -n n$n-sbox addr add 10.255.0.$((n+1))/16 dev eth0
  ip link add eth1 netns n$n-sbox type veth peer name vsb1 netns n$n
  ip -n n$n link set vsb1 master docker_gwbridge up
  ip -n n$n-sbox addr add 172.18.0.2/16 dev eth1; ip -n n$n-sbox link set eth1 up; ip -n n$n-sbox link set lo up
  ip -n n$n-sbox route add default via 172.18.0.1
  ip netns exec n$n-sbox sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv4/vs/conntrack'
done
# tasks on n2 and n3: 10.255.0.6, 10.255.0.7
for n in 2 3; do
  c=c$n; ip=10.255.0.$((n+4)); mac=02:42:0a:ff:00:0$((n+4))
  ip netns add $c
  ip link add eth0 netns $c type veth peer name vc$n netns n$n
  ip -n n$n link set vc$n master ov-ingress mtu 1450 up
  ip -n $c link set eth0 mtu 1450 address $mac up; ip -n $c link set lo up; ip -n $c addr add $ip/16 dev eth0
  ip netns exec $c iptables -t nat -A PREROUTING -p tcp --dport 30000 -j REDIRECT --to-port 80
  mkdir -p /tmp/www$n; echo "hello from task $c" > /tmp/www$n/index.html
  ip netns exec $c httpd -p 80 -h /tmp/www$n
done
# peer programming: each node learns every remote endpoint (sbox + tasks): fdb MAC->VTEP, neigh IP->MAC
eps="1:10.255.0.2:02:42:0a:ff:00:02 2:10.255.0.3:02:42:0a:ff:00:03 3:10.255.0.4:02:42:0a:ff:00:04 2:10.255.0.6:02:42:0a:ff:00:06 3:10.255.0.7:02:42:0a:ff:00:07"
for n in 1 2 3; do for e in $eps; do
  h=${e%%:*}; rest=${e#*:}; ip=${rest%%:*}; mac=${rest#*:}
  [ "$h" = "$n" ] && continue
  ip -n n$n neigh add $ip lladdr $mac dev vx-ingress nud permanent
  bridge -n n$n fdb add $mac dev vx-ingress dst 192.0.2.1$h self permanent
done; done
# routing mesh on n1: host DNAT to the sbox, sbox MARK + IPVS FWM rr + SNAT
ip netns exec n1 iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -p tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000
ip netns exec n1-sbox iptables -t mangle -A PREROUTING -p tcp --dport 30000 -j MARK --set-mark 0x102
ip netns exec n1-sbox iptables -t nat -A POSTROUTING -d 10.255.0.0/16 -m ipvs --ipvs -j SNAT --to-source 10.255.0.2
ip netns exec n1-sbox ipvsadm -A -f 258 -s rr
ip netns exec n1-sbox ipvsadm -a -f 258 -r 10.255.0.6:0 -m
ip netns exec n1-sbox ipvsadm -a -f 258 -r 10.255.0.7:0 -m
set +x
ip netns exec n1-sbox ipvsadm -Ln
bridge -n n1 fdb show dev vx-ingress
echo "direct overlay:"; ip netns exec n1-sbox bash -c "$(declare -f get); get 10.255.0.6 80"
ip netns exec n1-sbox ping -c1 -W2 10.255.0.6 2>&1 | tail -2
ip netns exec n1 ping -c1 -W2 192.0.2.12 2>&1 | tail -2
ok=0; seen=""
ip netns exec c2 iptables -t mangle -A PREROUTING -p tcp -j LOG --log-prefix C2IN; ip netns exec c2 iptables -t mangle -A PREROUTING -m conntrack --ctstate INVALID -j LOG --log-prefix C2INVALID
for i in 1 2 3 4; do r=$(ip netns exec under bash -c "$(declare -f get); get 192.0.2.11 30000"); echo "request $i: $r"; seen="$seen $r"; done
echo "$seen" | grep -q c2 && echo "$seen" | grep -q c3 && ok=1
ip netns exec n1-sbox ipvsadm -Ln --stats
ip netns exec n1 iptables -t nat -nvL PREROUTING; ip netns exec n1-sbox iptables -t mangle -nvL PREROUTING; ip netns exec n1-sbox ip route; ip netns exec n1-sbox iptables -t nat -nvL POSTROUTING; ip netns exec c2 iptables -t nat -nvL PREROUTING; ip -n c2 -s link show eth0 | tail -4; ip netns exec c2 cat /proc/net/snmp | grep Tcp: ; ip netns exec c2 iptables -t mangle -nvL PREROUTING; ip -n n2 -s link show vx-ingress | tail -4; ip -n n1 -s link show vx-ingress | tail -4; ip netns exec n1-sbox ip neigh; ip -n n1-sbox -s link show eth0 | tail -4; ip netns exec c2 cat /proc/net/stat/nf_conntrack | head -3; ip netns exec c2 iptables -t raw -nvL 2>&1 | head -3; ip netns exec n1-sbox sysctl net.ipv4.vs.conntrack 2>&1; cat /proc/sys/net/ipv4/vs/conntrack; ip netns exec n1-sbox cat /proc/sys/net/ipv4/vs/conntrack
[ $ok = 1 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
