#!/usr/bin/env bash
# The C++ backend's attention (g4k::attend_tokens) at E2B shapes on both
# cores: prefill's token tiles and decode steps (bench/attention.cc; never
# part of the test suite).
# usage: bench/attention.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/.deps/bench"}
mkdir -p "$work"
"$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -I"$root/runtime/include" \
  "$root/bench/attention.cc" -o "$work/attention" -lpthread
"$work/attention"
