#!/usr/bin/env bash
# Runs a test program built for an instruction set extension only where
# this CPU has it: the program's own startup (static initialisers, built
# with the same -march) may use the instructions, so it must not start
# elsewhere. Elsewhere it prints why and exits 77 (ctest: skipped).
# usage: run-where-cpu-has.sh "FLAG..." PROGRAM [ARGS...]
#   FLAG: a /proc/cpuinfo flag, as the kernel names it (avx512_vnni, f16c)
set -euo pipefail
flags=$1
shift
for flag in $flags; do
  if ! grep -qw "$flag" /proc/cpuinfo; then
    echo "skipped: this CPU has no $flag ($(basename "$1") needs: $flags)"
    exit 77
  fi
done
exec "$@"
