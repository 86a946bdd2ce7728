#!/usr/bin/env bash
# The generated C++ compiles warning-free as C++17 at -O2 with g++ and, when
# installed, clang++-22 (-Wall -Wextra -Werror), for every tiny preset, and
# the object backend's NAME_kernels.cc.
# usage: warnings.sh G4C WORK RUNTIME_INCLUDE
set -euo pipefail
g4c=$1 work=$2 include=$3
rm -rf "$work"
mkdir -p "$work"
compilers=(g++)
if command -v clang++-22 >/dev/null; then compilers+=(clang++-22); fi
for preset in tiny-e2b tiny-e4b tiny-moe tiny-31b; do
  "$g4c" make-checkpoint --preset "$preset" --out "$work/$preset" >/dev/null
  "$g4c" compile "$work/$preset" -o "$work/$preset-out" --name m >/dev/null
  # The programs are the same for every model (checked); compiled once.
  files=(m.cc)
  if [ "$preset" = tiny-e2b ]; then
    files+=(m-run.cc m-chat.cc)
  else
    for file in m-run.cc m-chat.cc; do
      cmp "$work/tiny-e2b-out/$file" "$work/$preset-out/$file"
    done
  fi
  for cxx in "${compilers[@]}"; do
    for file in "${files[@]}"; do
      "$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -fno-rtti \
        -I "$work/$preset-out" -I "$include" -DM_DEFAULT_WEIGHTS='"m.g4w"' \
        -DM_DEFAULT_TOKENIZER='"m.g4t"' \
        -c "$work/$preset-out/$file" -o "$work/$preset-$file.o"
    done
    echo "$preset: $cxx clean"
  done
done
# The object backend's C++: the kernel wrappers, some around Halide kernels.
"$g4c" compile "$work/tiny-e2b" -o "$work/obj-out" --backend obj --name m >/dev/null
halide=$(sed -n 's/^set(G4C_HALIDE_INCLUDE_DIR "\(.*\)" CACHE.*/\1/p' \
  "$work/obj-out/CMakeLists.txt")
for cxx in "${compilers[@]}"; do
  "$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -fno-rtti \
    -I "$work/obj-out" -I "$include" -I "$halide" \
    -c "$work/obj-out/m_kernels.cc" -o "$work/obj-m_kernels.o"
  echo "tiny-e2b --backend obj: $cxx clean"
done
