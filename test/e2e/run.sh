#!/usr/bin/env bash
# `g4c run`, the main job, end to end on a tiny checkpoint: greedy text equals
# the reference executor's greedy tokens decoded (up to the first stop
# token); the build is cached and reused; sampling is reproducible by seed;
# bad input (no tokenizer.json, a prompt longer than the context) fails
# clearly; Ctrl-C during the build leaves no partial cache entry.
# Usage: run.sh G4C WORK_DIR
set -euo pipefail
g4c=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
cd "$work"
"$g4c" make-checkpoint --preset tiny-e2b --out ckpt > /dev/null
prompt="the quick brown fox"
fail() { echo "run.sh: FAIL: $*" >&2; exit 1; }

"$g4c" run ckpt --prompt "$prompt" --greedy --max-tokens 12 --cache-dir cache \
  > first.txt 2> first.err
grep -q "g4c: compiling" first.err || fail "no compile on the first run"
grep -Eq "prefill [0-9]+ tokens in .* tok/s; decode [0-9]+ tokens in .* tok/s" \
  first.err || fail "no speed report"

# Greedy = the reference's greedy continuation of <bos> + the prompt,
# decoded, cut at the first stop token (<eos> 1, <turn|> 106,
# <|tool_response> 50).
ids=$("$g4c" tokenize ckpt/tokenizer.json --text "$prompt")
reference=$("$g4c" reference ckpt --tokens "2,$ids" --greedy 12 | tail -1)
kept=$(tr ',' '\n' <<< "$reference" | awk '$1 == 1 || $1 == 106 || $1 == 50 {exit} {print}' |
       paste -sd, -)
if [[ -n $kept ]]; then
  "$g4c" tokenize ckpt/tokenizer.json --decode "$kept" > expected.txt
else
  : > expected.txt
fi
echo >> expected.txt # g4c run ends the text with a newline
cmp -s expected.txt first.txt ||
  fail "greedy text differs from the reference ($reference): $(od -c first.txt | head -3)"

"$g4c" run ckpt --prompt "$prompt" --greedy --max-tokens 12 --cache-dir cache \
  > second.txt 2> second.err
grep -q "using the cached build" second.err || fail "the cache was not reused"
cmp -s first.txt second.txt || fail "the cached build generates other text"

for run in 1 2; do
  "$g4c" run ckpt --prompt "$prompt" --seed 7 --max-tokens 24 --chat \
    --cache-dir cache > "seed$run.txt" 2> /dev/null
done
cmp -s seed1.txt seed2.txt || fail "the same seed gave different text"

# Interactive chat: two turns, one KV cache, a speed report per turn.
printf 'hello there\nand again\n' |
  "$g4c" run ckpt --interactive --max-tokens 6 --seed 3 --cache-dir cache \
    > chat.txt 2> chat.err || fail "interactive chat failed"
[[ $(grep -c "tok/s" chat.err) == 2 ]] || fail "expected two turns: $(cat chat.err)"

mkdir no-tokenizer && cp ckpt/config.json ckpt/*.safetensors no-tokenizer/
if "$g4c" run no-tokenizer --prompt x --cache-dir cache 2> err.txt; then
  fail "ran without tokenizer.json"
fi
grep -q "no-tokenizer: no tokenizer.json; g4c run needs one" err.txt ||
  fail "unclear error without tokenizer.json: $(cat err.txt)"

long=$(printf 'the %.0s' $(seq 1 80))
if "$g4c" run ckpt --prompt "$long" --context 32 --cache-dir cache \
   > /dev/null 2> err.txt; then
  fail "a prompt longer than the context ran"
fi
grep -q "of the context of 32 are left (--truncate" err.txt ||
  fail "unclear error for a long prompt: $(cat err.txt)"
"$g4c" run ckpt --prompt "$long" --context 32 --truncate --max-tokens 4 \
  --cache-dir cache > /dev/null 2> err.txt || fail "--truncate failed"
grep -q "keeping the last 28 of" err.txt || fail "--truncate did not say so"

# Invalid UTF-8 in the prompt: read as U+FFFD, no crash.
"$g4c" run ckpt --prompt $'bad \xff\xfe bytes' --max-tokens 4 --cache-dir cache \
  > /dev/null 2>&1 || fail "invalid UTF-8 in the prompt failed"

# Ctrl-C while the model is being built: no partial entry stays.
status=0
timeout -s INT 3 "$g4c" run ckpt --prompt x --weights f32 --cache-dir interrupted \
  > /dev/null 2>&1 || status=$?
sleep 1
if ls interrupted | grep -q partial; then
  fail "a partial cache entry was left after Ctrl-C (exit $status)"
fi
echo "run.sh: all checks passed"
