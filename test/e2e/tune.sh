#!/usr/bin/env bash
# End-to-end: `g4c tune` on a one-layer tiny-e2b measures every Halide
# kernel that has schedule parameters (a time for each candidate, the
# fastest chosen), and the object backend compiled with that tuning file
# gives the C++ backend's greedy tokens and logits (schedules change speed,
# never values).
# usage: tune.sh G4C NPY_DIFF WORK
set -euo pipefail
g4c=$1 npy_diff=$2 work=$3

rm -rf "$work"
mkdir -p "$work"
"$g4c" make-checkpoint --preset tiny-e2b --layers 1 --kv-shared-layers 0 \
  --seed 5 --out "$work/ckpt" >/dev/null
shape=(--prefill-chunk 3 --context 64)
# With the matrix products (bf16 here) from Halide too, and their knob.
"$g4c" tune "$work/ckpt" "${shape[@]}" --halide-products --min-seconds 0.02 \
  -o "$work/tuning.json" 2>"$work/tune.err" | tee "$work/tune.out"
python3 - "$work/tuning.json" <<'PY'
import json, sys
tuning = json.load(open(sys.argv[1]))
assert tuning["g4c_tuning"] == 1 and tuning["target"] == "host", tuning
kernels = tuning["kernels"]
generators = {k["kernel"].split()[0] for k in kernels}
# One layer still has decode and prefill shapes of both tuned generators.
assert generators == {"g4c_rms_norm", "g4c_gelu_gate", "g4c_linear"}, generators
candidates = {"g4c_rms_norm": ["vectors=1", "vectors=2", "vectors=4"],
              "g4c_gelu_gate": ["vectors=1", "vectors=2", "vectors=4"],
              "g4c_linear": ["row_tile=2", "row_tile=4", "row_tile=8"]}
for kernel in kernels:
    times = kernel["milliseconds"]
    assert sorted(times) == candidates[kernel["kernel"].split()[0]], kernel
    assert all(t > 0 for t in times.values()), kernel
    (chosen,) = kernel["schedule"]
    assert times[chosen] == min(times.values()), kernel
print("tuned %d kernels, each the fastest of 3 schedules" % len(kernels))
PY
grep -q "wrote $work/tuning.json ($(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['kernels']))" "$work/tuning.json") kernels tuned)" "$work/tune.out"

tokens=2,17,30,45,100,7,8,9
for backend in cpp obj; do
  flags=(--backend "$backend")
  [ "$backend" = obj ] && flags+=(--halide-products --tuning "$work/tuning.json")
  "$g4c" compile "$work/ckpt" -o "$work/$backend" "${flags[@]}" "${shape[@]}" \
    --name tiny >/dev/null 2>"$work/$backend.err"
  cmake -S "$work/$backend" -B "$work/$backend/build" >/dev/null
  cmake --build "$work/$backend/build" -j2 --target tiny-run >/dev/null
  "$work/$backend/build/tiny-run" --tokens "$tokens" --prefill-chunk 3 \
    --steps 16 --dump-logits "$work/$backend.npy" >"$work/$backend.txt"
done
grep "tuned schedules for" "$work/obj.err"
diff "$work/cpp.txt" "$work/obj.txt"
"$npy_diff" "$work/obj.npy" "$work/cpp.npy" 1e-5
echo "tuned object backend: greedy 16 steps identical to the C++ backend"
