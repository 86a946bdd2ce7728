//===- GemmaDialect.h - Gemma dialect declaration ---------------*- C++ -*-===//
//
// Part of g4c. Declares the `gemma` dialect class generated from ODS.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_GEMMA_IR_GEMMADIALECT_H
#define G4C_DIALECT_GEMMA_IR_GEMMADIALECT_H

#include "mlir/IR/Dialect.h"

#include "compiler/Dialect/Gemma/IR/GemmaOpsDialect.h.inc"

#endif // G4C_DIALECT_GEMMA_IR_GEMMADIALECT_H
