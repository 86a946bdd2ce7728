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

#include <vector>

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
  PlanMemoryPassOptions plan;
  plan.kvDType = options.kvDType;
  pm.addPass(createPlanMemoryPass(plan));
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

namespace {

/// The passes `--disable-pass` can switch off, in pipeline order.
struct OptionalPass {
  llvm::StringRef name;
  bool G4cPipelineOptions::*enabled;
};
const OptionalPass kOptionalPasses[] = {
    {"resolve-kv-sharing", &G4cPipelineOptions::resolveKvSharing},
    {"fuse-per-layer-inputs", &G4cPipelineOptions::fusePerLayerInputs},
    {"specialize-attention", &G4cPipelineOptions::specializeAttention},
    {"fuse-projections", &G4cPipelineOptions::fuseProjections},
};

} // namespace

llvm::ArrayRef<llvm::StringRef> optionalPassNames() {
  static const std::vector<llvm::StringRef> names = [] {
    std::vector<llvm::StringRef> result;
    for (const OptionalPass &pass : kOptionalPasses)
      result.push_back(pass.name);
    return result;
  }();
  return names;
}

bool disableOptionalPass(G4cPipelineOptions &options, llvm::StringRef name) {
  for (const OptionalPass &pass : kOptionalPasses)
    if (pass.name == name) {
      options.*pass.enabled = false;
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
