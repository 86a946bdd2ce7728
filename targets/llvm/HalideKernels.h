//===- HalideKernels.h - which kernels Halide generates ---------*- C++ -*-===//
//
// Part of g4c. The object backend's kernels come from Halide generators
// (targets/halide, separate executables: Halide links LLVM 14, g4c LLVM 22).
// This is the table from a kernel call to its generator, the
// GeneratorParams that specialise it to the call's shape and formats, and
// the C++ that calls the generated function from the call's wrapper; and
// the step that runs the generators at model compile time.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_LLVM_HALIDEKERNELS_H
#define G4C_TARGETS_LLVM_HALIDEKERNELS_H

#include "targets/cpp/KernelCall.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace g4c {

/// One generated function: its generator and params. In |declaration|,
/// @FUNCTION@ stands for the function's name.
struct HalideFunction {
  std::string generator;           ///< the generator executable's file name
  std::string registeredName;      ///< its HALIDE_REGISTER_GENERATOR name
  std::vector<std::string> params; ///< GeneratorParams, "key=value"
  /// Halide target features the kernel needs ("strict_float"), "-"-joined.
  std::string targetFeatures;
  std::string declaration; ///< extern "C" declaration
};

/// A kernel call's wrapper over generated functions. In |body|, @FUNCTION@
/// stands for the first function's name, @FUNCTION1@, @FUNCTION2@ ... for
/// the others'.
struct HalideKernel {
  std::vector<HalideFunction> functions;
  std::string body; ///< the wrapper's statements
};

/// Which kernels Halide generates, and what the target's C++ kernels do.
struct HalideKernelOptions {
  bool products = false; ///< the matrix products too
  /// The target's C++ is built with g4k's x86 integer kernels, which put
  /// tokens in lanes from this many tokens (AVX-512 VNNI 16, AVX2 8; 0: the
  /// portable kernels): int8 / int4 products round in their order
  /// (g4k::integer_sum_order_of).
  int integerLaneTokens = 0;
  /// int8 / int4 products keep f32 activations (G4K_EXACT_ACTIVATIONS):
  /// the kernel library's, not Halide's.
  bool exactActivations = false;
};

/// The Halide kernel for |call|, if a generator covers it. |nameOf| spells
/// a buffer in the wrapper, |elementTypeOf| gives its C++ element type.
std::optional<HalideKernel>
halideKernelFor(const KernelCall &call,
                llvm::function_ref<std::string(mlir::Value)> nameOf,
                llvm::function_ref<std::string(mlir::Value)> elementTypeOf,
                const HalideKernelOptions &options);

/// A kernel to generate: |function| is the name it gets.
struct HalideRequest {
  std::string function;
  std::string generator, registeredName, targetFeatures;
  std::vector<std::string> params;
};

/// Runs |argv| (the first is the program) to completion with its output in
/// |log| (kept); an error names it as |what| and quotes the output.
llvm::Error runProgram(llvm::ArrayRef<std::string> argv, llvm::StringRef log,
                       llvm::StringRef what);

/// Runs each of |argvs| (the first argument is the program) to completion,
/// as many at a time as there are hardware threads; an error names each
/// that failed as |what| and quotes its output.
llvm::Error runPrograms(llvm::ArrayRef<std::vector<std::string>> argvs,
                        llvm::StringRef what);

/// The generator executable |name|: in $G4C_HALIDE_GENERATOR_DIR, else
/// where this g4c's build put it; an error names the path if it is missing.
llvm::Expected<std::string> halideGeneratorExecutable(llvm::StringRef name);

/// The command that generates |request|'s kernel as |function| into
/// |directory| for Halide target |target| (its features added, no
/// runtime), writing |outputs| (generator -e: "object", ...); an error if
/// its generator is missing.
llvm::Expected<std::vector<std::string>>
halideGeneratorCommand(const HalideRequest &request, llvm::StringRef function,
                       llvm::StringRef target, llvm::StringRef directory,
                       llvm::StringRef outputs);

/// A file the build puts next to the generators (g4c tune's compiled
/// benchmark driver); an error names the path if it is missing.
llvm::Expected<std::string> halideGeneratorFile(llvm::StringRef name);

/// Runs the generators of |requests| for Halide target |target| into
/// |directory| (FUNCTION.o each), and once more for the shared Halide
/// runtime (RUNTIME.o); returns the object files written, in order.
/// Progress goes to |progress|.
llvm::Expected<std::vector<std::string>>
generateHalideKernels(const std::vector<HalideRequest> &requests,
                      llvm::StringRef target, llvm::StringRef runtime,
                      llvm::StringRef directory, llvm::raw_ostream &progress);

} // namespace g4c

#endif // G4C_TARGETS_LLVM_HALIDEKERNELS_H
