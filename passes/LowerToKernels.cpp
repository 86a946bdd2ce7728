//===- LowerToKernels.cpp - gemma ops to g4k kernel calls -----------------===//
//
// Part of g4c. This file implements the g4c-lower-to-kernels pass: each
// planned entry function becomes a kernel-level function over the packed
// weights and the arena, in which every tensor is a memref view at its
// planned offset and every gemma op one or a few g4k kernel calls. The
// temporaries inside a model op (q, scores, MLP hidden rows) live in a
// scratch region after the plan, shared by all ops.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "compiler/Dialect/Kernel/IR/KernelDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace g4c {
#define GEN_PASS_DEF_LOWERTOKERNELSPASS
#include "passes/Passes.h.inc"
} // namespace g4c

using namespace mlir;

namespace g4c {
namespace {

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

int64_t i64(IntegerAttr attr) { return attr.getInt(); }

/// The memory plan's facts the lowering needs.
struct Plan {
  int64_t arenaBytes = 0;
  llvm::DenseMap<int64_t, std::pair<int64_t, int64_t>>
      caches;        ///< offset, slots
  bool int8 = false; ///< int8 caches with per-head-per-slot scales
};

/// A layer's K/V caches; scales only for int8 caches.
struct KvCache {
  Value k, v, kScales, vScales;
};

/// Lowers one planned entry function; shares the scratch region and the
/// constant tables with the module's other entry points.
class FunctionLowering {
public:
  FunctionLowering(func::FuncOp function, const Plan &plan,
                   int64_t &scratchPeak,
                   llvm::MapVector<Attribute, memref::GlobalOp> &tables)
      : function(function), plan(plan), scratchPeak(scratchPeak),
        tables(tables), builder(function.getContext()) {}

  LogicalResult run();

private:
  LogicalResult lower(Operation &op);
  /// The query side: q projection, norm, RoPE, attention over the cache of
  /// |owner| (and |fresh|, the current tokens' [2, T, kv heads, head_dim]
  /// K/V, when given), output projection into |out|.
  LogicalResult lowerAttention(Operation &op, Value input, Value fresh,
                               Value qProj, Value oProj, Value qNorm,
                               Value frequencies, int64_t owner,
                               int64_t numHeads, int64_t kvHeads,
                               int64_t window, FloatAttr epsilon, Value out);
  LogicalResult lowerUnspecializedAttention(gemma::AttentionOp op, Value out);
  LogicalResult lowerKvProjection(Location loc, Value input, Value kProj,
                                  Value vProj, Value kNorm, Value frequencies,
                                  double epsilon, Value kv);

  /// A view of |shape| x |element| at byte |offset| of the arena.
  Value view(int64_t offset, ArrayRef<int64_t> shape, Type element,
             StringRef name);
  /// A fresh scratch buffer, live until the current model op ends.
  Value scratch(ArrayRef<int64_t> shape, StringRef what, Type element = {});
  /// The same memory as |buffer| (an arena view) with another shape; a
  /// part |byteOffset| bytes in is named |buffer|'s name + |part|.
  Value reshape(Value buffer, ArrayRef<int64_t> shape, int64_t byteOffset = 0,
                StringRef part = {});
  Value buffer(Value tensor) { return buffers.lookup(tensor); }
  FloatAttr f64(double value) { return builder.getF64FloatAttr(value); }
  std::string nameFor(StringRef stem) {
    return llvm::formatv("{0}_{1}", stem, counter++).str();
  }
  /// Stores |kv| ([2, T, kv heads, head_dim]) into the caches |cache|.
  void storeKv(Value kv, const KvCache &cache);
  /// The K/V caches of layer |owner| as [slots, kv heads, head_dim] (and
  /// their [slots, kv heads] scales when int8).
  FailureOr<KvCache> caches(Operation &op, int64_t owner, int64_t kvHeads,
                            int64_t headDim);

  func::FuncOp function;
  const Plan &plan;
  int64_t &scratchPeak;
  llvm::MapVector<Attribute, memref::GlobalOp> &tables;
  OpBuilder builder;
  Location loc = builder.getUnknownLoc();
  Value arena, tokens, start;
  llvm::DenseMap<Value, Value> buffers;
  llvm::DenseMap<Value, int64_t> offsets; ///< arena views' byte offsets
  llvm::DenseMap<int64_t, Value> offsetConstants;
  Operation *lastConstant = nullptr;
  int64_t scratchTop = 0;
  int counter = 0;
};

Value FunctionLowering::view(int64_t offset, ArrayRef<int64_t> shape,
                             Type element, StringRef name) {
  // One constant per offset, at the top of the function.
  Value &byteOffset = offsetConstants[offset];
  if (!byteOffset) {
    OpBuilder atTop(builder.getContext());
    if (lastConstant)
      atTop.setInsertionPointAfter(lastConstant);
    else
      atTop.setInsertionPointToStart(builder.getInsertionBlock());
    lastConstant = arith::ConstantIndexOp::create(atTop, loc, offset);
    byteOffset = lastConstant->getResult(0);
  }
  auto type = MemRefType::get(shape, element);
  auto result =
      memref::ViewOp::create(builder, loc, type, arena, byteOffset, {});
  result->setAttr("g4k.name", builder.getStringAttr(name));
  offsets[result] = offset;
  return result;
}

Value FunctionLowering::scratch(ArrayRef<int64_t> shape, StringRef what,
                                Type element) {
  if (!element)
    element = builder.getF32Type();
  int64_t bytes = element.getIntOrFloatBitWidth() / 8;
  for (int64_t extent : shape)
    bytes *= extent;
  const int64_t offset = plan.arenaBytes + scratchTop;
  scratchTop = alignToArena(scratchTop + bytes);
  scratchPeak = std::max(scratchPeak, scratchTop);
  return view(offset, shape, element, nameFor(what));
}

Value FunctionLowering::reshape(Value buffer, ArrayRef<int64_t> shape,
                                int64_t byteOffset, StringRef part) {
  auto type = cast<MemRefType>(buffer.getType());
  auto name = buffer.getDefiningOp()->getAttrOfType<StringAttr>("g4k.name");
  return view(offsets.lookup(buffer) + byteOffset, shape, type.getElementType(),
              name.getValue().str() + part.str());
}

FailureOr<KvCache> FunctionLowering::caches(Operation &op, int64_t owner,
                                            int64_t kvHeads, int64_t headDim) {
  auto found = plan.caches.find(owner);
  if (found == plan.caches.end())
    return op.emitOpError("has no planned KV cache for layer ") << owner;
  auto [offset, slots] = found->second;
  std::string name = llvm::formatv("cache{0}", owner).str();
  // The layer's region: K values, V values, then (int8) K and V scales.
  Type element = plan.int8 ? Type(builder.getI8Type()) : builder.getF32Type();
  const int64_t valuesBytes = slots * kvHeads * headDim * (plan.int8 ? 1 : 4);
  KvCache cache;
  cache.k = view(offset, {slots, kvHeads, headDim}, element, name + "_k");
  cache.v = view(offset + valuesBytes, {slots, kvHeads, headDim}, element,
                 name + "_v");
  if (plan.int8) {
    const int64_t scales = offset + 2 * valuesBytes;
    cache.kScales = view(scales, {slots, kvHeads}, builder.getF32Type(),
                         name + "_k_scales");
    cache.vScales = view(scales + slots * kvHeads * 4, {slots, kvHeads},
                         builder.getF32Type(), name + "_v_scales");
  }
  return cache;
}

void FunctionLowering::storeKv(Value kv, const KvCache &cache) {
  ArrayRef<int64_t> shape = shapeOf(kv);
  const int64_t T = shape[1], H = shape[2], hd = shape[3];
  // Views in statement order, never as call arguments: the IR must not
  // depend on the compiler's argument evaluation order.
  Value k = reshape(kv, {T, H, hd}, 0, "_k");
  Value v = reshape(kv, {T, H, hd}, T * H * hd * 4, "_v");
  kernel::KvStoreOp::create(builder, loc, k, v, cache.k, cache.v, cache.kScales,
                            cache.vScales, start);
}

LogicalResult FunctionLowering::lowerKvProjection(Location loc, Value input,
                                                  Value kProj, Value vProj,
                                                  Value kNorm,
                                                  Value frequencies,
                                                  double epsilon, Value kv) {
  ArrayRef<int64_t> shape = cast<MemRefType>(kv.getType()).getShape();
  const int64_t T = shape[1], H = shape[2], hd = shape[3];
  const int64_t half = T * H * hd * 4;
  Value k = reshape(kv, {T, H * hd}, 0, "_k");
  Value v = reshape(kv, {T, H * hd}, half, "_v");
  kernel::LinearOp::create(builder, loc, input, kProj, k);
  if (vProj)
    kernel::LinearOp::create(builder, loc, input, vProj, v);
  else // K=V: the raw K projection is V's too
    kernel::CopyOp::create(builder, loc, k, v);
  Value k3 = reshape(kv, {T, H, hd}, 0, "_k");
  Value v3 = reshape(kv, {T, H, hd}, half, "_v");
  kernel::RMSNormOp::create(builder, loc, k3, kNorm, k3, f64(epsilon));
  kernel::RopeOp::create(builder, loc, k3, frequencies, start);
  kernel::RMSNormOp::create(builder, loc, v3, Value(), v3, f64(epsilon));
  return success();
}

LogicalResult FunctionLowering::lowerAttention(
    Operation &op, Value input, Value fresh, Value qProj, Value oProj,
    Value qNorm, Value frequencies, int64_t owner, int64_t numHeads,
    int64_t kvHeads, int64_t window, FloatAttr epsilon, Value out) {
  const int64_t T = shapeOf(input)[0], hd = shapeOf(qNorm)[0];
  Value q = scratch({T, numHeads * hd}, "q");
  kernel::LinearOp::create(builder, loc, input, qProj, q);
  Value q3 = reshape(q, {T, numHeads, hd});
  kernel::RMSNormOp::create(builder, loc, q3, qNorm, q3, epsilon);
  kernel::RopeOp::create(builder, loc, q3, frequencies, start);
  auto cache = caches(op, owner, kvHeads, hd);
  if (failed(cache))
    return failure();
  const int64_t slots = shapeOf(cache->k)[0];
  Value freshK, freshV;
  if (fresh) {
    freshK = reshape(fresh, {T, kvHeads, hd}, 0, "_k");
    freshV = reshape(fresh, {T, kvHeads, hd}, T * kvHeads * hd * 4, "_v");
  }
  Value scores = scratch({slots + T}, "scores");
  Value heads = scratch({T, numHeads, hd}, "heads");
  kernel::AttendOp::create(builder, loc, q3, cache->k, cache->v, cache->kScales,
                           cache->vScales, freshK, freshV, scores, heads, start,
                           builder.getI64IntegerAttr(window));
  kernel::LinearOp::create(builder, loc, reshape(heads, {T, numHeads * hd}),
                           oProj, out);
  return success();
}

LogicalResult
FunctionLowering::lowerUnspecializedAttention(gemma::AttentionOp op,
                                              Value out) {
  const int64_t T = shapeOf(op.getInput())[0];
  const int64_t hd = i64(op.getHeadDimAttr());
  const int64_t kvHeads = i64(op.getNumKvHeadsAttr());
  const int64_t owner = i64(op.getKvOwnerAttr());
  Value input = buffer(op.getInput());
  // Frequencies computed at run time: only specialisation makes them
  // constants.
  Value frequencies = scratch({i64(op.getRotaryDimsAttr()) / 2},
                              "rope_frequencies", builder.getF64Type());
  kernel::RopeFrequenciesOp::create(builder, loc, frequencies,
                                    op.getRopeThetaAttr(), op.getHeadDimAttr());
  if (op.ownsKv()) {
    // Project, then store before any query reads: the linear cache of the
    // whole context never overwrites a visible position.
    Value kv = scratch({2, T, kvHeads, hd}, "kv");
    if (failed(
            lowerKvProjection(loc, input, buffer(op.getKProj()),
                              op.getVProj() ? buffer(op.getVProj()) : Value(),
                              buffer(op.getKNorm()), frequencies,
                              op.getEpsilon().convertToDouble(), kv)))
      return failure();
    auto cache = caches(*op, owner, kvHeads, hd);
    if (failed(cache))
      return failure();
    storeKv(kv, *cache);
  }
  const int64_t window = op.getKind() == gemma::AttentionKind::Sliding
                             ? i64(op.getWindowAttr())
                             : 0;
  return lowerAttention(*op, input, Value(), buffer(op.getQProj()),
                        buffer(op.getOProj()), buffer(op.getQNorm()),
                        frequencies, owner, i64(op.getNumHeadsAttr()), kvHeads,
                        window, op.getEpsilonAttr(), out);
}

LogicalResult FunctionLowering::lower(Operation &op) {
  loc = op.getLoc();
  scratchTop = 0;
  // Where the op's result lives: the logits argument for the returned
  // value, its planned arena offset otherwise.
  Value out;
  if (op.getNumResults() == 1 &&
      isa<RankedTensorType>(op.getResult(0).getType()) &&
      !isa<gemma::WeightRefOp, arith::ConstantOp>(op)) {
    out = buffer(op.getResult(0));
    if (!out) {
      auto offset = op.getAttrOfType<IntegerAttr>("gemma.arena_offset");
      // (The returned value has no offset: it is the logits argument.)
      if (!offset)
        return op.emitOpError("has no gemma.arena_offset; run "
                              "g4c-plan-memory before g4c-lower-to-kernels");
      auto type = cast<RankedTensorType>(op.getResult(0).getType());
      out = view(offset.getInt(), type.getShape(), type.getElementType(),
                 nameFor(op.getName().stripDialect()));
      buffers[op.getResult(0)] = out;
    }
  }
  if (auto ref = dyn_cast<gemma::WeightRefOp>(op)) {
    auto type = cast<RankedTensorType>(ref.getType());
    buffers[ref.getResult()] = kernel::WeightOp::create(
        builder, loc, MemRefType::get(type.getShape(), type.getElementType()),
        ref.getNameAttr());
    return success();
  }
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    auto value = dyn_cast<DenseElementsAttr>(constant.getValue());
    if (!value)
      return op.emitOpError("only dense tensor constants lower to kernels");
    auto type = MemRefType::get(value.getType().getShape(),
                                value.getType().getElementType());
    memref::GlobalOp table = tables.lookup(value);
    if (!table) {
      // Tables go to the top of the module, in order of first use.
      auto module = function->getParentOfType<ModuleOp>();
      OpBuilder atTop(module.getBodyRegion());
      if (!tables.empty())
        atTop.setInsertionPointAfter(tables.back().second);
      table = memref::GlobalOp::create(
          atTop, loc, llvm::formatv("table_{0}", tables.size()).str(),
          atTop.getStringAttr("private"), type, value, /*constant=*/true,
          IntegerAttr());
      tables[value] = table;
    }
    buffers[constant.getResult()] =
        memref::GetGlobalOp::create(builder, loc, type, table.getSymName());
    return success();
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    func::ReturnOp::create(builder, loc);
    return success();
  }
  if (auto embed = dyn_cast<gemma::EmbedOp>(op)) {
    kernel::EmbedOp::create(builder, loc, tokens, buffer(embed.getTable()), out,
                            embed.getScaleAttr());
    return success();
  }
  if (auto norm = dyn_cast<gemma::RMSNormOp>(op)) {
    kernel::RMSNormOp::create(builder, loc, buffer(norm.getInput()),
                              norm.getWeight() ? buffer(norm.getWeight())
                                               : Value(),
                              out, norm.getEpsilonAttr());
    return success();
  }
  if (auto add = dyn_cast<arith::AddFOp>(op)) {
    kernel::AddOp::create(builder, loc, buffer(add.getLhs()),
                          buffer(add.getRhs()), out);
    return success();
  }
  if (auto scale = dyn_cast<gemma::LayerScaleOp>(op)) {
    kernel::ScaleOp::create(builder, loc, buffer(scale.getInput()),
                            buffer(scale.getScalar()), out);
    return success();
  }
  if (auto softcap = dyn_cast<gemma::SoftcapOp>(op)) {
    kernel::CopyOp::create(builder, loc, buffer(softcap.getInput()), out);
    kernel::SoftcapOp::create(builder, loc, out, softcap.getCapAttr());
    return success();
  }
  if (auto ple = dyn_cast<gemma::PerLayerInputsOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(ple.getResult());
    const int64_t T = shape[0], L = shape[1], P = shape[2];
    const int64_t D = shapeOf(ple.getEmbeddings())[1];
    const int64_t first = i64(ple.getFirstLayerAttr());
    // The projection rows of these layers (all of them once fused).
    Value projection = buffer(ple.getProjection());
    if (shapeOf(projection)[0] != L * P)
      projection = memref::SubViewOp::create(
          builder, loc, projection, ArrayRef<int64_t>{first * P, 0},
          ArrayRef<int64_t>{L * P, D}, ArrayRef<int64_t>{1, 1});
    Value context = scratch({T, L * P}, "ple_context");
    kernel::LinearOp::create(builder, loc, buffer(ple.getEmbeddings()),
                             projection, context);
    kernel::PleCombineOp::create(
        builder, loc, tokens, buffer(ple.getTable()),
        reshape(context, {T, L, P}), buffer(ple.getNorm()), out,
        ple.getTableScaleAttr(), f64(1.0 / std::sqrt(double(D))),
        ple.getEpsilonAttr(), ple.getFirstLayerAttr());
    return success();
  }
  if (auto inject = dyn_cast<gemma::PerLayerInputOp>(op)) {
    ArrayRef<int64_t> ple = shapeOf(inject.getPerLayerInputs());
    const int64_t T = ple[0], P = ple[2];
    const int64_t D = shapeOf(inject.getInput())[1];
    const int64_t index = i64(inject.getIndexAttr());
    Value x = buffer(inject.getInput());
    Value gate = scratch({T, P}, "ple_gate");
    kernel::LinearOp::create(builder, loc, x, buffer(inject.getGate()), gate);
    // This layer's [T, P] slice of the [T, L, P] per-layer inputs.
    Value slice = memref::SubViewOp::create(
        builder, loc,
        cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
            {T, P},
            cast<MemRefType>(buffer(inject.getPerLayerInputs()).getType()),
            ArrayRef<int64_t>{0, index, 0}, ArrayRef<int64_t>{T, 1, P},
            ArrayRef<int64_t>{1, 1, 1})),
        buffer(inject.getPerLayerInputs()), ArrayRef<int64_t>{0, index, 0},
        ArrayRef<int64_t>{T, 1, P}, ArrayRef<int64_t>{1, 1, 1});
    kernel::GeluGateOp::create(builder, loc, gate, slice, gate);
    Value injected = scratch({T, D}, "ple_injected");
    kernel::LinearOp::create(builder, loc, gate, buffer(inject.getProjection()),
                             injected);
    kernel::RMSNormOp::create(builder, loc, injected, buffer(inject.getNorm()),
                              injected, inject.getEpsilonAttr());
    kernel::AddOp::create(builder, loc, x, injected, out);
    return success();
  }
  if (auto mlp = dyn_cast<gemma::MLPOp>(op)) {
    const int64_t T = shapeOf(mlp.getInput())[0];
    const int64_t I = shapeOf(mlp.getGate())[0];
    Value x = buffer(mlp.getInput());
    Value gate = scratch({T, I}, "mlp_gate"), up = scratch({T, I}, "mlp_up");
    kernel::LinearOp::create(builder, loc, x, buffer(mlp.getGate()), gate);
    kernel::LinearOp::create(builder, loc, x, buffer(mlp.getUp()), up);
    kernel::GeluGateOp::create(builder, loc, gate, up, gate);
    kernel::LinearOp::create(builder, loc, gate, buffer(mlp.getDown()), out);
    return success();
  }
  if (auto moe = dyn_cast<gemma::MoEOp>(op)) {
    const int64_t D = shapeOf(moe.getInput())[1];
    const int64_t E = shapeOf(moe.getRouter())[0];
    const int64_t I = shapeOf(moe.getDown())[2];
    Value work = scratch({2 * D + 2 * E + 3 * I}, "moe_scratch");
    kernel::MoEOp::create(builder, loc, buffer(moe.getInput()),
                          buffer(moe.getRouterInput()), buffer(moe.getRouter()),
                          buffer(moe.getRouterScale()),
                          buffer(moe.getPerExpertScale()),
                          buffer(moe.getGateUp()), buffer(moe.getDown()), work,
                          out, moe.getTopKAttr(), moe.getEpsilonAttr());
    return success();
  }
  if (auto logits = dyn_cast<gemma::LogitsOp>(op)) {
    Value input = buffer(logits.getInput());
    ArrayRef<int64_t> shape = shapeOf(logits.getInput());
    const int64_t rows = shapeOf(logits.getResult())[0];
    // The last row alone: norm and LM head over that row only.
    if (rows != shape[0])
      input = reshape(input, {rows, shape[1]}, (shape[0] - rows) * shape[1] * 4,
                      "_last");
    Value normed = scratch({rows, shape[1]}, "final_norm");
    kernel::RMSNormOp::create(builder, loc, input, buffer(logits.getNorm()),
                              normed, logits.getEpsilonAttr());
    kernel::LinearOp::create(builder, loc, normed,
                             buffer(logits.getEmbedding()), out);
    if (logits.getSoftcap())
      kernel::SoftcapOp::create(builder, loc, out, logits.getSoftcapAttr());
    return success();
  }
  if (auto kv = dyn_cast<gemma::KvProjectionOp>(op))
    return lowerKvProjection(loc, buffer(kv.getInput()), buffer(kv.getKProj()),
                             kv.getVProj() ? buffer(kv.getVProj()) : Value(),
                             buffer(kv.getKNorm()),
                             buffer(kv.getInverseFrequencies()),
                             kv.getEpsilon().convertToDouble(), out);
  if (auto attention = dyn_cast<gemma::CachedAttentionOp>(op)) {
    Value kv = buffer(attention.getKv());
    return lowerAttention(
        op, buffer(attention.getInput()), kv, buffer(attention.getQProj()),
        buffer(attention.getOProj()), buffer(attention.getQNorm()),
        buffer(attention.getInverseFrequencies()),
        i64(attention.getKvOwnerAttr()), i64(attention.getNumHeadsAttr()),
        shapeOf(kv)[2], i64(attention.getWindowAttr()),
        attention.getEpsilonAttr(), out);
  }
  if (auto attention = dyn_cast<gemma::AttentionOp>(op))
    return lowerUnspecializedAttention(attention, out);
  if (auto store = dyn_cast<gemma::KvStoreOp>(op)) {
    Value kv = buffer(store.getKv());
    auto cache =
        caches(op, i64(store.getLayerAttr()), shapeOf(kv)[2], shapeOf(kv)[3]);
    if (failed(cache))
      return failure();
    storeKv(kv, *cache);
    return success();
  }
  return op.emitOpError("cannot be lowered to kernels");
}

LogicalResult FunctionLowering::run() {
  // Entry points: (tokens: tensor<Txi32>, start: index) -> tensor<TxVxf32>.
  FunctionType type = function.getFunctionType();
  auto tokensType = type.getNumInputs() == 2
                        ? dyn_cast<RankedTensorType>(type.getInput(0))
                        : RankedTensorType();
  auto logitsType = type.getNumResults() == 1
                        ? dyn_cast<RankedTensorType>(type.getResult(0))
                        : RankedTensorType();
  if (!tokensType || !tokensType.getElementType().isInteger(32) ||
      tokensType.getRank() != 1 || !type.getInput(1).isIndex() || !logitsType ||
      logitsType.getRank() != 2 || !logitsType.getElementType().isF32() ||
      !function.getBody().hasOneBlock())
    return function.emitOpError(
        "is not an entry point (tensor<Txi32>, index) -> tensor<TxVxf32>");
  Block &body = function.getBody().front();
  auto bytes = MemRefType::get({ShapedType::kDynamic}, builder.getI8Type());
  auto kernelType = builder.getFunctionType(
      {bytes, bytes,
       MemRefType::get(tokensType.getShape(), tokensType.getElementType()),
       builder.getIndexType(),
       MemRefType::get(logitsType.getShape(), logitsType.getElementType())},
      {});
  auto kernelFunction = func::FuncOp::create(
      function.getLoc(), function.getName().str() + ".kernels", kernelType);
  kernelFunction->setAttr("g4k.entry", builder.getUnitAttr());
  Block *entry = kernelFunction.addEntryBlock();
  arena = entry->getArgument(1);
  tokens = entry->getArgument(2);
  start = entry->getArgument(3);
  buffers[body.getArgument(1)] = start;
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  buffers[ret.getOperand(0)] = entry->getArgument(4);
  builder.setInsertionPointToStart(entry);
  for (Operation &op : body)
    if (failed(lower(op))) {
      kernelFunction.erase();
      return failure();
    }
  OpBuilder(function).insert(kernelFunction);
  std::string name = function.getName().str();
  function.erase();
  kernelFunction.setName(name);
  return success();
}

struct LowerToKernelsPass : impl::LowerToKernelsPassBase<LowerToKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto planAttr = module->getAttrOfType<DictionaryAttr>("gemma.memory_plan");
    if (!planAttr) {
      module.emitError("expected gemma.memory_plan; run g4c-plan-memory "
                       "before g4c-lower-to-kernels");
      return signalPassFailure();
    }
    Plan plan;
    if (auto dtype = planAttr.getAs<StringAttr>("kv_dtype")) {
      if (dtype.getValue() != "f32" && dtype.getValue() != "i8") {
        module.emitError("the kernels keep f32 or i8 KV caches; got kv-dtype ")
            << dtype;
        return signalPassFailure();
      }
      plan.int8 = dtype.getValue() == "i8";
    }
    plan.arenaBytes = planAttr.getAs<IntegerAttr>("arena_bytes").getInt();
    auto offsets = planAttr.getAs<DictionaryAttr>("kv_offset_per_layer");
    auto slots = planAttr.getAs<DictionaryAttr>("kv_slots_per_layer");
    for (NamedAttribute entry : offsets) {
      int64_t layer = 0;
      entry.getName().strref().drop_front(5).getAsInteger(10, layer);
      plan.caches[layer] = {cast<IntegerAttr>(entry.getValue()).getInt(),
                            slots.getAs<IntegerAttr>(entry.getName()).getInt()};
    }
    int64_t scratchPeak = 0;
    llvm::MapVector<Attribute, memref::GlobalOp> tables;
    for (auto function :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (!function.isExternal() &&
          failed(FunctionLowering(function, plan, scratchPeak, tables).run()))
        return signalPassFailure();
    // The scratch region extends the arena.
    Builder builder(&getContext());
    NamedAttrList entries(planAttr);
    entries.set("scratch_offset", builder.getI64IntegerAttr(plan.arenaBytes));
    entries.set("scratch_bytes", builder.getI64IntegerAttr(scratchPeak));
    entries.set("arena_bytes",
                builder.getI64IntegerAttr(plan.arenaBytes + scratchPeak));
    module->setAttr("gemma.memory_plan", entries.getDictionary(&getContext()));
  }
};

} // namespace
} // namespace g4c
