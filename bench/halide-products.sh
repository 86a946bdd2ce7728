#!/usr/bin/env bash
# The object backend's Halide matrix products against g4k::linear, one
# thread each, E2B shapes (bench/halide-products.cc; never part of the test
# suite). Generates the kernels for this machine (target host, as `g4c
# compile --backend obj --halide-products` does on it) with the generators
# of a build.
# usage: bench/halide-products.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
work=${2:-"$root/.deps/bench/halide-products"}
generators="$build/targets/halide"
rm -rf "$work"
mkdir -p "$work"
generate() { # GENERATOR NAME PARAMS...
  local generator=$1 name=$2
  shift 2
  "$generators/$generator.generator" -g "${generator//-/_}" -f "$name" \
    -o "$work" -e object target=host-strict_float-no_runtime "$@"
}
# g4k::linear's orders on AVX-512: int8 / int4 chunks for one token, blocks
# for 16 tokens and more.
generate g4c-linear decode_bf16 tokens=1 columns=1536 bf16_weight=true
generate g4c-linear prefill_bf16 tokens=64 columns=1536 bf16_weight=true
for format in int8 int4; do
  generate g4c-quantised-linear "decode_$format" tokens=1 columns=1536 \
    format=$format group=32 order=lanes
  generate g4c-quantised-linear "prefill_$format" tokens=64 columns=1536 \
    format=$format group=32 order=blocks
done
"$generators/g4c-linear.generator" -r halide_runtime -o "$work" -e object \
  target=host
"$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -I"$root/runtime/include" \
  -I/usr/include/halide14 "$root/bench/halide-products.cc" "$work"/*.o -o "$work/halide-products" \
  -lpthread -ldl
"$work/halide-products"
