//===- g4c-opt.cpp - mlir-opt for g4c -------------------------------------===//
//
// Part of g4c. This file implements g4c-opt: mlir-opt with the gemma dialect,
// the upstream dialects g4c uses, and every g4c pass registered.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaDialect.h"
#include "compiler/Dialect/Kernel/IR/KernelDialect.h"
#include "passes/Passes.h"
#include "targets/llvm/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<g4c::gemma::GemmaDialect, g4c::kernel::G4kDialect,
                  mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::tensor::TensorDialect, mlir::LLVM::LLVMDialect,
                  mlir::scf::SCFDialect>();
  mlir::registerTransformsPasses();
  g4c::registerG4cPassesAndPipeline();
  g4c::registerObjectBackendPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "g4c optimizer driver\n", registry));
}
