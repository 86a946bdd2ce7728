#!/usr/bin/env bash
# Configures and builds g4c.  Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# The default build dir is ./build (Release). Re-running is incremental.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
shift || true
cmake -S "$root" -B "$build" -G Ninja "$@"
ninja -C "$build" -j"${G4C_JOBS:-2}"
