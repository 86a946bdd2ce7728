#!/usr/bin/env python3
"""Markdown tables of a NAME-run --profile JSON: per kernel, calls and time
per decode step and the share of the step (largest first); then, where the
profile has them, the prefill's: calls and time for the whole prompt and
the share.

usage: bench/profile-table.py PROFILE.json [TITLE]
"""
import json
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip())
    with open(sys.argv[1]) as f:
        profile = json.load(f)
    steps = profile["decode_steps"]
    kernels = sorted(profile["kernels"], key=lambda k: -k["seconds"])
    total = sum(k["seconds"] for k in kernels)
    if steps < 1 or total <= 0:
        sys.exit(f"{sys.argv[1]}: no decode steps profiled")
    title = sys.argv[2] if len(sys.argv) == 3 else sys.argv[1]
    print(f"**{title}**: {total / steps * 1e6:.0f} µs per decode step "
          f"(mean of {steps} steps) in kernels\n")
    print("| kernel | calls/step | µs/step | share |")
    print("|---|---|---|---|")
    for k in kernels:
        print(f"| {k['name']} | {k['calls'] / steps:g} | "
              f"{k['seconds'] / steps * 1e6:.1f} | "
              f"{100 * k['seconds'] / total:.1f} % |")
    print()
    prefill = sorted(profile.get("prefill_kernels", []),
                     key=lambda k: -k["seconds"])
    total = sum(k["seconds"] for k in prefill)
    if total <= 0:
        return
    print(f"**{title}**: {total * 1e3:.0f} ms in kernels for the prefill of "
          f"{profile['prompt_tokens']} tokens\n")
    print("| kernel | calls | ms | share |")
    print("|---|---|---|---|")
    for k in prefill:
        if k["calls"]:
            print(f"| {k['name']} | {k['calls']} | {k['seconds'] * 1e3:.1f} | "
                  f"{100 * k['seconds'] / total:.1f} % |")
    print()


main()
