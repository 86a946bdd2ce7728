//===- Commands.cpp - the list of g4c subcommands -------------------------===//
//
// Part of g4c. This file implements the registry of driver subcommands: the
// one place that lists them.
//
//===----------------------------------------------------------------------===//

#include "compiler/tools/g4c/Commands.h"

namespace g4c {

llvm::ArrayRef<DriverCommand> driverCommands() { return {}; }

llvm::ArrayRef<const llvm::cl::OptionCategory *> driverOptionCategories() {
  static llvm::cl::OptionCategory generalCategory("g4c options");
  static const llvm::cl::OptionCategory *categories[] = {&generalCategory};
  return categories;
}

} // namespace g4c
