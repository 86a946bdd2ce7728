#!/usr/bin/env bash
# Kernel timing of a generated project: configured with -DG4C_PROFILE=ON,
# NAME-run --profile writes each kernel's calls and time over the prefill
# and over the decode steps (the counts follow from the model: one embed
# per prefill chunk and per step, one softcap per step and one for the
# prefill's last position; all the time within the measured prefill and
# decode times); a plain build refuses --profile and says how to get it.
# Usage: profile.sh G4C WORK_DIR
set -euo pipefail
g4c=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
cd "$work"
fail() { echo "profile.sh: FAIL: $*" >&2; exit 1; }
"$g4c" make-checkpoint --preset tiny-e2b --out ckpt > /dev/null
"$g4c" compile ckpt -o out --name m --weights int8 --prefill-chunk 2 > /dev/null
cmake -S out -B out/profile -DG4C_PROFILE=ON > /dev/null
cmake --build out/profile -j2 > /dev/null
out/profile/m-run --tokens 2,10,20,30,40 --prefill-chunk 2 --steps 6 \
  --profile profile.json --report report.json > /dev/null
python3 - profile.json report.json <<'PY' || fail "$(cat profile.json)"
import json, sys
profile = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
kernels = {k["name"]: k for k in profile["kernels"]}
assert profile["decode_steps"] == 5, profile["decode_steps"]
for name in ("embed", "softcap"):
    assert kernels[name]["calls"] == 5, (name, kernels[name])
assert kernels["linear"]["calls"] >= 5 and kernels["rms_norm"]["calls"] >= 5
assert all(k["seconds"] > 0 for k in kernels.values()), kernels
total = sum(k["seconds"] for k in kernels.values())
assert total <= report["decode_s"], (total, report["decode_s"])
# Five tokens in chunks of 2: three prefill calls, logits at the last.
assert profile["prompt_tokens"] == 5, profile["prompt_tokens"]
prefill = {k["name"]: k for k in profile["prefill_kernels"]}
assert prefill["embed"]["calls"] == 3, prefill["embed"]
assert prefill["softcap"]["calls"] == 1, prefill["softcap"]
assert prefill["linear"]["calls"] >= 3, prefill["linear"]
total = sum(k["seconds"] for k in prefill.values())
assert 0 < total <= report["prefill_s"], (total, report["prefill_s"])
PY

cmake -S out -B out/plain > /dev/null
cmake --build out/plain -j2 > /dev/null
if out/plain/m-run --tokens 2,10 --steps 2 --profile p.json 2> err.txt; then
  fail "a build without kernel timing accepted --profile"
fi
grep -q -- "--profile needs a build with -DG4C_PROFILE=ON" err.txt ||
  fail "unclear error: $(cat err.txt)"
[[ ! -e p.json ]] || fail "wrote a profile without timings"
echo "profile.sh: OK"
