#!/usr/bin/env bash
# The C++ compiler the kernel benchmarks are built with: $CXX, else the one
# generated projects prefer (clang, where there is one), so that a kernel's
# number is the one a compiled model gets (GCC's builds of g4k's kernels
# differ: 20-40 % slower decode products on Zen 5).
echo "${CXX:-$(command -v clang++-22 || command -v clang++ || echo g++)}"
