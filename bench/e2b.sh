#!/usr/bin/env bash
# Decode and prefill of the real-size E2B preset (random weights) at bf16,
# int8 and int4, against the machine's own read bandwidth (one command;
# never part of the test suite). Generates the checkpoint once (cached in
# WORK), compiles and builds each format for the host (-march=native), and
# measures per format:
#   prefill tokens/s of a 512-token prompt (= time to first token), decode
#   tokens/s over 128 steps (median of RUNS runs, with min and max), peak
#   RSS, the PLE table's resident bytes after the run, the weight bytes one
#   decode step reads (from the compiled plan), compile time and compiler
#   peak memory; then the read bandwidth (bench/stream.cc, both cores) and
#   the decode roofline fraction = tokens/s x bytes per token / bandwidth;
#   and where one decode step's time goes, per kernel (a second build with
#   kernel timing, -DG4C_PROFILE=ON, the same prompt and decode steps as
#   the timed runs, so that attention sees the same context); and
#   prefill's matrix products against the multiply-add peak (bench/linear.sh),
#   decode's matrix-vector products against the bandwidth (bench/decode.sh)
#   and attention alone (bench/attention.sh).
# Writes bench/results.json, bench/results.md and bench/decode.png.
# usage: bench/e2b.sh [BUILD_DIR] [WORK_DIR]
#   env: RUNS (5), FORMATS ("bf16 int8 int4 int4-g64"; int4-gN is int4 with
#        N columns per scale, int4 itself has 32), PROMPT (512), STEPS (128),
#        CHUNK (prefill tokens per call, 64), REUSE (1: keep earlier builds
#        of the same format in WORK instead of compiling again),
#        SUMMARY_ONLY (1: measure nothing, rewrite the results from WORK)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
work=${2:-"$root/.deps/bench"}
runs=${RUNS:-5}
formats=${FORMATS:-"bf16 int8 int4 int4-g64"}
prompt=${PROMPT:-512}
steps=${STEPS:-128}
chunk=${CHUNK:-64}
g4c="$build/bin/g4c"
mkdir -p "$work"

if ! command -v gnuplot >/dev/null; then
  echo "bench: installing gnuplot-nox for the plot"
  apt-get install -y -qq gnuplot-nox >/dev/null
fi

ckpt="$work/e2b"
if [ ! -f "$ckpt/config.json" ]; then
  echo "bench: generating the e2b preset (about 10 GB, once)"
  "$g4c" make-checkpoint --preset e2b --seed 1 --out "$ckpt"
fi

# The machine's read bandwidth: the best of a measurement before and one
# after the runs (a busy moment only lowers one).
# Built as bench/decode.sh builds it (bench/cxx.sh): on an AMX Xeon the g++
# build read 26.7 GB/s where the clang one read 33-34.
measure_bandwidth() {
  "$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -pthread \
    "$root/bench/stream.cc" -o "$work/stream"
  "$work/stream" 2048 >>"$work/bandwidth.txt"
  echo "bench: read bandwidth $(tail -1 "$work/bandwidth.txt") GB/s"
}
summary_only=${SUMMARY_ONLY:-0}
if [ "$summary_only" != 1 ]; then
  : >"$work/bandwidth.txt"
  measure_bandwidth
fi

tokens=$(awk -v n="$prompt" 'BEGIN { srand(7); for (i = 0; i < n; ++i)
  printf "%s%d", i ? "," : "", 2 + int(rand() * 262000) }')
context=$((prompt + steps + chunk))
rows=()
for format in $formats; do
  out="$work/e2b-$format"
  [ "$summary_only" = 1 ] && continue
  if [ "${REUSE:-0}" != 1 ] || [ ! -x "$out/build/e2b-run" ]; then
    echo "bench: compiling e2b at $format"
    rm -rf "$out"
    # int4-gN: int4 with N columns per scale (--group-size; int4 is 32).
    weights=(--weights "${format%%-g*}")
    [ "$format" = "${format#int4-g}" ] || weights+=(--group-size "${format#int4-g}")
    /usr/bin/time -f "%e %M" -o "$work/compile-$format.time" \
      "$g4c" compile "$ckpt" -o "$out" "${weights[@]}" --name e2b \
      --context "$context" --prefill-chunk "$chunk" >"$work/compile-$format.txt"
  fi
  # The generated project builds for this CPU (G4C_ARCH_FLAGS) with clang
  # when it is there.
  cmake -S "$out" -B "$out/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$out/build" -j2 >/dev/null
  for run in $(seq "$runs"); do
    # Each run starts with the .g4w out of the page cache (as after a
    # reboot): the PLE rows a run reads come in one at a time, not as the
    # large folios the packer's writes left cached.
    dd if="$out/e2b.g4w" iflag=nocache count=0 status=none
    "$out/build/e2b-run" --tokens "$tokens" --prefill-chunk "$chunk" \
      --steps $((steps + 1)) --report "$work/run-$format-$run.json" >/dev/null
    sed 's/.*"prefill_s": \([0-9.]*\).*"decode_s": \([0-9.]*\).*"vm_hwm_kb": \([0-9]*\).*/\1 \2 \3/' \
      "$work/run-$format-$run.json"
  done >"$work/runs-$format.txt"
  cmake -S "$out" -B "$out/profile" -DCMAKE_BUILD_TYPE=Release \
    -DG4C_PROFILE=ON >/dev/null
  cmake --build "$out/profile" -j2 >/dev/null
  "$out/profile/e2b-run" --tokens "$tokens" --prefill-chunk "$chunk" \
    --steps $((steps + 1)) --profile "$work/profile-$format.json" >/dev/null
done

if [ "$summary_only" != 1 ]; then
  measure_bandwidth
fi
bandwidth=$(sort -g "$work/bandwidth.txt" | tail -1)
for format in $formats; do
  read -r compile_s compile_kb <"$work/compile-$format.time"
  per_token=$(sed -n 's/^decode reads \([0-9]*\) bytes.*/\1/p' \
    "$work/compile-$format.txt")
  ple=$(sed -n 's/.*"name": "embed_tokens_per_layer.weight", "bytes": \([0-9]*\), "resident_bytes": \([0-9]*\).*/\1 \2/p' \
    "$work/run-$format-$runs.json")
  # Medians over the runs (sorted first: mawk has no asort).
  median() { sort -g | awk '{ v[NR] = $1 } END {
    print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  decode=$(awk -v s="$steps" '{ print s / $2 }' "$work/runs-$format.txt" | median)
  decode_min=$(awk -v s="$steps" '{ print s / $2 }' "$work/runs-$format.txt" | sort -g | head -1)
  decode_max=$(awk -v s="$steps" '{ print s / $2 }' "$work/runs-$format.txt" | sort -g | tail -1)
  prefill=$(awk -v p="$prompt" '{ print p / $1 }' "$work/runs-$format.txt" | median)
  rss_kb=$(awk '{ print $3 }' "$work/runs-$format.txt" | sort -g | tail -1)
  rows+=("$(awk -v f="$format" -v p="$prompt" -v b="$per_token" \
    -v bw="$bandwidth" -v cs="$compile_s" -v ck="$compile_kb" -v ple="$ple" \
    -v d="$decode" -v dmin="$decode_min" -v dmax="$decode_max" \
    -v pm="$prefill" -v rss="$rss_kb" 'BEGIN {
      split(ple, t, " ")
      printf "{\"format\": \"%s\", \"prefill_tok_s\": %.2f, \"ttft_s\": %.3f, \"decode_tok_s\": %.3f, \"decode_tok_s_min\": %.3f, \"decode_tok_s_max\": %.3f, \"bytes_per_token\": %.0f, \"bandwidth_gbs\": %.2f, \"roofline_fraction\": %.4f, \"peak_rss_mb\": %.1f, \"ple_table_bytes\": %.0f, \"ple_resident_bytes\": %.0f, \"compile_s\": %.1f, \"compile_peak_mb\": %.1f}",
        f, pm, p / pm, d, dmin, dmax, b, bw, d * b / (bw * 1e9), rss / 1024,
        t[1], t[2], cs, ck / 1024
    }')")
  echo "  ${rows[-1]}"
done

# Prefill's matrix products against the multiply-add peak (same run).
if [ "$summary_only" = 1 ]; then
  :
elif grep -qE "avx512f|avx2" /proc/cpuinfo; then
  "$root/bench/linear.sh" "$work" >"$work/linear.txt"
else
  echo "(no AVX-512 or AVX2 here: bench/linear.sh measures their kernels)" >"$work/linear.txt"
fi
# Decode's matrix-vector products against the read bandwidth (same run).
[ "$summary_only" = 1 ] || "$root/bench/decode.sh" "$work" >"$work/decode.txt"
# Attention alone at the model's shapes (same run).
[ "$summary_only" = 1 ] || "$root/bench/attention.sh" "$work" >"$work/attention.txt"

text_bytes=$(size -t "$(find "$work"/e2b-*/build -name 'libg4rt.a' | head -1)" |
  awk 'END { print $1 }')
{
  echo "["
  for i in "${!rows[@]}"; do
    printf '  %s%s\n' "${rows[$i]}" "$([ "$i" -lt $((${#rows[@]} - 1)) ] && echo ,)"
  done
  echo "]"
} >"$root/bench/results.json"
{
  echo "# E2B (random weights) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo
  echo "Read bandwidth ${bandwidth} GB/s (bench/stream.cc, both cores; best of $(wc -l <"$work/bandwidth.txt") measurements: $(paste -sd' ' "$work/bandwidth.txt")); prompt ${prompt} tokens in chunks of ${chunk};"
  echo "decode ${steps} steps, median of ${runs} runs; runtime library .text ${text_bytes} bytes."
  echo
  echo "| format | prefill tok/s | decode tok/s (min–max) | bytes/token | roofline | peak RSS MB | PLE resident / table | compile s | compile MB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do
    echo "$row" | sed 's/[{}"]//g; s/, /\n/g' | awk -F': ' '{ v[$1] = $2 }
      END { printf "| %s | %.1f | %.2f (%.2f–%.2f) | %.0f | %.1f %% | %.0f | %.0f / %.0f | %.0f | %.0f |\n",
        v["format"], v["prefill_tok_s"], v["decode_tok_s"], v["decode_tok_s_min"],
        v["decode_tok_s_max"], v["bytes_per_token"], 100 * v["roofline_fraction"],
        v["peak_rss_mb"], v["ple_resident_bytes"], v["ple_table_bytes"],
        v["compile_s"], v["compile_peak_mb"] }'
  done
  echo
  echo "## Prefill's matrix products against the multiply-add peak (bench/linear.sh)"
  echo
  cat "$work/linear.txt"
  echo
  echo "## Decode's matrix-vector products against the read bandwidth (bench/decode.sh)"
  echo
  cat "$work/decode.txt" 2>/dev/null || echo "(not measured: run without SUMMARY_ONLY)"
  echo
  echo "## Attention at E2B shapes on both cores (bench/attention.sh)"
  echo
  cat "$work/attention.txt" 2>/dev/null || echo "(not measured: run without SUMMARY_ONLY)"
  echo
  echo "## Where a decode step goes ($steps steps after the $prompt-token prompt, kernel timing build)"
  echo
  for format in $formats; do
    "$root/bench/profile-table.py" "$work/profile-$format.json" "e2b, $format"
  done
} >"$root/bench/results.md"
for row in "${rows[@]}"; do
  echo "$row" | sed 's/[{}"]//g; s/, /\n/g' | awk -F': ' '{ v[$1] = $2 }
    END { printf "%s %s %s\n", v["format"], v["decode_tok_s"], v["bandwidth_gbs"] * 1e9 / v["bytes_per_token"] }'
done >"$work/plot.dat"
gnuplot <<GNUPLOT
set terminal pngcairo size 800,500
set output "$root/bench/decode.png"
set title "E2B decode: measured tokens/s against the DRAM roofline (${bandwidth} GB/s)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "tokens/s"
set yrange [0:*]
plot "$work/plot.dat" using 2:xtic(1) title "measured", "" using 3 title "roofline"
GNUPLOT
cat "$root/bench/results.md"
