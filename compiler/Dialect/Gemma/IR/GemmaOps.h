//===- GemmaOps.h - Gemma dialect operations --------------------*- C++ -*-===//
//
// Part of g4c. Declares the operations of the `gemma` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_GEMMA_IR_GEMMAOPS_H
#define G4C_DIALECT_GEMMA_IR_GEMMAOPS_H

#include "compiler/Dialect/Gemma/IR/GemmaDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "compiler/Dialect/Gemma/IR/GemmaOpsEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "compiler/Dialect/Gemma/IR/GemmaOpsAttributes.h.inc"

#define GET_OP_CLASSES
#include "compiler/Dialect/Gemma/IR/GemmaOps.h.inc"

#endif // G4C_DIALECT_GEMMA_IR_GEMMAOPS_H
