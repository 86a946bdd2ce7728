//===- ModelConfigTest.cpp - config.json parsing and derived facts --------===//
//
// Part of g4c. Derived per-layer facts checked against the architecture
// document's tables (§1.1–1.3) for the real configs, plus one test per
// validation error.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/ModelConfig.h"
#include "compiler/Checkpoint/Presets.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

using namespace g4c;
namespace json = llvm::json;

namespace {

json::Object presetJson(llvm::StringRef preset, bool textOnly = false) {
  llvm::Expected<json::Object> object =
      makePresetConfig(preset, {}, "bfloat16", textOnly);
  EXPECT_TRUE(bool(object)) << llvm::toString(object.takeError());
  return std::move(*object);
}

llvm::Expected<ModelConfig> parseJson(const json::Object &object) {
  return ModelConfig::parse(
      "config.json",
      llvm::formatv("{0}", json::Value(json::Object(object))).str());
}

ModelConfig parsePreset(llvm::StringRef preset) {
  llvm::Expected<ModelConfig> config = parseJson(presetJson(preset));
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return std::move(*config);
}

TEST(ModelConfig, E2BKvSharingAndDoubleWideMlp) {
  ModelConfig config = parsePreset("e2b");
  ASSERT_EQ(config.layers.size(), 35u);
  EXPECT_EQ(config.firstKvSharedLayer(), 15);
  for (const LayerFacts &layer : config.layers) {
    bool full = layer.index % 5 == 4; // 4, 9, 14, ..., 34
    EXPECT_EQ(layer.kind == AttentionKind::Full, full) << layer.index;
    EXPECT_EQ(layer.headDim, full ? 512 : 256);
    EXPECT_EQ(layer.numKvHeads, 1);
    EXPECT_FALSE(layer.kEqV);
    // §1.3: sliding 15-33 read layer 13, full 19..34 read layer 14.
    int64_t owner = layer.index < 15 ? layer.index : full ? 14 : 13;
    EXPECT_EQ(layer.kvOwner, owner) << layer.index;
    EXPECT_EQ(layer.mlpWidth, layer.index < 15 ? 6144 : 12288);
    // §2.7: proportional RoPE rotates 64 pairs of the 512 global dims.
    EXPECT_EQ(layer.rotaryDims, full ? 128 : 256);
    EXPECT_EQ(layer.ropeTheta, full ? 1e6 : 1e4);
  }
}

TEST(ModelConfig, E4BKvOwners) {
  ModelConfig config = parsePreset("e4b");
  ASSERT_EQ(config.layers.size(), 42u);
  for (const LayerFacts &layer : config.layers) {
    bool full = layer.index % 6 == 5;
    int64_t owner = layer.index < 24 ? layer.index : full ? 23 : 22;
    EXPECT_EQ(layer.kvOwner, owner) << layer.index;
    EXPECT_EQ(layer.numKvHeads, 2);
    EXPECT_EQ(layer.mlpWidth, 10240); // no double-wide MLP on E4B
  }
}

TEST(ModelConfig, MoeAndDenseKEqV) {
  ModelConfig moe = parsePreset("moe-26b");
  EXPECT_TRUE(moe.text.enableMoeBlock);
  EXPECT_EQ(moe.text.numExperts, 128);
  EXPECT_EQ(moe.text.topKExperts, 8);
  EXPECT_EQ(moe.text.moeIntermediateSize, 704);
  EXPECT_EQ(moe.layers[5].numKvHeads, 2); // global: own KV head count
  EXPECT_TRUE(moe.layers[5].kEqV);
  EXPECT_EQ(moe.layers[4].numKvHeads, 8);
  EXPECT_FALSE(moe.layers[4].kEqV);
  ModelConfig dense = parsePreset("dense-31b");
  EXPECT_EQ(dense.layers[59].numKvHeads, 4);
  EXPECT_EQ(dense.layers[58].numKvHeads, 16);
  EXPECT_TRUE(dense.layers[59].kEqV);
  EXPECT_FALSE(dense.text.enableMoeBlock);
}

TEST(ModelConfig, ReadsBothExpertWidthNames) {
  json::Object top = presetJson("tiny-moe");
  json::Object &text = *top.getObject("text_config");
  text.erase("moe_intermediate_size");
  text["expert_intermediate_size"] = 40;
  llvm::Expected<ModelConfig> config = parseJson(top);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->text.moeIntermediateSize, 40);
}

TEST(ModelConfig, TopLevelFieldsAndEncoders) {
  json::Object top = presetJson("e2b");
  top["vision_config"] = json::Object{{"model_type", "gemma4_vision"},
                                      {"hidden_size", 768},
                                      {"num_hidden_layers", 16}};
  llvm::Expected<ModelConfig> config = parseJson(top);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->multimodal.imageTokenId, 258880);
  EXPECT_EQ(config->multimodal.boaTokenId, 256000);
  EXPECT_EQ(config->multimodal.visionSoftTokensPerImage, 280);
  EXPECT_EQ(config->text.eosTokenIds, (std::vector<int64_t>{1, 106}));
  ASSERT_TRUE(config->vision);
  EXPECT_EQ(config->vision->hiddenSize, 768);
  EXPECT_EQ(config->vision->numHiddenLayers, 16);
  EXPECT_FALSE(config->audio); // null
  EXPECT_EQ(config->text.finalLogitSoftcapping, 30.0);
}

TEST(ModelConfig, TextOnlyConfig) {
  llvm::Expected<ModelConfig> config = parseJson(presetJson("tiny-e2b", true));
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->modelType, "gemma4_text");
  EXPECT_EQ(config->layers.size(), 6u);
}

/// A config mutation and the error it must produce.
struct BadConfigCase {
  const char *name;
  std::function<void(json::Object &text, json::Object &top)> mutate;
  const char *expectedError;
};

void PrintTo(const BadConfigCase &badCase, std::ostream *os) {
  *os << badCase.name;
}

class BadConfig : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfig, IsRejectedWithItsMessage) {
  json::Object top = presetJson("tiny-e2b");
  GetParam().mutate(*top.getObject("text_config"), top);
  llvm::Expected<ModelConfig> config = parseJson(top);
  ASSERT_FALSE(bool(config)) << GetParam().name;
  std::string message = llvm::toString(config.takeError());
  EXPECT_NE(message.find(GetParam().expectedError), std::string::npos)
      << "got: " << message;
  EXPECT_EQ(message.rfind("config.json: ", 0), 0u) << message;
}

const BadConfigCase kBadConfigs[] = {
    {"missing_hidden_size",
     [](json::Object &t, json::Object &) { t.erase("hidden_size"); },
     "text_config.hidden_size: missing required integer field"},
    {"negative_heads",
     [](json::Object &t, json::Object &) { t["num_attention_heads"] = -2; },
     "text_config.num_attention_heads: expected a positive integer, got -2"},
    {"string_vocab",
     [](json::Object &t, json::Object &) { t["vocab_size"] = "big"; },
     "text_config.vocab_size: expected an integer"},
    {"layer_types_length",
     [](json::Object &t, json::Object &) { t["num_hidden_layers"] = 7; },
     "layer_types: has 6 entries but num_hidden_layers is 7"},
    {"bad_layer_type",
     [](json::Object &t, json::Object &) {
       t["layer_types"] = json::Array{"local"};
     },
     "expected \"sliding_attention\" or \"full_attention\""},
    {"no_layer_types",
     [](json::Object &t, json::Object &) { t.erase("layer_types"); },
     "layer_types: missing required list"},
    {"heads_not_divisible",
     [](json::Object &t, json::Object &) { t["num_key_value_heads"] = 3; },
     "2 query heads are not a multiple of the 3 KV heads of layer 0"},
    {"zero_window",
     [](json::Object &t, json::Object &) { t["sliding_window"] = 0; },
     "sliding_window: expected a positive window for sliding layers, got 0"},
    {"all_layers_shared",
     [](json::Object &t, json::Object &) { t["num_kv_shared_layers"] = 6; },
     "num_kv_shared_layers: expected a value in [0, 6), got 6"},
    {"no_kv_producer",
     [](json::Object &t, json::Object &) {
       t["layer_types"] = json::Array{"sliding_attention", "sliding_attention",
                                      "sliding_attention", "full_attention",
                                      "sliding_attention", "full_attention"};
     },
     "layer 3 (full_attention) is KV-shared but no earlier layer of that type"},
    {"moe_top_k",
     [](json::Object &t, json::Object &) {
       t["enable_moe_block"] = true;
       t["num_experts"] = 4;
       t["top_k_experts"] = 5;
       t["moe_intermediate_size"] = 8;
     },
     "top_k_experts: expected a value in [1, 4], got 5"},
    {"moe_without_experts",
     [](json::Object &t, json::Object &) { t["enable_moe_block"] = true; },
     "num_experts: expected a positive integer with enable_moe_block"},
    {"rope_missing",
     [](json::Object &t, json::Object &) { t.erase("rope_parameters"); },
     "rope_parameters: missing required object"},
    {"rope_bad_factor",
     [](json::Object &t, json::Object &) {
       (*t.getObject("rope_parameters")
             ->getObject("full_attention"))["partial_rotary_factor"] = 1.5;
     },
     "rope_parameters.full_attention.partial_rotary_factor: expected a value "
     "in (0, 1], got 1.5"},
    {"rope_type",
     [](json::Object &t, json::Object &) {
       (*t.getObject("rope_parameters")
             ->getObject("sliding_attention"))["rope_type"] = "yarn";
     },
     "unsupported rope_type 'yarn'"},
    {"activation",
     [](json::Object &t, json::Object &) { t["hidden_activation"] = "silu"; },
     "unsupported activation 'silu'"},
    {"untied",
     [](json::Object &t, json::Object &) { t["tie_word_embeddings"] = false; },
     "untied LM heads are not part of Gemma 4"},
    {"bias",
     [](json::Object &t, json::Object &) { t["attention_bias"] = true; },
     "attention biases are not part of Gemma 4"},
    {"softcap_negative",
     [](json::Object &t, json::Object &) {
       t["final_logit_softcapping"] = -1.0;
     },
     "final_logit_softcapping: expected > 0 or null, got -1"},
    {"eps_zero",
     [](json::Object &t, json::Object &) { t["rms_norm_eps"] = 0.0; },
     "rms_norm_eps: expected > 0, got 0"},
    {"bool_as_string",
     [](json::Object &t, json::Object &) { t["use_double_wide_mlp"] = "yes"; },
     "use_double_wide_mlp: expected true or false"},
    {"absurd_dimension",
     [](json::Object &t, json::Object &) {
       t["hidden_size_per_layer_input"] = int64_t(1) << 40;
     },
     "hidden_size_per_layer_input: 1099511627776 is larger than any Gemma 4 "
     "dimension"},
    {"no_text_config",
     [](json::Object &, json::Object &top) { top.erase("text_config"); },
     "no 'text_config' object"},
};

INSTANTIATE_TEST_SUITE_P(
    ModelConfig, BadConfig, ::testing::ValuesIn(kBadConfigs),
    [](const ::testing::TestParamInfo<BadConfigCase> &info) {
      return std::string(info.param.name);
    });

TEST(ModelConfig, NotJson) {
  llvm::Expected<ModelConfig> config = ModelConfig::parse("c.json", "{\"a\": ");
  ASSERT_FALSE(bool(config));
  EXPECT_NE(llvm::toString(config.takeError()).find("c.json: not valid JSON"),
            std::string::npos);
}

} // namespace
