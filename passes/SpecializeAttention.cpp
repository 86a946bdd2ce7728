//===- SpecializeAttention.cpp - local/global attention specialisation ----===//
//
// Part of g4c. This file implements the g4c-specialize-attention pass: every
// gemma.attention becomes a K/V projection (owners only), an attention over
// a cache of known size plus the current tokens, and a cache store placed
// after the owner's last reader. Sliding layers get a ring of exactly the
// window, full layers a linear cache of the context; RoPE frequencies
// become constants.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace g4c {
#define GEN_PASS_DEF_SPECIALIZEATTENTIONPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// The RoPE inverse frequencies theta^(-2j / head_dim) of the rotary pairs
/// j < rotary_dims / 2 of |op|, one constant per distinct table at the top
/// of the function.
class FrequencyTables {
public:
  explicit FrequencyTables(func::FuncOp function) : function(function) {}

  Value get(gemma::AttentionOp op) {
    const int64_t pairs = int64_t(op.getRotaryDims()) / 2;
    const double headDim = double(op.getHeadDim());
    const double theta = op.getRopeTheta().convertToDouble();
    llvm::SmallVector<double> values;
    for (int64_t j = 0; j < pairs; ++j)
      values.push_back(std::pow(theta, -double(2 * j) / headDim));
    OpBuilder builder(function.getBody());
    auto type = RankedTensorType::get({pairs}, builder.getF64Type());
    auto attr = DenseElementsAttr::get(type, llvm::ArrayRef<double>(values));
    Value &table = tables[attr];
    if (!table) {
      if (last)
        builder.setInsertionPointAfter(last.getDefiningOp());
      table = last =
          arith::ConstantOp::create(builder, op.getLoc(), type, attr);
    }
    return table;
  }

private:
  func::FuncOp function;
  llvm::DenseMap<Attribute, Value> tables;
  Value last;
};

/// The current tokens' K/V of one owning layer and the ops reading them.
struct OwnerKv {
  Value kv;
  int64_t slots = 0;
  Operation *lastReader = nullptr;
};

LogicalResult specialize(func::FuncOp function, int64_t context) {
  llvm::MapVector<int64_t, OwnerKv> owners;
  FrequencyTables frequencyTables(function);
  llvm::SmallVector<gemma::AttentionOp> attentions(
      function.getOps<gemma::AttentionOp>());
  for (gemma::AttentionOp op : attentions) {
    OpBuilder builder(op);
    const int64_t layer = int64_t(op.getLayer());
    const int64_t window = op.getKind() == gemma::AttentionKind::Sliding
                               ? int64_t(op.getWindow())
                               : 0;
    Value frequencies = frequencyTables.get(op);
    if (op.ownsKv()) {
      const int64_t T =
          cast<RankedTensorType>(op.getInput().getType()).getShape()[0];
      auto kvType = RankedTensorType::get(
          {2, T, int64_t(op.getNumKvHeads()), int64_t(op.getHeadDim())},
          builder.getF32Type());
      Value kv = gemma::KvProjectionOp::create(
          builder, op.getLoc(), kvType, op.getInput(), op.getStart(),
          op.getKProj(), op.getVProj(), op.getKNorm(), frequencies,
          op.getLayerAttr(), op.getKEqVAttr(), op.getEpsilonAttr());
      // A ring of exactly the window: the store comes after every query
      // of the chunk has read the cache, and the chunk's own keys come from
      // |kv|, so no slot is overwritten while it is still visible.
      owners[layer] = {kv, window > 0 ? std::min(window, context) : context,
                       nullptr};
    }
    auto owner = owners.find(int64_t(op.getKvOwner()));
    if (owner == owners.end())
      return op.emitOpError("reads the KV of layer ")
             << int64_t(op.getKvOwner())
             << ", which has no attention before it in this function";
    auto attention = gemma::CachedAttentionOp::create(
        builder, op.getLoc(), op.getResult().getType(), op.getInput(),
        owner->second.kv, op.getStart(), op.getQProj(), op.getOProj(),
        op.getQNorm(), frequencies, op.getLayerAttr(), op.getKvOwnerAttr(),
        op.getNumHeadsAttr(), builder.getI64IntegerAttr(window),
        builder.getI64IntegerAttr(owner->second.slots), op.getEpsilonAttr());
    owner->second.lastReader = attention;
    op.replaceAllUsesWith(attention.getResult());
    op.erase();
  }
  for (auto &[layer, owner] : owners) {
    OpBuilder builder(owner.lastReader->getContext());
    builder.setInsertionPointAfter(owner.lastReader);
    auto reader = cast<gemma::CachedAttentionOp>(owner.lastReader);
    gemma::KvStoreOp::create(builder, owner.kv.getLoc(), owner.kv,
                             reader.getStart(),
                             builder.getI64IntegerAttr(layer),
                             builder.getI64IntegerAttr(owner.slots));
  }
  return success();
}

struct SpecializeAttentionPass
    : impl::SpecializeAttentionPassBase<SpecializeAttentionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto context = module->getAttrOfType<IntegerAttr>("gemma.context_length");
    if (!context || context.getInt() <= 0) {
      module.emitError("expected a positive module attribute "
                       "gemma.context_length");
      return signalPassFailure();
    }
    for (auto function : module.getOps<func::FuncOp>())
      if (failed(specialize(function, context.getInt())))
        return signalPassFailure();
  }
};

} // namespace
} // namespace g4c
