//===- ReferenceModelTest.cpp - the golden forward pass -------------------===//
//
// Part of g4c. Tests designed to fail if a classic Gemma 4 porting bug were
// present in the reference: the two paths disagree, the sliding window
// leaks, KV-shared layers use their own k/v, consumers ignore their
// producer, proportional RoPE rotates everything, the layer scalar is
// dropped, the embedding scale is not rounded to the table's dtype. Where a
// following RMSNorm would hide a bug, the tests look at per-layer outputs.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "compiler/Reference/ReferenceSession.h"
#include "test/unit/TestCheckpoints.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

using namespace g4c;
using namespace g4c::reference;
using g4c::testing::generate;
using g4c::testing::TempDir;

namespace {

/// A generated checkpoint and a reference model over it.
struct Fixture {
  TempDir dir;
  std::unique_ptr<Checkpoint> checkpoint;
  std::unique_ptr<ReferenceModel> model;

  explicit Fixture(GeneratorOptions options) { load(generate(dir, options)); }
  Fixture(llvm::StringRef preset, DType dtype = DType::F32) {
    GeneratorOptions options;
    options.preset = preset.str();
    options.dtype = dtype;
    load(generate(dir, options));
  }
  void load(const std::string &path) {
    auto opened = Checkpoint::open(path);
    ASSERT_TRUE(bool(opened)) << llvm::toString(opened.takeError());
    checkpoint = std::move(*opened);
    auto created = ReferenceModel::create(*checkpoint);
    ASSERT_TRUE(bool(created)) << llvm::toString(created.takeError());
    model = std::move(*created);
  }
  int64_t vocab() const { return model->config().text.vocabSize; }
  int64_t hidden() const { return model->config().text.hiddenSize; }
};

std::vector<int64_t> someTokens(int64_t count, int64_t vocab) {
  std::vector<int64_t> tokens(count);
  for (int64_t i = 0; i < count; ++i)
    tokens[i] = (i * 37 + 11) % vocab;
  return tokens;
}

ForwardTrace traceOf(const ReferenceModel &model,
                     llvm::ArrayRef<int64_t> tokens) {
  ForwardTrace trace;
  auto logits = model.forward(tokens, &trace);
  EXPECT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
  return trace;
}

/// Row |row| of a [T, width] array.
std::vector<float> rowOf(const std::vector<float> &values, int64_t row,
                         int64_t width) {
  return {values.begin() + row * width, values.begin() + (row + 1) * width};
}

float maxAbsDifference(const std::vector<float> &a,
                       const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

//===----------------------------------------------------------------------===//
// The two paths agree
//===----------------------------------------------------------------------===//

class BothPaths : public ::testing::TestWithParam<const char *> {};

TEST_P(BothPaths, IncrementalMatchesWholeSequence) {
  Fixture fixture(GetParam());
  const int64_t window = fixture.model->config().text.slidingWindow;
  const int64_t T = 5 * window; // several windows: the rings wrap
  std::vector<int64_t> tokens = someTokens(T, fixture.vocab());
  auto whole = fixture.model->forward(tokens);
  ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
  for (int64_t chunk : {int64_t(1), int64_t(3), window + 3, T}) {
    SCOPED_TRACE(llvm::formatv("chunk {0}", chunk).str());
    auto session = ReferenceSession::create(*fixture.model, T);
    ASSERT_TRUE(bool(session));
    std::vector<float> incremental;
    for (int64_t start = 0; start < T; start += chunk) {
      auto part = (*session)->prefill(llvm::ArrayRef<int64_t>(tokens).slice(
          start, std::min(chunk, T - start)));
      ASSERT_TRUE(bool(part)) << llvm::toString(part.takeError());
      incremental.insert(incremental.end(), part->begin(), part->end());
    }
    EXPECT_LE(maxAbsDifference(*whole, incremental), 1e-5f);
  }
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, BothPaths,
                         ::testing::Values("tiny-e2b", "tiny-e4b", "tiny-moe",
                                           "tiny-31b"),
                         [](const auto &info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

//===----------------------------------------------------------------------===//
// Classic porting bugs
//===----------------------------------------------------------------------===//

TEST(Reference, SlidingWindowHidesTokensWOrMoreBack) {
  Fixture fixture("tiny-e2b"); // layer 0 is sliding, W = 4
  const int64_t W = fixture.model->config().text.slidingWindow,
                d = fixture.hidden();
  ASSERT_EQ(fixture.model->config().layers[0].kind, AttentionKind::Sliding);
  std::vector<int64_t> tokens = someTokens(12, fixture.vocab());
  ForwardTrace base = traceOf(*fixture.model, tokens);
  tokens[3] = (tokens[3] + 5) % fixture.vocab();
  ForwardTrace changed = traceOf(*fixture.model, tokens);
  // Position 3 + W sees positions 4..7 only: unchanged, bit for bit.
  EXPECT_EQ(rowOf(base.layerOutputs[0], 3 + W, d),
            rowOf(changed.layerOutputs[0], 3 + W, d));
  // Position 3 + W - 1 still sees position 3.
  EXPECT_GT(maxAbsDifference(rowOf(base.layerOutputs[0], 3 + W - 1, d),
                             rowOf(changed.layerOutputs[0], 3 + W - 1, d)),
            1e-4f);
  // A full layer sees everything before it.
  EXPECT_GT(maxAbsDifference(rowOf(base.layerOutputs[2], 11, d),
                             rowOf(changed.layerOutputs[2], 11, d)),
            1e-4f);
}

TEST(Reference, ConsumersReadTheirProducersKv) {
  Fixture fixture("tiny-e2b"); // layers 3, 4 read layer 1; layer 5 reads 2
  std::vector<int64_t> tokens = someTokens(10, fixture.vocab());
  ForwardTrace base = traceOf(*fixture.model, tokens);
  EXPECT_EQ(base.layerKeys[3], base.layerKeys[1]);
  EXPECT_EQ(base.layerValues[4], base.layerValues[1]);
  EXPECT_EQ(base.layerKeys[5], base.layerKeys[2]);
  EXPECT_NE(base.layerKeys[1], base.layerKeys[0]);

  std::vector<float> k =
      fixture.model->tensorValues("layers.1.self_attn.k_proj.weight");
  for (float &value : k)
    value *= -1.5f;
  ASSERT_FALSE(bool(
      fixture.model->overrideTensor("layers.1.self_attn.k_proj.weight", k)));
  ForwardTrace perturbed = traceOf(*fixture.model, tokens);
  EXPECT_NE(perturbed.layerKeys[3], base.layerKeys[3]);
  EXPECT_EQ(perturbed.layerKeys[3], perturbed.layerKeys[1]);
  EXPECT_EQ(perturbed.layerKeys[0], base.layerKeys[0]); // before layer 1
}

TEST(Reference, KvSharedLayersIgnoreTheirOwnKvWeights) {
  // Rewrite the checkpoint with the k/v/k_norm weights of the shared layers
  // (3, 4, 5) replaced by other values: nothing may change.
  Fixture fixture("tiny-e2b");
  std::vector<int64_t> tokens = someTokens(10, fixture.vocab());
  auto base = fixture.model->forward(tokens);
  ASSERT_TRUE(bool(base));

  TempDir other;
  std::string copy = other.file("ckpt");
  ASSERT_FALSE(llvm::sys::fs::create_directory(copy));
  for (const char *file : {"config.json", "tokenizer.json"})
    ASSERT_FALSE(llvm::sys::fs::copy_file(
        (fixture.checkpoint->directory() + "/" + file).str(),
        copy + "/" + file));
  std::vector<TensorToWrite> tensors;
  std::vector<std::pair<std::string, CheckpointTensor>> all =
      fixture.checkpoint->allTensors();
  for (const auto &[name, tensor] : all)
    tensors.push_back(
        {tensor.info->name, tensor.info->dtype,
         llvm::SmallVector<int64_t, 3>(tensor.info->shape.begin(),
                                       tensor.info->shape.end())});
  size_t perturbed = 0;
  llvm::Error error = writeSafeTensors(
      copy + "/model.safetensors", tensors,
      [&](size_t index, llvm::MutableArrayRef<uint8_t> bytes) {
        llvm::StringRef name = all[index].first;
        std::memcpy(bytes.data(), all[index].second.data().data(),
                    bytes.size());
        bool sharedKv =
            (name.starts_with("layers.3.") || name.starts_with("layers.4.") ||
             name.starts_with("layers.5.")) &&
            (name.contains("k_proj") || name.contains("v_proj") ||
             name.contains("k_norm"));
        if (!sharedKv)
          return;
        ++perturbed;
        for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
          float value;
          std::memcpy(&value, bytes.data() + i, 4);
          value = value * 3.0f + 0.5f;
          std::memcpy(bytes.data() + i, &value, 4);
        }
      });
  ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
  EXPECT_EQ(perturbed, 9u);
  auto copied = Checkpoint::open(copy);
  ASSERT_TRUE(bool(copied));
  auto model = ReferenceModel::create(**copied);
  ASSERT_TRUE(bool(model));
  auto logits = (*model)->forward(tokens);
  ASSERT_TRUE(bool(logits));
  EXPECT_EQ(*logits, *base);
}

TEST(Reference, ProportionalRopeZeroFrequenciesMatterOnFullLayersOnly) {
  Fixture fixture("tiny-e2b"); // layer 2 is full: 8 of 32 dims rotate
  std::vector<int64_t> tokens = someTokens(8, fixture.vocab());
  ForwardTrace base = traceOf(*fixture.model, tokens);
  fixture.model->bugs.ropeWithoutZeroFrequencies = true;
  ForwardTrace buggy = traceOf(*fixture.model, tokens);
  EXPECT_EQ(buggy.layerOutputs[0], base.layerOutputs[0]); // sliding
  EXPECT_EQ(buggy.layerOutputs[1], base.layerOutputs[1]); // sliding
  EXPECT_GT(maxAbsDifference(buggy.layerOutputs[2], base.layerOutputs[2]),
            1e-3f);
}

TEST(Reference, LayerScalarScalesTheWholeResidual) {
  Fixture fixture("tiny-31b");
  const int64_t L = fixture.model->config().text.numHiddenLayers;
  std::vector<int64_t> tokens = someTokens(6, fixture.vocab());
  ForwardTrace base = traceOf(*fixture.model, tokens);
  auto baseLogits = fixture.model->forward(tokens);
  ASSERT_TRUE(bool(baseLogits));

  // A middle layer's scalar changes its output exactly and the logits.
  std::vector<float> scalar =
      fixture.model->tensorValues("layers.1.layer_scalar");
  ASSERT_EQ(scalar.size(), 1u);
  ASSERT_FALSE(bool(
      fixture.model->overrideTensor("layers.1.layer_scalar", {scalar[0] * 2})));
  ForwardTrace doubled = traceOf(*fixture.model, tokens);
  for (size_t i = 0; i < base.layerOutputs[1].size(); ++i)
    ASSERT_NEAR(doubled.layerOutputs[1][i], 2 * base.layerOutputs[1][i],
                1e-6f * (1 + std::fabs(base.layerOutputs[1][i])));
  auto middleLogits = fixture.model->forward(tokens);
  EXPECT_GT(maxAbsDifference(*middleLogits, *baseLogits), 1e-3f);

  // The last layer's scalar is hidden by the final RMSNorm: only the layer
  // output shows it. (Why intermediate values are tested.)
  ASSERT_FALSE(
      bool(fixture.model->overrideTensor("layers.1.layer_scalar", scalar)));
  std::string last = llvm::formatv("layers.{0}.layer_scalar", L - 1);
  std::vector<float> lastScalar = fixture.model->tensorValues(last);
  ASSERT_FALSE(bool(fixture.model->overrideTensor(last, {lastScalar[0] * 2})));
  ForwardTrace lastDoubled = traceOf(*fixture.model, tokens);
  EXPECT_GT(maxAbsDifference(lastDoubled.layerOutputs[L - 1],
                             base.layerOutputs[L - 1]),
            1e-2f);
  auto lastLogits = fixture.model->forward(tokens);
  EXPECT_LT(maxAbsDifference(*lastLogits, *baseLogits), 1e-4f);
}

TEST(Reference, MoeUsesOnlyTheTopKExperts) {
  // With a zero router every expert ties; top-k takes the lowest indices
  // (0 and 1 of 8 here). An expert outside the top k must not matter at
  // all; one inside must.
  Fixture fixture("tiny-moe");
  const TextConfig &t = fixture.model->config().text;
  ASSERT_EQ(t.topKExperts, 2);
  const std::string router = "layers.0.router.proj.weight";
  ASSERT_FALSE(bool(fixture.model->overrideTensor(
      router,
      std::vector<float>(fixture.model->tensorValues(router).size(), 0.0f))));
  std::vector<int64_t> tokens = someTokens(6, fixture.vocab());
  ForwardTrace base = traceOf(*fixture.model, tokens);

  const std::string gateUp = "layers.0.experts.gate_up_proj";
  const std::vector<float> original = fixture.model->tensorValues(gateUp);
  const size_t perExpert = original.size() / size_t(t.numExperts);
  auto perturbExpert = [&](int64_t expert) {
    std::vector<float> values = original;
    for (size_t i = expert * perExpert; i < (expert + 1) * perExpert; ++i)
      values[i] *= 3.0f;
    EXPECT_FALSE(bool(fixture.model->overrideTensor(gateUp, values)));
    return traceOf(*fixture.model, tokens);
  };
  EXPECT_EQ(perturbExpert(7).layerOutputs[0], base.layerOutputs[0]);
  EXPECT_GT(
      maxAbsDifference(perturbExpert(1).layerOutputs[0], base.layerOutputs[0]),
      1e-4f);
}

TEST(Reference, EmbeddingScaleIsRoundedToTheTableDType) {
  for (DType dtype : {DType::BF16, DType::F32}) {
    GeneratorOptions options;
    options.preset = "tiny-31b";
    options.dtype = dtype;
    options.overrides.hiddenSize = 40; // sqrt(40) = 6.3245..., bf16: 6.3125
    Fixture fixture(options);
    std::vector<int64_t> tokens = {5, 9};
    ForwardTrace trace = traceOf(*fixture.model, tokens);
    std::vector<float> table =
        fixture.model->tensorValues("embed_tokens.weight");
    float scale = dtype == DType::BF16 ? 6.3125f : std::sqrt(40.0f);
    for (int64_t i = 0; i < 40; ++i)
      ASSERT_EQ(trace.embeddings[40 + i], table[9 * 40 + i] * scale)
          << dtypeName(dtype).str() << " " << i;
  }
}

TEST(Reference, RandomCheckpointsGiveFiniteVariedLogits) {
  for (const char *preset : {"tiny-e2b", "tiny-e4b", "tiny-moe", "tiny-31b"}) {
    SCOPED_TRACE(preset);
    Fixture fixture(preset, DType::BF16);
    const int64_t V = fixture.vocab(), T = 16;
    std::vector<int64_t> tokens = someTokens(T, V);
    auto logits = fixture.model->forward(tokens);
    ASSERT_TRUE(bool(logits));
    int64_t predictsItself = 0;
    std::set<int64_t> predictions;
    for (int64_t p = 0; p < T; ++p) {
      std::vector<float> row = rowOf(*logits, p, V);
      double mean = std::accumulate(row.begin(), row.end(), 0.0) / V, var = 0;
      for (float value : row) {
        ASSERT_TRUE(std::isfinite(value));
        var += (value - mean) * (value - mean) / V;
      }
      EXPECT_GT(std::sqrt(var), 0.1);
      int64_t best = std::max_element(row.begin(), row.end()) - row.begin();
      predictsItself += best == tokens[p];
      predictions.insert(best);
    }
    EXPECT_LT(predictsItself, T / 2);
    EXPECT_GT(predictions.size(), 1u);
  }
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(Reference, RejectsTokensOutsideTheVocabulary) {
  Fixture fixture("tiny-e2b");
  auto logits = fixture.model->forward({1, 512});
  ASSERT_FALSE(bool(logits));
  EXPECT_EQ(llvm::toString(logits.takeError()),
            "token 512 at position 1 is outside the vocabulary [0, 512)");
  auto session = ReferenceSession::create(*fixture.model, 4);
  ASSERT_TRUE(bool(session));
  auto negative = (*session)->decode(-1);
  ASSERT_FALSE(bool(negative));
  llvm::consumeError(negative.takeError());
}

TEST(Reference, RejectsSequencesBeyondTheContext) {
  Fixture fixture("tiny-e2b"); // max_position_embeddings 4096
  auto tooLong = ReferenceSession::create(*fixture.model, 4097);
  ASSERT_FALSE(bool(tooLong));
  EXPECT_NE(llvm::toString(tooLong.takeError())
                .find("context of 4097 positions is outside [1, "
                      "max_position_embeddings = 4096]"),
            std::string::npos);
  auto session = ReferenceSession::create(*fixture.model, 3);
  ASSERT_TRUE(bool(session));
  ASSERT_TRUE(bool((*session)->prefill({1, 2})));
  auto overflow = (*session)->prefill({3, 4});
  ASSERT_FALSE(bool(overflow));
  EXPECT_EQ(llvm::toString(overflow.takeError()),
            "2 tokens at position 2 do not fit the context of 3 positions");
  (*session)->reset();
  EXPECT_TRUE(bool((*session)->prefill({3, 4, 5})));
}

} // namespace
