#!/usr/bin/env bash
# Tokenizer parity on the synthetic tokenizer.json of the tiny presets.
# Usage: synthetic-parity.sh G4C NPM_DIR WORK_DIR CORPUS_DIR
set -euo pipefail
g4c=$1 npm=$2 work=$3 corpus=$4
rm -rf "$work" && mkdir -p "$work"
"$g4c" make-checkpoint --preset tiny-e2b --out "$work/ckpt" > /dev/null
exec "$(dirname "$0")/parity.sh" "$g4c" "$work/ckpt/tokenizer.json" "$npm" \
  "$work/parity" "$corpus"
