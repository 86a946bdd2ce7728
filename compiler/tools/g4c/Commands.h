//===- Commands.h - the g4c driver's subcommands ----------------*- C++ -*-===//
//
// Part of g4c. Each subcommand of `g4c` lives in its own file, defines its
// llvm::cl::SubCommand and options, and is listed in Commands.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TOOLS_G4C_COMMANDS_H
#define G4C_TOOLS_G4C_COMMANDS_H

#include "compiler/tools/g4c/CompileModel.h"

#include "llvm/ADT/ArrayRef.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace g4c {

/// A subcommand of the driver: its llvm::cl registration and its entry point
/// (returns the process exit code).
struct DriverCommand {
  llvm::cl::SubCommand *subCommand;
  int (*run)();
};

// One entry point and option category per subcommand (in its own file).
extern llvm::cl::SubCommand compileCommand;
extern llvm::cl::OptionCategory compileCategory;
int runCompile();
extern llvm::cl::SubCommand evalCommand;
extern llvm::cl::OptionCategory evalCategory;
int runEval();
extern llvm::cl::SubCommand importCommand;
extern llvm::cl::OptionCategory importCategory;
int runImport();
extern llvm::cl::SubCommand inspectCommand;
extern llvm::cl::OptionCategory inspectCategory;
int runInspect();
extern llvm::cl::SubCommand makeCheckpointCommand;
extern llvm::cl::OptionCategory makeCheckpointCategory;
int runMakeCheckpoint();
extern llvm::cl::SubCommand referenceCommand;
extern llvm::cl::OptionCategory referenceCategory;
int runReference();
extern llvm::cl::SubCommand runCommand;
extern llvm::cl::OptionCategory runCategory;
int runRun();
extern llvm::cl::SubCommand tuneCommand;
extern llvm::cl::OptionCategory tuneCategory;
int runTune();
extern llvm::cl::SubCommand tokenizeCommand;
extern llvm::cl::OptionCategory tokenizeCategory;
int runTokenize();

/// The settings that compile's options give (shared with tune, which
/// takes the options that decide the kernels' shapes).
llvm::Expected<CompileSettings> compileSettingsFromOptions();
/// The checkpoint directory of compile / tune.
llvm::StringRef checkpointOption();
/// tune's -o FILE and --min-seconds.
llvm::StringRef tuneOutputOption();
double tuneMinSecondsOption();

/// Comma-separated token ids, or an error naming --tokens.
llvm::Expected<std::vector<int64_t>> parseTokenIds(llvm::StringRef text);

/// Runs |program| with |args|, stdout and stderr to the file |log| (empty:
/// inherited). With |exitCode|, stores the exit code and fails only when
/// the program could not run; without, a nonzero exit is an error quoting
/// the log's tail.
llvm::Error executeProgram(llvm::StringRef program,
                           llvm::ArrayRef<llvm::StringRef> args,
                           llvm::StringRef log, int *exitCode = nullptr);

/// Prints |error| as "g4c: error: ..." and returns exit code 1.
int reportError(llvm::Error error);

/// Every subcommand, in the order `g4c --help` lists them.
llvm::ArrayRef<DriverCommand> driverCommands();

/// The option categories of all subcommands (everything else is hidden).
llvm::ArrayRef<const llvm::cl::OptionCategory *> driverOptionCategories();

} // namespace g4c

#endif // G4C_TOOLS_G4C_COMMANDS_H
