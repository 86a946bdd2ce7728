//===- KernelCall.h - a g4k op as a call of the kernel library --*- C++ -*-===//
//
// Part of g4c. Both backends call the same g4k.h kernels: the C++ backend
// writes the call inline, the object backend calls a C-ABI wrapper around
// it. KernelCall is that call, described once per g4k op: the template, its
// constant shape arguments, and the run-time arguments in order (buffers,
// the entry point's tokens / start / logits, and literals baked into the
// call).
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_CPP_KERNELCALL_H
#define G4C_TARGETS_CPP_KERNELCALL_H

#include "targets/weights/WeightPacker.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace g4c {

struct KernelArgument {
  enum class Kind {
    Buffer,  ///< |buffer|: an arena view, a weight or a table (null: none)
    Tokens,  ///< the entry point's token ids
    Start,   ///< the position of the first token
    Logits,  ///< the entry point's logits (the call runs only when non-null)
    Literal, ///< |literal|, a constant of the call
    Cache,   ///< |literal|{|parts|...}: a KV cache aggregate of buffers
  };
  Kind kind;
  mlir::Value buffer = {};
  std::string literal = {};
  llvm::SmallVector<mlir::Value, 4> parts = {};
};

struct KernelCall {
  std::string kernel; ///< the g4k.h template, without namespace
  llvm::SmallVector<int64_t> templateArguments;
  llvm::SmallVector<KernelArgument> arguments;
  /// Whether the call writes the logits (and is skipped without them).
  bool writesLogits() const;
};

/// The call of g4k op |op|, or failure (with a diagnostic) for an op of
/// another dialect or one the kernel library lacks.
mlir::FailureOr<KernelCall> describeKernelCall(mlir::Operation &op);

/// "g4k::NAME<ARGS>(A, B, ...)": |nameOf| spells each buffer (called once
/// per buffer, in argument order); a null buffer is a typed nullptr.
std::string
renderKernelCall(const KernelCall &call,
                 llvm::function_ref<std::string(mlir::Value)> nameOf);

/// The offset in elements of a static strided view from its source's
/// start, or failure with a diagnostic.
mlir::FailureOr<int64_t> staticElementOffset(mlir::memref::SubViewOp subview);

/// The kernel library's element type of a packed tensor ("g4k::q4<32>").
std::string packedElementType(weightfile::Format format, uint32_t group);

/// The C++ element type of an arena or table buffer's element type.
std::string bufferElementType(mlir::Type type);

} // namespace g4c

#endif // G4C_TARGETS_CPP_KERNELCALL_H
