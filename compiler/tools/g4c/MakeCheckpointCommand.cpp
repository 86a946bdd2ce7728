//===- MakeCheckpointCommand.cpp - g4c make-checkpoint --------------------===//
//
// Part of g4c. This file implements `g4c make-checkpoint`: deterministic
// random-weights checkpoints in the Hugging Face layout.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/CheckpointGenerator.h"
#include "compiler/tools/g4c/Commands.h"

#include "llvm/ADT/StringExtras.h"

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand makeCheckpointCommand(
    "make-checkpoint",
    "Write a random-weights Gemma 4 checkpoint (config.json, safetensors, "
    "tokenizer.json)");
cl::OptionCategory makeCheckpointCategory("make-checkpoint options");

namespace {

cl::opt<std::string> preset(
    "preset", cl::Required,
    cl::desc("tiny-e2b, tiny-e4b, tiny-moe, tiny-31b (tests) or e2b, e4b, "
             "moe-26b, dense-31b (real sizes)"),
    cl::sub(makeCheckpointCommand), cl::cat(makeCheckpointCategory));
cl::opt<uint64_t> seed("seed", cl::init(0), cl::desc("Random seed"),
                       cl::sub(makeCheckpointCommand),
                       cl::cat(makeCheckpointCategory));
cl::opt<std::string> dtype("dtype", cl::init("bf16"),
                           cl::desc("Weight dtype: bf16, f16 or f32"),
                           cl::sub(makeCheckpointCommand),
                           cl::cat(makeCheckpointCategory));
cl::opt<uint64_t>
    shardSizeMB("shard-size", cl::init(0),
                cl::desc("Split into shards of at most this many MB, with "
                         "model.safetensors.index.json (0: one file)"),
                cl::value_desc("MB"), cl::sub(makeCheckpointCommand),
                cl::cat(makeCheckpointCategory));
cl::opt<std::string>
    outputDirectory("out", cl::Required,
                    cl::desc("Output directory (must not exist yet)"),
                    cl::value_desc("DIR"), cl::sub(makeCheckpointCommand),
                    cl::cat(makeCheckpointCategory));
cl::opt<bool> textOnly(
    "text-only",
    cl::desc("Write a text-only export (\"model.\" tensor prefix, "
             "gemma4_text config) instead of Gemma4ForConditionalGeneration"),
    cl::sub(makeCheckpointCommand), cl::cat(makeCheckpointCategory));
cl::opt<int64_t> layers("layers", cl::init(0),
                        cl::desc("Override the number of layers"),
                        cl::sub(makeCheckpointCommand),
                        cl::cat(makeCheckpointCategory));
cl::opt<int64_t> hiddenSize("hidden-size", cl::init(0),
                            cl::desc("Override the hidden size"),
                            cl::sub(makeCheckpointCommand),
                            cl::cat(makeCheckpointCategory));
cl::opt<int64_t> vocab("vocab", cl::init(0),
                       cl::desc("Override the vocabulary size"),
                       cl::sub(makeCheckpointCommand),
                       cl::cat(makeCheckpointCategory));
cl::opt<int64_t> window("window", cl::init(0),
                        cl::desc("Override the sliding window"),
                        cl::sub(makeCheckpointCommand),
                        cl::cat(makeCheckpointCategory));
cl::opt<int64_t>
    kvSharedLayers("kv-shared-layers", cl::init(-1),
                   cl::desc("Override the number of KV-shared layers"),
                   cl::sub(makeCheckpointCommand),
                   cl::cat(makeCheckpointCategory));
cl::opt<std::string> layerPattern(
    "layer-pattern",
    cl::desc("Override the attention types: a repeating string of 's' "
             "(sliding) and 'f' (full), e.g. ssssf"),
    cl::sub(makeCheckpointCommand), cl::cat(makeCheckpointCategory));

} // namespace

int runMakeCheckpoint() {
  GeneratorOptions options;
  options.preset = preset;
  options.seed = seed;
  std::string lowered = llvm::StringRef(dtype).lower();
  if (lowered == "bf16")
    options.dtype = DType::BF16;
  else if (lowered == "f16")
    options.dtype = DType::F16;
  else if (lowered == "f32")
    options.dtype = DType::F32;
  else
    return reportError(llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "--dtype must be bf16, f16 or f32, got '%s'", dtype.c_str()));
  options.shardBytes = shardSizeMB << 20;
  options.textOnly = textOnly;
  options.outputDirectory = outputDirectory;
  if (layers.getNumOccurrences())
    options.overrides.numLayers = layers;
  if (hiddenSize.getNumOccurrences())
    options.overrides.hiddenSize = hiddenSize;
  if (vocab.getNumOccurrences())
    options.overrides.vocabSize = vocab;
  if (window.getNumOccurrences())
    options.overrides.slidingWindow = window;
  if (kvSharedLayers.getNumOccurrences())
    options.overrides.numKvSharedLayers = kvSharedLayers;
  if (layerPattern.getNumOccurrences())
    options.overrides.layerPattern = layerPattern;
  if (llvm::Error error = generateCheckpoint(options, llvm::errs()))
    return reportError(std::move(error));
  llvm::outs() << "wrote " << outputDirectory << "\n";
  return 0;
}

} // namespace g4c
