#!/bin/bash
# Installs what ovnet needs from Debian's packages (only what is missing; apt-get update once).
#   scripts/setup.sh          build dependencies and what the example runs
#   scripts/setup.sh --lab    also what `ovnet-lab --vm` boots (qemu, Debian's cloud kernel, busybox)
#   scripts/setup.sh --test   also what the tests use (iproute2 and jq to check results, the VM's kernel and qemu,
#                             Docker for tests/docker: installed apart, never started, its failure only skips that tier)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libnl-xfrm-3-dev libpcap-dev
      libcli11-dev nlohmann-json3-dev libfmt-dev catch2 iputils-ping ccache libyaml-cpp-dev graphviz)
# --lab: what `ovnet-lab --vm` needs (the main job runs the lab in the VM where this kernel lacks IPVS).
if [ "${1:-}" = --lab ]; then
  pkgs+=(qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio ipvsadm iptables)
fi
if [ "${1:-}" = --test ]; then
  pkgs+=(iproute2 jq bsdutils groff-base man-db bash-completion zsh
         tmux qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio ipvsadm iptables python3-jsonschema
         clang libclang-rt-14-dev debootstrap dpkg-dev)
fi
# busybox-static (Provides/Replaces/Conflicts busybox) is the VM's /bin/busybox and the Docker tier's image.
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
docker_missing=()
if [ "${1:-}" = --test ]; then
  for p in docker.io; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || docker_missing+=("$p")
  done
fi
[ ${#missing[@]} = 0 ] && [ ${#docker_missing[@]} = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing packages: ${missing[*]} ${docker_missing[*]} (run as root to install them)" >&2
  [ ${#missing[@]} = 0 ]   # a missing docker.io only skips tests/docker
  exit
fi
export DEBIAN_FRONTEND=noninteractive
# Never under a time limit: a killed apt/dpkg leaves packages unconfigured. Finish any such leftover first.
dpkg --configure -a
apt-get update -qq
if [ ${#missing[@]} != 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ ${#docker_missing[@]} = 0 ] && exit 0

# Docker: its maintainer scripts must not start a dockerd/containerd in this machine's root namespace
# (tests/docker starts its own, confined). Without systemd they call invoke-rc.d, which asks policy-rc.d:
# a temporary one answering 101 ("action forbidden") unless the machine already has its own.
# The daemons in this (the machine's) network namespace (tests/docker's confined ones are elsewhere: left alone).
daemons() {
  local p root; root=$(stat -L -c %i /proc/$$/ns/net)
  for p in $(pgrep -x dockerd; pgrep -x containerd); do
    [ "$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null)" = "$root" ] && echo "$p"
  done | sort || true
}
before=$(daemons)
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# Temporary (ovnet scripts/setup.sh): no service starts while Docker is installed.\nexit 101\n' >"$guard"
  chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
echo "setup: installing ${docker_missing[*]} (services not started)"
if ! apt-get install -y -qq --no-install-recommends "${docker_missing[@]}" >/dev/null; then
  echo "setup: warning: installing ${docker_missing[*]} failed; tests/docker will be skipped" >&2
fi
[ -z "$guard" ] || { rm -f "$guard"; trap - EXIT; }
started=$(comm -13 <(echo "$before") <(daemons) | grep . || true)
if [ -n "$started" ]; then
  # Started by the packages despite the guard: stop exactly those.
  echo "setup: warning: the Docker packages started $(echo $started); stopping them" >&2
  kill $started 2>/dev/null || true
fi
exit 0
