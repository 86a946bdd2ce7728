//===- GemmaDialect.cpp - Gemma dialect registration ----------------------===//
//
// Part of g4c. This file implements the `gemma` dialect's initialisation:
// registering its operations and attributes with the context.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaDialect.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

using namespace mlir;
using namespace g4c::gemma;

#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"

#include "compiler/Dialect/Gemma/IR/GemmaOpsDialect.cpp.inc"
#include "compiler/Dialect/Gemma/IR/GemmaOpsEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "compiler/Dialect/Gemma/IR/GemmaOpsAttributes.cpp.inc"

void GemmaDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "compiler/Dialect/Gemma/IR/GemmaOpsAttributes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "compiler/Dialect/Gemma/IR/GemmaOps.cpp.inc"
      >();
}
