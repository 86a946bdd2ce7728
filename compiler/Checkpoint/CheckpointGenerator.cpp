//===- CheckpointGenerator.cpp - random Gemma 4 checkpoints ---------------===//
//
// Part of g4c. This file implements the generator. Each tensor's values
// come from a counter-based hash of (seed, tensor name, element index), so
// they do not depend on sharding, order or chunking. Scales keep activations
// finite and logits varied: matrices are uniform with variance 1/fan_in
// (fan_in = last dimension), norm scales are near 1 (q/k norms near
// head_dim^-1/4), layer scalars in [0.6, 1.0].
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/CheckpointGenerator.h"
#include "compiler/Checkpoint/ModelConfig.h"
#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "compiler/Checkpoint/SyntheticTokenizer.h"
#include "compiler/Checkpoint/TensorManifest.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cmath>

namespace g4c {

using llvm::Error;

namespace {

uint64_t mix64(uint64_t x) { // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t hashName(uint64_t seed, llvm::StringRef name) {
  uint64_t hash = 0xcbf29ce484222325ull ^ mix64(seed);
  for (char c : name)
    hash = (hash ^ uint8_t(c)) * 0x100000001b3ull;
  return mix64(hash);
}

/// Uniform in [-1, 1) from a 64-bit hash.
float uniformFromHash(uint64_t hash) {
  return float(double(hash >> 40) * (1.0 / double(1ull << 23)) - 1.0);
}

/// Maps a uniform [-1, 1) sample to the tensor's initial distribution.
float shapeValue(const TensorSpec &spec, float u) {
  switch (spec.init) {
  case TensorSpec::Init::Matrix: {
    double fanIn = double(spec.fanIn ? spec.fanIn : spec.shape.back());
    return float(u * std::sqrt(3.0 / fanIn));
  }
  case TensorSpec::Init::NormScale:
    return 1.0f + 0.25f * u;
  case TensorSpec::Init::QkNormScale:
    // Scores q.k of RMS-normed heads have variance head_dim; unscaled they
    // make attention a near-argmax that flips on any rounding.
    return float(std::pow(double(spec.shape.back()), -0.25)) *
           (1.0f + 0.25f * u);
  case TensorSpec::Init::LayerScalar:
    return 0.8f + 0.2f * u;
  case TensorSpec::Init::Positive:
    return 1.0f + 0.5f * u;
  }
  return u;
}

/// Reports progress in 5 % steps.
class ProgressBar {
public:
  ProgressBar(llvm::raw_ostream &os, uint64_t total)
      : os(os), total(total), enabled(total > (64ull << 20)) {}
  void advance(uint64_t bytes) {
    done += bytes;
    if (!enabled)
      return;
    unsigned percent = unsigned(100 * done / total);
    if (percent >= nextPercent) {
      os << llvm::formatv("  wrote {0} of {1} MB ({2}%)\n", done >> 20,
                          total >> 20, percent);
      os.flush();
      nextPercent = percent + 5;
    }
  }

private:
  llvm::raw_ostream &os;
  uint64_t total, done = 0;
  bool enabled;
  unsigned nextPercent = 5;
};

Error writeCheckpointFiles(const GeneratorOptions &options,
                           llvm::StringRef directory,
                           llvm::json::Object configJson,
                           const ModelConfig &config,
                           llvm::raw_ostream &progress) {
  std::vector<TensorSpec> specs = expectedTextTensors(config);
  const char *prefix = options.textOnly ? "model." : "model.language_model.";
  std::vector<TensorToWrite> tensors;
  uint64_t totalBytes = 0;
  for (const TensorSpec &spec : specs) {
    tensors.push_back({prefix + spec.name, options.dtype, spec.shape});
    totalBytes += tensors.back().numBytes();
  }

  // Pack tensors in order into shards of at most shardBytes (a tensor
  // larger than that gets a shard of its own).
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shardFill = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t size = tensors[i].numBytes();
    if (options.shardBytes && shardFill > 0 &&
        shardFill + size > options.shardBytes) {
      shards.emplace_back();
      shardFill = 0;
    }
    shards.back().push_back(i);
    shardFill += size;
  }

  auto path = [&](llvm::StringRef file) {
    llvm::SmallString<256> joined(directory);
    llvm::sys::path::append(joined, file);
    return std::string(joined);
  };
  ProgressBar bar(progress, totalBytes);
  llvm::json::Object weightMap;
  for (size_t s = 0; s < shards.size(); ++s) {
    std::string fileName =
        shards.size() == 1 ? std::string("model.safetensors")
                           : llvm::formatv("model-{0:5}-of-{1:5}.safetensors",
                                           s + 1, shards.size())
                                 .str();
    std::replace(fileName.begin(), fileName.end(), ' ', '0');
    std::vector<TensorToWrite> shardTensors;
    std::vector<const TensorSpec *> shardSpecs;
    for (size_t i : shards[s]) {
      shardTensors.push_back(tensors[i]);
      shardSpecs.push_back(&specs[i]);
      weightMap[tensors[i].name] = fileName;
    }
    std::vector<uint64_t> cursor(shardTensors.size(), 0);
    unsigned elementSize = dtypeSize(options.dtype);
    auto source = [&](size_t index, llvm::MutableArrayRef<uint8_t> bytes) {
      const TensorSpec &spec = *shardSpecs[index];
      uint64_t nameHash = hashName(options.seed, spec.name);
      for (size_t offset = 0; offset < bytes.size(); offset += elementSize) {
        float u = uniformFromHash(mix64(nameHash + cursor[index]++));
        storeFloat(shapeValue(spec, u), options.dtype, bytes.data() + offset);
      }
    };
    if (Error error = writeSafeTensors(path(fileName), shardTensors, source,
                                       [&](uint64_t n) { bar.advance(n); }))
      return error;
  }
  if (shards.size() > 1) {
    llvm::json::Value index = llvm::json::Object{
        {"metadata", llvm::json::Object{{"total_size", totalBytes}}},
        {"weight_map", std::move(weightMap)}};
    if (Error error = writeFile(path("model.safetensors.index.json"),
                                [&](llvm::raw_ostream &os) {
                                  os << llvm::formatv("{0:2}", index) << "\n";
                                  return Error::success();
                                }))
      return error;
  }

  if (Error error =
          writeFile(path("tokenizer.json"), [&](llvm::raw_ostream &os) {
            return writeSyntheticTokenizer(os, config.text.vocabSize);
          }))
    return error;
  return writeFile(path("config.json"), [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(configJson)))
       << "\n";
    return Error::success();
  });
}

} // namespace

float generatedValue(uint64_t seed, llvm::StringRef name, uint64_t index) {
  return uniformFromHash(mix64(hashName(seed, name) + index));
}

Error generateCheckpoint(const GeneratorOptions &options,
                         llvm::raw_ostream &progress) {
  if (!isFloatWeightDType(options.dtype))
    return makeError("--dtype must be bf16, f16 or f32");
  llvm::Expected<llvm::json::Object> configJson =
      makePresetConfig(options.preset, options.overrides,
                       options.dtype == DType::F32   ? "float32"
                       : options.dtype == DType::F16 ? "float16"
                                                     : "bfloat16",
                       options.textOnly);
  if (!configJson)
    return configJson.takeError();
  // Validate exactly what will be written, through the reader's parser.
  std::string configText =
      llvm::formatv("{0}", llvm::json::Value(llvm::json::Object(*configJson)));
  llvm::Expected<ModelConfig> config =
      ModelConfig::parse("generated config.json", configText);
  if (!config)
    return config.takeError();

  llvm::StringRef out = options.outputDirectory;
  if (out.empty())
    return makeError("no output directory given (--out DIR)");
  if (llvm::sys::fs::exists(out)) {
    std::error_code error;
    llvm::sys::fs::directory_iterator it(out, error);
    if (error || it != llvm::sys::fs::directory_iterator())
      return makeError(out + ": already exists and is not an empty "
                             "directory; refusing to overwrite it");
  }
  llvm::SmallString<256> temporary;
  // Same parent directory as the output, so the final rename is atomic.
  if (std::error_code error = createPartialDirectory(out, temporary))
    return makeError(out +
                     ": cannot create a temporary directory beside "
                     "it: " +
                     error.message());
  Error written = writeCheckpointFiles(
      options, temporary, std::move(*configJson), *config, progress);
  if (!written) {
    if (llvm::sys::fs::exists(out))
      llvm::sys::fs::remove(out); // empty directory, checked above
    if (std::error_code error = llvm::sys::fs::rename(temporary, out))
      written = makeError(out +
                          ": cannot move the finished checkpoint into "
                          "place: " +
                          error.message());
  }
  if (written) {
    llvm::sys::fs::remove_directories(temporary);
    return written;
  }
  return Error::success();
}

} // namespace g4c
