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
