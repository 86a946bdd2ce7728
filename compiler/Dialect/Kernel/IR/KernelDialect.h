//===- KernelDialect.h - g4k dialect declaration ----------------*- C++ -*-===//
//
// Part of g4c. Declares the `g4k` kernel-level dialect and its operations.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_KERNEL_IR_KERNELDIALECT_H
#define G4C_DIALECT_KERNEL_IR_KERNELDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "compiler/Dialect/Kernel/IR/KernelOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "compiler/Dialect/Kernel/IR/KernelOps.h.inc"

#endif // G4C_DIALECT_KERNEL_IR_KERNELDIALECT_H
