//===- Passes.h - object backend passes -------------------------*- C++ -*-===//
//
// Part of g4c. The passes of the object backend (generated from Passes.td)
// and its pipeline, kernel level to the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_LLVM_PASSES_H
#define G4C_TARGETS_LLVM_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace g4c {

#define GEN_PASS_DECL
#include "targets/llvm/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "targets/llvm/Passes.h.inc"

/// The upstream conversions after g4c-lower-kernels-to-calls: scf, func,
/// arith and cf to the LLVM dialect. Registered as "g4c-object-pipeline"
/// (preceded by the lowering to calls) for g4c-opt.
void buildLLVMConversionPipeline(mlir::OpPassManager &pm);

/// Registers the passes and "g4c-object-pipeline".
void registerObjectBackendPasses();

} // namespace g4c

#endif // G4C_TARGETS_LLVM_PASSES_H
