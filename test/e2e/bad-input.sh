#!/usr/bin/env bash
# End-to-end: the compiled runner refuses bad input with a clear message and
# a non-zero exit, never a crash: a token outside the vocabulary, running
# past the context, a truncated or mismatched .g4w, bad flags.
# usage: bad-input.sh G4C WORK
set -uo pipefail
g4c=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
set -e
"$g4c" make-checkpoint --preset tiny-31b --dtype f32 --out "$work/ckpt" >/dev/null
"$g4c" compile "$work/ckpt" -o "$work/out" --weights f32 --context 16 --name bad >/dev/null
cmake -S "$work/out" -B "$work/out/build" >/dev/null
cmake --build "$work/out/build" -j2 >/dev/null
run="$work/out/build/bad-run"
set +e

expect_failure() { # expect_failure PATTERN COMMAND...
  local pattern=$1
  shift
  local output status
  output=$("$@" 2>&1)
  status=$?
  if [ $status -eq 0 ] || [ $status -gt 128 ] || ! grep -q -- "$pattern" <<<"$output"; then
    echo "FAIL: $* -> status $status, output: $output (wanted: $pattern)"
    exit 1
  fi
  echo "ok: $pattern"
}

expect_failure "token 512 at index 1 is outside the vocabulary \[0, 512)" "$run" --tokens 2,512
expect_failure "token -3 at index 0 is outside the vocabulary" "$run" --tokens -3
expect_failure "run past the context of 16" "$run" --tokens 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
expect_failure "run past the context of 16" "$run" --tokens 1,2,3 --steps 20
expect_failure "--tokens expects comma-separated integer ids" "$run" --tokens 1,x
expect_failure "unknown option --bogus" "$run" --tokens 1 --bogus 2
expect_failure "cannot open" "$run" --weights "$work/none.g4w" --tokens 1
cp "$work/out/bad.g4w" "$work/truncated.g4w"
truncate -s -100 "$work/truncated.g4w"
expect_failure "truncated.g4w: is .* bytes, expected" "$run" --weights "$work/truncated.g4w" --tokens 1
# Same size, other weights: the fingerprint differs.
"$g4c" make-checkpoint --preset tiny-31b --dtype f32 --seed 99 --out "$work/other" >/dev/null
"$g4c" compile "$work/other" -o "$work/other-out" --weights f32 --context 16 --name bad >/dev/null
expect_failure "bad.g4w: fingerprint differs" "$run" --weights "$work/other-out/bad.g4w" --tokens 1
echo "all refusals clean"
