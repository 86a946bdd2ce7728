//===- FuseProjections.cpp - stacked projections, folded norm weights -----===//
//
// Part of g4c. This file implements the g4c-fuse-projections pass on
// kernel-level functions: linears that read the same input (q|k|v,
// gate|up) become one g4k.fused_linear over a stacked gemma.fused_weight,
// and an RMSNorm's weight is folded into the columns of the linears that
// are the only readers of its output. Legality comes from the kernels'
// declared memory effects on the statically known arena ranges.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "compiler/Dialect/Kernel/IR/KernelDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/DenseSet.h"

namespace g4c {
#define GEN_PASS_DEF_FUSEPROJECTIONSPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

/// Where a buffer lives: arena bytes [begin, end), the logits argument,
/// read-only memory (weights, tables, tokens), or somewhere unknown.
struct Region {
  enum Space { Arena, Logits, ReadOnly, Unknown } space = Unknown;
  int64_t begin = 0, end = 0;

  bool overlaps(const Region &other) const {
    if (space == ReadOnly || other.space == ReadOnly)
      return false;
    if (space == Unknown || other.space == Unknown)
      return true;
    return space == other.space &&
           (space == Logits || (begin < other.end && other.begin < end));
  }
};

/// A weight as the packer sees it: stacked parts, optionally scaled.
struct WeightParts {
  SmallVector<FlatSymbolRefAttr> parts;
  FlatSymbolRefAttr scale;
  RankedTensorType type;
};

class FunctionFusion {
public:
  FunctionFusion(func::FuncOp function, SymbolTable &symbols)
      : function(function), symbols(symbols), arena(function.getArgument(1)),
        tokens(function.getArgument(2)), logits(function.getArgument(4)) {}

  void fuseLinears();
  void foldNormWeights();

private:
  Region regionOf(Value value);
  enum class Access { Read, Write, Any };
  /// Whether |op| accesses |region| that way (unknown ops: any way).
  bool touches(Operation *op, const Region &region, Access access);
  std::optional<WeightParts> partsOf(Value weight);
  /// The g4k.weight of a get-or-created gemma.fused_weight, before |at|.
  Value fusedWeight(const WeightParts &weight, Operation *at);

  func::FuncOp function;
  SymbolTable &symbols;
  Value arena, tokens, logits;
};

Region FunctionFusion::regionOf(Value value) {
  if (value == logits)
    return {Region::Logits};
  if (value == tokens)
    return {Region::ReadOnly};
  Operation *def = value.getDefiningOp();
  if (isa_and_nonnull<kernel::WeightOp, memref::GetGlobalOp>(def))
    return {Region::ReadOnly};
  if (auto subview = dyn_cast_or_null<memref::SubViewOp>(def))
    return regionOf(subview.getSource()); // conservatively all of it
  auto view = dyn_cast_or_null<memref::ViewOp>(def);
  if (!view || view.getSource() != arena)
    return {Region::Unknown};
  std::optional<int64_t> offset = getConstantIntValue(view.getByteShift());
  if (!offset)
    return {Region::Unknown};
  MemRefType type = view.getType();
  return {Region::Arena, *offset,
          *offset + type.getNumElements() * type.getElementTypeBitWidth() / 8};
}

bool FunctionFusion::touches(Operation *op, const Region &region,
                             Access access) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return !isMemoryEffectFree(op) && !isa<func::ReturnOp>(op);
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &instance : instances) {
    if ((access == Access::Write &&
         !isa<MemoryEffects::Write>(instance.getEffect())) ||
        (access == Access::Read &&
         !isa<MemoryEffects::Read>(instance.getEffect())))
      continue;
    Value value = instance.getValue();
    if (!value || regionOf(value).overlaps(region))
      return true;
  }
  return false;
}

std::optional<WeightParts> FunctionFusion::partsOf(Value weight) {
  auto ref = weight.getDefiningOp<kernel::WeightOp>();
  if (!ref)
    return std::nullopt;
  Operation *symbol = symbols.lookup(ref.getName());
  if (auto plain = dyn_cast_or_null<gemma::WeightOp>(symbol))
    return WeightParts{
        {ref.getNameAttr()}, {}, cast<RankedTensorType>(plain.getType())};
  auto fused = dyn_cast_or_null<gemma::FusedWeightOp>(symbol);
  if (!fused)
    return std::nullopt;
  WeightParts parts{
      {}, fused.getScaledByAttr(), cast<RankedTensorType>(fused.getType())};
  for (auto part : fused.getParts().getAsRange<FlatSymbolRefAttr>())
    parts.parts.push_back(part);
  return parts;
}

Value FunctionFusion::fusedWeight(const WeightParts &weight, Operation *at) {
  // Named after what it holds: "a+b+c" or "a+b*scale".
  std::string name;
  for (FlatSymbolRefAttr part : weight.parts)
    name += (name.empty() ? "" : "+") + part.getValue().str();
  if (weight.scale)
    name += "*" + weight.scale.getValue().str();
  MLIRContext *context = function.getContext();
  if (!symbols.lookup(name)) {
    OpBuilder builder(context);
    builder.setInsertionPoint(function);
    auto fused = gemma::FusedWeightOp::create(
        builder, function.getLoc(), builder.getStringAttr(name),
        TypeAttr::get(weight.type),
        builder.getArrayAttr(
            SmallVector<Attribute>(weight.parts.begin(), weight.parts.end())),
        weight.scale);
    symbols.insert(fused, Block::iterator(function));
  }
  OpBuilder builder(at);
  return kernel::WeightOp::create(
      builder, at->getLoc(),
      MemRefType::get(weight.type.getShape(), weight.type.getElementType()),
      FlatSymbolRefAttr::get(context, name));
}

void FunctionFusion::fuseLinears() {
  SmallVector<Operation *> ops;
  for (Operation &op : function.getBody().front())
    ops.push_back(&op);
  // Ops this loop erased: |ops| still points at them, never dereference.
  llvm::DenseSet<Operation *> erased;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (erased.count(ops[i]))
      continue;
    auto head = dyn_cast<kernel::LinearOp>(ops[i]);
    if (!head)
      continue;
    std::optional<WeightParts> headWeight = partsOf(head.getW());
    if (!headWeight || headWeight->scale)
      continue;
    const Region input = regionOf(head.getX());
    SmallVector<kernel::LinearOp> group{head};
    SmallVector<Region> outputs{regionOf(head.getY())};
    for (size_t j = i + 1; j < ops.size(); ++j) {
      if (erased.count(ops[j]))
        continue;
      if (touches(ops[j], input, Access::Write))
        break; // the input changes: later linears read other values
      auto linear = dyn_cast<kernel::LinearOp>(ops[j]);
      if (!linear || linear.getX() != head.getX())
        continue;
      std::optional<WeightParts> weight = partsOf(linear.getW());
      if (!weight || weight->scale ||
          weight->type.getElementType() != headWeight->type.getElementType() ||
          weight->type.getShape()[1] != headWeight->type.getShape()[1])
        continue;
      // It moves up to the head: nothing in between may touch its output,
      // and its output view must be movable there too.
      const Region output = regionOf(linear.getY());
      auto view = linear.getY().getDefiningOp<memref::ViewOp>();
      bool legal = view && output.space == Region::Arena &&
                   !output.overlaps(input) &&
                   llvm::none_of(outputs, [&](const Region &other) {
                     return other.overlaps(output);
                   });
      for (size_t k = i + 1; legal && k < j; ++k)
        legal = erased.count(ops[k]) || !touches(ops[k], output, Access::Any);
      if (!legal)
        continue;
      group.push_back(linear);
      outputs.push_back(output);
    }
    if (group.size() < 2)
      continue;
    WeightParts stacked{{}, {}, headWeight->type};
    int64_t rows = 0;
    SmallVector<Value> ys;
    for (kernel::LinearOp linear : group) {
      WeightParts weight = *partsOf(linear.getW());
      stacked.parts.append(weight.parts);
      rows += weight.type.getShape()[0];
      // A view is pure: it may be defined earlier (its offset constant is at
      // the top of the function).
      if (Operation *view = linear.getY().getDefiningOp();
          view->getBlock() == head->getBlock() && head->isBeforeInBlock(view))
        view->moveBefore(head);
      ys.push_back(linear.getY());
    }
    stacked.type = RankedTensorType::get({rows, headWeight->type.getShape()[1]},
                                         headWeight->type.getElementType());
    Value weight = fusedWeight(stacked, head);
    OpBuilder builder(head);
    auto fusedLinear = kernel::FusedLinearOp::create(builder, head.getLoc(),
                                                     head.getX(), weight, ys);
    ops[i] = fusedLinear;
    for (kernel::LinearOp linear : group) {
      Operation *oldWeight = linear.getW().getDefiningOp();
      erased.insert(linear);
      linear.erase();
      if (oldWeight->use_empty()) {
        erased.insert(oldWeight);
        oldWeight->erase();
      }
    }
  }
}

void FunctionFusion::foldNormWeights() {
  SmallVector<kernel::RMSNormOp> norms(function.getOps<kernel::RMSNormOp>());
  for (kernel::RMSNormOp norm : norms) {
    if (!norm.getWeight())
      continue;
    std::optional<WeightParts> scale = partsOf(norm.getWeight());
    const Region output = regionOf(norm.getY());
    if (!scale || scale->scale || scale->parts.size() != 1 ||
        output.space != Region::Arena || regionOf(norm.getX()).overlaps(output))
      continue;
    // Every reader of the normed values until they are overwritten must be
    // a projection of exactly them.
    SmallVector<Operation *> readers;
    bool foldable = true;
    for (Operation *op = norm->getNextNode(); op && foldable;
         op = op->getNextNode()) {
      if (touches(op, output, Access::Read)) {
        Value x, w;
        if (auto linear = dyn_cast<kernel::LinearOp>(op))
          x = linear.getX(), w = linear.getW();
        else if (auto stacked = dyn_cast<kernel::FusedLinearOp>(op))
          x = stacked.getX(), w = stacked.getW();
        std::optional<WeightParts> weight =
            w ? partsOf(w) : std::optional<WeightParts>();
        foldable = x == norm.getY() && weight && !weight->scale;
        readers.push_back(op);
      }
      if (touches(op, output, Access::Write))
        break; // later readers see other values
    }
    if (!foldable || readers.empty())
      continue;
    // Size: a weight that some other kernel reads too (the tied embedding
    // is also the LM head) would be packed twice; leave it.
    for (Operation *reader : readers) {
      WeightParts weight = *partsOf(reader->getOperand(1));
      for (FlatSymbolRefAttr part : weight.parts)
        if (auto uses = SymbolTable::getSymbolUses(
                part.getAttr(), function->getParentOfType<ModuleOp>()))
          for (const SymbolTable::SymbolUse &use : *uses)
            if (auto ref = dyn_cast<kernel::WeightOp>(use.getUser()))
              for (Operation *user : ref->getUsers())
                foldable &= isa<kernel::LinearOp, kernel::FusedLinearOp>(user);
    }
    if (!foldable)
      continue;
    for (Operation *reader : readers) {
      WeightParts weight = *partsOf(reader->getOperand(1));
      weight.scale = scale->parts.front();
      weight.type = RankedTensorType::get(
          weight.type.getShape(), Float32Type::get(reader->getContext()));
      Operation *oldWeight = reader->getOperand(1).getDefiningOp();
      reader->setOperand(1, fusedWeight(weight, reader));
      if (oldWeight->use_empty())
        oldWeight->erase();
    }
    Operation *oldScale = norm.getWeight().getDefiningOp();
    norm.getWeightMutable().clear();
    if (oldScale->use_empty())
      oldScale->erase();
  }
}

struct FuseProjectionsPass
    : impl::FuseProjectionsPassBase<FuseProjectionsPass> {
  using FuseProjectionsPassBase::FuseProjectionsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto function : module.getOps<func::FuncOp>()) {
      if (!function->hasAttr("g4k.entry"))
        continue;
      FunctionFusion fusion(function, symbols);
      fusion.fuseLinears();
      if (foldNorms)
        fusion.foldNormWeights();
    }
  }
};

} // namespace
} // namespace g4c
