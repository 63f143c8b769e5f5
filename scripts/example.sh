#!/bin/bash
# The main job: install what is missing, build ovnet, bring the deep dive's cluster up with ovnet-lab,
# walk the whole tour without pausing, and take the lab down. Where this kernel has no IPVS (the
# routing mesh and the service VIPs need it), the lab runs inside the project's qemu VM (ovnet-lab --vm).
#   scripts/example.sh            the lab (natively or in the VM, as this kernel allows)
#   scripts/example.sh --native   natively even without IPVS (the steps that need it say so)
#   scripts/example.sh --three-hosts   the smaller three-host example (examples/three-hosts.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-auto}
ipvs() { modprobe ip_vs >/dev/null 2>&1 || true; [ -e /proc/net/ip_vs ]; }
if [ "$mode" = auto ] && ! ipvs; then
  echo "example: this kernel ($(uname -r)) has no IPVS: the lab runs in the project's VM"
  scripts/setup.sh --lab
else
  scripts/setup.sh
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
[ "$mode" = --three-hosts ] && exec examples/three-hosts.sh "$PWD/build/tools"
LAB=build/tools/ovnet-lab
P=example$$
if [ "$mode" = auto ] && ! ipvs; then
  exec "$LAB" --vm --prefix "$P" tour --no-pause
fi
trap '"$LAB" --prefix "$P" down -q' EXIT
"$LAB" --prefix "$P" up -t
"$LAB" --prefix "$P" tour --no-pause
