#!/usr/bin/env bash
# Tokenizer parity: g4c's encoder (through `g4c tokenize`) against
# @lenml/tokenizers on a varied corpus — identical ids — and g4c's decoder
# against the original text — exact round trip.
# Usage: parity.sh G4C TOKENIZER_JSON NPM_DIR WORK_DIR CORPUS_DIR
set -euo pipefail
g4c=$1 tokenizer=$2 npm=$3 work=$4 corpus=$5
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -d $npm/node_modules/@lenml/tokenizers ]]; then
  echo "parity.sh: $npm/node_modules/@lenml/tokenizers is missing;" \
       "run scripts/install-deps.sh (it installs the npm reference)" >&2
  exit 1
fi
rm -rf "$work" && mkdir -p "$work"
"$g4c" tokenize "$tokenizer" --text "" --table-out "$work/table.g4t" > /dev/null
files=("$corpus"/*.txt)
NODE_PATH="$npm/node_modules" node "$here/encode.js" "$tokenizer" "${files[@]}" \
  > "$work/expected.txt"
failures=0 i=0
for file in "${files[@]}"; do
  i=$((i + 1))
  expected=$(sed -n "${i}p" "$work/expected.txt")
  actual=$("$g4c" tokenize "$work/table.g4t" --file "$file")
  if [[ $actual != "$expected" ]]; then
    echo "MISMATCH $(basename "$file"):" >&2
    echo "  expected $expected" | cut -c1-400 >&2
    echo "  actual   $actual" | cut -c1-400 >&2
    failures=$((failures + 1))
    continue
  fi
  # "▁" in the text itself decodes as a space (as in Hugging Face).
  if ! grep -q $'\xe2\x96\x81' "$file"; then
    "$g4c" tokenize "$work/table.g4t" --decode "$actual" > "$work/decoded"
    if ! cmp -s "$file" "$work/decoded"; then
      echo "ROUND TRIP $(basename "$file") differs" >&2
      failures=$((failures + 1))
      continue
    fi
  fi
  echo "ok $(basename "$file") ($(tr ',' '\n' <<< "$actual" | wc -l) tokens)"
done
echo "$((${#files[@]} - failures)) of ${#files[@]} files match"
[[ $failures == 0 ]]
