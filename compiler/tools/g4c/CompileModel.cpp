//===- CompileModel.cpp - checkpoint to a compiled model directory --------===//
//
// Part of g4c. This file implements compileCheckpoint, shared by `g4c
// compile` and `g4c run`: import, the default pipeline, the weight packer,
// the tokenizer table and the C++ backend, written into a temporary
// directory that is renamed into place (nothing is left on failure).
//
//===----------------------------------------------------------------------===//

#include "compiler/tools/g4c/CompileModel.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"
#include "compiler/Dialect/Kernel/IR/KernelDialect.h"
#include "compiler/Import/Importer.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"
#include "compiler/Tokenizer/TokenizerTable.h"
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

namespace g4c {

namespace {

bool isIdentifierText(llvm::StringRef text) {
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
                        const CompileSettings &settings) {
  const weightfile::Format format = settings.format;
  const std::string &modelName = settings.name;
  const ModelConfig &config = checkpoint.config();
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return mlir::success();
  });
  ImportOptions options;
  options.prefillChunk = settings.prefillChunk;
  options.contextLength = settings.contextLength ? settings.contextLength
                                                 : defaultContextLength(config);
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
  for (const std::string &pass : settings.disabledPasses)
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
  emitOptions.linkWeights = settings.linkWeights;
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
        {path("-chat.cc"), chatSource(modelName)},
        {std::string(cmakePath),
         projectCMake(modelName, settings.linkWeights)}})
    if (llvm::Error error = writeText(file, text))
      return error;

  // The tokenizer ships with the model as a compiled table.
  llvm::SmallString<256> tokenizerJson(checkpoint.directory());
  llvm::sys::path::append(tokenizerJson, "tokenizer.json");
  if (llvm::sys::fs::exists(tokenizerJson)) {
    auto table = compileTokenizerFile(tokenizerJson);
    if (!table)
      return table.takeError();
    if (llvm::Error error =
            writeFile(path(".g4t"), [&](llvm::raw_fd_ostream &out) {
              out.write(reinterpret_cast<const char *>(table->data()),
                        table->size);
              return llvm::Error::success();
            }))
      return error;
  }

  if (settings.linkWeights)
    if (llvm::Error error =
            writeLinkedWeights(path(".g4w"), path("_weights.cc"), modelName))
      return error;

  auto plan =
      (**module)->getAttrOfType<mlir::DictionaryAttr>("gemma.memory_plan");
  auto bytes = [&](llvm::StringRef key) {
    return plan.getAs<mlir::IntegerAttr>(key).getInt();
  };
  llvm::raw_ostream &report = settings.report ? *settings.report : llvm::outs();
  report << llvm::formatv(
      "memory plan: arena {0} bytes = KV caches {1} ({2} layers) + "
      "activations {3} + kernel scratch {4} + logits {5}; weights {6} "
      "bytes\n",
      emitted->arenaBytes, bytes("kv_bytes"),
      plan.getAs<mlir::DictionaryAttr>("kv_bytes_per_layer").size(),
      bytes("activation_bytes"), bytes("scratch_bytes"),
      int64_t(emitted->arenaBytes) - bytes("arena_bytes"), packed->fileSize);
  // Each cache: the sizes the specialisations decided.
  auto slots = plan.getAs<mlir::DictionaryAttr>("kv_slots_per_layer");
  report << "  KV caches:";
  for (mlir::NamedAttribute cache :
       plan.getAs<mlir::DictionaryAttr>("kv_bytes_per_layer"))
    report << " " << cache.getName().strref() << " "
           << mlir::cast<mlir::IntegerAttr>(cache.getValue()).getInt() << " B ("
           << slots.getAs<mlir::IntegerAttr>(cache.getName()).getInt()
           << " slots)";
  report << "\n";
  return llvm::Error::success();
}

} // namespace

bool isIdentifier(llvm::StringRef text) { return isIdentifierText(text); }

llvm::Expected<weightfile::Format> parseWeightFormat(llvm::StringRef text) {
  if (text == "f32")
    return weightfile::Format::F32;
  if (text == "bf16")
    return weightfile::Format::BF16;
  return makeError("--weights must be f32 or bf16, got '" + text + "'");
}

llvm::Error compileCheckpoint(const Checkpoint &checkpoint, llvm::StringRef out,
                              const CompileSettings &settings) {
  if (!isIdentifier(settings.name))
    return makeError("--name '" + settings.name + "' is not a C identifier");
  if (llvm::sys::fs::exists(out)) {
    std::error_code error;
    llvm::sys::fs::directory_iterator it(out, error);
    if (error || it != llvm::sys::fs::directory_iterator())
      return makeError(out + ": already exists and is not an empty directory");
  }
  llvm::SmallString<256> temporary;
  if (std::error_code error = createPartialDirectory(out, temporary))
    return makeError(
        out + ": cannot create a directory beside it: " + error.message());
  llvm::Error error = compileInto(checkpoint, temporary, settings);
  if (!error) {
    if (llvm::sys::fs::exists(out))
      llvm::sys::fs::remove(out);
    if (std::error_code renameError = llvm::sys::fs::rename(temporary, out))
      error = makeError(out + ": cannot move the output into place: " +
                        renameError.message());
  }
  if (error)
    llvm::sys::fs::remove_directories(temporary);
  return error;
}

} // namespace g4c
