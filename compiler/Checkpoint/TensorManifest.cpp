//===- TensorManifest.cpp - the tensors a Gemma 4 config implies ----------===//
//
// Part of g4c. This file implements expectedTextTensors from §3.1 of the
// architecture document (names and HF [out, in] shapes).
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/TensorManifest.h"

#include "llvm/Support/FormatVariadic.h"

namespace g4c {

uint64_t TensorSpec::numElements() const {
  uint64_t count = 1;
  for (int64_t dim : shape)
    count *= uint64_t(dim);
  return count;
}

std::vector<TensorSpec> expectedTextTensors(const ModelConfig &config) {
  const TextConfig &t = config.text;
  const int64_t d = t.hiddenSize;
  const int64_t P = t.hiddenSizePerLayerInput;
  const int64_t L = t.numHiddenLayers;
  using Init = TensorSpec::Init;
  std::vector<TensorSpec> specs;
  auto add = [&](std::string name, llvm::ArrayRef<int64_t> shape,
                 TensorRole role, Init init = Init::Matrix, int64_t layer = -1,
                 bool unused = false) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.shape.assign(shape.begin(), shape.end());
    spec.role = role;
    spec.init = init;
    spec.layer = layer;
    spec.unused = unused;
    specs.push_back(std::move(spec));
  };

  add("embed_tokens.weight", {t.vocabSize, d}, TensorRole::Embedding);
  if (P > 0) {
    add("embed_tokens_per_layer.weight", {t.vocabSizePerLayerInput, L * P},
        TensorRole::PerLayerEmbeddingTable);
    specs.back().fanIn = P; // each layer's P-wide slice is one embedding
    add("per_layer_model_projection.weight", {L * P, d}, TensorRole::Global);
    add("per_layer_projection_norm.weight", {P}, TensorRole::Global,
        Init::NormScale);
  }
  add("norm.weight", {d}, TensorRole::Global, Init::NormScale);

  for (const LayerFacts &layer : config.layers) {
    const int64_t i = layer.index;
    auto name = [&](llvm::StringRef suffix) {
      return llvm::formatv("layers.{0}.{1}", i, suffix).str();
    };
    auto addLayer = [&](llvm::StringRef suffix, llvm::ArrayRef<int64_t> shape,
                        Init init = Init::Matrix, bool unused = false) {
      add(name(suffix), shape, TensorRole::Layer, init, i, unused);
    };
    const int64_t hd = layer.headDim;
    const int64_t qDim = layer.numQueryHeads * hd;
    const int64_t kvDim = layer.numKvHeads * hd;
    const bool shared = !layer.ownsKv();

    addLayer("input_layernorm.weight", {d}, Init::NormScale);
    addLayer("self_attn.q_proj.weight", {qDim, d});
    addLayer("self_attn.k_proj.weight", {kvDim, d}, Init::Matrix, shared);
    if (!layer.kEqV)
      addLayer("self_attn.v_proj.weight", {kvDim, d}, Init::Matrix, shared);
    addLayer("self_attn.o_proj.weight", {d, qDim});
    addLayer("self_attn.q_norm.weight", {hd}, Init::QkNormScale);
    addLayer("self_attn.k_norm.weight", {hd}, Init::QkNormScale, shared);
    addLayer("post_attention_layernorm.weight", {d}, Init::NormScale);
    addLayer("pre_feedforward_layernorm.weight", {d}, Init::NormScale);
    addLayer("mlp.gate_proj.weight", {layer.mlpWidth, d});
    addLayer("mlp.up_proj.weight", {layer.mlpWidth, d});
    addLayer("mlp.down_proj.weight", {d, layer.mlpWidth});
    addLayer("post_feedforward_layernorm.weight", {d}, Init::NormScale);
    addLayer("layer_scalar", {1}, Init::LayerScalar);
    if (P > 0) {
      addLayer("per_layer_input_gate.weight", {P, d});
      addLayer("per_layer_projection.weight", {d, P});
      addLayer("post_per_layer_input_norm.weight", {d}, Init::NormScale);
    }
    if (layer.hasMoe) {
      const int64_t E = t.numExperts, I = t.moeIntermediateSize;
      addLayer("router.proj.weight", {E, d});
      addLayer("router.scale", {d}, Init::NormScale);
      addLayer("router.per_expert_scale", {E}, Init::Positive);
      addLayer("experts.gate_up_proj", {E, 2 * I, d});
      addLayer("experts.down_proj", {E, d, I});
      addLayer("pre_feedforward_layernorm_2.weight", {d}, Init::NormScale);
      addLayer("post_feedforward_layernorm_1.weight", {d}, Init::NormScale);
      addLayer("post_feedforward_layernorm_2.weight", {d}, Init::NormScale);
    }
  }
  return specs;
}

} // namespace g4c
