#!/usr/bin/env bash
# Decode's matrix-vector products (g4k::linear, one token, E2B shapes)
# against the machine's read bandwidth measured in the same run
# (bench/decode.cc, bench/stream.cc; never part of the test suite).
# usage: bench/decode.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/.deps/bench"}
mkdir -p "$work"
for program in decode stream; do
  "$("$root/bench/cxx.sh")" -O3 -std=c++17 -march=native -I"$root/runtime/include" \
    "$root/bench/$program.cc" -o "$work/$program" -lpthread
done
bandwidth=$("$work/stream" 2048)
echo "read bandwidth ${bandwidth} GB/s (bench/stream.cc); weights read per second, 1 token"
echo
echo "| weights | q\|k\|v 1536 -> 2560 | gate\|up 1536 -> 24576 | down 12288 -> 1536 |"
echo "|---|---|---|---|"
"$work/decode" | awk -v bw="$bandwidth" '{
  printf "| %s |", $1
  for (i = 2; i <= 4; ++i) printf " %.1f GB/s (%.0f %%) |", $i, 100 * $i / bw
  printf "\n" }'
