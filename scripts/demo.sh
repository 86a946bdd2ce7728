#!/usr/bin/env bash
# The main job, end to end on a small random-weights Gemma 4 (E2B family):
# make a checkpoint, validate and describe it, compile it to C++ + packed
# weights, build the generated runner, and generate 16 greedy tokens —
# checked against the reference executor. Run after scripts/build.sh.
# usage: scripts/demo.sh [PRESET] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-tiny-e2b}
work=${2:-"$root/build/demo"}
g4c="$root/build/bin/g4c"
tokens=2,105,17,30,45,100,7,8

rm -rf "$work"
mkdir -p "$work"
echo "== g4c make-checkpoint --preset $preset"
"$g4c" make-checkpoint --preset "$preset" --out "$work/checkpoint"
echo "== g4c inspect"
"$g4c" inspect "$work/checkpoint"
echo "== g4c compile"
"$g4c" compile "$work/checkpoint" -o "$work/model" --name model
echo "== build the generated project"
cmake -S "$work/model" -B "$work/model/build" >/dev/null
cmake --build "$work/model/build" -j"${G4C_JOBS:-2}" >/dev/null
echo "== model-run --tokens $tokens --steps 16 (compiled)"
compiled=$("$work/model/build/model-run" --tokens "$tokens" --steps 16)
echo "$compiled"
echo "== g4c reference --greedy 16 (golden)"
golden=$("$g4c" reference "$work/checkpoint" --tokens "$tokens" --greedy 16)
echo "$golden"
if [ "$compiled" = "$golden" ]; then
  echo "== the compiled model and the reference agree"
else
  echo "== MISMATCH between the compiled model and the reference" >&2
  exit 1
fi
