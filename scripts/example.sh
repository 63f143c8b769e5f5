#!/bin/bash
# The main job: install what is missing, build ovnet, and build the three-host overlay of the deep
# dive in namespaces on this machine, print what was built, ping across it, and remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec examples/three-hosts.sh "$PWD/build/tools"
