//===- PlanMemory.cpp - static arena planning -----------------------------===//
//
// Part of g4c. This file implements the g4c-plan-memory pass: KV cache
// sizes from the attention ops, then first-fit liveness-based offsets for
// every activation of every entry point, reported as module attributes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>

namespace g4c {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// Bytes of one KV element, or 0 for an unknown dtype name.
int64_t kvElementBytes(llvm::StringRef name) {
  return llvm::StringSwitch<int64_t>(name)
      .Case("f32", 4)
      .Case("f16", 2)
      .Case("bf16", 2)
      .Case("i8", 1)
      .Default(0);
}

/// A value placed in the arena: [offset, offset + size) while live.
struct Placement {
  int64_t offset, size, lastUse;
};

/// Plans |function|'s activations first-fit from |base|; returns the end of
/// the highest placement.
int64_t planActivations(func::FuncOp function, int64_t base, Builder &builder) {
  llvm::DenseMap<Operation *, int64_t> order;
  int64_t index = 0;
  function.walk([&](Operation *op) { order[op] = index++; });

  std::vector<Placement> live;
  int64_t end = base;
  for (Operation &op : function.getBody().front()) {
    int64_t now = order[&op];
    // Values whose last use is before this op are dead: their space frees.
    llvm::erase_if(live, [&](const Placement &p) { return p.lastUse < now; });
    // Weights stay mapped; constants become static data; the returned
    // logits go to the caller's buffer.
    if (op.getNumResults() != 1 || isa<gemma::WeightRefOp>(op) ||
        op.hasTrait<OpTrait::ConstantLike>() ||
        llvm::any_of(op.getResult(0).getUsers(),
                     [](Operation *user) { return isa<func::ReturnOp>(user); }))
      continue;
    auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (!type || !type.hasStaticShape())
      continue;
    int64_t size = alignToArena(type.getNumElements() *
                                int64_t(type.getElementTypeBitWidth() / 8));
    int64_t lastUse = now;
    for (Operation *user : op.getResult(0).getUsers())
      lastUse = std::max(lastUse, order[user]);
    // First fit among the live placements, sorted by offset.
    llvm::sort(live, [](const Placement &a, const Placement &b) {
      return a.offset < b.offset;
    });
    int64_t offset = base;
    for (const Placement &p : live) {
      if (offset + size <= p.offset)
        break;
      offset = std::max(offset, p.offset + p.size);
    }
    live.push_back({offset, size, lastUse});
    end = std::max(end, offset + size);
    op.setAttr("gemma.arena_offset", builder.getI64IntegerAttr(offset));
  }
  return end;
}

struct PlanMemoryPass : impl::PlanMemoryPassBase<PlanMemoryPass> {
  using PlanMemoryPassBase::PlanMemoryPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(&getContext());
    int64_t elementBytes = kvElementBytes(kvDType);
    if (!elementBytes) {
      module.emitError("expected kv-dtype f32, f16, bf16 or i8, got '")
          << kvDType << "'";
      return signalPassFailure();
    }
    auto context = module->getAttrOfType<IntegerAttr>("gemma.context_length");
    if (!context) {
      module.emitError("expected the module attribute gemma.context_length");
      return signalPassFailure();
    }

    // One cache pair per KV-owning layer (the ops are the same in every
    // entry point; the first one seen defines the layer): specialised
    // layers say their slots on gemma.kv_store, unspecialised attention
    // keeps a linear cache of the context.
    const int64_t contextSlots = context.getInt();
    // Ordered by layer: caches are placed in layer order.
    std::map<int64_t, std::pair<int64_t, int64_t>> kvByLayer;
    auto addCache = [&](int64_t layer, int64_t slots, int64_t kvHeads,
                        int64_t headDim) {
      if (kvByLayer.count(layer))
        return;
      if (noRingBuffers)
        slots = contextSlots;
      int64_t bytes = 2 * slots * kvHeads * headDim * elementBytes;
      if (kvDType == "i8") // one f32 scale per head per slot, K and V
        bytes += 2 * slots * kvHeads * 4;
      kvByLayer[layer] = {slots, alignToArena(bytes)};
    };
    module.walk([&](Operation *op) {
      if (auto attention = dyn_cast<gemma::AttentionOp>(op)) {
        if (attention.ownsKv() || noKvSharing)
          addCache(int64_t(attention.getLayer()), contextSlots,
                   int64_t(attention.getNumKvHeads()),
                   int64_t(attention.getHeadDim()));
      } else if (auto store = dyn_cast<gemma::KvStoreOp>(op)) {
        ArrayRef<int64_t> kv = store.getKv().getType().getShape();
        addCache(int64_t(store.getLayer()), int64_t(store.getCacheSlots()),
                 kv[2], kv[3]);
      } else if (auto attention = dyn_cast<gemma::CachedAttentionOp>(op)) {
        // What-if: a KV-shared layer keeping a cache like its owner's.
        ArrayRef<int64_t> kv = attention.getKv().getType().getShape();
        if (noKvSharing)
          addCache(int64_t(attention.getLayer()),
                   int64_t(attention.getCacheSlots()), kv[2], kv[3]);
      }
    });
    int64_t kvBytes = 0;
    llvm::SmallVector<NamedAttribute> bytesPerLayer, offsetPerLayer,
        slotsPerLayer;
    for (auto [layer, slotsAndBytes] : kvByLayer) {
      std::string key = llvm::formatv("layer{0}", layer).str();
      bytesPerLayer.push_back(builder.getNamedAttr(
          key, builder.getI64IntegerAttr(slotsAndBytes.second)));
      offsetPerLayer.push_back(
          builder.getNamedAttr(key, builder.getI64IntegerAttr(kvBytes)));
      slotsPerLayer.push_back(builder.getNamedAttr(
          key, builder.getI64IntegerAttr(slotsAndBytes.first)));
      kvBytes += slotsAndBytes.second;
    }

    int64_t activationEnd = kvBytes;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal())
        activationEnd = std::max(activationEnd,
                                 planActivations(function, kvBytes, builder));

    int64_t activationBytes = activationEnd - kvBytes;
    module->setAttr(
        "gemma.memory_plan",
        builder.getDictionaryAttr(
            {builder.getNamedAttr("activation_bytes",
                                  builder.getI64IntegerAttr(activationBytes)),
             builder.getNamedAttr("arena_bytes",
                                  builder.getI64IntegerAttr(activationEnd)),
             builder.getNamedAttr("kv_bytes",
                                  builder.getI64IntegerAttr(kvBytes)),
             builder.getNamedAttr("kv_dtype", builder.getStringAttr(kvDType)),
             builder.getNamedAttr("kv_bytes_per_layer",
                                  builder.getDictionaryAttr(bytesPerLayer)),
             builder.getNamedAttr("kv_offset_per_layer",
                                  builder.getDictionaryAttr(offsetPerLayer)),
             builder.getNamedAttr("kv_slots_per_layer",
                                  builder.getDictionaryAttr(slotsPerLayer))}));
    if (report) {
      InFlightDiagnostic remark = module.emitRemark();
      remark << "arena " << activationEnd << " bytes: activations "
             << activationBytes << ", KV caches " << kvBytes << " ("
             << kvByLayer.size() << " layers, " << kvDType << ")";
      for (auto [layer, slotsAndBytes] : kvByLayer)
        remark << "; layer " << layer << ": " << slotsAndBytes.second
               << " bytes (" << slotsAndBytes.first << " slots)";
    }
  }
};

} // namespace
} // namespace g4c
