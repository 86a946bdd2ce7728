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

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
echo "install-deps: done"
