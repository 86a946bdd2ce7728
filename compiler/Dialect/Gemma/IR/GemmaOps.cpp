//===- GemmaOps.cpp - Gemma dialect operations ----------------------------===//
//
// Part of g4c. This file implements the verifiers of the `gemma` operations;
// the rest is generated from GemmaOps.td.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace g4c::gemma;

//===----------------------------------------------------------------------===//
// Shape checks shared by the verifiers
//===----------------------------------------------------------------------===//

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return text;
}

/// Fails with "expected <what> of shape [..], got [..]" unless |value|'s
/// static shape is |expected|.
static LogicalResult expectShape(Operation *op, StringRef what, Value value,
                                 ArrayRef<int64_t> expected) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == expected)
    return success();
  return op->emitOpError("expected ")
         << what << " of shape " << formatShape(expected) << ", got "
         << formatShape(type.getShape());
}

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

/// Activations are static [T, d] matrices.
static LogicalResult expectMatrix(Operation *op, StringRef what, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 2 && type.hasStaticShape())
    return success();
  return op->emitOpError("expected ")
         << what << " to be a static [T, d] matrix, got " << type;
}

//===----------------------------------------------------------------------===//
// WeightRefOp
//===----------------------------------------------------------------------===//

LogicalResult
WeightRefOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight)
    return emitOpError("'") << getName() << "' does not name a gemma.weight";
  if (weight.getType() != getResult().getType())
    return emitOpError("expected type ")
           << weight.getType() << " of weight '" << getName() << "', got "
           << getResult().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// FusedWeightOp
//===----------------------------------------------------------------------===//

LogicalResult
FusedWeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto type = cast<RankedTensorType>(getType());
  if (type.getRank() != 2)
    return emitOpError("expected a [rows, columns] type, got ") << type;
  int64_t rows = 0;
  Type element;
  for (auto part : getParts().getAsRange<FlatSymbolRefAttr>()) {
    auto weight = symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, part);
    if (!weight)
      return emitOpError("part '")
             << part.getValue() << "' does not name a gemma.weight";
    auto partType = cast<RankedTensorType>(weight.getType());
    if (partType.getRank() != 2 || partType.getShape()[1] != type.getShape()[1])
      return emitOpError("expected parts of ")
             << type.getShape()[1] << " columns, got " << partType << " for '"
             << part.getValue() << "'";
    if (element && element != partType.getElementType())
      return emitOpError("expected parts of one element type");
    element = partType.getElementType();
    rows += partType.getShape()[0];
  }
  if (rows != type.getShape()[0])
    return emitOpError("expected ")
           << type.getShape()[0] << " rows from the parts, got " << rows;
  if (!getScaledBy()) {
    if (element != type.getElementType())
      return emitOpError("expected the parts' element type ") << element;
    return success();
  }
  auto scale =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getScaledByAttr());
  if (!scale)
    return emitOpError("scaled_by '")
           << *getScaledBy() << "' does not name a gemma.weight";
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (scaleType.getRank() != 1 || scaleType.getShape()[0] != type.getShape()[1])
    return emitOpError("expected a scale of ")
           << type.getShape()[1] << " values, got " << scaleType;
  if (!type.getElementType().isF32())
    return emitOpError("expected f32 (scaled values are computed in f32)");
  return success();
}

//===----------------------------------------------------------------------===//
// EmbedOp
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  if (!(getScale().convertToDouble() > 0))
    return emitOpError("expected scale > 0, got ")
           << getScale().convertToDouble();
  ArrayRef<int64_t> table = shapeOf(getTable());
  if (table.size() != 2)
    return emitOpError("expected a [vocab, d] table, got rank ")
           << table.size();
  return expectShape(*this, "result", getResult(),
                     {shapeOf(getTokens())[0], table[1]});
}

//===----------------------------------------------------------------------===//
// PerLayerInputsOp
//===----------------------------------------------------------------------===//

LogicalResult PerLayerInputsOp::verify() {
  if (failed(expectMatrix(*this, "embeddings", getEmbeddings())))
    return failure();
  ArrayRef<int64_t> result = shapeOf(getResult());
  if (result.size() != 3)
    return emitOpError("expected a [T, n, P] result, got rank ")
           << result.size();
  const int64_t T = result[0], n = result[1], P = result[2];
  const int64_t d = shapeOf(getEmbeddings())[1];
  if (shapeOf(getTokens())[0] != T || shapeOf(getEmbeddings())[0] != T)
    return emitOpError("expected ") << T << " tokens and embedding rows";
  ArrayRef<int64_t> table = shapeOf(getTable());
  if (P <= 0 || table.size() != 2 || table[1] % P != 0)
    return emitOpError("expected a [vocab, L * ")
           << P << "] table, got " << formatShape(table);
  const int64_t L = table[1] / P, first = int64_t(getFirstLayer());
  if (first < 0 || n <= 0 || first + n > L)
    return emitOpError("expected layers [")
           << first << ", " << first + n << ") within the table's " << L;
  if (failed(expectShape(*this, "projection", getProjection(), {L * P, d})) ||
      failed(expectShape(*this, "norm", getNorm(), {P})))
    return failure();
  if (!(getTableScale().convertToDouble() > 0))
    return emitOpError("expected table_scale > 0");
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Checks that kv_owner names an earlier KV-owning layer of the same kind
/// and geometry in the same block.
static LogicalResult verifyKvOwner(AttentionOp op) {
  AttentionOp owner;
  for (Operation &other : *op->getBlock())
    if (auto attention = dyn_cast<AttentionOp>(other))
      if (attention.getLayer() == op.getKvOwner()) // both read as uint64_t
        owner = attention;
  if (!owner)
    return op.emitOpError("kv_owner ")
           << op.getKvOwner() << " names no attention op in this block";
  if (!owner.ownsKv())
    return op.emitOpError("kv_owner ")
           << op.getKvOwner() << " does not own a KV cache (it reads layer "
           << owner.getKvOwner() << "'s)";
  if (owner.getKind() != op.getKind())
    return op.emitOpError("expected kv_owner ")
           << op.getKvOwner() << " to be a "
           << stringifyAttentionKind(op.getKind()) << " layer, got "
           << stringifyAttentionKind(owner.getKind());
  if (owner.getHeadDim() != op.getHeadDim() ||
      owner.getNumKvHeads() != op.getNumKvHeads())
    return op.emitOpError("expected the KV geometry of kv_owner ")
           << op.getKvOwner() << " (" << owner.getNumKvHeads() << " x "
           << owner.getHeadDim() << "), got " << op.getNumKvHeads() << " x "
           << op.getHeadDim();
  return success();
}

LogicalResult AttentionOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  // I64Attr getters return uint64_t; read them as the signed values the IR
  // holds so that negative values are caught.
  const int64_t d = shapeOf(getInput())[1];
  const int64_t hd = int64_t(getHeadDim()), Hq = int64_t(getNumHeads());
  const int64_t Hkv = int64_t(getNumKvHeads()), window = int64_t(getWindow());
  const int64_t rotaryDims = int64_t(getRotaryDims());
  const int64_t layer = int64_t(getLayer()), owner = int64_t(getKvOwner());
  if (hd <= 0 || Hq <= 0 || Hkv <= 0)
    return emitOpError("expected positive head_dim, num_heads and "
                       "num_kv_heads");
  if (Hq % Hkv != 0)
    return emitOpError("expected num_heads (")
           << Hq << ") to be a multiple of num_kv_heads (" << Hkv << ")";
  if (getKind() == AttentionKind::Sliding && window <= 0)
    return emitOpError("expected window > 0 on a sliding layer, got ")
           << window;
  if (getKind() == AttentionKind::Full && window != 0)
    return emitOpError("expected window 0 on a full layer, got ") << window;
  if (rotaryDims < 0 || rotaryDims > hd || rotaryDims % 2)
    return emitOpError("expected an even rotary_dims in [0, ")
           << hd << "], got " << rotaryDims;
  if (!(getRopeTheta().convertToDouble() > 0))
    return emitOpError("expected rope_theta > 0");
  if (failed(expectShape(*this, "q_proj", getQProj(), {Hq * hd, d})) ||
      failed(expectShape(*this, "o_proj", getOProj(), {d, Hq * hd})) ||
      failed(expectShape(*this, "q_norm", getQNorm(), {hd})))
    return failure();
  if (getKProj() &&
      failed(expectShape(*this, "k_proj", getKProj(), {Hkv * hd, d})))
    return failure();
  if (getVProj() &&
      failed(expectShape(*this, "v_proj", getVProj(), {Hkv * hd, d})))
    return failure();
  if (getKNorm() && failed(expectShape(*this, "k_norm", getKNorm(), {hd})))
    return failure();
  if (getVProj() && getKEqV())
    return emitOpError("expected no v_proj on a k_eq_v layer");
  if (owner < 0 || owner > layer)
    return emitOpError("expected kv_owner in [0, ")
           << layer << "], got " << owner;
  if (ownsKv()) {
    if (!getKProj() || !getKNorm())
      return emitOpError("expected k_proj and k_norm on a layer that owns "
                         "its KV cache");
    if (!getVProj() && !getKEqV())
      return emitOpError("expected v_proj (the layer is not k_eq_v)");
    return success();
  }
  return verifyKvOwner(*this);
}

//===----------------------------------------------------------------------===//
// KvProjectionOp, CachedAttentionOp, KvStoreOp
//===----------------------------------------------------------------------===//

/// KV of the current tokens: static [2, T, kv heads, head_dim] with T rows
/// of |input|.
static LogicalResult expectKv(Operation *op, Value kv, Value input) {
  auto type = cast<RankedTensorType>(kv.getType());
  ArrayRef<int64_t> shape = type.getShape();
  if (type.getRank() != 4 || !type.hasStaticShape() || shape[0] != 2 ||
      shape[2] <= 0 || shape[3] <= 0)
    return op->emitOpError(
               "expected kv of shape [2, T, kv heads, head_dim], got ")
           << type;
  if (input && shape[1] != shapeOf(input)[0])
    return op->emitOpError("expected kv for ")
           << shapeOf(input)[0] << " tokens, got " << shape[1];
  return success();
}

/// Rotary pairs fit the head: at most head_dim / 2 frequencies.
static LogicalResult expectFrequencies(Operation *op, Value frequencies,
                                       int64_t headDim) {
  const int64_t pairs = shapeOf(frequencies)[0];
  if (pairs > headDim / 2)
    return op->emitOpError("expected at most ")
           << headDim / 2 << " rotary frequencies, got " << pairs;
  return success();
}

LogicalResult KvProjectionOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())) ||
      failed(expectKv(*this, getResult(), getInput())))
    return failure();
  const int64_t d = shapeOf(getInput())[1];
  const int64_t Hkv = getNumKvHeads(), hd = getHeadDim();
  if (failed(expectShape(*this, "k_proj", getKProj(), {Hkv * hd, d})) ||
      failed(expectShape(*this, "k_norm", getKNorm(), {hd})) ||
      failed(expectFrequencies(*this, getInverseFrequencies(), hd)))
    return failure();
  if (getVProj() && getKEqV())
    return emitOpError("expected no v_proj on a k_eq_v layer");
  if (!getVProj() && !getKEqV())
    return emitOpError("expected v_proj (the layer is not k_eq_v)");
  if (getVProj() &&
      failed(expectShape(*this, "v_proj", getVProj(), {Hkv * hd, d})))
    return failure();
  return success();
}

LogicalResult CachedAttentionOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())) ||
      failed(expectKv(*this, getKv(), getInput())))
    return failure();
  const int64_t d = shapeOf(getInput())[1];
  const int64_t Hkv = shapeOf(getKv())[2], hd = shapeOf(getKv())[3];
  const int64_t Hq = int64_t(getNumHeads());
  if (Hq <= 0 || Hq % Hkv != 0)
    return emitOpError("expected num_heads to be a positive multiple of the ")
           << Hkv << " kv heads, got " << Hq;
  if (int64_t(getKvOwner()) < 0 || int64_t(getKvOwner()) > int64_t(getLayer()))
    return emitOpError("expected kv_owner in [0, ")
           << int64_t(getLayer()) << "], got " << int64_t(getKvOwner());
  if (int64_t(getWindow()) < 0 || int64_t(getCacheSlots()) <= 0)
    return emitOpError("expected window >= 0 and cache_slots > 0");
  if (failed(expectShape(*this, "q_proj", getQProj(), {Hq * hd, d})) ||
      failed(expectShape(*this, "o_proj", getOProj(), {d, Hq * hd})) ||
      failed(expectShape(*this, "q_norm", getQNorm(), {hd})) ||
      failed(expectFrequencies(*this, getInverseFrequencies(), hd)))
    return failure();
  return success();
}

LogicalResult KvStoreOp::verify() {
  if (int64_t(getCacheSlots()) <= 0)
    return emitOpError("expected cache_slots > 0");
  return expectKv(*this, getKv(), Value());
}

//===----------------------------------------------------------------------===//
// MLPOp
//===----------------------------------------------------------------------===//

LogicalResult MLPOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  const int64_t d = shapeOf(getInput())[1];
  ArrayRef<int64_t> gate = shapeOf(getGate());
  if (gate.size() != 2 || gate[1] != d)
    return emitOpError("expected a [width, ")
           << d << "] gate, got " << formatShape(gate);
  const int64_t width = gate[0];
  if (failed(expectShape(*this, "up", getUp(), {width, d})) ||
      failed(expectShape(*this, "down", getDown(), {d, width})))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  const int64_t d = shapeOf(getInput())[1];
  ArrayRef<int64_t> router = shapeOf(getRouter());
  if (router.size() != 2 || router[1] != d)
    return emitOpError("expected a [experts, ")
           << d << "] router, got " << formatShape(router);
  const int64_t E = router[0];
  ArrayRef<int64_t> down = shapeOf(getDown());
  if (down.size() != 3)
    return emitOpError("expected a [experts, d, width] down, got ")
           << formatShape(down);
  const int64_t I = down[2];
  if (failed(expectShape(*this, "router_scale", getRouterScale(), {d})) ||
      failed(
          expectShape(*this, "per_expert_scale", getPerExpertScale(), {E})) ||
      failed(expectShape(*this, "gate_up", getGateUp(), {E, 2 * I, d})) ||
      failed(expectShape(*this, "down", getDown(), {E, d, I})))
    return failure();
  const int64_t topK = int64_t(getTopK());
  if (topK < 1 || topK > E)
    return emitOpError("expected top_k in [1, ") << E << "], got " << topK;
  return success();
}

//===----------------------------------------------------------------------===//
// PerLayerInputOp
//===----------------------------------------------------------------------===//

LogicalResult PerLayerInputOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput());
  ArrayRef<int64_t> ple = shapeOf(getPerLayerInputs());
  if (ple.size() != 3 || ple[0] != x[0])
    return emitOpError("expected [")
           << x[0] << ", L, P] per-layer inputs, got " << formatShape(ple);
  const int64_t d = x[1], L = ple[1], P = ple[2];
  const int64_t index = int64_t(getIndex());
  if (index < 0 || index >= L)
    return emitOpError("expected index in [0, ") << L << "), got " << index;
  if (failed(expectShape(*this, "gate", getGate(), {P, d})) ||
      failed(expectShape(*this, "projection", getProjection(), {d, P})) ||
      failed(expectShape(*this, "norm", getNorm(), {d})))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// LayerScaleOp
//===----------------------------------------------------------------------===//

LogicalResult LayerScaleOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  return expectShape(*this, "scalar", getScalar(), {1});
}

//===----------------------------------------------------------------------===//
// LogitsOp
//===----------------------------------------------------------------------===//

LogicalResult LogitsOp::verify() {
  if (failed(expectMatrix(*this, "input", getInput())))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput());
  ArrayRef<int64_t> embedding = shapeOf(getEmbedding());
  if (embedding.size() != 2 || embedding[1] != x[1])
    return emitOpError("expected a [vocab, ")
           << x[1] << "] embedding, got " << formatShape(embedding);
  if (failed(expectShape(*this, "norm", getNorm(), {x[1]})))
    return failure();
  // Every row's logits, or the last row's alone.
  ArrayRef<int64_t> result = shapeOf(getResult());
  if (result.size() != 2 || (result[0] != x[0] && result[0] != 1) ||
      result[1] != embedding[0])
    return emitOpError("expected a [")
           << x[0] << " or 1, " << embedding[0] << "] result, got "
           << formatShape(result);
  if (getSoftcap() && !(getSoftcap()->convertToDouble() > 0))
    return emitOpError("expected softcap > 0, got ")
           << getSoftcap()->convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  auto inputType = getInput().getType();
  if (inputType.getRank() < 1)
    return emitOpError("expected input of rank >= 1, got rank 0");
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError("expected epsilon > 0, got ")
           << getEpsilon().convertToDouble();
  Value weight = getWeight();
  if (!weight)
    return success();
  auto weightType = cast<RankedTensorType>(weight.getType());
  if (weightType.getRank() != 1)
    return emitOpError("expected weight of rank 1, got rank ")
           << weightType.getRank();
  int64_t rowSize = inputType.getShape().back();
  int64_t weightSize = weightType.getDimSize(0);
  if (!ShapedType::isDynamic(rowSize) && !ShapedType::isDynamic(weightSize) &&
      rowSize != weightSize)
    return emitOpError("expected weight of size ")
           << rowSize << " (the innermost input dimension), got " << weightSize;
  return success();
}

//===----------------------------------------------------------------------===//
// SoftcapOp
//===----------------------------------------------------------------------===//

LogicalResult SoftcapOp::verify() {
  double cap = getCap().convertToDouble();
  if (!(cap > 0.0))
    return emitOpError("expected cap > 0, got ") << cap;
  return success();
}

#define GET_OP_CLASSES
#include "compiler/Dialect/Gemma/IR/GemmaOps.cpp.inc"
