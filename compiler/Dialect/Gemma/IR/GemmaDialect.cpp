//===- GemmaDialect.cpp - Gemma dialect registration ----------------------===//
//
// Part of g4c. This file implements the `gemma` dialect's initialisation:
// registering its operations with the context.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaDialect.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

using namespace mlir;
using namespace g4c::gemma;

#include "compiler/Dialect/Gemma/IR/GemmaOpsDialect.cpp.inc"

void GemmaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "compiler/Dialect/Gemma/IR/GemmaOps.cpp.inc"
      >();
}
