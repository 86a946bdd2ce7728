//===- CheckpointTest.cpp - checkpoint directories, good and bad ----------===//
//
// Part of g4c. Round trips generator -> reader for every preset and dtype,
// and a corpus of malformed checkpoint directories (missing files, lying
// indexes, missing/misshapen/unexpected tensors, truncation), each rejected
// with its specific message.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/Checkpoint.h"
#include "compiler/Checkpoint/CheckpointGenerator.h"
#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "compiler/Checkpoint/TensorManifest.h"
#include "test/unit/TestCheckpoints.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace g4c;
using g4c::testing::generate;
using g4c::testing::TempDir;

namespace {

float readElement(const CheckpointTensor &tensor, uint64_t index) {
  return loadFloat(tensor.data().data(), tensor.info->dtype, index);
}

std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : "";
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

class RoundTrip
    : public ::testing::TestWithParam<std::tuple<const char *, DType>> {};

TEST_P(RoundTrip, GeneratedCheckpointReadsBackValid) {
  auto [preset, dtype] = GetParam();
  TempDir dir;
  std::string path = generate(dir, preset, dtype);
  auto checkpoint = Checkpoint::open(path);
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  llvm::Error valid = (*checkpoint)->validateTensors();
  ASSERT_FALSE(bool(valid)) << llvm::toString(std::move(valid));
  EXPECT_TRUE(llvm::sys::fs::exists(dir.file("ckpt/tokenizer.json")));

  // Every expected tensor (including unused KV of shared layers, as real
  // checkpoints have them) is there with the generator's values.
  const ModelConfig &config = (*checkpoint)->config();
  size_t checked = 0;
  for (const TensorSpec &spec : expectedTextTensors(config)) {
    auto tensor = (*checkpoint)->lookup(spec.name);
    ASSERT_TRUE(tensor) << spec.name;
    EXPECT_EQ(tensor->info->dtype, dtype);
    EXPECT_EQ(tensor->info->name, "model.language_model." + spec.name);
    for (uint64_t index : {uint64_t(0), spec.numElements() - 1}) {
      float value = readElement(*tensor, index);
      ASSERT_TRUE(std::isfinite(value)) << spec.name;
      float u = generatedValue(7, spec.name, index);
      if (spec.init == TensorSpec::Init::NormScale) {
        EXPECT_EQ(value, roundToDType(1.0f + 0.25f * u, dtype)) << spec.name;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 20u);
}

INSTANTIATE_TEST_SUITE_P(
    AllTinyPresets, RoundTrip,
    ::testing::Combine(::testing::Values("tiny-e2b", "tiny-e4b", "tiny-moe",
                                         "tiny-31b"),
                       ::testing::Values(DType::BF16, DType::F16, DType::F32)),
    [](const auto &info) {
      std::string name = std::string(std::get<0>(info.param)) + "_" +
                         dtypeName(std::get<1>(info.param)).str();
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

TEST(Generator, ShardedEqualsSingleFileAndIsDeterministic) {
  TempDir single, sharded, again;
  std::string a = generate(single, "tiny-e4b", DType::BF16);
  std::string b = generate(sharded, "tiny-e4b", DType::BF16, 100'000);
  std::string c = generate(again, "tiny-e4b", DType::BF16);
  EXPECT_EQ(readFile(a + "/model.safetensors"),
            readFile(c + "/model.safetensors"));
  EXPECT_TRUE(llvm::sys::fs::exists(b + "/model.safetensors.index.json"));
  EXPECT_FALSE(llvm::sys::fs::exists(b + "/model.safetensors"));
  auto one = Checkpoint::open(a);
  auto many = Checkpoint::open(b);
  ASSERT_TRUE(bool(one) && bool(many));
  EXPECT_GT((*many)->files().size(), 2u);
  auto tensorsA = (*one)->allTensors();
  auto tensorsB = (*many)->allTensors();
  ASSERT_EQ(tensorsA.size(), tensorsB.size());
  for (size_t i = 0; i < tensorsA.size(); ++i) {
    EXPECT_EQ(tensorsA[i].first, tensorsB[i].first);
    EXPECT_EQ(tensorsA[i].second.data(), tensorsB[i].second.data())
        << tensorsA[i].first;
  }
}

TEST(Generator, SeedChangesValues) {
  TempDir a, b;
  std::string first = generate(a, "tiny-31b", DType::F32, 0, false, 1);
  std::string second = generate(b, "tiny-31b", DType::F32, 0, false, 2);
  EXPECT_NE(readFile(first + "/model.safetensors"),
            readFile(second + "/model.safetensors"));
}

TEST(Generator, TextOnlyExportUsesModelPrefix) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::F32, 0, true);
  auto checkpoint = Checkpoint::open(path);
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  EXPECT_FALSE(bool((*checkpoint)->validateTensors()));
  auto norm = (*checkpoint)->lookup("norm.weight");
  ASSERT_TRUE(norm);
  EXPECT_EQ(norm->info->name, "model.norm.weight");
  EXPECT_EQ((*checkpoint)->config().modelType, "gemma4_text");
}

TEST(Generator, RefusesNonEmptyOutputAndLeavesNothingOnFailure) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16);
  GeneratorOptions options;
  options.preset = "tiny-e2b";
  options.outputDirectory = path;
  std::string ignored;
  llvm::raw_string_ostream progress(ignored);
  llvm::Error error = generateCheckpoint(options, progress);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("already exists"),
            std::string::npos);

  options.outputDirectory = dir.file("bad");
  options.overrides.vocabSize = 100; // too small for the tokenizer
  error = generateCheckpoint(options, progress);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("too small"),
            std::string::npos);
  EXPECT_FALSE(llvm::sys::fs::exists(dir.file("bad")));
  std::error_code ec;
  size_t entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir.file(""), ec), end;
       it != end && !ec; it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 1u); // only the first checkpoint: no partial leftovers
}

TEST(Generator, RealSizeShapesWithReducedWidth) {
  // The e2b preset's real head dims, windows and vocabulary, at a width and
  // depth small enough for a unit test.
  TempDir dir;
  GeneratorOptions options;
  options.preset = "e2b";
  options.overrides.hiddenSize = 64;
  options.overrides.numLayers = 5;
  options.overrides.numKvSharedLayers = 0;
  options.overrides.vocabSize = 1024;
  options.dtype = DType::BF16;
  auto checkpoint = Checkpoint::open(generate(dir, options));
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  EXPECT_FALSE(bool((*checkpoint)->validateTensors()));
  auto q = (*checkpoint)->lookup("layers.4.self_attn.q_proj.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->info->shape, (llvm::SmallVector<int64_t, 4>{4096, 64}));
}

//===----------------------------------------------------------------------===//
// Malformed checkpoint directories
//===----------------------------------------------------------------------===//

/// Writes a tiny-e2b checkpoint whose tensor list went through |mutate|.
std::string
writeMutated(const TempDir &dir,
             const std::function<void(std::vector<TensorToWrite> &)> &mutate) {
  std::string path = generate(dir, "tiny-e2b", DType::F32);
  auto checkpoint = Checkpoint::open(path);
  EXPECT_TRUE(bool(checkpoint));
  std::vector<TensorToWrite> tensors;
  for (const TensorSpec &spec : expectedTextTensors((*checkpoint)->config()))
    tensors.push_back(
        {"model.language_model." + spec.name, DType::F32, spec.shape});
  checkpoint->reset();
  mutate(tensors);
  llvm::Error error =
      writeSafeTensors(path + "/model.safetensors", tensors,
                       [](size_t, llvm::MutableArrayRef<uint8_t> bytes) {
                         std::fill(bytes.begin(), bytes.end(), 0);
                       });
  EXPECT_FALSE(bool(error));
  return path;
}

void writeText(const std::string &path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  ASSERT_FALSE(ec);
  out << text;
}

std::string checkpointError(const std::string &path) {
  auto checkpoint = Checkpoint::open(path);
  if (!checkpoint)
    return llvm::toString(checkpoint.takeError());
  llvm::Error error = (*checkpoint)->validateTensors();
  return error ? llvm::toString(std::move(error)) : "";
}

#define EXPECT_ERROR_CONTAINS(message, expected)                               \
  EXPECT_NE((message).find(expected), std::string::npos) << "got: " << (message)

TEST(BadCheckpoint, NotADirectory) {
  EXPECT_ERROR_CONTAINS(checkpointError("/nonexistent/ckpt"),
                        "/nonexistent/ckpt: not a checkpoint directory");
}

TEST(BadCheckpoint, MissingConfig) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16);
  llvm::sys::fs::remove(path + "/config.json");
  EXPECT_ERROR_CONTAINS(checkpointError(path), "config.json: missing");
}

TEST(BadCheckpoint, NoWeights) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16);
  llvm::sys::fs::remove(path + "/model.safetensors");
  EXPECT_ERROR_CONTAINS(checkpointError(path), "no model.safetensors and no "
                                               "model.safetensors.index.json");
}

TEST(BadCheckpoint, TruncatedWeights) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16);
  std::string bytes = readFile(path + "/model.safetensors");
  writeText(path + "/model.safetensors",
            llvm::StringRef(bytes).drop_back(1000));
  EXPECT_ERROR_CONTAINS(checkpointError(path), "the file is truncated");
}

TEST(BadCheckpoint, IndexNamesMissingShard) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  llvm::sys::fs::remove(path + "/model-00002-of-00016.safetensors");
  std::string message = checkpointError(path);
  EXPECT_ERROR_CONTAINS(message, "model.safetensors.index.json: shard "
                                 "'model-00002-of-00016.safetensors'");
  EXPECT_ERROR_CONTAINS(message, "does not exist");
}

TEST(BadCheckpoint, IndexListsTensorAbsentFromShard) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  std::string index = readFile(path + "/model.safetensors.index.json");
  size_t at = index.find("\"weight_map\": {");
  ASSERT_NE(at, std::string::npos);
  index.insert(at + 15, "\"model.language_model.ghost\": "
                        "\"model-00001-of-00016.safetensors\",");
  writeText(path + "/model.safetensors.index.json", index);
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "tensor 'model.language_model.ghost' is listed in "
                        "shard 'model-00001-of-00016.safetensors' but absent");
}

TEST(BadCheckpoint, ShardHoldsUnlistedTensor) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  std::string index = readFile(path + "/model.safetensors.index.json");
  size_t at = index.find("\"model.language_model.norm.weight\"");
  ASSERT_NE(at, std::string::npos);
  index.replace(at, 34, "\"model.language_model.elsewhere\"");
  writeText(path + "/model.safetensors.index.json", index);
  std::string message = checkpointError(path);
  EXPECT_ERROR_CONTAINS(message, "absent from it");
}

TEST(BadCheckpoint, IndexNotJson) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  writeText(path + "/model.safetensors.index.json", "{\"weight_map\": ");
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "model.safetensors.index.json: not valid JSON");
}

TEST(BadCheckpoint, IndexEscapesDirectory) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  writeText(path + "/model.safetensors.index.json",
            R"({"weight_map": {"a": "../model.safetensors"}})");
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "names shard '../model.safetensors' outside");
}

TEST(BadCheckpoint, IndexWithoutWeightMap) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16, 50'000);
  writeText(path + "/model.safetensors.index.json", R"({"metadata": {}})");
  EXPECT_ERROR_CONTAINS(checkpointError(path), "missing object 'weight_map'");
}

TEST(BadCheckpoint, BadConfigNamesTheFile) {
  TempDir dir;
  std::string path = generate(dir, "tiny-e2b", DType::BF16);
  writeText(path + "/config.json", "[]");
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "config.json: expected a JSON object");
}

TEST(BadCheckpoint, MissingTensor) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    llvm::erase_if(t, [](const TensorToWrite &tensor) {
      return tensor.name == "model.language_model.norm.weight";
    });
  });
  std::string message = checkpointError(path);
  EXPECT_ERROR_CONTAINS(message, "the tensors do not match config.json (1 "
                                 "problems)");
  EXPECT_ERROR_CONTAINS(message,
                        "missing tensor 'norm.weight' (expected [64])");
}

TEST(BadCheckpoint, UnusedSharedKvMayBeAbsent) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    llvm::erase_if(t, [](const TensorToWrite &tensor) {
      return tensor.name ==
             "model.language_model.layers.4.self_attn.k_proj.weight";
    });
  });
  EXPECT_EQ(checkpointError(path), "");
}

TEST(BadCheckpoint, WrongShape) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    for (TensorToWrite &tensor : t)
      if (tensor.name ==
          "model.language_model.layers.2.self_attn.q_proj.weight")
        tensor.shape = {32, 64};
  });
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "tensor 'model.language_model.layers.2.self_attn."
                        "q_proj.weight' has shape [32, 64], expected [64, 64]");
}

TEST(BadCheckpoint, WrongDType) {
  TempDir dir;
  std::string path = writeMutated(
      dir, [](std::vector<TensorToWrite> &t) { t[0].dtype = DType::I32; });
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "has dtype I32, expected BF16, F16 or F32");
}

TEST(BadCheckpoint, UnexpectedDecoderTensor) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    t.push_back({"model.language_model.layers.0.self_attn.v_norm.weight",
                 DType::F32,
                 {16}});
  });
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "unexpected tensor 'model.language_model.layers.0."
                        "self_attn.v_norm.weight'");
}

TEST(BadCheckpoint, ManyProblemsListedTogether) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    t.erase(t.begin() + 1, t.begin() + 3);
    t[0].shape = {1, 1};
  });
  EXPECT_ERROR_CONTAINS(checkpointError(path), "(3 problems)");
}

TEST(BadCheckpoint, SameTensorUnderBothPrefixes) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    t.push_back({"model.norm.weight", DType::F32, {64}});
  });
  EXPECT_ERROR_CONTAINS(checkpointError(path),
                        "tensor 'model.norm.weight' is also in");
}

TEST(BadCheckpoint, MultimodalTowersAreIgnored) {
  TempDir dir;
  std::string path = writeMutated(dir, [](std::vector<TensorToWrite> &t) {
    t.push_back({"model.vision_tower.patch_embedder.input_proj.weight",
                 DType::F32,
                 {8, 768}});
  });
  EXPECT_EQ(checkpointError(path), "");
}

} // namespace
