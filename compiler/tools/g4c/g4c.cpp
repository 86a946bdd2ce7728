//===- g4c.cpp - the g4c compiler driver ----------------------------------===//
//
// Part of g4c. This file implements the `g4c` command: it parses the command
// line (llvm::cl subcommands) and dispatches to one subcommand per file.
//
//===----------------------------------------------------------------------===//

#include "compiler/tools/g4c/Commands.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "g4c 0.1.0 (MLIR " LLVM_VERSION_STRING ")\n";
  });
  // libLLVM registers hundreds of backend options; --help shows only ours.
  llvm::cl::HideUnrelatedOptions(g4c::driverOptionCategories());
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "g4c: ahead-of-time compiler for Gemma 4 models\n\n"
      "  g4c compiles a Hugging Face Gemma 4 checkpoint into C++ or object\n"
      "  code specialised to that model and a target CPU.\n\n"
      "  Run `g4c <subcommand> --help` for the options of a subcommand.\n");
  for (const g4c::DriverCommand &command : g4c::driverCommands())
    if (*command.subCommand)
      return command.run();
  llvm::errs() << "g4c: no subcommand given; see `g4c --help`\n";
  return 2;
}
