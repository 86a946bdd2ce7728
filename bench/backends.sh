#!/usr/bin/env bash
# The object backend against the C++ backend on the real-size E2B preset at
# one weight format (one command; never part of the test suite): compile
# time and compiler peak memory of each, then prefill of a 512-token prompt
# and 128 decode steps, RUNS times, the two builds alternating so that both
# see the same machine; prints the medians and the obj / cpp ratios.
# usage: bench/backends.sh [BUILD_DIR] [WORK_DIR]
#   env: RUNS (5), FORMAT (int4), PROMPT (512), STEPS (128), CHUNK (64),
#        REUSE (1: keep earlier compiles in WORK), OBJ_FLAGS (more `g4c
#        compile` flags for the object backend, e.g. --halide-products)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
work=${2:-"$root/.deps/bench"}
runs=${RUNS:-5}
format=${FORMAT:-int4}
prompt=${PROMPT:-512}
steps=${STEPS:-128}
chunk=${CHUNK:-64}
g4c="$build/bin/g4c"
ckpt="$work/e2b"
if [ ! -f "$ckpt/config.json" ]; then
  echo "bench: generating the e2b preset (about 10 GB, once)"
  "$g4c" make-checkpoint --preset e2b --seed 1 --out "$ckpt"
fi
tokens=$(awk -v n="$prompt" 'BEGIN { srand(7); for (i = 0; i < n; ++i)
  printf "%s%d", i ? "," : "", 2 + int(rand() * 262000) }')
context=$((prompt + steps + chunk))

for backend in cpp obj; do
  out="$work/e2b-$format-$backend"
  flags=()
  [ "$backend" = obj ] && read -r -a flags <<<"${OBJ_FLAGS:-}"
  if [ "${REUSE:-0}" != 1 ] || [ ! -x "$out/build/e2b-run" ]; then
    echo "bench: compiling e2b at $format, --backend $backend"
    rm -rf "$out"
    /usr/bin/time -f "%e %M" -o "$work/compile-$format-$backend.time" \
      "$g4c" compile "$ckpt" -o "$out" --weights "$format" --name e2b \
      --backend "$backend" --context "$context" --prefill-chunk "$chunk" \
      "${flags[@]}" >/dev/null
    cmake -S "$out" -B "$out/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$out/build" -j2 >/dev/null
  fi
  : >"$work/runs-$format-$backend.txt"
done
for run in $(seq "$runs"); do
  for backend in cpp obj; do
    out="$work/e2b-$format-$backend"
    dd if="$out/e2b.g4w" iflag=nocache count=0 status=none
    "$out/build/e2b-run" --tokens "$tokens" --prefill-chunk "$chunk" \
      --steps $((steps + 1)) --report "$work/run-$format-$backend.json" >/dev/null
    sed 's/.*"prefill_s": \([0-9.]*\).*"decode_s": \([0-9.]*\).*/\1 \2/' \
      "$work/run-$format-$backend.json" >>"$work/runs-$format-$backend.txt"
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END {
  print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "| backend | compile s | compile MB | prefill tok/s | decode tok/s |"
echo "|---|---|---|---|---|"
for backend in cpp obj; do
  read -r compile_s compile_kb <"$work/compile-$format-$backend.time"
  prefill=$(awk -v p="$prompt" '{ print p / $1 }' "$work/runs-$format-$backend.txt" | median)
  decode=$(awk -v s="$steps" '{ print s / $2 }' "$work/runs-$format-$backend.txt" | median)
  echo "$prefill $decode" >"$work/medians-$format-$backend.txt"
  printf "| %s | %.1f | %.0f | %.1f | %.2f |\n" "$backend" "$compile_s" \
    "$((compile_kb / 1024))" "$prefill" "$decode"
done
read -r cpp_prefill cpp_decode <"$work/medians-$format-cpp.txt"
read -r obj_prefill obj_decode <"$work/medians-$format-obj.txt"
awk -v a="$obj_prefill" -v b="$cpp_prefill" -v c="$obj_decode" -v d="$cpp_decode" \
  -v f="$format" -v r="$runs" 'BEGIN {
  printf "obj / cpp at %s (medians of %d runs): prefill %.3f, decode %.3f\n",
    f, r, a / b, c / d }'
