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
#include "targets/llvm/ObjectEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <map>

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
/// checkpoint tensors and the fused weights the packer builds from them,
/// each in the format |recipe| gives it. Tables read only by row gathers
/// (the PLE table) start on a page of their own.
llvm::Expected<std::vector<PackedTensorRequest>>
weightRequests(mlir::ModuleOp module, const Checkpoint &checkpoint,
               const WeightRecipe &recipe) {
  // Tables only ever read by row gathers (the PLE table; the embedding is
  // also the LM head, streamed whole every step).
  llvm::StringSet<> read, gathered, streamed;
  module->walk([&](mlir::Operation *op) {
    if (auto ref = llvm::dyn_cast<kernel::WeightOp>(op))
      read.insert(ref.getName());
    if (!llvm::isa<kernel::G4kDialect>(op->getDialect()))
      return;
    mlir::Value table;
    if (auto embed = llvm::dyn_cast<kernel::EmbedOp>(op))
      table = embed.getTable();
    else if (auto ple = llvm::dyn_cast<kernel::PleCombineOp>(op))
      table = ple.getTable();
    for (mlir::Value operand : op->getOperands())
      if (auto ref = operand.getDefiningOp<kernel::WeightOp>())
        (operand == table ? gathered : streamed).insert(ref.getName());
  });
  for (const auto &name : streamed)
    gathered.erase(name.getKey());
  auto lookup = [&](llvm::StringRef name) -> llvm::Expected<CheckpointTensor> {
    if (std::optional<CheckpointTensor> tensor = checkpoint.lookup(name))
      return *tensor;
    return makeError("weight '" + name + "' is not in the checkpoint");
  };
  auto formatOf = [&](llvm::StringRef name, const CheckpointTensor &tensor) {
    const auto &shape = tensor.info->shape;
    return recipe.formatFor(name, shape.size(),
                            shape.empty() ? 0 : uint64_t(shape.back()));
  };
  std::vector<PackedTensorRequest> requests;
  auto add = [&](llvm::StringRef name, std::vector<CheckpointTensor> rows,
                 TensorFormat format) -> PackedTensorRequest & {
    requests.push_back({name.str(), std::move(rows), format.format});
    requests.back().group = format.group;
    requests.back().pageAligned = gathered.contains(name);
    return requests.back();
  };
  for (mlir::Operation &op : module.getBody()->getOperations()) {
    if (auto weight = llvm::dyn_cast<gemma::WeightOp>(op)) {
      if (!read.contains(weight.getSymName()))
        continue;
      auto tensor = lookup(weight.getSymName());
      if (!tensor)
        return tensor.takeError();
      add(weight.getSymName(), {*tensor},
          formatOf(weight.getSymName(), *tensor));
    } else if (auto fused = llvm::dyn_cast<gemma::FusedWeightOp>(op)) {
      if (!read.contains(fused.getSymName()))
        continue;
      std::vector<CheckpointTensor> rows;
      std::optional<std::pair<llvm::StringRef, TensorFormat>> first;
      for (auto part : fused.getParts().getAsRange<mlir::FlatSymbolRefAttr>()) {
        auto tensor = lookup(part.getValue());
        if (!tensor)
          return tensor.takeError();
        TensorFormat format = formatOf(part.getValue(), *tensor);
        if (!first)
          first.emplace(part.getValue(), format);
        // One stacked matrix has one format.
        if (!(format == first->second))
          return makeError(llvm::formatv(
              "the weight recipe gives '{0}' {1} and '{2}' {3}, but the "
              "fuse-projections pass stacks them into one matrix: give them "
              "one format or compile with --disable-pass=fuse-projections",
              first->first, formatName(first->second), part.getValue(),
              formatName(format)));
        rows.push_back(*tensor);
      }
      if (!first)
        return makeError("fused weight '" + fused.getSymName() +
                         "' has no parts");
      TensorFormat format = first->second;
      PackedTensorRequest &request =
          add(fused.getSymName(), std::move(rows), format);
      if (fused.getScaledBy()) {
        auto scale = lookup(*fused.getScaledBy());
        if (!scale)
          return scale.takeError();
        request.columnScale = *scale;
      }
    }
  }
  return requests;
}

/// The bytes of weights one decode step reads: every weight a kernel
/// streams, one row of a table read only by row gathers, the chosen share
/// of MoE experts.
uint64_t bytesPerDecodedToken(mlir::ModuleOp module,
                              const PackedWeights &packed) {
  auto decode = module.lookupSymbol<mlir::func::FuncOp>("decode");
  if (!decode)
    return 0;
  llvm::StringMap<double> share; // of each tensor's bytes, the most read
  auto read = [&](mlir::Value weight, double fraction) {
    if (auto ref = weight.getDefiningOp<kernel::WeightOp>())
      share[ref.getName()] = std::max(share.lookup(ref.getName()), fraction);
  };
  llvm::StringMap<const PackedTensor *> tensors;
  for (const PackedTensor &tensor : packed.tensors)
    tensors[tensor.name] = &tensor;
  auto oneRow = [&](mlir::Value table) {
    auto ref = table.getDefiningOp<kernel::WeightOp>();
    const PackedTensor *tensor = ref ? tensors.lookup(ref.getName()) : nullptr;
    return tensor ? 1.0 / double(tensor->shape.front()) : 1.0;
  };
  decode.walk([&](mlir::Operation *op) {
    if (auto embed = llvm::dyn_cast<kernel::EmbedOp>(op))
      return read(embed.getTable(), oneRow(embed.getTable()));
    if (auto ple = llvm::dyn_cast<kernel::PleCombineOp>(op)) {
      read(ple.getTable(), oneRow(ple.getTable()));
      return read(ple.getNorm(), 1.0);
    }
    if (auto moe = llvm::dyn_cast<kernel::MoEOp>(op)) {
      const double chosen =
          double(moe.getTopK()) /
          double(mlir::cast<mlir::ShapedType>(moe.getRouter().getType())
                     .getShape()[0]);
      read(moe.getGateUp(), chosen);
      read(moe.getDown(), chosen);
      read(moe.getRouter(), 1.0);
      read(moe.getRouterScale(), 1.0);
      return read(moe.getPerExpertScale(), 1.0);
    }
    for (mlir::Value operand : op->getOperands())
      read(operand, 1.0);
  });
  double bytes = 0;
  for (const auto &entry : share)
    if (const PackedTensor *tensor = tensors.lookup(entry.getKey()))
      bytes += double(tensor->size) * entry.getValue();
  return uint64_t(bytes);
}

/// One line per format: how many tensors and bytes it holds.
void reportFormats(const PackedWeights &packed, llvm::raw_ostream &report) {
  std::map<std::string, std::pair<int, uint64_t>> totals;
  for (const PackedTensor &tensor : packed.tensors) {
    auto &[count, bytes] = totals[formatName({tensor.format, tensor.group})];
    ++count;
    bytes += tensor.size;
  }
  report << "weights:";
  for (const auto &[name, total] : totals)
    report << llvm::formatv(" {0} {1} tensors {2} B;", name, total.first,
                            total.second);
  report << "\n";
}

/// Everything after the checks: the files of OUT, written into |directory|.
llvm::Error compileInto(const Checkpoint &checkpoint, llvm::StringRef directory,
                        const CompileSettings &settings) {
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
  pipelineOptions.foldNorms = settings.weights.allF32();
  pipelineOptions.kvDType = settings.kvDType;
  for (const std::string &pass : settings.disabledPasses)
    if (!disableOptionalPass(pipelineOptions, pass))
      return makeError("--disable-pass: no optional pass '" + pass +
                       "' (optional: " + llvm::join(optionalPassNames(), ", ") +
                       ")");
  mlir::PassManager pm(&context);
  buildG4cPipeline(pm, pipelineOptions);
  if (failed(pm.run(**module)))
    return makeError("the g4c pipeline failed: " + diagnostics);

  auto requests = weightRequests(**module, checkpoint, settings.weights);
  if (!requests)
    return requests.takeError();
  auto path = [&](llvm::StringRef suffix) {
    llvm::SmallString<256> joined(directory);
    llvm::sys::path::append(joined, modelName + suffix);
    return std::string(joined);
  };
  llvm::errs() << llvm::formatv("g4c: packing {0} weights\n", requests->size());
  auto packed = packWeights(path(".g4w"), *requests, &llvm::errs());
  if (!packed)
    return packed.takeError();

  CppEmitOptions emitOptions;
  emitOptions.name = modelName;
  emitOptions.linkWeights = settings.linkWeights;
  emitOptions.exactActivations = settings.exactActivations;
  ProjectLayout layout;
  layout.linkWeights = settings.linkWeights;
  if (settings.objectTarget) {
    // The object backend lowers a copy: the C++ emitter below still reads
    // the kernel-level module (plan, shapes).
    mlir::OwningOpRef<mlir::ModuleOp> lowered((**module).clone());
    annotatePackedWeights(*lowered, *packed);
    HalideKernelOptions halide{settings.halideProducts,
                               settings.objectTarget->integerLaneTokens,
                               settings.exactActivations};
    auto kernels = lowerToLLVMDialect(*lowered, modelName, &halide);
    if (failed(kernels))
      return makeError("the object backend failed: " + diagnostics);
    if (settings.tuning) {
      const size_t tuned = applyTuning(*settings.tuning, kernels->halide);
      llvm::errs() << llvm::formatv(
          "g4c: tuned schedules for {0} of {1} Halide kernels\n", tuned,
          kernels->halide.size());
    }
    if (settings.halideRequests)
      *settings.halideRequests = kernels->halide;
    auto halideObjects = generateHalideKernels(
        kernels->halide, settings.objectTarget->halideTarget,
        modelName + "_halide_runtime", directory, llvm::errs());
    if (!halideObjects)
      return halideObjects.takeError();
    for (const std::string &object : *halideObjects)
      layout.halideObjects.push_back(llvm::sys::path::filename(object).str());
    layout.halideIncludeDir = halideIncludeDirectory().str();
    if (llvm::Error error =
            writeFile(path(".o"), [&](llvm::raw_fd_ostream &out) {
              return emitObjectFile(*lowered, *settings.objectTarget, modelName,
                                    out);
            }))
      return error;
    emitOptions.objectKernels = std::move(kernels->source);
    layout.objectFile = true;
    layout.archFlags = settings.objectTarget->cxxFlags;
  }
  std::string header, source;
  llvm::raw_string_ostream headerStream(header), sourceStream(source);
  auto emitted =
      emitCpp(**module, *packed, emitOptions, headerStream, sourceStream);
  if (failed(emitted))
    return makeError("the C++ backend failed: " + diagnostics);
  llvm::SmallString<256> cmakePath(directory);
  llvm::sys::path::append(cmakePath, "CMakeLists.txt");
  for (auto [file, text] :
       {std::pair<std::string, std::string>{path(".h"), header},
        {path(settings.objectTarget ? "_kernels.cc" : ".cc"), source},
        {path("-run.cc"), runnerSource(modelName)},
        {path("-chat.cc"), chatSource(modelName)},
        {std::string(cmakePath), projectCMake(modelName, layout)}})
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
  reportFormats(*packed, report);
  report << llvm::formatv("decode reads {0} bytes of weights per token\n",
                          bytesPerDecodedToken(**module, *packed));
  report << llvm::formatv(
      "memory plan: arena {0} bytes = KV caches {1} ({2} layers, {7}) + "
      "activations {3} + kernel scratch {4} + logits {5}; weights {6} "
      "bytes\n",
      emitted->arenaBytes, bytes("kv_bytes"),
      plan.getAs<mlir::DictionaryAttr>("kv_bytes_per_layer").size(),
      bytes("activation_bytes"), bytes("scratch_bytes"),
      int64_t(emitted->arenaBytes) - bytes("arena_bytes"), packed->fileSize,
      settings.kvDType == "i8" ? "int8" : "f32");
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

llvm::Expected<WeightRecipe> makeWeightRecipe(llvm::StringRef weights,
                                              uint32_t groupSize,
                                              llvm::StringRef recipePath) {
  auto format = parseTensorFormat(weights, groupSize, "--weights");
  if (!format)
    return format.takeError();
  WeightRecipe recipe(*format);
  if (!recipePath.empty())
    if (llvm::Error error = recipe.addRulesFromFile(recipePath))
      return std::move(error);
  return recipe;
}

llvm::Expected<std::string> parseKvCache(llvm::StringRef text) {
  if (text == "f32")
    return std::string("f32");
  if (text == "int8")
    return std::string("i8");
  return makeError("--kv-cache must be f32 or int8, got '" + text + "'");
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
