//===- Passes.td - object backend passes -------------------*- tablegen -*-===//
//
// Part of g4c. The passes of the object backend (targets/llvm), implemented
// in <Name>.cpp through GEN_PASS_DEF.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_LLVM_PASSES_TD
#define G4C_TARGETS_LLVM_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerKernelsToCallsPass : Pass<"g4c-lower-kernels-to-calls",
                                   "::mlir::ModuleOp"> {
  let summary = "Entry functions on raw pointers calling one C-ABI symbol "
                "per kernel instantiation";
  let description = [{
    The object backend's first step. Every address of a kernel-level module
    is static: an arena view is the arena pointer plus a constant, a weight
    the weights pointer plus its offset in the .g4w (from the module's
    `g4k.packed_weights` dictionary: name -> {offset, type}), a RoPE table a
    global. This pass rewrites each `g4k.entry` function `F` into
    `PREFIX_forward_F(weights, arena, tokens, start : i64, logits)` on
    `!llvm.ptr` values: views become `llvm.getelementptr`s, `memref.global`
    tables `llvm.mlir.global`s, and every g4k op a `func.call` of a private
    declaration `PREFIX_<kernel>_<n>`, one per distinct instantiation of the
    kernel library. A declaration carries the C++ of its body
    (`g4k.cpp_params`, `g4k.cpp_body`): the backend writes those wrappers
    into NAME_kernels.cc. With `halide`, a wrapper of an op a Halide
    generator covers calls the generated kernel instead
    (`g4k.halide_functions`: per generated function its name, its
    generator, registered name, the Halide target features it needs, its C
    declaration and its GeneratorParams); the matrix
    products only with `halide-products`, those of int8 / int4 weights in
    the order of the g4k x86 kernels that `integer-lane-tokens` names. Calls that write the logits sit in an `scf.if` on
    a non-null logits pointer. Everything else in the module (weight
    symbols, the memory plan) is dropped. Upstream conversions
    (scf/func/arith/cf to LLVM) finish the lowering.
  }];
  let options = [
    Option<"prefix", "prefix", "std::string", "\"model\"",
           "C identifier prefixing the emitted symbols">,
    Option<"halide", "halide", "bool", "false",
           "Wrappers call Halide-generated kernels where a generator covers "
           "the op (the declaration names them in g4k.halide_functions)">,
    Option<"halideProducts", "halide-products", "bool", "false",
           "With halide: the matrix products too (g4c_linear, "
           "g4c_quantised_linear; slower than the kernel library's so far)">,
    Option<"integerLaneTokens", "integer-lane-tokens", "int", "0",
           "The target's C++ is built with g4k's x86 integer kernels, which "
           "put tokens in lanes from this many tokens (AVX-512 VNNI: 16, "
           "AVX2: 8): int8 / int4 products round in their order; 0: the "
           "portable kernels (no Halide integer products)">,
    Option<"exactActivations", "exact-activations", "bool", "false",
           "int8 / int4 products keep f32 activations: no Halide integer "
           "products">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect"];
}

#endif // G4C_TARGETS_LLVM_PASSES_TD
