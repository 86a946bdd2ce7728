//===- ObjectEmitter.h - kernel-level module to an object file --*- C++ -*-===//
//
// Part of g4c. The object backend: the forward pass of a kernel-level module
// as NAME.o for a chosen target (through g4c-lower-kernels-to-calls, the
// upstream conversions to the LLVM dialect, LLVM IR and LLVM's code
// generator), and the C++ wrappers of the kernel instantiations it calls.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_LLVM_OBJECTEMITTER_H
#define G4C_TARGETS_LLVM_OBJECTEMITTER_H

#include "targets/llvm/HalideKernels.h"
#include "targets/weights/WeightPacker.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace g4c {

/// A target of --target: what LLVM generates code for, and the compiler
/// flags the generated C++ (kernels, runtime) is built with to match.
struct ObjectTarget {
  std::string name;   ///< as given: "host", "x86-64-v3", ...
  std::string triple; ///< normalised
  std::string cpu;
  std::string features;     ///< "+a,+b,-c"
  std::string abi;          ///< empty: the triple's default
  std::string cxxFlags;     ///< e.g. "-march=x86-64-v3"
  std::string halideTarget; ///< the Halide generators' target string
  /// The C++ built with cxxFlags gets g4k's x86 integer kernels, which put
  /// tokens in lanes from this many tokens (AVX-512 VNNI 16, AVX2 8), or
  /// the portable ones (0).
  int integerLaneTokens = 0;
};

/// The names --target accepts, for --help and errors.
llvm::ArrayRef<llvm::StringRef> objectTargetNames();

/// The target named |name| (host: this machine's CPU and features).
llvm::Expected<ObjectTarget> parseObjectTarget(llvm::StringRef name);

/// The directory of HalideRuntime.h (for the projects the backend writes).
llvm::StringRef halideIncludeDirectory();

/// Records where the packer put each weight (and its kernel element type)
/// on |module| as g4k.packed_weights, the lowering's input.
void annotatePackedWeights(mlir::ModuleOp module, const PackedWeights &weights);

/// What the forward pass calls: C++ wrappers, some of them around Halide
/// kernels still to generate.
struct ObjectKernels {
  std::string source; ///< the extern "C" wrappers (and kernel declarations)
  std::vector<HalideRequest> halide;
};

/// Lowers a kernel-level module carrying g4k.packed_weights to the LLVM
/// dialect in place and returns the kernels it calls (Halide ones where a
/// generator covers the op, with |halide|). Errors go to the context's
/// diagnostic handler.
mlir::FailureOr<ObjectKernels>
lowerToLLVMDialect(mlir::ModuleOp module, llvm::StringRef prefix,
                   const HalideKernelOptions *halide);

/// Translates an LLVM-dialect |module| to LLVM IR and writes the object
/// file for |target| to |out|: every function nounwind and with the
/// target's CPU and features; same input, same bytes.
llvm::Error emitObjectFile(mlir::ModuleOp module, const ObjectTarget &target,
                           llvm::StringRef moduleName,
                           llvm::raw_pwrite_stream &out);

} // namespace g4c

#endif // G4C_TARGETS_LLVM_OBJECTEMITTER_H
