//===- Passes.cpp - the object backend's pipeline -------------------------===//
//
// Part of g4c. The one place the object backend's passes are put in order.
//
//===----------------------------------------------------------------------===//

#include "targets/llvm/Passes.h"

#include "mlir/Conversion/Passes.h"

namespace g4c {

void buildLLVMConversionPipeline(mlir::OpPassManager &pm) {
  pm.addPass(mlir::createSCFToControlFlowPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

void registerObjectBackendPasses() {
  registerG4cObjectPasses();
  mlir::PassPipelineRegistration<>(
      "g4c-object-pipeline",
      "kernel level to the LLVM dialect: g4c-lower-kernels-to-calls, then "
      "the upstream conversions to LLVM",
      [](mlir::OpPassManager &pm) {
        pm.addPass(createLowerKernelsToCallsPass());
        buildLLVMConversionPipeline(pm);
      });
}

} // namespace g4c
