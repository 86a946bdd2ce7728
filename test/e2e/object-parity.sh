#!/usr/bin/env bash
# The object backend against the C++ backend on one tiny preset and weight
# format, on this machine (--target host): the same greedy tokens and
# logits within 1e-5 at every position and from NAME_prefill_last; and (at int4) the object backend's
# artifacts are reproducible (a second compile gives byte-identical files).
# usage: object-parity.sh G4C NPY_DIFF WORK PRESET WEIGHTS [OBJ_FLAGS...]
#   OBJ_FLAGS: more `g4c compile` flags for the object backend
#   (--halide-products: its matrix products from Halide too. The f32 / bf16
#   ones sum in g4k::dot's order but without fused multiply-adds, so within
#   1e-5 of the C++ backend's, not bit for bit; the int8 / int4 ones only
#   where g4k's x86 kernels (AVX-512 VNNI or AVX2) would run, in their
#   order, bit for bit).
#   The Halide kernels round as the g4k.h ones do (same order of sums, no
#   fused multiply-adds): a difference in the last bit would become a whole
#   int8 quantisation step of the activations now and then (it did: 0.07 in
#   the logits of tiny-e4b int8, before the two RMSNorms summed alike).
set -euo pipefail
g4c=$1 npy_diff=$2 work=$3 preset=$4 weights=$5
shift 5
obj_flags=("$@")

rm -rf "$work"
mkdir -p "$work"
"$g4c" make-checkpoint --preset "$preset" --seed 5 --out "$work/ckpt" >/dev/null
# Chunk 3 against a window of 4: prefill chunks, ring wrap, decode.
# $PREFILL_CHUNK (default 3) sets another chunk (16: the products' kernels
# for 16 tokens and more); $KV_CACHE (default f32) both backends' KV caches
# (int8: the Halide attention passes over int8 rows).
chunk=${PREFILL_CHUNK:-3}
compile() { # BACKEND OUT
  local flags=(--kv-cache "${KV_CACHE:-f32}")
  [ "$1" = obj ] && flags+=("${obj_flags[@]}")
  "$g4c" compile "$work/ckpt" -o "$2" --backend "$1" --weights "$weights" \
    --prefill-chunk "$chunk" --context 64 --name tiny "${flags[@]}" >/dev/null
}
tokens=2,17,30,45,100,7,8,9,10,11,300,12,13
for backend in cpp obj; do
  compile "$backend" "$work/$backend"
  cmake -S "$work/$backend" -B "$work/$backend/build" >/dev/null
  cmake --build "$work/$backend/build" -j2 --target tiny-run >/dev/null
  "$work/$backend/build/tiny-run" --tokens "$tokens" --prefill-chunk "$chunk" \
    --steps 32 --dump-logits "$work/$backend.npy" >"$work/$backend.txt"
  # 12 tokens (at chunk 3, whole chunks): the `prefill_last` entry point.
  "$work/$backend/build/tiny-run" --tokens "${tokens%,13}" --prefill-chunk "$chunk" \
    --dump-last-logits "$work/$backend-last.npy"
done
test -f "$work/obj/tiny.o"
test ! -e "$work/obj/tiny.cc"
if [[ " ${obj_flags[*]} " == *" --halide-products "* ]]; then
  ls "$work"/obj/tiny_linear_halide_*.o >/dev/null # the products' kernels
fi
diff "$work/cpp.txt" "$work/obj.txt"
"$npy_diff" "$work/obj.npy" "$work/cpp.npy" 1e-5
"$npy_diff" "$work/obj-last.npy" "$work/cpp-last.npy" 1e-5
echo "greedy 32 steps identical: $(cat "$work/obj.txt")"

# Reproducible: at int4 (every preset; the same code paths as the other
# formats, and the most packing work), the forward pass, the Halide kernels
# and their runtime, and the rest.
[ "$weights" = int4 ] || exit 0
compile obj "$work/again"
objects=$(cd "$work/obj" && ls ./*.o)
for file in $objects tiny.g4w tiny_kernels.cc tiny.h CMakeLists.txt; do
  cmp "$work/obj/$file" "$work/again/$file"
done
echo "reproducible:" $objects "tiny.g4w tiny_kernels.cc tiny.h CMakeLists.txt"
