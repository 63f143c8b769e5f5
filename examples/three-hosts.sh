#!/bin/bash
# The deep dive's "Creating overlay networks" and "Correlate interfaces" on one machine, with ovnet
# alone: three hosts (namespaces) on an underlay bridge, one overlay (VNI 4097, MTU 1450), one
# container per host, peers distributed by piping each host's endpoints into the others.
#
#   examples/three-hosts.sh [BINDIR]      builds it, shows it, pings across, removes it
#   KEEP=1 examples/three-hosts.sh        leaves it in place (remove with: examples/three-hosts.sh --clean PREFIX [BINDIR])
set -euo pipefail
BIN=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/tools}
if [ "$BIN" = --clean ]; then
  P=$2 BIN=${3:-$(cd "$(dirname "$0")/.." && pwd)/build/tools}
  for n in c1 c2 c3 h1 h2 h3 ul; do "$BIN/ovnet-sbox" -q del "$P-$n" >/dev/null 2>&1 || true; done
  exit 0
fi
export PATH="$BIN:$PATH"
P=${OVNET_PREFIX:-ov3h$$}                    # per-run prefix: parallel runs never collide
UL=$P-ul BR=ov-001001-7672d VX=vx-001001-7672d
cleanup() { [ "${KEEP:-0}" = 1 ] && { echo "kept: prefix $P"; return; }
            for n in c1 c2 c3 h1 h2 h3 ul; do ovnet-sbox -q del "$P-$n" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "underlay: bridge ul0 in $UL, hosts h1..h3 on 192.0.2.0/24"
ovnet-sbox -q add "$UL" >/dev/null
ovnet-bridge -q -n "$UL" add ul0 >/dev/null
for i in 1 2 3; do
  ovnet-sbox -q -n "$UL" connect "$P-h$i" --bridge ul0 --ip 192.0.2.1$i/24 >/dev/null
done

say "overlay on every host: bridge $BR + VTEP $VX (VNI 4097, MTU 1450), one container each"
for i in 1 2 3; do
  ovnet-bridge -q -n "$P-h$i" add $BR --mtu 1450 -j | ovnet-vtep -q add --vni 4097 --local 192.0.2.1$i >/dev/null
  ovnet-sbox -q -n "$P-h$i" connect "$P-c$i" --bridge $BR --ip 10.0.0.$((i+1))/24 >/dev/null
done

say "peers: each host's endpoints piped into the other hosts' peer tables"
sync_peers() {
  for i in "$@"; do
    for j in "$@"; do [ "$i" = "$j" ] || ovnet-fdb -n "$P-h$j" local -d $VX; done |
      ovnet-fdb -t -n "$P-h$i" apply -d $VX --prune
  done
}
sync_peers 1 2 3

# -t: the human views even when this script's output goes to a file or a pipe.
say "brctl show (on h1)";            ovnet-bridge -t -n "$P-h1" show
say "ip -d link show $VX (on h1)";   ovnet-vtep -t -n "$P-h1" show $VX
say "bridge fdb show dev $VX (h1)";  ovnet-fdb -t -n "$P-h1" show -d $VX
say "veth correlation (containers)"; ovnet-sbox -t show "$P-c1"; ovnet-sbox -t show "$P-c2"
say "the same, as JSON for scripts"; ovnet-sbox show "$P-c1" -p

say "c1 pings c2 and c3 across VXLAN"
ovnet-sbox exec "$P-c1" -- ping -c 2 -W 2 10.0.0.3
ovnet-sbox exec "$P-c1" -- ping -c 2 -W 2 10.0.0.4
