#!/usr/bin/env bash
# The main job on a small random-weights Gemma 4 (E2B family; no downloads):
# make a checkpoint, then `g4c run` it on a prompt — compile (cached), build,
# tokenize, generate, stream the text and report prefill/decode tokens/s.
# The weights are random, so the text is too. Run after scripts/build.sh.
# usage: scripts/demo.sh [PROMPT] [PRESET] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prompt=${1:-"The quick brown fox"}
preset=${2:-tiny-e2b}
work=${3:-"$root/build/demo"}
g4c="$root/build/bin/g4c"

rm -rf "$work/checkpoint"
mkdir -p "$work"
echo "== g4c make-checkpoint --preset $preset --out $work/checkpoint"
"$g4c" make-checkpoint --preset "$preset" --out "$work/checkpoint"
echo "== g4c run $work/checkpoint --chat --prompt \"$prompt\" --max-tokens 32"
"$g4c" run "$work/checkpoint" --chat --prompt "$prompt" --max-tokens 32 \
  --cache-dir "$work/cache"
