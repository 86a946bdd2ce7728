//===- Passes.h - g4c passes ------------------------------------*- C++ -*-===//
//
// Part of g4c. Declares every g4c pass (generated from Passes.td), their
// pattern populators, and the registration entry point.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_PASSES_PASSES_H
#define G4C_PASSES_PASSES_H

#include "compiler/Dialect/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace g4c {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Adds the patterns that remove k/v weights from KV-shared attention ops.
void populateResolveKvSharingPatterns(mlir::RewritePatternSet &patterns);

/// Adds the patterns that expand `gemma.softcap` into arith/math ops.
void populateExpandSoftcapPatterns(mlir::RewritePatternSet &patterns);

/// registerG4cPasses() registers every g4c pass with the global registry (for
/// g4c-opt and textual pipelines).
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Every arena buffer (planned activations, KV caches, kernel scratch)
/// starts on a 64-byte boundary: a cache line, and any SIMD width.
constexpr int64_t kArenaAlignment = 64;
inline int64_t alignToArena(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

/// Options of the default pipeline: the optional passes can be switched off
/// (the end-to-end tests run with each of them off, too).
struct G4cPipelineOptions {
  bool resolveKvSharing = true;
  bool fusePerLayerInputs = true;
  bool specializeAttention = true;
  bool fuseProjections = true;
  /// Fold RMSNorm weights into projections (exact only for f32 packing).
  bool foldNorms = true;
  /// Element type of the KV caches the kernels keep: "f32" or "i8".
  std::string kvDType = "f32";
};

/// The names `--disable-pass` accepts, in pipeline order.
llvm::ArrayRef<llvm::StringRef> optionalPassNames();

/// Switches off the optional pass |name|; false if there is none by that name.
bool disableOptionalPass(G4cPipelineOptions &options, llvm::StringRef name);

/// The default g4c pipeline, model level to kernels; the one place passes
/// are put in order. Registered as "g4c-pipeline" for g4c-opt.
void buildG4cPipeline(mlir::OpPassManager &pm,
                      const G4cPipelineOptions &options);

/// Registers the passes and the "g4c-pipeline" pipeline.
void registerG4cPassesAndPipeline();

} // namespace g4c

#endif // G4C_PASSES_PASSES_H
