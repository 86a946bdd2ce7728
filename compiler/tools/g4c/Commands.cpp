//===- Commands.cpp - the list of g4c subcommands -------------------------===//
//
// Part of g4c. This file implements the registry of driver subcommands: the
// one place that lists them.
//
//===----------------------------------------------------------------------===//

#include "compiler/tools/g4c/Commands.h"

#include "compiler/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/WithColor.h"

namespace g4c {

llvm::ArrayRef<DriverCommand> driverCommands() {
  static const DriverCommand commands[] = {
      {&compileCommand, runCompile},
      {&evalCommand, runEval},
      {&importCommand, runImport},
      {&inspectCommand, runInspect},
      {&makeCheckpointCommand, runMakeCheckpoint},
      {&referenceCommand, runReference},
      {&runCommand, runRun},
      {&tokenizeCommand, runTokenize},
      {&tuneCommand, runTune},
  };
  return commands;
}

llvm::ArrayRef<const llvm::cl::OptionCategory *> driverOptionCategories() {
  static const llvm::cl::OptionCategory *categories[] = {
      &compileCategory, &evalCategory,           &importCategory,
      &inspectCategory, &makeCheckpointCategory, &referenceCategory,
      &runCategory,     &tokenizeCategory,       &tuneCategory};
  return categories;
}

llvm::Expected<std::vector<int64_t>> parseTokenIds(llvm::StringRef text) {
  std::vector<int64_t> tokens;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  for (llvm::StringRef part : parts) {
    int64_t id;
    if (part.trim().getAsInteger(10, id))
      return makeError("--tokens: '" + part + "' is not an integer token id");
    tokens.push_back(id);
  }
  if (tokens.empty() || text.trim().empty())
    return makeError("--tokens: no token ids given");
  return tokens;
}

llvm::Error executeProgram(llvm::StringRef program,
                           llvm::ArrayRef<llvm::StringRef> args,
                           llvm::StringRef log, int *exitCode) {
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string message;
  int code = llvm::sys::ExecuteAndWait(
      program, args, std::nullopt,
      log.empty() ? llvm::ArrayRef<std::optional<llvm::StringRef>>()
                  : llvm::ArrayRef<std::optional<llvm::StringRef>>(redirects),
      0, 0, &message);
  if (exitCode) {
    *exitCode = code;
    return code < 0 ? makeError(program + ": " + message)
                    : llvm::Error::success();
  }
  if (code != 0) {
    std::string tail;
    if (auto buffer = llvm::MemoryBuffer::getFile(log))
      tail = (*buffer)->getBuffer().take_back(2000).str();
    return makeError(program + " failed" +
                     (message.empty() ? "" : ": " + message) + "\n" + tail);
  }
  return llvm::Error::success();
}

int reportError(llvm::Error error) {
  llvm::handleAllErrors(std::move(error), [](const llvm::ErrorInfoBase &info) {
    llvm::WithColor::error(llvm::errs(), "g4c") << info.message() << "\n";
  });
  return 1;
}

} // namespace g4c
