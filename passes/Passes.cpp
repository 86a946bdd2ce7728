//===- Passes.cpp - the g4c pass pipeline ---------------------------------===//
//
// Part of g4c. This file implements buildG4cPipeline, the one place where
// g4c's passes are put in order, and its registration.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace g4c {

void buildG4cPipeline(mlir::OpPassManager &pm,
                      const G4cPipelineOptions &options) {
  // First: KV-shared layers stop referring to their own k/v weights, so no
  // later pass (or the weight packer) spends anything on them. Optional:
  // without it those weights are packed but never read.
  if (options.resolveKvSharing)
    pm.addPass(createResolveKvSharingPass());
  // One PLE gather and context projection per step instead of one per layer.
  if (options.fusePerLayerInputs)
    pm.addPass(createFusePerLayerInputsPass());
  // Local vs global attention: ring buffers, constant RoPE tables.
  if (options.specializeAttention)
    pm.addPass(createSpecializeAttentionPass());
  // Clean up what the rewrites leave behind (dead weight refs), and merge
  // identical RoPE tables.
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  // Offsets are only meaningful once no pass changes the values.
  pm.addPass(createPlanMemoryPass());
  // Last: kernel calls on arena views; CSE merges repeated views.
  pm.addPass(createLowerToKernelsPass());
  pm.addPass(mlir::createCSEPass());
  // Stacked projections and folded norm weights, on the kernel calls.
  if (options.fuseProjections) {
    FuseProjectionsPassOptions fuse;
    fuse.foldNorms = options.foldNorms;
    pm.addPass(createFuseProjectionsPass(fuse));
  }
}

llvm::ArrayRef<llvm::StringRef> optionalPassNames() {
  static const llvm::StringRef names[] = {
      "resolve-kv-sharing", "fuse-per-layer-inputs", "specialize-attention",
      "fuse-projections"};
  return names;
}

bool disableOptionalPass(G4cPipelineOptions &options, llvm::StringRef name) {
  if (name == "resolve-kv-sharing") {
    options.resolveKvSharing = false;
    return true;
  }
  if (name == "fuse-per-layer-inputs") {
    options.fusePerLayerInputs = false;
    return true;
  }
  if (name == "fuse-projections") {
    options.fuseProjections = false;
    return true;
  }
  if (name == "specialize-attention") {
    options.specializeAttention = false;
    return true;
  }
  return false;
}

void registerG4cPassesAndPipeline() {
  registerG4cPasses();
  mlir::PassPipelineRegistration<>(
      "g4c-pipeline", "The default g4c pipeline on a gemma-dialect module",
      [](mlir::OpPassManager &pm) { buildG4cPipeline(pm, {}); });
}

} // namespace g4c
