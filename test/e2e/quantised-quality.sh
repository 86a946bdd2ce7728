#!/usr/bin/env bash
# End-to-end: quantised weights against the reference executor (on the
# checkpoint's own bf16 values) through `g4c eval`: max |delta logit|, mean
# KL divergence and top-1 agreement over 100 random tokens, within bounds.
# usage: quantised-quality.sh G4C WORK PRESET MAX_DELTA MAX_KL MIN_TOP1
#                             COMPILE_FLAGS...
#   PREFILL_CHUNK: tokens per prefill call (default 5)
set -euo pipefail
chunk=${PREFILL_CHUNK:-5}
g4c=$1 work=$2 preset=$3 max_delta=$4 max_kl=$5 min_top1=$6
shift 6

rm -rf "$work"
mkdir -p "$work"
"$g4c" make-checkpoint --preset "$preset" --seed 11 --out "$work/ckpt" >/dev/null
"$g4c" compile "$work/ckpt" -o "$work/out" --context 128 --prefill-chunk "$chunk" \
  --name tiny "$@" >"$work/compile.txt"
grep '^weights:' "$work/compile.txt"
"$g4c" eval "$work/ckpt" --compiled "$work/out" --random-tokens 100 --seed 3 \
  --prefill-chunk "$chunk" --max-delta "$max_delta" --max-kl "$max_kl" \
  --min-top1 "$min_top1"
