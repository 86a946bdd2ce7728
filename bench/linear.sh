#!/usr/bin/env bash
# Prefill's matrix products (g4k::linear, 64 tokens, E2B shapes) against the
# machine's own multiply-add peak, measured in the same run (bench/linear.cc;
# never part of the test suite). Needs AVX-512 or AVX2 (the kernels it
# measures).
# usage: bench/linear.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/.deps/bench"}
mkdir -p "$work"
"$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -I"$root/runtime/include" \
  "$root/bench/linear.cc" -o "$work/linear" -lpthread
"$work/linear"
