//===- CppEmitter.h - gemma module to C++ source ----------------*- C++ -*-===//
//
// Part of g4c. Emits NAME.h / NAME.cc for a kernel-level module (after
// g4c-pipeline, whose last pass is g4c-lower-to-kernels): one straight-line
// C++ function per entry point in which every g4k op is one call of a g4k.h
// template at its constant shape and every memref.view a named pointer at
// its arena offset, and the C API that a runner or an application calls.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_CPP_CPPEMITTER_H
#define G4C_TARGETS_CPP_CPPEMITTER_H

#include "targets/weights/WeightPacker.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace g4c {

struct CppEmitOptions {
  /// A C identifier: prefixes every symbol and names the files.
  std::string name;
  /// Also declare NAME_open_linked, which uses the weights linked into the
  /// program as NAME_weights_data (see writeLinkedWeights).
  bool linkWeights = false;
  /// Keep activations f32 in int8/int4 matrix products (the kernels then
  /// compute exactly with the dequantised weights; slower).
  bool exactActivations = false;
  /// The object backend: the forward pass is NAME_forward_prefill /
  /// NAME_forward_decode in NAME.o, and the source holds these extern "C"
  /// kernel wrappers (which NAME.o calls) instead of the forward functions.
  std::optional<std::string> objectKernels;
};

/// What the emitted code needs at run time.
struct CppEmitResult {
  uint64_t arenaBytes = 0;   ///< planned arena + kernel scratch
  uint64_t scratchBytes = 0; ///< of which kernel scratch
};

/// Emits the header and the source of |module|, which must be at the kernel
/// level (g4k.entry functions prefill and decode, gemma.memory_plan with
/// its scratch region) and whose weights are the ones in |weights|. Fails
/// with a diagnostic on an op it cannot emit.
mlir::FailureOr<CppEmitResult> emitCpp(mlir::ModuleOp module,
                                       const PackedWeights &weights,
                                       const CppEmitOptions &options,
                                       llvm::raw_ostream &header,
                                       llvm::raw_ostream &source);

} // namespace g4c

#endif // G4C_TARGETS_CPP_CPPEMITTER_H
