#!/usr/bin/env bash
# What scaling each block's integer sums costs the VNNI lane tile, one
# thread, in L1 (bench/block-costs.cc; never part of the test suite). Needs
# AVX-512 VNNI.
# usage: bench/block-costs.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/.deps/bench"}
mkdir -p "$work"
"$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native \
  "$root/bench/block-costs.cc" -o "$work/block-costs"
"$work/block-costs"
