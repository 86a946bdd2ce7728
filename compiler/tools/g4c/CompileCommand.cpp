//===- CompileCommand.cpp - g4c compile -----------------------------------===//
//
// Part of g4c. This file implements `g4c compile CKPT -o OUT`: import, the
// default pipeline, the weight packer and the C++ backend; writes NAME.h,
// NAME.cc, NAME.g4w, NAME-run.cc and a CMakeLists.txt into OUT (built in a
// temporary directory and renamed into place), and prints the memory plan.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "compiler/Dialect/Kernel/IR/KernelDialect.h"
#include "compiler/Import/Importer.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"
#include "compiler/tools/g4c/Commands.h"
#include "passes/Passes.h"
#include "targets/cpp/CppEmitter.h"
#include "targets/cpp/ProjectWriter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    compileCommand("compile",
                   "Compile a checkpoint to C++ + packed weights + a runner");
cl::OptionCategory compileCategory("compile options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(compileCommand),
                                    cl::cat(compileCategory));
cl::opt<std::string> outputDirectory("o", cl::Required,
                                     cl::desc("Output directory (must not "
                                              "exist or be empty)"),
                                     cl::value_desc("OUT"),
                                     cl::sub(compileCommand),
                                     cl::cat(compileCategory));
cl::opt<std::string> weightFormat("weights", cl::init("bf16"),
                                  cl::desc("Packed weight format: f32 or bf16"),
                                  cl::sub(compileCommand),
                                  cl::cat(compileCategory));
cl::opt<int64_t>
    contextLength("context", cl::init(0),
                  cl::desc("Positions the KV caches hold (default: min(4096, "
                           "max_position_embeddings))"),
                  cl::value_desc("N"), cl::sub(compileCommand),
                  cl::cat(compileCategory));
cl::opt<int64_t> prefillChunk("prefill-chunk", cl::init(8),
                              cl::desc("Tokens per prefill call (T)"),
                              cl::value_desc("T"), cl::sub(compileCommand),
                              cl::cat(compileCategory));
cl::list<std::string> disabledPasses(
    "disable-pass",
    cl::desc(
        "Switch off an optional pass of the pipeline (resolve-kv-sharing)"),
    cl::value_desc("NAME"), cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<bool> linkWeights(
    "link-weights",
    cl::desc("Also write NAME_weights.cc: the weights as a const array linked "
             "into NAME-run (for small models)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<std::string> modelName("name", cl::init("model"),
                               cl::desc("C identifier naming the files and "
                                        "symbols"),
                               cl::sub(compileCommand),
                               cl::cat(compileCategory));

bool isIdentifier(llvm::StringRef text) {
  if (text.empty() || !(llvm::isAlpha(text[0]) || text[0] == '_'))
    return false;
  return llvm::all_of(text,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

llvm::Error writeText(llvm::StringRef path, llvm::StringRef text) {
  return writeFile(path, [&](llvm::raw_fd_ostream &out) {
    out << text;
    return llvm::Error::success();
  });
}

/// The tensors the kernels of |module| read, in the module's order: plain
/// checkpoint tensors and the fused weights the packer builds from them.
llvm::Expected<std::vector<PackedTensorRequest>>
weightRequests(mlir::ModuleOp module, const Checkpoint &checkpoint,
               weightfile::Format format) {
  llvm::StringSet<> read;
  module->walk([&](kernel::WeightOp ref) { read.insert(ref.getName()); });
  auto lookup = [&](llvm::StringRef name) -> llvm::Expected<CheckpointTensor> {
    if (std::optional<CheckpointTensor> tensor = checkpoint.lookup(name))
      return *tensor;
    return makeError("weight '" + name + "' is not in the checkpoint");
  };
  std::vector<PackedTensorRequest> requests;
  for (mlir::Operation &op : module.getBody()->getOperations()) {
    if (auto weight = llvm::dyn_cast<gemma::WeightOp>(op)) {
      if (!read.contains(weight.getSymName()))
        continue;
      auto tensor = lookup(weight.getSymName());
      if (!tensor)
        return tensor.takeError();
      requests.push_back({weight.getSymName().str(), {*tensor}, format});
    } else if (auto fused = llvm::dyn_cast<gemma::FusedWeightOp>(op)) {
      if (!read.contains(fused.getSymName()))
        continue;
      PackedTensorRequest request{fused.getSymName().str(), {}, format};
      for (auto part : fused.getParts().getAsRange<mlir::FlatSymbolRefAttr>()) {
        auto tensor = lookup(part.getValue());
        if (!tensor)
          return tensor.takeError();
        request.rows.push_back(*tensor);
      }
      if (fused.getScaledBy()) {
        auto scale = lookup(*fused.getScaledBy());
        if (!scale)
          return scale.takeError();
        request.columnScale = *scale;
      }
      requests.push_back(std::move(request));
    }
  }
  return requests;
}

/// Everything after the checks: the files of OUT, written into |directory|.
llvm::Error compileInto(const Checkpoint &checkpoint, llvm::StringRef directory,
                        weightfile::Format format) {
  const ModelConfig &config = checkpoint.config();
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return mlir::success();
  });
  ImportOptions options;
  options.prefillChunk = prefillChunk;
  options.contextLength = contextLength;
  if (!contextLength.getNumOccurrences())
    options.contextLength = defaultContextLength(config);
  options.checkpointDirectory = checkpoint.directory().str();
  auto module =
      importModel(context, config, checkpointWeights(checkpoint), options);
  if (failed(module))
    return makeError(checkpoint.directory() +
                     ": import failed: " + diagnostics);
  G4cPipelineOptions pipelineOptions;
  // Folding a norm weight into a projection rounds W diag(g) once more:
  // exact enough in f32, an extra error in bf16.
  pipelineOptions.foldNorms = format == weightfile::Format::F32;
  for (const std::string &pass : disabledPasses)
    if (!disableOptionalPass(pipelineOptions, pass))
      return makeError("--disable-pass: no optional pass '" + pass +
                       "' (optional: " + llvm::join(optionalPassNames(), ", ") +
                       ")");
  mlir::PassManager pm(&context);
  buildG4cPipeline(pm, pipelineOptions);
  if (failed(pm.run(**module)))
    return makeError("the g4c pipeline failed: " + diagnostics);

  auto requests = weightRequests(**module, checkpoint, format);
  if (!requests)
    return requests.takeError();
  auto path = [&](llvm::StringRef suffix) {
    llvm::SmallString<256> joined(directory);
    llvm::sys::path::append(joined, modelName + suffix);
    return std::string(joined);
  };
  llvm::errs() << llvm::formatv("g4c: packing {0} weights\n", requests->size());
  auto packed = packWeights(path(".g4w"), *requests);
  if (!packed)
    return packed.takeError();

  std::string header, source;
  llvm::raw_string_ostream headerStream(header), sourceStream(source);
  CppEmitOptions emitOptions;
  emitOptions.name = modelName;
  emitOptions.linkWeights = linkWeights;
  auto emitted =
      emitCpp(**module, *packed, emitOptions, headerStream, sourceStream);
  if (failed(emitted))
    return makeError("the C++ backend failed: " + diagnostics);
  llvm::SmallString<256> cmakePath(directory);
  llvm::sys::path::append(cmakePath, "CMakeLists.txt");
  for (auto [file, text] :
       {std::pair<std::string, std::string>{path(".h"), header},
        {path(".cc"), source},
        {path("-run.cc"), runnerSource(modelName)},
        {std::string(cmakePath), projectCMake(modelName, linkWeights)}})
    if (llvm::Error error = writeText(file, text))
      return error;

  if (linkWeights)
    if (llvm::Error error =
            writeLinkedWeights(path(".g4w"), path("_weights.cc"), modelName))
      return error;

  auto plan =
      (**module)->getAttrOfType<mlir::DictionaryAttr>("gemma.memory_plan");
  auto bytes = [&](llvm::StringRef key) {
    return plan.getAs<mlir::IntegerAttr>(key).getInt();
  };
  llvm::outs() << llvm::formatv(
      "memory plan: arena {0} bytes = KV caches {1} ({2} layers) + "
      "activations {3} + kernel scratch {4} + logits {5}; weights {6} "
      "bytes\n",
      emitted->arenaBytes, bytes("kv_bytes"),
      plan.getAs<mlir::DictionaryAttr>("kv_bytes_per_layer").size(),
      bytes("activation_bytes"), bytes("scratch_bytes"),
      int64_t(emitted->arenaBytes) - bytes("arena_bytes"), packed->fileSize);
  return llvm::Error::success();
}

} // namespace

int runCompile() {
  if (!isIdentifier(modelName))
    return reportError(
        makeError("--name '" + modelName + "' is not a C identifier"));
  weightfile::Format format;
  if (weightFormat == "f32")
    format = weightfile::Format::F32;
  else if (weightFormat == "bf16")
    format = weightfile::Format::BF16;
  else
    return reportError(
        makeError("--weights must be f32 or bf16, got '" + weightFormat + "'"));
  llvm::StringRef out = outputDirectory;
  if (llvm::sys::fs::exists(out)) {
    std::error_code error;
    llvm::sys::fs::directory_iterator it(out, error);
    if (error || it != llvm::sys::fs::directory_iterator())
      return reportError(makeError(out + ": already exists and is not an "
                                         "empty directory"));
  }
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  llvm::SmallString<256> tokenizer((*checkpoint)->directory());
  llvm::sys::path::append(tokenizer, "tokenizer.json");
  if (!llvm::sys::fs::exists(tokenizer))
    llvm::WithColor::warning(llvm::errs(), "g4c")
        << checkpointPath << ": no tokenizer.json; the compiled model takes "
        << "token ids only\n";

  llvm::SmallString<256> temporary;
  if (std::error_code error =
          llvm::sys::fs::createUniqueDirectory(out + ".partial", temporary))
    return reportError(makeError(out +
                                 ": cannot create a directory beside "
                                 "it: " +
                                 error.message()));
  llvm::Error error = compileInto(**checkpoint, temporary, format);
  if (!error) {
    if (llvm::sys::fs::exists(out))
      llvm::sys::fs::remove(out);
    if (std::error_code renameError = llvm::sys::fs::rename(temporary, out))
      error = makeError(out + ": cannot move the output into place: " +
                        renameError.message());
  }
  if (error) {
    llvm::sys::fs::remove_directories(temporary);
    return reportError(std::move(error));
  }
  llvm::outs() << "wrote " << out << " (build: cmake -S " << out << " -B "
               << out << "/build && cmake --build " << out << "/build)\n";
  return 0;
}

} // namespace g4c
