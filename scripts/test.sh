#!/bin/bash
# Every test: install what is missing, build, run all labels (unit, netns, vm, pkg, docker), then build again
# with AddressSanitizer + UBSan and run unit and netns there too (not docker: it runs real daemons, once),
# then run every fuzz target for FUZZ_SECONDS (default 30) under ASan+UBSan.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1
jobs=$(nproc)
total_pass=0 total_fail=0 total_skip=0 rc=0

run_ctest() {  # BUILD_DIR [ctest args...]
  local dir=$1; shift
  local log; log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log"
  local st=${PIPESTATUS[0]}
  local ran failed skipped
  ran=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\)/\2/p' "$log" | tail -1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\)/\1/p' "$log" | tail -1)
  skipped=$(grep -c '\*\*\*Skipped\|Not Run' "$log" || true)
  ran=${ran:-0} failed=${failed:-0}
  # ctest counts skipped tests as passed: report them apart.
  total_pass=$((total_pass + ran - failed - skipped)); total_fail=$((total_fail + failed)); total_skip=$((total_skip + skipped))
  [ "$st" = 0 ] || rc=1
  rm -f "$log"
}

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j"$jobs" >/dev/null || { echo "build failed"; cmake --build build 2>&1 | tail -40; exit 1; }
echo "== tests: unit, netns, vm, pkg, docker"
run_ctest build

echo "== build with AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOVNET_SANITIZE=ON -DOVNET_BENCH=OFF >/dev/null &&
  cmake --build build-asan -j"$jobs" >/dev/null || { echo "sanitizer build failed"; exit 1; }
echo "== tests under ASan/UBSan: unit, netns"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build-asan -L 'unit|netns'

echo "== fuzzing: every input reader for ${FUZZ_SECONDS:-30} s (clang, libFuzzer, ASan+UBSan)"
if scripts/fuzz.sh --build-only; then
  run_ctest build-fuzz -L fuzz
else
  echo "fuzz build failed"; total_fail=$((total_fail + 1)); rc=1
fi

echo "test: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $rc
