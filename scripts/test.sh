#!/usr/bin/env bash
# Builds g4c (if needed) and runs the whole test suite: lit + GoogleTest via ctest.
# Usage: scripts/test.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
"$root/scripts/build.sh" "$@"
ctest --test-dir "$build" --output-on-failure -j"${G4C_JOBS:-2}"
