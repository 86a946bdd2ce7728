# -*- Python -*-
# lit configuration for g4c. Works three ways:
#   from ctest / `ninja check-g4c` (through the generated lit.site.cfg.py),
#   `lit build/test`, and `lit test/...` straight on the source tree
#   (then --param g4c_obj_root=BUILD, default ../build).

import os
import shutil

import lit.formats

config.name = "g4c"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in", "unit", "fuzz"]

if not hasattr(config, "g4c_obj_root"):
    # Run straight on the source tree: find the build from a --param.
    src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    obj_root = lit_config.params.get("g4c_obj_root", os.path.join(src_root, "build"))
    config.g4c_src_root = src_root
    config.g4c_obj_root = os.path.abspath(obj_root)
    config.g4c_tools_dir = os.path.join(config.g4c_obj_root, "bin")
    config.llvm_tools_dir = lit_config.params.get("llvm_tools_dir", "/usr/lib/llvm-22/bin")
    import lit.llvm
    lit.llvm.initialize(lit_config, config)

config.test_exec_root = os.path.join(config.g4c_obj_root, "test")

from lit.llvm import llvm_config

llvm_config.use_default_substitutions()  # FileCheck, not, count, ...
llvm_config.add_tool_substitutions(
    ["g4c", "g4c-opt"], [config.g4c_tools_dir, config.llvm_tools_dir]
)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Cross-target run tests need a cross compiler and qemu-user (no binfmt_misc).
for arch in ("aarch64", "riscv64"):
    if shutil.which("qemu-" + arch) and shutil.which(arch + "-linux-gnu-gcc"):
        config.available_features.add("qemu-" + arch)

# g4c's int8 / int4 Halide products run where the host's C++ runs g4k's
# AVX-512 VNNI kernels (the object backend's `host` with these features).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = set(cpuinfo.read().split())
except OSError:
    flags = set()
if {"avx512bw", "avx512_vnni"} <= flags:
    config.available_features.add("avx512-vnni")
