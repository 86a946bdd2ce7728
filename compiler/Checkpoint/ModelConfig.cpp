//===- ModelConfig.cpp - Gemma 4 config.json model ------------------------===//
//
// Part of g4c. This file implements parsing config.json with llvm::json,
// validating it, and deriving the per-layer facts (KV owner by the Hugging
// Face rule: the last layer of the same attention type before the first
// KV-shared layer).
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/ModelConfig.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

namespace g4c {

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

StringRef attentionKindName(AttentionKind kind) {
  return kind == AttentionKind::Sliding ? "sliding_attention"
                                        : "full_attention";
}

namespace {

/// Reads typed fields of one JSON object; errors name the file and the
/// field's path ("config.json: text_config.hidden_size: ...").
class FieldReader {
public:
  FieldReader(StringRef path, std::string section, const json::Object &object)
      : path(path), section(std::move(section)), object(object) {}

  Error fail(StringRef field, const llvm::Twine &message) const {
    std::string where =
        section.empty() ? field.str() : section + "." + field.str();
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        (path + ": " + where + ": " + message).str());
  }

  bool has(StringRef field) const {
    const json::Value *value = object.get(field);
    return value && value->kind() != json::Value::Null;
  }

  /// An integer field; |required| fields must be present and non-null.
  Error readInt(StringRef field, int64_t &out, bool required) const {
    const json::Value *value = object.get(field);
    if (!value || value->kind() == json::Value::Null)
      return required ? fail(field, "missing required integer field")
                      : Error::success();
    std::optional<int64_t> number = value->getAsInteger();
    if (!number)
      return fail(field, "expected an integer");
    out = *number;
    return Error::success();
  }
  Error readInt(StringRef field, std::optional<int64_t> &out) const {
    if (!has(field))
      return Error::success();
    int64_t number = 0;
    if (Error error = readInt(field, number, true))
      return error;
    out = number;
    return Error::success();
  }
  Error readPositive(StringRef field, int64_t &out) const {
    if (Error error = readInt(field, out, true))
      return error;
    if (out <= 0)
      return fail(field,
                  llvm::formatv("expected a positive integer, got {0}", out));
    return Error::success();
  }
  Error readDouble(StringRef field, double &out) const {
    if (!has(field))
      return Error::success();
    std::optional<double> number = object.get(field)->getAsNumber();
    if (!number)
      return fail(field, "expected a number");
    out = *number;
    return Error::success();
  }
  Error readDouble(StringRef field, std::optional<double> &out) const {
    if (!has(field))
      return Error::success();
    double number = 0;
    if (Error error = readDouble(field, number))
      return error;
    out = number;
    return Error::success();
  }
  Error readBool(StringRef field, bool &out) const {
    if (!has(field))
      return Error::success();
    std::optional<bool> flag = object.get(field)->getAsBoolean();
    if (!flag)
      return fail(field, "expected true or false");
    out = *flag;
    return Error::success();
  }
  Error readString(StringRef field, std::string &out) const {
    if (!has(field))
      return Error::success();
    std::optional<StringRef> text = object.get(field)->getAsString();
    if (!text)
      return fail(field, "expected a string");
    out = text->str();
    return Error::success();
  }
  /// An integer or a list of integers (eos_token_id).
  Error readIntList(StringRef field, std::vector<int64_t> &out) const {
    if (!has(field))
      return Error::success();
    const json::Value *value = object.get(field);
    if (std::optional<int64_t> single = value->getAsInteger()) {
      out = {*single};
      return Error::success();
    }
    const json::Array *list = value->getAsArray();
    if (!list)
      return fail(field, "expected an integer or a list of integers");
    out.clear();
    for (const json::Value &item : *list) {
      std::optional<int64_t> id = item.getAsInteger();
      if (!id)
        return fail(field, "expected a list of integers");
      out.push_back(*id);
    }
    return Error::success();
  }
  const json::Object *getObject(StringRef field) const {
    return object.getObject(field);
  }
  const json::Object &raw() const { return object; }
  StringRef filePath() const { return path; }
  const std::string &sectionName() const { return section; }

private:
  StringRef path;
  std::string section;
  const json::Object &object;
};

Error parseRope(const FieldReader &parent, StringRef kindName,
                RopeParameters &rope) {
  const json::Object *ropes = parent.getObject("rope_parameters");
  if (!ropes)
    return parent.fail("rope_parameters", "missing required object");
  const json::Object *params = ropes->getObject(kindName);
  if (!params)
    return parent.fail("rope_parameters",
                       "missing required object '" + kindName + "'");
  FieldReader reader(
      parent.filePath(),
      parent.sectionName() + ".rope_parameters." + kindName.str(), *params);
  if (Error error = reader.readString("rope_type", rope.ropeType))
    return error;
  if (rope.ropeType != "default" && rope.ropeType != "proportional")
    return reader.fail("rope_type", "unsupported rope_type '" + rope.ropeType +
                                        "' (expected default or proportional)");
  if (!reader.has("rope_theta"))
    return reader.fail("rope_theta", "missing required number");
  if (Error error = reader.readDouble("rope_theta", rope.theta))
    return error;
  if (!(rope.theta > 0))
    return reader.fail("rope_theta",
                       llvm::formatv("expected > 0, got {0}", rope.theta));
  if (Error error =
          reader.readDouble("partial_rotary_factor", rope.partialRotaryFactor))
    return error;
  if (!(rope.partialRotaryFactor > 0 && rope.partialRotaryFactor <= 1))
    return reader.fail("partial_rotary_factor",
                       llvm::formatv("expected a value in (0, 1], got {0}",
                                     rope.partialRotaryFactor));
  if (Error error = reader.readDouble("factor", rope.factor))
    return error;
  if (!(rope.factor > 0))
    return reader.fail("factor",
                       llvm::formatv("expected > 0, got {0}", rope.factor));
  return Error::success();
}

Error parseTextConfig(const FieldReader &r, TextConfig &t) {
  for (auto [field, slot] :
       {std::pair<StringRef, int64_t *>{"vocab_size", &t.vocabSize},
        {"hidden_size", &t.hiddenSize},
        {"intermediate_size", &t.intermediateSize},
        {"num_hidden_layers", &t.numHiddenLayers},
        {"num_attention_heads", &t.numAttentionHeads},
        {"num_key_value_heads", &t.numKeyValueHeads},
        {"head_dim", &t.headDim}})
    if (Error error = r.readPositive(field, *slot))
      return error;
  t.globalHeadDim = t.headDim;
  t.vocabSizePerLayerInput = t.vocabSize;
  t.maxPositionEmbeddings = 0;
  if (Error error = r.readInt("global_head_dim", t.globalHeadDim, false))
    return error;
  if (Error error =
          r.readInt("num_global_key_value_heads", t.numGlobalKeyValueHeads))
    return error;
  if (Error error = r.readInt("sliding_window", t.slidingWindow, false))
    return error;
  if (Error error =
          r.readInt("max_position_embeddings", t.maxPositionEmbeddings, false))
    return error;
  if (Error error = r.readInt("hidden_size_per_layer_input",
                              t.hiddenSizePerLayerInput, false))
    return error;
  if (Error error = r.readInt("vocab_size_per_layer_input",
                              t.vocabSizePerLayerInput, false))
    return error;
  if (Error error =
          r.readInt("num_kv_shared_layers", t.numKvSharedLayers, false))
    return error;
  if (Error error = r.readInt("num_experts", t.numExperts, false))
    return error;
  if (Error error = r.readInt("top_k_experts", t.topKExperts, false))
    return error;
  // Early converted configs call the expert width expert_intermediate_size.
  if (Error error =
          r.readInt("expert_intermediate_size", t.moeIntermediateSize, false))
    return error;
  if (Error error =
          r.readInt("moe_intermediate_size", t.moeIntermediateSize, false))
    return error;
  if (Error error = r.readInt("pad_token_id", t.padTokenId, false))
    return error;
  if (Error error = r.readInt("bos_token_id", t.bosTokenId, false))
    return error;
  if (Error error = r.readIntList("eos_token_id", t.eosTokenIds))
    return error;
  for (auto [field, slot] :
       {std::pair<StringRef, bool *>{"attention_k_eq_v", &t.attentionKEqV},
        {"attention_bias", &t.attentionBias},
        {"use_double_wide_mlp", &t.useDoubleWideMlp},
        {"enable_moe_block", &t.enableMoeBlock},
        {"tie_word_embeddings", &t.tieWordEmbeddings},
        {"use_cache", &t.useCache}})
    if (Error error = r.readBool(field, *slot))
      return error;
  if (Error error = r.readDouble("rms_norm_eps", t.rmsNormEps))
    return error;
  if (Error error = r.readDouble("attention_dropout", t.attentionDropout))
    return error;
  if (Error error = r.readDouble("initializer_range", t.initializerRange))
    return error;
  if (Error error =
          r.readDouble("final_logit_softcapping", t.finalLogitSoftcapping))
    return error;
  if (Error error = r.readString("hidden_activation", t.hiddenActivation))
    return error;
  if (Error error = r.readString("dtype", t.dtype))
    return error;
  if (r.has("use_bidirectional_attention")) {
    std::string mode;
    if (Error error = r.readString("use_bidirectional_attention", mode))
      return error;
    t.useBidirectionalAttention = mode;
  }

  // layer_types is required: HF's default pattern (5:1) is wrong for E2B.
  const json::Value *types = r.raw().get("layer_types");
  if (!types || !types->getAsArray())
    return r.fail("layer_types", "missing required list of attention types");
  for (const json::Value &item : *types->getAsArray()) {
    std::optional<StringRef> name = item.getAsString();
    if (name && *name == "sliding_attention")
      t.layerTypes.push_back(AttentionKind::Sliding);
    else if (name && *name == "full_attention")
      t.layerTypes.push_back(AttentionKind::Full);
    else
      return r.fail("layer_types",
                    "expected \"sliding_attention\" or \"full_attention\"");
  }
  bool anySliding = llvm::is_contained(t.layerTypes, AttentionKind::Sliding);
  bool anyFull = llvm::is_contained(t.layerTypes, AttentionKind::Full);
  if (anySliding)
    if (Error error = parseRope(r, "sliding_attention", t.slidingRope))
      return error;
  if (anyFull)
    if (Error error = parseRope(r, "full_attention", t.fullRope))
      return error;
  return Error::success();
}

/// No real dimension comes near this; larger values would overflow the
/// products later stages compute (shapes, byte counts).
constexpr int64_t kMaxDimension = int64_t(1) << 24;

/// Checks the cross-field invariants every later stage relies on.
Error validateTextConfig(const FieldReader &r, const TextConfig &t) {
  for (auto [field, value] :
       {std::pair<StringRef, int64_t>{"vocab_size", t.vocabSize},
        {"hidden_size", t.hiddenSize},
        {"intermediate_size", t.intermediateSize},
        {"num_hidden_layers", t.numHiddenLayers},
        {"num_attention_heads", t.numAttentionHeads},
        {"num_key_value_heads", t.numKeyValueHeads},
        {"num_global_key_value_heads", t.numGlobalKeyValueHeads.value_or(1)},
        {"head_dim", t.headDim},
        {"global_head_dim", t.globalHeadDim},
        {"sliding_window", t.slidingWindow},
        {"max_position_embeddings", t.maxPositionEmbeddings},
        {"hidden_size_per_layer_input", t.hiddenSizePerLayerInput},
        {"vocab_size_per_layer_input", t.vocabSizePerLayerInput},
        {"num_experts", t.numExperts},
        {"top_k_experts", t.topKExperts},
        {"moe_intermediate_size", t.moeIntermediateSize}})
    if (value > kMaxDimension)
      return r.fail(field, llvm::formatv("{0} is larger than any Gemma 4 "
                                         "dimension (limit {1})",
                                         value, kMaxDimension));
  if (int64_t(t.layerTypes.size()) != t.numHiddenLayers)
    return r.fail("layer_types",
                  llvm::formatv("has {0} entries but num_hidden_layers is {1}",
                                t.layerTypes.size(), t.numHiddenLayers));
  if (t.globalHeadDim <= 0)
    return r.fail("global_head_dim", llvm::formatv("expected a positive "
                                                   "integer, got {0}",
                                                   t.globalHeadDim));
  if (t.numGlobalKeyValueHeads && *t.numGlobalKeyValueHeads <= 0)
    return r.fail("num_global_key_value_heads",
                  llvm::formatv("expected a positive integer, got {0}",
                                *t.numGlobalKeyValueHeads));
  if (llvm::is_contained(t.layerTypes, AttentionKind::Sliding) &&
      t.slidingWindow <= 0)
    return r.fail("sliding_window",
                  llvm::formatv("expected a positive window for sliding "
                                "layers, got {0}",
                                t.slidingWindow));
  if (t.numKvSharedLayers < 0 || t.numKvSharedLayers >= t.numHiddenLayers)
    return r.fail("num_kv_shared_layers",
                  llvm::formatv("expected a value in [0, {0}), got {1}",
                                t.numHiddenLayers, t.numKvSharedLayers));
  if (t.hiddenSizePerLayerInput < 0)
    return r.fail(
        "hidden_size_per_layer_input",
        llvm::formatv("expected >= 0, got {0}", t.hiddenSizePerLayerInput));
  if (t.hiddenSizePerLayerInput > 0 && t.vocabSizePerLayerInput <= 0)
    return r.fail("vocab_size_per_layer_input",
                  llvm::formatv("expected a positive integer, got {0}",
                                t.vocabSizePerLayerInput));
  if (t.enableMoeBlock) {
    if (t.numExperts <= 0)
      return r.fail("num_experts", llvm::formatv("expected a positive integer "
                                                 "with enable_moe_block, got "
                                                 "{0}",
                                                 t.numExperts));
    if (t.topKExperts <= 0 || t.topKExperts > t.numExperts)
      return r.fail("top_k_experts",
                    llvm::formatv("expected a value in [1, {0}], got {1}",
                                  t.numExperts, t.topKExperts));
    if (t.moeIntermediateSize <= 0)
      return r.fail("moe_intermediate_size",
                    llvm::formatv("expected a positive integer with "
                                  "enable_moe_block, got {0}",
                                  t.moeIntermediateSize));
  }
  if (!(t.rmsNormEps > 0))
    return r.fail("rms_norm_eps",
                  llvm::formatv("expected > 0, got {0}", t.rmsNormEps));
  if (t.finalLogitSoftcapping && !(*t.finalLogitSoftcapping > 0))
    return r.fail("final_logit_softcapping",
                  llvm::formatv("expected > 0 or null, got {0}",
                                *t.finalLogitSoftcapping));
  if (t.hiddenActivation != "gelu_pytorch_tanh")
    return r.fail("hidden_activation",
                  "unsupported activation '" + t.hiddenActivation +
                      "' (Gemma 4 uses gelu_pytorch_tanh)");
  if (t.attentionBias)
    return r.fail("attention_bias",
                  "attention biases are not part of Gemma 4 (expected false)");
  if (!t.tieWordEmbeddings)
    return r.fail("tie_word_embeddings",
                  "untied LM heads are not part of Gemma 4 (expected true)");
  return Error::success();
}

/// Derives LayerFacts for every layer; fails if a KV-shared layer has no
/// producer of its attention type.
Error deriveLayerFacts(const FieldReader &r, ModelConfig &config) {
  const TextConfig &t = config.text;
  int64_t first = config.firstKvSharedLayer();
  for (int64_t i = 0; i < t.numHiddenLayers; ++i) {
    LayerFacts facts;
    facts.index = i;
    facts.kind = t.layerTypes[i];
    bool full = facts.kind == AttentionKind::Full;
    facts.headDim = full ? t.globalHeadDim : t.headDim;
    facts.numQueryHeads = t.numAttentionHeads;
    facts.kEqV = full && t.attentionKEqV;
    facts.numKvHeads =
        facts.kEqV ? t.numGlobalKeyValueHeads.value_or(t.numKeyValueHeads)
                   : t.numKeyValueHeads;
    if (facts.numQueryHeads % facts.numKvHeads != 0)
      return r.fail("num_attention_heads",
                    llvm::formatv("{0} query heads are not a multiple of the "
                                  "{1} KV heads of layer {2}",
                                  facts.numQueryHeads, facts.numKvHeads, i));
    facts.kvOwner = i;
    if (i >= first) {
      facts.kvOwner = -1;
      for (int64_t j = first - 1; j >= 0; --j)
        if (t.layerTypes[j] == facts.kind) {
          facts.kvOwner = j;
          break;
        }
      if (facts.kvOwner < 0)
        return r.fail("num_kv_shared_layers",
                      llvm::formatv("layer {0} ({1}) is KV-shared but no "
                                    "earlier layer of that type owns a KV "
                                    "cache",
                                    i, attentionKindName(facts.kind)));
    }
    facts.mlpWidth = t.intermediateSize;
    if (t.useDoubleWideMlp && i >= first)
      facts.mlpWidth *= 2;
    facts.hasMoe = t.enableMoeBlock;
    const RopeParameters &rope = full ? t.fullRope : t.slidingRope;
    facts.ropeTheta = rope.theta;
    facts.rotaryDims =
        2 * int64_t(std::floor(rope.partialRotaryFactor * facts.headDim / 2));
    config.layers.push_back(facts);
  }
  return Error::success();
}

std::optional<EncoderConfig> parseEncoder(const json::Object &top,
                                          StringRef field) {
  const json::Object *section = top.getObject(field);
  if (!section)
    return std::nullopt;
  EncoderConfig encoder;
  encoder.raw = *section;
  if (std::optional<StringRef> type = section->getString("model_type"))
    encoder.modelType = type->str();
  encoder.hiddenSize = section->getInteger("hidden_size").value_or(0);
  encoder.numHiddenLayers =
      section->getInteger("num_hidden_layers").value_or(0);
  return encoder;
}

} // namespace

Expected<ModelConfig> ModelConfig::parse(StringRef path, StringRef text) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (path + ": " + message).str());
  };
  Expected<json::Value> json = json::parse(text);
  if (!json)
    return fail("not valid JSON: " + toString(json.takeError()));
  const json::Object *top = json->getAsObject();
  if (!top)
    return fail("expected a JSON object at the top level");

  ModelConfig config;
  FieldReader topReader(path, "", *top);
  if (Error error = topReader.readString("model_type", config.modelType))
    return std::move(error);
  if (const json::Array *names = top->getArray("architectures"))
    for (const json::Value &name : *names)
      if (std::optional<StringRef> text = name.getAsString())
        config.architectures.push_back(text->str());

  // Gemma4ForConditionalGeneration nests the decoder in text_config; a
  // text-only export (model_type gemma4_text) is the decoder config itself.
  const json::Object *textObject = top->getObject("text_config");
  std::string section = "text_config";
  if (!textObject) {
    if (config.modelType != "gemma4_text")
      return fail("no 'text_config' object (and model_type is not "
                  "\"gemma4_text\"); is this a Gemma 4 config.json?");
    textObject = top;
    section = "";
  }
  FieldReader textReader(path, section, *textObject);
  if (Error error = parseTextConfig(textReader, config.text))
    return std::move(error);
  if (Error error = validateTextConfig(textReader, config.text))
    return std::move(error);
  if (Error error = deriveLayerFacts(textReader, config))
    return std::move(error);

  MultimodalTokenIds &ids = config.multimodal;
  for (auto [field, slot] :
       {std::pair<StringRef, std::optional<int64_t> *>{"image_token_id",
                                                       &ids.imageTokenId},
        {"video_token_id", &ids.videoTokenId},
        {"audio_token_id", &ids.audioTokenId},
        {"boi_token_id", &ids.boiTokenId},
        {"eoi_token_id", &ids.eoiTokenId},
        {"boa_token_id", &ids.boaTokenId},
        {"eoa_token_id", &ids.eoaTokenId},
        {"vision_soft_tokens_per_image", &ids.visionSoftTokensPerImage}})
    if (Error error = topReader.readInt(field, *slot))
      return std::move(error);
  if (textObject != top && topReader.has("eos_token_id"))
    if (Error error =
            topReader.readIntList("eos_token_id", config.text.eosTokenIds))
      return std::move(error);
  config.vision = parseEncoder(*top, "vision_config");
  config.audio = parseEncoder(*top, "audio_config");
  return std::move(config);
}

Expected<ModelConfig> ModelConfig::load(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "%s: cannot read: %s",
                                   path.str().c_str(),
                                   buffer.getError().message().c_str());
  return parse(path, (*buffer)->getBuffer());
}

std::string ModelConfig::familyName() const {
  if (text.enableMoeBlock)
    return "moe (26B-A4B family: experts + dense MLP)";
  if (hasPerLayerInputs())
    return text.numKvSharedLayers > 0
               ? "e2b/e4b (per-layer embeddings, KV sharing)"
               : "e2b/e4b (per-layer embeddings)";
  return "dense (31B family)";
}

} // namespace g4c
