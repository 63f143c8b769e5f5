#!/bin/bash
# pkg:deb - `cpack -G DEB` makes ovnet and libovnet-dev packages that install into a clean Debian 12
# root (debootstrap --variant=minbase; apt resolves their dependencies from the machine's own apt
# sources) and work there: the tools run from the installed files, `ovnet-bridge` programs a bridge in
# a private network namespace, and a program builds against libovnet-dev with pkg-config and CMake.
#   usage: deb.test.sh BUILD_DIR
# The clean root is cached as a tarball in $OVNET_PKG_CACHE (default /var/cache/ovnet-test) so that
# a second run skips debootstrap. Exit 77 (skipped) when debootstrap or the network is not there.
set -uo pipefail
BUILD=$(cd "${1:?usage: deb.test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot, debootstrap)"; exit 77; }
command -v debootstrap >/dev/null || { echo "SKIP: debootstrap missing (scripts/setup.sh --test installs it)"; exit 77; }
command -v cpack >/dev/null || { echo "SKIP: cpack missing"; exit 77; }
cache=${OVNET_PKG_CACHE:-/var/cache/ovnet-test}
work=$(mktemp -d /var/tmp/ovnet-pkg.XXXXXX)
root=$work/root
cleanup() {
  for m in "$root/proc" "$root/dev/pts" "$root/dev" "$root/sys"; do mountpoint -q "$m" && umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The mirror the machine's apt uses (deb822 .sources or a one-line sources.list).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "SKIP: no Debian mirror in the apt sources"; exit 77; }

echo "== packages"
(cd "$work" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$work/deb" >"$work/cpack.log" 2>&1) ||
  { tail -20 "$work/cpack.log"; fail "cpack -G DEB"; }
run_deb=$(ls "$work"/deb/ovnet_*.deb 2>/dev/null | head -1)
dev_deb=$(ls "$work"/deb/libovnet-dev_*.deb 2>/dev/null | head -1)
[ -n "$run_deb" ] && [ -n "$dev_deb" ] || fail "expected ovnet_*.deb and libovnet-dev_*.deb, got: $(ls "$work/deb")"
deps=$(dpkg-deb -f "$run_deb" Depends)
echo "ovnet Depends: $deps"
for lib in libnl-3-200 libnl-genl-3-200 libc6 libstdc; do
  [[ $deps == *"$lib"* ]] || fail "ovnet's Depends lacks $lib: $deps"
done
contents=$(dpkg-deb -c "$run_deb")
for f in ./usr/sbin/ovnet-bridge ./usr/sbin/ovnet-fdb ./usr/share/man/man8/ovnet-fdb.8 ./usr/share/man/man7/ovnet.7; do
  grep -q " $f\$" <<<"$contents" || fail "ovnet package lacks $f"
done
grep -q 'usr/lib/.*/libovnet.so.0' <<<"$contents" || grep -q 'usr/lib/libovnet.so.0' <<<"$contents" || fail "ovnet package lacks libovnet.so.0"
grep -q 'completions/ovnet-fdb' <<<"$contents" || fail "ovnet package lacks the bash completion"
devc=$(dpkg-deb -c "$dev_deb")
for f in include/ovnet/ovnet.hpp pkgconfig/ovnet.pc cmake/ovnet/ovnetConfig.cmake; do
  grep -q "$f" <<<"$devc" || fail "libovnet-dev lacks $f"
done

echo "== clean Debian 12 root"
mkdir -p "$root"
if [ -s "$cache/bookworm-minbase.tar" ]; then
  tar -C "$root" -xf "$cache/bookworm-minbase.tar" || fail "unpacking the cached root"
else
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -5 "$work/debootstrap.log"; echo "SKIP: debootstrap could not build a root (network?)"; exit 77; }
  mkdir -p "$cache" && tar -C "$root" -cf "$cache/bookworm-minbase.tar.tmp" . && mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" && mount --bind /sys "$root/sys" || fail "mounting into the root"
[ ! -e "$root/usr/sbin/ovnet-bridge" ] || fail "the clean root already has ovnet"
cp "$run_deb" "$dev_deb" "$root/tmp/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log"; fail "apt-get update in the root"; }
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$run_deb")" >>"$work/apt.log" 2>&1 ||
  { tail -10 "$work/apt.log"; fail "installing the ovnet package with its dependencies"; }

echo "== installed tools"
v=$(in_root ovnet-bridge --version) || fail "ovnet-bridge --version"
[[ $v == "ovnet-bridge (ovnet) "* ]] || fail "unexpected version line: $v"
echo "$v"
in_root ldd /usr/sbin/ovnet-fdb | grep -q "not found" && fail "unresolved libraries: $(in_root ldd /usr/sbin/ovnet-fdb | grep 'not found')"
in_root man -w ovnet-fdb >/dev/null 2>&1 || [ -e "$root/usr/share/man/man8/ovnet-fdb.8.gz" ] || [ -e "$root/usr/share/man/man8/ovnet-fdb.8" ] || fail "man page not installed"

echo "== netns smoke test with the installed files (a private network namespace)"
out=$(unshare -n chroot "$root" /bin/sh -c 'ovnet-bridge add br0 --mtu 1450 -q -j >/dev/null && ovnet-bridge show -j br0') ||
  fail "ovnet-bridge add/show in a private namespace: $out"
[[ $out == *'"name":"br0"'*'"mtu":1450'* ]] || fail "unexpected show output: $out"
ip link show br0 >/dev/null 2>&1 && fail "br0 appeared in the root namespace"

echo "== building against libovnet-dev"
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$dev_deb")" g++ pkg-config cmake make >>"$work/apt.log" 2>&1 ||
  { tail -10 "$work/apt.log"; fail "installing libovnet-dev and a compiler"; }
mkdir -p "$root/tmp/consumer"
cat >"$root/tmp/consumer/main.cpp" <<'CPP'
#include <ovnet/ovnet.hpp>
#include <iostream>
int main() { std::cout << ovnet::Mac::parse("02:42:0a:00:00:02").str() << " " << ovnet::version() << "\n"; }
CPP
cat >"$root/tmp/consumer/CMakeLists.txt" <<'CMK'
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(ovnet REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer ovnet::ovnet)
CMK
in_root /bin/sh -c 'cd /tmp/consumer && g++ -std=c++20 main.cpp $(pkg-config --cflags --libs ovnet) -o pc && ./pc' ||
  fail "a program built with pkg-config ovnet"
in_root /bin/sh -c 'cd /tmp/consumer && cmake -S . -B b >/dev/null && cmake --build b >/dev/null && ./b/consumer' ||
  fail "a program built with find_package(ovnet)"
echo "PASS: ovnet and libovnet-dev install into a clean Debian 12 root and work there"
