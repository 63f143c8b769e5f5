#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz, clang++ with ASan+UBSan) in build-fuzz and runs each for
# FUZZ_SECONDS (default 30) from its seed corpus. Exit 0 when no target found anything.
#   scripts/fuzz.sh                       every target, 30 s each (what the test command runs)
#   FUZZ_SECONDS=600 scripts/fuzz.sh      ten minutes each
#   FUZZ_SECONDS=600 scripts/fuzz.sh fuzz_peers_read    one target
# A finding is written as build-fuzz/tests/fuzz/crash-* (or leak-*, timeout-*); rerun it with
# build-fuzz/tests/fuzz/<target> <file>. What a run discovered stays in build-fuzz/tests/fuzz/work/<target>.
#   scripts/fuzz.sh --build-only          build, run nothing (the test command runs ctest itself)
set -uo pipefail
cd "$(dirname "$0")/.."
build_only=0
[ "${1:-}" = --build-only ] && { build_only=1; shift; }
secs=${FUZZ_SECONDS:-30}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: bad FUZZ_SECONDS '$secs'" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (scripts/setup.sh --test installs it)" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DOVNET_FUZZ=ON \
  -DOVNET_FUZZ_SECONDS="$secs" >/dev/null &&
  cmake --build build-fuzz --target fuzz-all -j"$(nproc)" >/dev/null || {
  echo "fuzz: build failed" >&2; cmake --build build-fuzz --target fuzz-all 2>&1 | tail -30; exit 1; }
[ $build_only = 1 ] && exit 0
sel=()
[ $# -gt 0 ] && sel=(-R "^fuzz:($(IFS='|'; echo "$*"))\$")
exec ctest --test-dir build-fuzz -L fuzz --output-on-failure "${sel[@]}"
