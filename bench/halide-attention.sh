#!/usr/bin/env bash
# The object backend's Halide attention against g4k::attend_tokens, E2B
# shapes, on the kernel library's pool (bench/halide-attention.cc; never
# part of the test suite). Generates the passes for this machine (target
# host, as `g4c compile --backend obj` does on it) with a build's generator.
# usage: bench/halide-attention.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
work=${2:-"$root/.deps/bench/halide-attention"}
generator="$build/targets/halide/g4c-attention.generator"
rm -rf "$work"
mkdir -p "$work"
generate() { # NAME PARAMS...
  local name=$1
  shift
  for pass in scores values; do
    "$generator" -g "g4c_attention_$pass" -f "${name}_$pass" -o "$work" \
      -e object target=host-strict_float-no_runtime kv_heads=1 "$@"
  done
}
generate decode_sliding head_dim=256 slots=512 fresh_rows=1 heads=8
generate decode_global head_dim=512 slots=4096 fresh_rows=1 heads=8
generate prefill_sliding head_dim=256 slots=512 fresh_rows=64 heads=8
"$generator" -r halide_runtime -o "$work" -e object target=host
"$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -I"$root/runtime/include" \
  -I/usr/include/halide14 "$root/bench/halide-attention.cc" "$work"/*.o \
  -o "$work/halide-attention" -lpthread -ldl
"$work/halide-attention"
