//===- ResolveKvSharing.cpp - drop the k/v weights of KV-shared layers ----===//
//
// Part of g4c. This file implements the g4c-resolve-kv-sharing pass: a
// KV-shared layer's attention reads its owner's cache, so its own k/v
// projections and k norm go, and with them their gemma.weight symbols.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace g4c {
#define GEN_PASS_DEF_RESOLVEKVSHARINGPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// attention(shared layer, k, v, k_norm) = attention(shared layer)
struct DropSharedKvWeights : OpRewritePattern<gemma::AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(gemma::AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.ownsKv() || (!op.getKProj() && !op.getVProj() && !op.getKNorm()))
      return rewriter.notifyMatchFailure(op, "owns its KV or has no k/v");
    auto resolved = gemma::AttentionOp::create(
        rewriter, op.getLoc(), op.getResult().getType(), op.getInput(),
        op.getStart(), op.getQProj(), op.getOProj(), op.getQNorm(),
        /*k_proj=*/Value(), /*v_proj=*/Value(), /*k_norm=*/Value(),
        op.getLayerAttr(), op.getKindAttr(), op.getHeadDimAttr(),
        op.getNumHeadsAttr(), op.getNumKvHeadsAttr(), op.getWindowAttr(),
        op.getRopeThetaAttr(), op.getRotaryDimsAttr(), op.getKvOwnerAttr(),
        op.getKEqVAttr(), op.getEpsilonAttr());
    rewriter.replaceOp(op, resolved.getResult());
    return success();
  }
};

struct ResolveKvSharingPass
    : impl::ResolveKvSharingPassBase<ResolveKvSharingPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    populateResolveKvSharingPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
    // Weights nothing reads any more are never packed.
    for (auto weight :
         llvm::make_early_inc_range(module.getOps<gemma::WeightOp>()))
      if (SymbolTable::symbolKnownUseEmpty(weight, module))
        weight.erase();
  }
};

} // namespace

void populateResolveKvSharingPatterns(RewritePatternSet &patterns) {
  patterns.add<DropSharedKvWeights>(patterns.getContext());
}

} // namespace g4c
