#!/usr/bin/env bash
# Per-kernel time breakdown of a decode step on every tiny preset (one
# command; never part of the test suite). For each preset and format:
# generate the checkpoint, compile it, build the project for this CPU with
# kernel timing (-DG4C_PROFILE=ON), prefill 8 tokens, profile STEPS decode
# steps (NAME-run --profile). Writes bench/tiny-kernels.md.
# usage: bench/tiny-kernels.sh [BUILD_DIR] [WORK_DIR]
#   env: FORMATS ("bf16 int8 int4"), STEPS (256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
work=${2:-"$root/.deps/bench-tiny"}
formats=${FORMATS:-"bf16 int8 int4"}
steps=${STEPS:-256}
g4c="$build/bin/g4c"
mkdir -p "$work"
out_md="$root/bench/tiny-kernels.md"
{
  echo "# Decode step per kernel, tiny presets ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores)"
  echo
  echo "bench/tiny-kernels.sh: 8 prompt tokens, then the mean over ${steps} decode steps of each"
  echo "kernel's wall time (a -DG4C_PROFILE=ON build; nested kernels count in their caller)."
  echo
} >"$out_md.partial"
for preset in tiny-e2b tiny-e4b tiny-moe tiny-31b; do
  ckpt="$work/$preset"
  [ -f "$ckpt/config.json" ] ||
    "$g4c" make-checkpoint --preset "$preset" --seed 1 --out "$ckpt" >/dev/null
  for format in $formats; do
    out="$work/$preset-$format"
    echo "bench: $preset at $format"
    rm -rf "$out"
    "$g4c" compile "$ckpt" -o "$out" --name model --weights "$format" \
      --context $((steps + 16)) >/dev/null
    cmake -S "$out" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
      -DG4C_PROFILE=ON >/dev/null
    cmake --build "$out/build" -j2 >/dev/null
    "$out/build/model-run" --tokens 2,10,20,30,40,50,60,70 \
      --steps $((steps + 1)) --profile "$work/$preset-$format.json" >/dev/null
    "$root/bench/profile-table.py" "$work/$preset-$format.json" \
      "$preset, $format" >>"$out_md.partial"
  done
done
mv "$out_md.partial" "$out_md"
cat "$out_md"
