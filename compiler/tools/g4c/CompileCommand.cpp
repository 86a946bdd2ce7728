//===- CompileCommand.cpp - g4c compile -----------------------------------===//
//
// Part of g4c. This file implements `g4c compile CKPT -o OUT`: its options
// and messages around compileCheckpoint (CompileModel.h), which writes
// NAME.h, NAME.cc (or NAME.o and NAME_kernels.cc), NAME.g4w, NAME.g4t,
// NAME-run.cc, NAME-chat.cc and a CMakeLists.txt into OUT.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/Error.h"
#include "compiler/tools/g4c/Commands.h"
#include "compiler/tools/g4c/CompileModel.h"
#include "targets/llvm/HalideTuning.h"
#include "targets/llvm/ObjectEmitter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    compileCommand("compile",
                   "Compile a checkpoint to C++ or an object file, packed "
                   "weights, a tokenizer "
                   "table and the NAME-run / NAME-chat programs");
cl::OptionCategory compileCategory("compile options");
// tune takes compile's shape options: both subcommands are defined here,
// before the options that name them (static initialisation runs in order
// within a file, not across files).
cl::SubCommand
    tuneCommand("tune",
                "Measure the Halide kernels' schedule parameters for a "
                "checkpoint on this machine (for `g4c compile --backend obj "
                "--tuning FILE`); takes compile's shape options");
cl::OptionCategory tuneCategory("tune options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(compileCommand),
                                    cl::sub(tuneCommand),
                                    cl::cat(compileCategory));
cl::opt<std::string> outputDirectory("o", cl::Required,
                                     cl::desc("Output directory (must not "
                                              "exist or be empty)"),
                                     cl::value_desc("OUT"),
                                     cl::sub(compileCommand),
                                     cl::cat(compileCategory));
cl::opt<std::string>
    weightFormat("weights", cl::init("bf16"),
                 cl::desc("Format of the weight matrices: f32, bf16, int8 "
                          "(a scale per row) or int4 (a scale per group)"),
                 cl::sub(compileCommand), cl::sub(tuneCommand),
                 cl::cat(compileCategory));
cl::opt<uint32_t> groupSize("group-size", cl::init(32),
                            cl::desc("Columns per int4 scale: 32, 64 or 128"),
                            cl::value_desc("G"), cl::sub(compileCommand),
                            cl::sub(tuneCommand), cl::cat(compileCategory));
cl::opt<std::string>
    kvCache("kv-cache", cl::init("f32"),
            cl::desc("KV cache elements: f32, or int8 with a scale per head "
                     "per position"),
            cl::sub(compileCommand), cl::sub(tuneCommand),
            cl::cat(compileCategory));
cl::opt<bool> exactActivations(
    "exact-activations",
    cl::desc("Keep activations f32 in int8/int4 products instead of "
             "quantising them to int8 blocks (exact against the dequantised "
             "weights, slower)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<std::string> recipePath(
    "recipe",
    cl::desc("JSON rules giving tensors other formats by name pattern "
             "(docs/weights.md)"),
    cl::value_desc("FILE"), cl::sub(compileCommand), cl::sub(tuneCommand),
    cl::cat(compileCategory));
cl::opt<int64_t>
    contextLength("context", cl::init(0),
                  cl::desc("Positions the KV caches hold (default: min(4096, "
                           "max_position_embeddings))"),
                  cl::value_desc("N"), cl::sub(compileCommand),
                  cl::sub(tuneCommand), cl::cat(compileCategory));
cl::opt<int64_t> prefillChunk("prefill-chunk", cl::init(8),
                              cl::desc("Tokens per prefill call (T)"),
                              cl::value_desc("T"), cl::sub(compileCommand),
                              cl::sub(tuneCommand), cl::cat(compileCategory));
cl::list<std::string> disabledPasses(
    "disable-pass",
    cl::desc("Switch off an optional pass of the pipeline (resolve-kv-sharing, "
             "fuse-per-layer-inputs, specialize-attention, fuse-projections)"),
    cl::value_desc("NAME"), cl::sub(compileCommand), cl::sub(tuneCommand),
    cl::cat(compileCategory));
cl::opt<bool> linkWeights(
    "link-weights",
    cl::desc("Also write NAME_weights.cc: the weights as a const array linked "
             "into NAME-run (for small models)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<std::string> backend(
    "backend", cl::init("cpp"),
    cl::desc("cpp: the forward pass as C++ (NAME.cc); obj: as an object file "
             "for --target (NAME.o, through LLVM) calling Halide-generated "
             "kernels (NAME_*_halide_N.o) where a generator covers the op "
             "and g4k.h templates elsewhere (NAME_kernels.cc)"),
    cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<std::string> target(
    "target", cl::init("host"),
    cl::desc("With --backend obj: host (this CPU), x86-64-v3 (AVX2, FMA), "
             "x86-64-v4 (AVX-512), aarch64 (NEON, dotprod) or riscv64 "
             "(RV64GCV)"),
    cl::sub(compileCommand), cl::sub(tuneCommand), cl::cat(compileCategory));
cl::opt<bool> halideProducts(
    "halide-products",
    cl::desc("With --backend obj: the matrix products of f32 and bf16 weights "
             "from a Halide generator too (default: the kernel library's, "
             "about twice as fast so far)"),
    cl::sub(compileCommand), cl::sub(tuneCommand), cl::cat(compileCategory));
cl::opt<std::string> tuningPath(
    "tuning",
    cl::desc("With --backend obj: the Halide kernels' schedule parameters "
             "from `g4c tune` (default: each generator's defaults)"),
    cl::value_desc("FILE"), cl::sub(compileCommand), cl::cat(compileCategory));
cl::opt<std::string> tuneOutput("o", cl::Required,
                                cl::desc("The tuning file to write"),
                                cl::value_desc("FILE"), cl::sub(tuneCommand),
                                cl::cat(tuneCategory));
cl::opt<double> tuneMinSeconds(
    "min-seconds", cl::init(0.1),
    cl::desc("Benchmark time per schedule candidate (its best sample "
             "counts)"),
    cl::value_desc("S"), cl::sub(tuneCommand), cl::cat(tuneCategory));
cl::opt<std::string> modelName("name", cl::init("model"),
                               cl::desc("C identifier naming the files and "
                                        "symbols"),
                               cl::sub(compileCommand),
                               cl::cat(compileCategory));

} // namespace

llvm::Expected<CompileSettings> compileSettingsFromOptions() {
  auto recipe = makeWeightRecipe(weightFormat, groupSize, recipePath);
  if (!recipe)
    return recipe.takeError();
  CompileSettings settings;
  settings.name = modelName;
  settings.weights = std::move(*recipe);
  auto kvDType = parseKvCache(kvCache);
  if (!kvDType)
    return kvDType.takeError();
  settings.kvDType = *kvDType;
  settings.exactActivations = exactActivations;
  settings.contextLength = contextLength;
  settings.prefillChunk = prefillChunk;
  settings.linkWeights = linkWeights;
  settings.disabledPasses = disabledPasses;
  if (backend != "cpp" && backend != "obj")
    return makeError("--backend must be cpp or obj, got '" + backend + "'");
  if (backend == "obj" || tuneCommand) {
    auto parsed = parseObjectTarget(target);
    if (!parsed)
      return parsed.takeError();
    settings.objectTarget = *parsed;
  } else if (target.getNumOccurrences()) {
    return makeError("--target needs --backend obj (the C++ backend's target "
                     "is the C++ compiler's)");
  }
  if (halideProducts && backend != "obj" && !tuneCommand)
    return makeError("--halide-products needs --backend obj (it picks the "
                     "object backend's kernels)");
  settings.halideProducts = halideProducts;
  if (tuningPath.getNumOccurrences()) {
    if (backend != "obj")
      return makeError("--tuning needs --backend obj (it tunes the Halide "
                       "kernels)");
    auto tuning = readTuning(tuningPath);
    if (!tuning)
      return tuning.takeError();
    if (tuning->target != target)
      return makeError(tuningPath + ": measured for --target " +
                       tuning->target + ", not " + target);
    settings.tuning = std::move(*tuning);
  }
  return settings;
}

llvm::StringRef checkpointOption() { return checkpointPath; }
llvm::StringRef tuneOutputOption() { return tuneOutput; }
double tuneMinSecondsOption() { return tuneMinSeconds; }

int runCompile() {
  auto settings = compileSettingsFromOptions();
  if (!settings)
    return reportError(settings.takeError());
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  llvm::SmallString<256> tokenizer((*checkpoint)->directory());
  llvm::sys::path::append(tokenizer, "tokenizer.json");
  if (!llvm::sys::fs::exists(tokenizer))
    llvm::WithColor::warning(llvm::errs(), "g4c")
        << checkpointPath << ": no tokenizer.json; the compiled model takes "
        << "token ids only\n";
  llvm::StringRef out = outputDirectory;
  if (llvm::Error error = compileCheckpoint(**checkpoint, out, *settings))
    return reportError(std::move(error));
  llvm::outs() << "wrote " << out << " (build: cmake -S " << out << " -B "
               << out << "/build && cmake --build " << out << "/build)\n";
  return 0;
}

} // namespace g4c
