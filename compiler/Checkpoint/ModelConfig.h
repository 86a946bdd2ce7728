//===- ModelConfig.h - Gemma 4 config.json model ----------------*- C++ -*-===//
//
// Part of g4c. Every text_config field of a Gemma 4 config.json, the
// top-level multimodal token ids, the vision/audio sections (kept for later
// use), and the per-layer facts derived from them once (attention kind, head
// dim, KV heads, KV owner layer, MLP width, K=V).
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_MODELCONFIG_H
#define G4C_CHECKPOINT_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace g4c {

enum class AttentionKind { Sliding, Full };

/// "sliding_attention" / "full_attention".
llvm::StringRef attentionKindName(AttentionKind kind);

/// rope_parameters for one attention kind.
struct RopeParameters {
  std::string ropeType = "default"; ///< "default" or "proportional"
  double theta = 10000.0;
  double partialRotaryFactor = 1.0;
  double factor = 1.0; ///< divides inv_freq when present (released: none)
};

/// The text decoder's config.json fields (§3.2 of the architecture doc).
struct TextConfig {
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numHiddenLayers = 0;
  int64_t numAttentionHeads = 0;
  int64_t numKeyValueHeads = 0;
  std::optional<int64_t> numGlobalKeyValueHeads;
  int64_t headDim = 0;
  int64_t globalHeadDim = 0;
  bool attentionKEqV = false;
  bool attentionBias = false;
  double attentionDropout = 0.0;
  int64_t slidingWindow = 0;
  std::vector<AttentionKind> layerTypes;
  RopeParameters slidingRope;
  RopeParameters fullRope;
  int64_t maxPositionEmbeddings = 0;
  double rmsNormEps = 1e-6;
  std::optional<double> finalLogitSoftcapping;
  std::string hiddenActivation = "gelu_pytorch_tanh";
  int64_t hiddenSizePerLayerInput = 0;
  int64_t vocabSizePerLayerInput = 0;
  int64_t numKvSharedLayers = 0;
  bool useDoubleWideMlp = false;
  bool enableMoeBlock = false;
  int64_t numExperts = 0;
  int64_t topKExperts = 0;
  int64_t moeIntermediateSize = 0; ///< also read as expert_intermediate_size
  bool tieWordEmbeddings = true;
  std::optional<std::string> useBidirectionalAttention;
  bool useCache = true;
  double initializerRange = 0.02;
  std::string dtype;
  int64_t padTokenId = 0;
  int64_t bosTokenId = 2;
  std::vector<int64_t> eosTokenIds;
};

/// Top-level multimodal token ids (absent in text-only configs).
struct MultimodalTokenIds {
  std::optional<int64_t> imageTokenId, videoTokenId, audioTokenId;
  std::optional<int64_t> boiTokenId, eoiTokenId, boaTokenId, eoaTokenId;
  std::optional<int64_t> visionSoftTokensPerImage;
};

/// A vision or audio encoder section: recognised and kept for later issues.
struct EncoderConfig {
  std::string modelType;
  int64_t hiddenSize = 0;
  int64_t numHiddenLayers = 0;
  llvm::json::Object raw;
};

/// Facts about decoder layer i, derived once from the config.
struct LayerFacts {
  AttentionKind kind;
  int64_t headDim;
  int64_t numQueryHeads;
  int64_t numKvHeads;
  /// The layer whose K/V this layer reads: itself unless KV-shared.
  int64_t kvOwner;
  bool ownsKv() const { return kvOwner == index; }
  bool kEqV; ///< V is computed from the K projection (no v_proj)
  int64_t mlpWidth;
  bool hasMoe;
  double ropeTheta;
  int64_t rotaryDims; ///< dims rotated (pairs: rotaryDims/2 frequencies)
  int64_t index;
};

/// A parsed, validated config.json with derived per-layer facts.
struct ModelConfig {
  std::string modelType;
  std::vector<std::string> architectures;
  TextConfig text;
  MultimodalTokenIds multimodal;
  std::optional<EncoderConfig> vision;
  std::optional<EncoderConfig> audio;
  std::vector<LayerFacts> layers;

  /// Parses and validates config.json text; |path| names it in errors.
  static llvm::Expected<ModelConfig> parse(llvm::StringRef path,
                                           llvm::StringRef json);
  /// Reads and parses the file at |path|.
  static llvm::Expected<ModelConfig> load(llvm::StringRef path);

  bool hasPerLayerInputs() const { return text.hiddenSizePerLayerInput > 0; }
  /// First KV-shared layer: num_hidden_layers - num_kv_shared_layers.
  int64_t firstKvSharedLayer() const {
    return text.numHiddenLayers - text.numKvSharedLayers;
  }
  /// A short family name: "e2b/e4b (PLE, KV sharing)", "moe", "dense".
  std::string familyName() const;
};

} // namespace g4c

#endif // G4C_CHECKPOINT_MODELCONFIG_H
