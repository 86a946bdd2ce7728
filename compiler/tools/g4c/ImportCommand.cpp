//===- ImportCommand.cpp - g4c import -------------------------------------===//
//
// Part of g4c. This file implements `g4c import CKPT -o model.mlir`: the
// checkpoint's architecture as a module of the gemma dialect.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/Importer.h"
#include "compiler/tools/g4c/Commands.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    importCommand("import",
                  "Write a checkpoint's architecture as gemma-dialect MLIR");
cl::OptionCategory importCategory("import options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(importCommand),
                                    cl::cat(importCategory));
cl::opt<std::string> outputPath("o", cl::Required,
                                cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("model.mlir"),
                                cl::sub(importCommand),
                                cl::cat(importCategory));
cl::opt<int64_t> prefillChunk("prefill-chunk", cl::init(64),
                              cl::desc("Tokens per prefill call (T)"),
                              cl::value_desc("T"), cl::sub(importCommand),
                              cl::cat(importCategory));
cl::opt<int64_t>
    contextLength("context", cl::init(0),
                  cl::desc("Positions the KV caches hold (default: min(4096, "
                           "max_position_embeddings))"),
                  cl::value_desc("N"), cl::sub(importCommand),
                  cl::cat(importCategory));

} // namespace

int runImport() {
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  const ModelConfig &config = (*checkpoint)->config();

  ImportOptions options;
  options.prefillChunk = prefillChunk;
  options.contextLength = contextLength;
  if (!contextLength.getNumOccurrences())
    options.contextLength = defaultContextLength(config);
  options.checkpointDirectory = checkpointPath;

  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return mlir::success();
  });
  auto module =
      importModel(context, config, checkpointWeights(**checkpoint), options);
  if (failed(module))
    return reportError(llvm::createStringError(
        llvm::inconvertibleErrorCode(), "%s: import failed: %s",
        checkpointPath.c_str(), diagnostics.c_str()));

  std::error_code error;
  llvm::ToolOutputFile output(outputPath, error, llvm::sys::fs::OF_None);
  if (error)
    return reportError(llvm::createStringError(error, "%s: cannot write: %s",
                                               outputPath.c_str(),
                                               error.message().c_str()));
  (*module)->print(output.os());
  output.os() << "\n";
  output.os().flush();
  if (output.os().has_error())
    return reportError(llvm::createStringError(
        output.os().error(), "%s: write failed", outputPath.c_str()));
  output.keep();
  return 0;
}

} // namespace g4c
