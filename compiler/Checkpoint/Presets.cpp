//===- Presets.cpp - config.json presets of every Gemma 4 family ----------===//
//
// Part of g4c. This file implements the presets. Real sizes come from §1.1
// of the architecture document; the tiny presets keep every feature of their
// family at dimensions small enough for exhaustive tests:
//   tiny-e2b  PLE, 1 KV head, KV-shared sliding and full layers, double-wide
//             MLP on the shared layers, a 4-token window
//   tiny-e4b  PLE, 2 KV heads, KV sharing, no double-wide MLP
//   tiny-moe  experts + dense MLP in every layer, K=V full layers with their
//             own KV head count
//   tiny-31b  dense, K=V full layers with their own KV head count
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/Presets.h"
#include "compiler/Support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace g4c {

namespace json = llvm::json;

namespace {

struct Preset {
  llvm::StringRef name;
  int64_t vocab, hidden, intermediate, layers, heads, kvHeads;
  std::optional<int64_t> globalKvHeads;
  int64_t headDim, globalHeadDim, window;
  llvm::StringRef pattern; ///< repeats to fill the layers
  int64_t perLayerInput, kvShared;
  bool kEqV, doubleWide;
  int64_t experts, topK, expertWidth;
  int64_t maxPositions;
  bool realSize;
};

// clang-format off
const Preset kPresets[] = {
  // name       vocab   d     I      L   Hq  Hkv  gHkv  hd  ghd  W     pattern   P  shared kEqV   2xMLP  E    k  Iexp maxpos   real
  {"tiny-e2b",  512,    64,   128,   6,  2,  1,  {},   16, 32,  4,    "ssf",    16, 3,   false, true,  0,   0, 0,   4096,   false},
  {"tiny-e4b",  512,    64,   96,    8,  4,  2,  {},   16, 32,  4,    "sssf",   16, 3,   false, false, 0,   0, 0,   4096,   false},
  {"tiny-moe",  512,    64,   48,    4,  4,  2,  1,    16, 32,  4,    "ssf",    0,  0,   true,  false, 8,   2, 32,  4096,   false},
  {"tiny-31b",  512,    64,   128,   4,  4,  2,  1,    16, 32,  4,    "ssf",    0,  0,   true,  false, 0,   0, 0,   4096,   false},
  {"e2b",       262144, 1536, 6144,  35, 8,  1,  {},   256, 512, 512, "ssssf",  256, 20, false, true,  0,   0, 0,   131072, true},
  {"e4b",       262144, 2560, 10240, 42, 8,  2,  {},   256, 512, 512, "sssssf", 256, 18, false, false, 0,   0, 0,   131072, true},
  {"moe-26b",   262144, 2816, 2112,  30, 16, 8,  2,    256, 512, 1024,"sssssf", 0,   0,  true,  false, 128, 8, 704, 262144, true},
  {"dense-31b", 262144, 5376, 21504, 60, 32, 16, 4,    256, 512, 1024,"sssssf", 0,   0,  true,  false, 0,   0, 0,   262144, true},
};
// clang-format on

} // namespace

llvm::ArrayRef<llvm::StringRef> presetNames() {
  static const llvm::StringRef names[] = {"tiny-e2b", "tiny-e4b", "tiny-moe",
                                          "tiny-31b", "e2b",      "e4b",
                                          "moe-26b",  "dense-31b"};
  return names;
}

llvm::Expected<json::Object> makePresetConfig(llvm::StringRef presetName,
                                              const PresetOverrides &overrides,
                                              llvm::StringRef dtypeName,
                                              bool textOnly) {
  const Preset *found = nullptr;
  for (const Preset &preset : kPresets)
    if (preset.name == presetName)
      found = &preset;
  if (!found)
    return makeError("unknown preset '" + presetName + "' (expected one of " +
                     llvm::join(presetNames(), ", ") + ")");
  Preset p = *found;

  if (overrides.numLayers) {
    if (*overrides.numLayers <= 0)
      return makeError(llvm::formatv("--layers must be positive, got {0}",
                                     *overrides.numLayers));
    // Keep the preset's share of KV-shared layers.
    p.kvShared = int64_t(std::lround(
        double(p.kvShared) * double(*overrides.numLayers) / double(p.layers)));
    p.layers = *overrides.numLayers;
  }
  if (overrides.hiddenSize)
    p.hidden = *overrides.hiddenSize;
  if (overrides.vocabSize)
    p.vocab = *overrides.vocabSize;
  if (overrides.slidingWindow)
    p.window = *overrides.slidingWindow;
  if (overrides.numKvSharedLayers)
    p.kvShared = *overrides.numKvSharedLayers;
  std::string pattern = p.pattern.str();
  if (overrides.layerPattern) {
    pattern = *overrides.layerPattern;
    if (pattern.empty() || pattern.find_first_not_of("sf") != std::string::npos)
      return makeError("--layer-pattern must be a string of 's' (sliding) "
                       "and 'f' (full), got '" +
                       pattern + "'");
  }

  json::Array layerTypes;
  for (int64_t i = 0; i < p.layers; ++i)
    layerTypes.push_back(pattern[i % pattern.size()] == 's'
                             ? "sliding_attention"
                             : "full_attention");

  json::Object text{
      {"model_type", "gemma4_text"},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"attention_k_eq_v", p.kEqV},
      {"bos_token_id", 2},
      {"dtype", dtypeName},
      {"enable_moe_block", p.experts > 0},
      {"eos_token_id", 1},
      {"final_logit_softcapping", 30.0},
      {"global_head_dim", p.globalHeadDim},
      {"head_dim", p.headDim},
      {"hidden_activation", "gelu_pytorch_tanh"},
      {"hidden_size", p.hidden},
      {"hidden_size_per_layer_input", p.perLayerInput},
      {"initializer_range", 0.02},
      {"intermediate_size", p.intermediate},
      {"layer_types", std::move(layerTypes)},
      {"max_position_embeddings", p.maxPositions},
      {"num_attention_heads", p.heads},
      {"num_experts", p.experts > 0 ? json::Value(p.experts) : nullptr},
      {"num_global_key_value_heads",
       p.globalKvHeads ? json::Value(*p.globalKvHeads) : nullptr},
      {"num_hidden_layers", p.layers},
      {"num_key_value_heads", p.kvHeads},
      {"num_kv_shared_layers", p.kvShared},
      {"pad_token_id", 0},
      {"rms_norm_eps", 1e-6},
      {"rope_parameters",
       json::Object{
           {"full_attention", json::Object{{"partial_rotary_factor", 0.25},
                                           {"rope_theta", 1000000.0},
                                           {"rope_type", "proportional"}}},
           {"sliding_attention",
            json::Object{{"rope_theta", 10000.0}, {"rope_type", "default"}}}}},
      {"sliding_window", p.window},
      {"tie_word_embeddings", true},
      {"top_k_experts", p.experts > 0 ? json::Value(p.topK) : nullptr},
      {"moe_intermediate_size",
       p.experts > 0 ? json::Value(p.expertWidth) : nullptr},
      {"use_bidirectional_attention",
       p.experts > 0 || p.kEqV ? json::Value("vision") : nullptr},
      {"use_cache", true},
      {"use_double_wide_mlp", p.doubleWide},
      {"vocab_size", p.vocab},
      {"vocab_size_per_layer_input", p.vocab},
  };
  if (textOnly) {
    text["architectures"] = json::Array{"Gemma4ForCausalLM"};
    return std::move(text);
  }
  json::Object top{
      {"architectures", json::Array{"Gemma4ForConditionalGeneration"}},
      {"model_type", "gemma4"},
      {"dtype", dtypeName},
      {"eos_token_id", json::Array{1, 106}},
      {"initializer_range", 0.02},
      {"tie_word_embeddings", true},
      {"text_config", std::move(text)},
      {"vision_config", nullptr},
      {"audio_config", nullptr},
  };
  if (p.realSize) {
    // Multimodal token ids only make sense with the real vocabulary.
    top["audio_token_id"] = 258881;
    top["boa_token_id"] = 256000;
    top["boi_token_id"] = 255999;
    top["eoa_token_id"] = 258883;
    top["eoi_token_id"] = 258882;
    top["image_token_id"] = 258880;
    top["video_token_id"] = 258884;
    top["vision_soft_tokens_per_image"] = 280;
  }
  return std::move(top);
}

} // namespace g4c
