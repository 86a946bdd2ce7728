//===- KernelOps.cpp - g4k dialect operations -----------------------------===//
//
// Part of g4c. This file implements the `g4k` dialect's registration and the
// shape checks of its kernel calls; the rest is generated from KernelOps.td.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace g4c::kernel;

#include "compiler/Dialect/Kernel/IR/KernelOpsDialect.cpp.inc"

void G4kDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "compiler/Dialect/Kernel/IR/KernelOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "compiler/Dialect/Kernel/IR/KernelOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shape checks
//===----------------------------------------------------------------------===//

static MemRefType typeOf(Value value) {
  return cast<MemRefType>(value.getType());
}

static ArrayRef<int64_t> shapeOf(Value value) {
  return typeOf(value).getShape();
}

/// Every kernel works at static shapes.
static LogicalResult expectStatic(Operation *op) {
  for (Value operand : op->getOperands())
    if (auto type = dyn_cast<MemRefType>(operand.getType()))
      if (!type.hasStaticShape())
        return op->emitOpError("expected static shapes, got ") << type;
  return success();
}

static LogicalResult expectShape(Operation *op, StringRef what, Value value,
                                 ArrayRef<int64_t> expected) {
  if (shapeOf(value) == expected)
    return success();
  InFlightDiagnostic diag = op->emitOpError("expected ")
                            << what << " of shape [";
  llvm::interleaveComma(expected, diag);
  return diag << "], got " << typeOf(value);
}

LogicalResult EmbedOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  ArrayRef<int64_t> table = shapeOf(getTable());
  if (table.size() != 2)
    return emitOpError("expected a [vocab, d] table");
  return expectShape(*this, "out", getOut(),
                     {shapeOf(getTokens())[0], table[1]});
}

/// The rows of a linear's input |x| against its [out, in] weight |w|, or
/// failure (diagnosed) when the shapes do not fit.
static FailureOr<int64_t> linearRows(Operation *op, Value x, Value w) {
  if (failed(expectStatic(op)))
    return failure();
  ArrayRef<int64_t> weight = shapeOf(w);
  if (weight.size() != 2)
    return op->emitOpError("expected an [out, in] weight, got ") << typeOf(w);
  if (shapeOf(x).back() != weight[1])
    return op->emitOpError("expected x rows of ")
           << weight[1] << " values, got " << typeOf(x);
  return typeOf(x).getNumElements() / weight[1];
}

LogicalResult LinearOp::verify() {
  FailureOr<int64_t> rows = linearRows(*this, getX(), getW());
  if (failed(rows))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getW());
  return expectShape(*this, "y", getY(), {*rows, w[0]});
}

LogicalResult FusedLinearOp::verify() {
  FailureOr<int64_t> rows = linearRows(*this, getX(), getW());
  if (failed(rows))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getW());
  int64_t total = 0;
  for (Value y : getYs()) {
    ArrayRef<int64_t> shape = shapeOf(y);
    if (shape.size() != 2 || shape[0] != *rows)
      return emitOpError("expected outputs of ")
             << *rows << " rows, got " << typeOf(y);
    total += shape[1];
  }
  if (getYs().size() < 2 || total != w[0])
    return emitOpError("expected two or more outputs whose widths sum to the ")
           << w[0] << " weight rows, got " << total;
  return success();
}

LogicalResult RMSNormOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  if (typeOf(getX()).getNumElements() != typeOf(getY()).getNumElements())
    return emitOpError("expected x and y of the same size");
  if (getWeight() &&
      typeOf(getWeight()).getNumElements() != shapeOf(getX()).back())
    return emitOpError("expected a weight of ")
           << shapeOf(getX()).back() << " values";
  return success();
}

LogicalResult RopeOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  if (shapeOf(getX()).size() != 3)
    return emitOpError("expected x of shape [T, heads, head_dim]");
  if (shapeOf(getFrequencies())[0] > shapeOf(getX())[2] / 2)
    return emitOpError("expected at most head_dim / 2 frequencies");
  return success();
}

/// An int8 cache needs [slots, kv heads] scales for K and V; f32 none.
static LogicalResult verifyCacheScales(Operation *op, Value kCache,
                                       Value kScales, Value vScales) {
  const bool int8 = typeOf(kCache).getElementType().isInteger(8);
  if (int8 != bool(kScales) || bool(kScales) != bool(vScales))
    return op->emitOpError(int8 ? "expected k and v scales with an int8 cache"
                                : "expected scales only with an int8 cache");
  if (!kScales)
    return success();
  ArrayRef<int64_t> cache = shapeOf(kCache);
  SmallVector<int64_t> expected{cache[0], cache[1]};
  if (failed(expectShape(op, "k_scales", kScales, expected)) ||
      failed(expectShape(op, "v_scales", vScales, expected)))
    return failure();
  return success();
}

LogicalResult AttendOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  ArrayRef<int64_t> q = shapeOf(getQ()), cache = shapeOf(getKCache());
  if (q.size() != 3 || cache.size() != 3)
    return emitOpError("expected q [T, heads, head_dim] and caches [slots, "
                       "kv heads, head_dim]");
  if (cache[2] != q[2] || q[1] % cache[1] != 0)
    return emitOpError("expected query heads grouping the cache's kv heads "
                       "at one head_dim");
  if (failed(expectShape(*this, "v_cache", getVCache(), cache)) ||
      failed(expectShape(*this, "out", getOut(), q)))
    return failure();
  if (getFreshK() && (failed(expectShape(*this, "fresh_k", getFreshK(),
                                         {q[0], cache[1], cache[2]})) ||
                      failed(expectShape(*this, "fresh_v", getFreshV(),
                                         {q[0], cache[1], cache[2]}))))
    return failure();
  if (typeOf(getScores()).getNumElements() < cache[0] + q[0])
    return emitOpError("expected scores scratch of at least ")
           << cache[0] + q[0] << " floats";
  if (typeOf(getVCache()).getElementType() !=
      typeOf(getKCache()).getElementType())
    return emitOpError("expected k and v caches of one element type");
  return verifyCacheScales(*this, getKCache(), getKScales(), getVScales());
}

LogicalResult KvStoreOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  ArrayRef<int64_t> k = shapeOf(getK()), cache = shapeOf(getKCache());
  if (k.size() != 3 || cache.size() != 3 ||
      k.drop_front() != cache.drop_front())
    return emitOpError("expected k [T, kv heads, head_dim] and a cache [slots, "
                       "kv heads, head_dim]");
  // v and v_cache match k and k_cache (AllTypesMatch).
  return verifyCacheScales(*this, getKCache(), getKScales(), getVScales());
}

LogicalResult GeluGateOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  ArrayRef<int64_t> out = shapeOf(getOut());
  if (out.size() != 2)
    return emitOpError("expected [T, N] operands");
  if (failed(expectShape(*this, "gate", getGate(), out)) ||
      failed(expectShape(*this, "up", getUp(), out)))
    return failure();
  return success();
}

LogicalResult PleCombineOp::verify() {
  if (failed(expectStatic(*this)))
    return failure();
  ArrayRef<int64_t> out = shapeOf(getOut());
  if (out.size() != 3)
    return emitOpError("expected out of shape [T, L, P]");
  if (failed(expectShape(*this, "projected", getProjected(), out)) ||
      failed(expectShape(*this, "norm", getNorm(), {out[2]})))
    return failure();
  ArrayRef<int64_t> table = shapeOf(getTable());
  const int64_t first = int64_t(getFirstLayer());
  if (table.size() != 2 || table[1] % out[2] != 0 || first < 0 ||
      (first + out[1]) * out[2] > table[1])
    return emitOpError("expected a table whose rows hold layers [")
           << first << ", " << first + out[1] << ") of " << out[2] << " values";
  return success();
}
