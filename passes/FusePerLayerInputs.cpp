//===- FusePerLayerInputs.cpp - one per-layer-inputs op for all layers ----===//
//
// Part of g4c. This file implements the g4c-fuse-per-layer-inputs pass: the
// per-layer gemma.per_layer_inputs ops that read the same tokens, embeddings
// and weights become one op covering all their layers, so each step gathers
// the token's PLE row once and computes the context projection once; each
// gemma.per_layer_input then reads its layer's slice.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"

namespace g4c {
#define GEN_PASS_DEF_FUSEPERLAYERINPUTSPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// Ops that can merge: same operands, same scalars.
using FusionKey =
    std::tuple<Value, Value, Value, Value, Value, Attribute, Attribute, Type>;

FusionKey keyOf(gemma::PerLayerInputsOp op) {
  auto type = cast<RankedTensorType>(op.getType());
  // Rows and width must agree; the layer count may differ.
  Type rowType = RankedTensorType::get({type.getShape()[0], type.getShape()[2]},
                                       type.getElementType());
  return {op.getTokens(),      op.getEmbeddings(),
          op.getTable(),       op.getProjection(),
          op.getNorm(),        op.getTableScaleAttr(),
          op.getEpsilonAttr(), rowType};
}

void fuse(MutableArrayRef<gemma::PerLayerInputsOp> group) {
  // Every use must be an injection: it can take an index into the fused op.
  for (gemma::PerLayerInputsOp op : group)
    for (Operation *user : op->getUsers())
      if (!isa<gemma::PerLayerInputOp>(user))
        return;
  int64_t first = int64_t(group.front().getFirstLayer()), end = first;
  for (gemma::PerLayerInputsOp op : group) {
    first = std::min(first, int64_t(op.getFirstLayer()));
    end = std::max(end, int64_t(op.getFirstLayer()) + op.getNumLayers());
  }
  gemma::PerLayerInputsOp head = group.front();
  ArrayRef<int64_t> shape = cast<RankedTensorType>(head.getType()).getShape();
  OpBuilder builder(head);
  auto fused = gemma::PerLayerInputsOp::create(
      builder, head.getLoc(),
      RankedTensorType::get({shape[0], end - first, shape[2]},
                            builder.getF32Type()),
      head.getTokens(), head.getEmbeddings(), head.getTable(),
      head.getProjection(), head.getNorm(), head.getTableScaleAttr(),
      head.getEpsilonAttr(), builder.getI64IntegerAttr(first));
  for (gemma::PerLayerInputsOp op : group) {
    const int64_t shift = int64_t(op.getFirstLayer()) - first;
    for (Operation *user : llvm::make_early_inc_range(op->getUsers())) {
      auto inject = cast<gemma::PerLayerInputOp>(user);
      inject.getPerLayerInputsMutable().assign(fused);
      inject.setIndex(uint64_t(int64_t(inject.getIndex()) + shift));
    }
    op.erase();
  }
}

struct FusePerLayerInputsPass
    : impl::FusePerLayerInputsPassBase<FusePerLayerInputsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp function) {
      llvm::MapVector<FusionKey, SmallVector<gemma::PerLayerInputsOp>> groups;
      function.walk(
          [&](gemma::PerLayerInputsOp op) { groups[keyOf(op)].push_back(op); });
      for (auto &[key, group] : groups)
        if (group.size() > 1)
          fuse(group);
    });
  }
};

} // namespace
} // namespace g4c
