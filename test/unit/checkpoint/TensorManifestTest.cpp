//===- TensorManifestTest.cpp - expected tensors of each family -----------===//
//
// Part of g4c. The parameter counts of the real configurations must equal
// the architecture document's §1.4 figures (31B verified there against a
// real listing), and shapes must match §1.2.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/TensorManifest.h"
#include "compiler/Checkpoint/ModelConfig.h"
#include "compiler/Checkpoint/Presets.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <map>

using namespace g4c;

namespace {

ModelConfig parsePreset(llvm::StringRef preset) {
  llvm::Expected<llvm::json::Object> object =
      makePresetConfig(preset, {}, "bfloat16", false);
  EXPECT_TRUE(bool(object));
  llvm::Expected<ModelConfig> config = ModelConfig::parse(
      "config.json",
      llvm::formatv("{0}", llvm::json::Value(std::move(*object))).str());
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return std::move(*config);
}

std::map<std::string, TensorSpec> byName(const ModelConfig &config) {
  std::map<std::string, TensorSpec> specs;
  for (TensorSpec &spec : expectedTextTensors(config))
    specs[spec.name] = spec;
  return specs;
}

uint64_t countParameters(const ModelConfig &config, bool onlyPleTable) {
  uint64_t total = 0;
  for (const TensorSpec &spec : expectedTextTensors(config))
    if (!onlyPleTable || spec.role == TensorRole::PerLayerEmbeddingTable)
      total += spec.numElements();
  return total;
}

TEST(TensorManifest, RealParameterCountsMatchTheArchitectureDoc) {
  EXPECT_EQ(countParameters(parsePreset("e2b"), false), 4'647'449'891ull);
  EXPECT_EQ(countParameters(parsePreset("e2b"), true), 2'348'810'240ull);
  EXPECT_EQ(countParameters(parsePreset("e4b"), false), 7'518'069'034ull);
  EXPECT_EQ(countParameters(parsePreset("e4b"), true), 2'818'572'288ull);
  EXPECT_EQ(countParameters(parsePreset("moe-26b"), false), 25'233'141'790ull);
  EXPECT_EQ(countParameters(parsePreset("dense-31b"), false),
            30'697'345'340ull);
}

TEST(TensorManifest, ProjectionShapesMatchSection1_2) {
  auto e2b = byName(parsePreset("e2b"));
  using Shape = llvm::SmallVector<int64_t, 3>;
  EXPECT_EQ(e2b["layers.0.self_attn.q_proj.weight"].shape, Shape({2048, 1536}));
  EXPECT_EQ(e2b["layers.4.self_attn.q_proj.weight"].shape, Shape({4096, 1536}));
  EXPECT_EQ(e2b["layers.4.self_attn.k_proj.weight"].shape, Shape({512, 1536}));
  EXPECT_EQ(e2b["layers.4.self_attn.o_proj.weight"].shape, Shape({1536, 4096}));
  EXPECT_EQ(e2b["embed_tokens_per_layer.weight"].shape, Shape({262144, 8960}));
  EXPECT_EQ(e2b["layers.20.mlp.down_proj.weight"].shape, Shape({1536, 12288}));
  // KV-shared layers' k/v weights are listed (real checkpoints have them)
  // but marked unused; owners' are used.
  EXPECT_TRUE(e2b["layers.15.self_attn.k_proj.weight"].unused);
  EXPECT_TRUE(e2b["layers.15.self_attn.v_proj.weight"].unused);
  EXPECT_TRUE(e2b["layers.15.self_attn.k_norm.weight"].unused);
  EXPECT_FALSE(e2b["layers.15.self_attn.q_proj.weight"].unused);
  EXPECT_FALSE(e2b["layers.14.self_attn.k_proj.weight"].unused);

  auto moe = byName(parsePreset("moe-26b"));
  EXPECT_EQ(moe["layers.5.self_attn.k_proj.weight"].shape, Shape({1024, 2816}));
  EXPECT_EQ(moe.count("layers.5.self_attn.v_proj.weight"), 0u); // K=V
  EXPECT_EQ(moe["layers.0.self_attn.v_proj.weight"].shape, Shape({2048, 2816}));
  EXPECT_EQ(moe["layers.0.experts.gate_up_proj"].shape,
            Shape({128, 1408, 2816}));
  EXPECT_EQ(moe["layers.0.experts.down_proj"].shape, Shape({128, 2816, 704}));
  EXPECT_EQ(moe["layers.0.router.proj.weight"].shape, Shape({128, 2816}));
  EXPECT_EQ(moe.count("embed_tokens_per_layer.weight"), 0u);

  auto dense = byName(parsePreset("dense-31b"));
  EXPECT_EQ(dense["layers.5.self_attn.q_proj.weight"].shape,
            Shape({16384, 5376}));
  EXPECT_EQ(dense["layers.5.self_attn.k_proj.weight"].shape,
            Shape({2048, 5376}));
  EXPECT_EQ(dense["layers.0.self_attn.k_proj.weight"].shape,
            Shape({4096, 5376}));
  EXPECT_EQ(dense["layers.0.self_attn.o_proj.weight"].shape,
            Shape({5376, 8192}));
  size_t vProjections = 0;
  for (const auto &[name, spec] : dense)
    vProjections += llvm::StringRef(name).ends_with("v_proj.weight");
  EXPECT_EQ(vProjections, 50u); // §1.2: "verified: 50 v_proj tensors"
}

} // namespace
