//===- ExpandSoftcap.cpp - Expand gemma.softcap into arith/math -----------===//
//
// Part of g4c. This file implements the g4c-expand-softcap pass: a single
// rewrite pattern that replaces `gemma.softcap` with the elementwise
// computation `cap * tanh(x / cap)` on tensors.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace g4c {
#define GEN_PASS_DEF_EXPANDSOFTCAPPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// softcap(x; c) = c * tanh(x / c)
struct ExpandSoftcap : OpRewritePattern<gemma::SoftcapOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(gemma::SoftcapOp op,
                                PatternRewriter &rewriter) const override {
    auto type = op.getInput().getType();
    auto elementType = cast<FloatType>(type.getElementType());
    Location loc = op.getLoc();
    auto capValue = DenseElementsAttr::get(
        type,
        rewriter.getFloatAttr(elementType, op.getCap().convertToDouble()));
    Value cap = arith::ConstantOp::create(rewriter, loc, capValue);
    Value scaled = arith::DivFOp::create(rewriter, loc, op.getInput(), cap);
    Value squashed = math::TanhOp::create(rewriter, loc, scaled);
    rewriter.replaceOpWithNewOp<arith::MulFOp>(op, squashed, cap);
    return success();
  }
};

struct ExpandSoftcapPass : impl::ExpandSoftcapPassBase<ExpandSoftcapPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandSoftcapPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void populateExpandSoftcapPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandSoftcap>(patterns.getContext());
}

} // namespace g4c
