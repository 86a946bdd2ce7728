#!/usr/bin/env bash
# End-to-end: make a tiny checkpoint, compile it with g4c, build the
# generated project, run it, and compare with the reference executor.
# usage: compile-and-compare.sh G4C NPY_DIFF WORK PRESET PREFILL_CHUNK
#                               CHECKPOINT_DTYPE WEIGHTS TOLERANCE [COMPILE_FLAGS...]
#   Logits at every input position, and the last position's from
#   NAME_prefill_last, must agree within TOLERANCE. When the
#   packed weights hold exactly the checkpoint's values (same dtype, or
#   bf16 -> f32) the 64-step greedy continuations must be identical too.
#   With ROUNDTRIP=g4c-quantize-roundtrip in the environment, the reference
#   runs on the values the packer stores (quantised and dequantised with
#   WEIGHTS and the --group-size among COMPILE_FLAGS), held to the same bar.
#   With CROSS=aarch64 or riscv64 the generated project is built by that
#   target's GNU cross compiler (portable kernels; aarch64 with dot
#   products) and run under qemu-user. With REQUIRE_CPU_FLAG=F the test is
#   skipped (exit 77) on a CPU without flag F in /proc/cpuinfo.
set -euo pipefail
g4c=$1 npy_diff=$2 work=$3 preset=$4 chunk=$5 dtype=$6 weights=$7 tolerance=$8
shift 8

if [ -n "${REQUIRE_CPU_FLAG:-}" ] &&
  ! grep -qw -- "$REQUIRE_CPU_FLAG" /proc/cpuinfo; then
  echo "skipped: this CPU lacks $REQUIRE_CPU_FLAG, which the code under test needs"
  exit 77
fi

configure=() run=()
if [ -n "${CROSS:-}" ]; then
  case $CROSS in
  aarch64) arch_flags="-march=armv8.2-a+dotprod" ;;
  riscv64) arch_flags="-march=rv64gc" ;;
  *) echo "compile-and-compare.sh: unknown CROSS target $CROSS" >&2; exit 2 ;;
  esac
  for tool in "$CROSS-linux-gnu-g++" "qemu-$CROSS"; do
    command -v "$tool" >/dev/null || {
      echo "compile-and-compare.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2
      exit 1
    }
  done
  configure=(-DCMAKE_SYSTEM_NAME=Linux "-DCMAKE_SYSTEM_PROCESSOR=$CROSS"
    "-DCMAKE_CXX_COMPILER=$CROSS-linux-gnu-g++" "-DG4C_ARCH_FLAGS=$arch_flags")
  run=("qemu-$CROSS" -L "/usr/$CROSS-linux-gnu")
fi

rm -rf "$work"
mkdir -p "$work"
"$g4c" make-checkpoint --preset "$preset" --dtype "$dtype" --seed 11 --out "$work/ckpt" >/dev/null
# The reference on round-tripped values matches f32 activations exactly.
exact=()
if [ -n "${ROUNDTRIP:-}" ]; then exact=(--exact-activations); fi
"$g4c" compile "$work/ckpt" -o "$work/out" --weights "$weights" \
  --prefill-chunk "$chunk" --context 128 --name tiny "${exact[@]}" "$@"
cmake -S "$work/out" -B "$work/out/build" "${configure[@]}" >/dev/null
# NAME-run only: the chat program is built by e2e-generated-code-warning-free
# and e2e-run.
cmake --build "$work/out/build" -j2 --target tiny-run >/dev/null

# 20 tokens: five windows of the tiny presets (W = 4).
tokens=2,17,30,45,100,7,8,9,10,11,300,12,13,14,15,16,17,200,5,6
"${run[@]}" "$work/out/build/tiny-run" --tokens "$tokens" --prefill-chunk "$chunk" \
  --steps 64 --dump-logits "$work/compiled.npy" >"$work/compiled.txt"
# Without the dump only the last token's logits are computed
# (NAME_prefill_last; its `prefill_last` entry point when the prompt ends on
# a whole chunk): the same greedy tokens, and that row matches below.
"${run[@]}" "$work/out/build/tiny-run" --tokens "$tokens" --prefill-chunk "$chunk" \
  --steps 64 --dump-last-logits "$work/compiled-last.npy" >"$work/compiled-last.txt"
diff "$work/compiled.txt" "$work/compiled-last.txt"
reference_ckpt="$work/ckpt"
if [ -n "${ROUNDTRIP:-}" ]; then
  reference_ckpt="$work/roundtrip"
  "$ROUNDTRIP" "$work/ckpt" "$reference_ckpt" --weights "$weights" \
    $(printf '%s\n' "$@" | grep -A1 -x -e --group-size | tr '\n' ' ')
fi
"$g4c" reference "$reference_ckpt" --tokens "$tokens" --greedy 64 \
  --dump-logits "$work/reference.npy" >"$work/reference.txt"
"$npy_diff" "$work/compiled.npy" "$work/reference.npy" "$tolerance"
"$npy_diff" --last-row "$work/compiled-last.npy" "$work/reference.npy" "$tolerance"
if [ "$weights" = "$dtype" ] || [ "$weights" = f32 ] || [ -n "${ROUNDTRIP:-}" ]; then
  diff "$work/compiled.txt" "$work/reference.txt"
  echo "greedy 64 steps identical: $(cat "$work/compiled.txt")"
fi
