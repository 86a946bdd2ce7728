//===- Commands.cpp - the list of g4c subcommands -------------------------===//
//
// Part of g4c. This file implements the registry of driver subcommands: the
// one place that lists them.
//
//===----------------------------------------------------------------------===//

#include "compiler/tools/g4c/Commands.h"

#include "llvm/Support/WithColor.h"

namespace g4c {

llvm::ArrayRef<DriverCommand> driverCommands() {
  static const DriverCommand commands[] = {
      {&compileCommand, runCompile},
      {&importCommand, runImport},
      {&inspectCommand, runInspect},
      {&makeCheckpointCommand, runMakeCheckpoint},
      {&referenceCommand, runReference},
      {&runCommand, runRun},
      {&tokenizeCommand, runTokenize},
  };
  return commands;
}

llvm::ArrayRef<const llvm::cl::OptionCategory *> driverOptionCategories() {
  static const llvm::cl::OptionCategory *categories[] = {
      &compileCategory,        &importCategory,    &inspectCategory,
      &makeCheckpointCategory, &referenceCategory, &runCategory,
      &tokenizeCategory};
  return categories;
}

int reportError(llvm::Error error) {
  llvm::handleAllErrors(std::move(error), [](const llvm::ErrorInfoBase &info) {
    llvm::WithColor::error(llvm::errs(), "g4c") << info.message() << "\n";
  });
  return 1;
}

} // namespace g4c
