#!/bin/bash
# Installs what ovnet needs from Debian's packages (only what is missing; apt-get update once).
#   scripts/setup.sh          build dependencies and what the example runs
#   scripts/setup.sh --test   also what the tests use (iproute2 and jq to check results, the VM's kernel and qemu)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libnl-xfrm-3-dev
      libcli11-dev nlohmann-json3-dev libfmt-dev catch2 iputils-ping ccache)
if [ "${1:-}" = --test ]; then
  pkgs+=(iproute2 jq bsdutils groff-base man-db bash-completion zsh
         qemu-system-x86 linux-image-cloud-amd64 busybox cpio ipvsadm iptables python3-jsonschema
         clang libclang-rt-14-dev debootstrap dpkg-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Never under a time limit: a killed apt/dpkg leaves packages unconfigured. Finish any such leftover first.
dpkg --configure -a
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
