#!/usr/bin/env bash
# Builds g4c (if needed) and runs the whole test suite: lit + GoogleTest via ctest.
# Usage: scripts/test.sh [BUILD_DIR] [extra cmake args...]
#   G4C_CTEST_ARGS: more ctest arguments (CI's sanitiser build: -LE generated-code)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
"$root/scripts/build.sh" "$@"
# shellcheck disable=SC2086 # G4C_CTEST_ARGS is a list of arguments
ctest --test-dir "$build" --output-on-failure -j"${G4C_JOBS:-2}" ${G4C_CTEST_ARGS:-}
