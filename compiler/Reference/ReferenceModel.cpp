//===- ReferenceModel.cpp - the golden Gemma 4 text forward pass ----------===//
//
// Part of g4c. This file implements the reference decoder: weight binding,
// the per-position building blocks of §2 (embedding, PLE, attention,
// dense MLP, MoE, per-layer input injection, layer scalar, final logits),
// and the whole-sequence forward pass with explicit masks.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceModel.h"
#include "compiler/Support/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace g4c::reference {

using llvm::ArrayRef;
using llvm::Error;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

Matrix ReferenceModel::lookup(const Checkpoint &checkpoint,
                              llvm::StringRef name, Error &error) {
  std::optional<CheckpointTensor> tensor = checkpoint.lookup(name);
  if (!tensor) {
    if (!error)
      error =
          makeError(checkpoint.directory() + ": missing tensor '" + name + "'");
    return {};
  }
  Matrix matrix;
  matrix.data = tensor->data().data();
  matrix.dtype = tensor->info->dtype;
  const auto &shape = tensor->info->shape;
  matrix.cols = shape.empty() ? 1 : shape.back();
  matrix.rows =
      matrix.cols ? int64_t(tensor->info->numElements()) / matrix.cols : 0;
  return matrix;
}

Error ReferenceModel::bind(const Checkpoint &checkpoint) {
  const TextConfig &t = modelConfig.text;
  Error error = Error::success();
  auto bindTensor = [&](Matrix &slot, const std::string &name) {
    slot = lookup(checkpoint, name, error);
    matricesByName[name] = &slot;
  };
  bindTensor(embedTokens, "embed_tokens.weight");
  bindTensor(finalNorm, "norm.weight");
  // HF: sqrt(d) as a Python float, cast to the embedding table's dtype.
  embedScale =
      roundToDType(float(std::sqrt(double(t.hiddenSize))), embedTokens.dtype);
  if (modelConfig.hasPerLayerInputs()) {
    bindTensor(embedTokensPerLayer, "embed_tokens_per_layer.weight");
    bindTensor(perLayerModelProjection, "per_layer_model_projection.weight");
    bindTensor(perLayerProjectionNorm, "per_layer_projection_norm.weight");
    perLayerEmbedScale =
        roundToDType(float(std::sqrt(double(t.hiddenSizePerLayerInput))),
                     embedTokensPerLayer.dtype);
  }
  layerWeights.resize(modelConfig.layers.size());
  for (const LayerFacts &facts : modelConfig.layers) {
    LayerWeights &w = layerWeights[facts.index];
    auto bindLayer = [&](Matrix &slot, llvm::StringRef suffix) {
      bindTensor(slot, llvm::formatv("layers.{0}.{1}", facts.index, suffix));
    };
    bindLayer(w.inputNorm, "input_layernorm.weight");
    bindLayer(w.qProj, "self_attn.q_proj.weight");
    bindLayer(w.oProj, "self_attn.o_proj.weight");
    bindLayer(w.qNorm, "self_attn.q_norm.weight");
    if (facts.ownsKv()) {
      bindLayer(w.kProj, "self_attn.k_proj.weight");
      bindLayer(w.kNorm, "self_attn.k_norm.weight");
      if (!facts.kEqV)
        bindLayer(w.vProj, "self_attn.v_proj.weight");
    }
    bindLayer(w.postAttentionNorm, "post_attention_layernorm.weight");
    bindLayer(w.preFeedforwardNorm, "pre_feedforward_layernorm.weight");
    bindLayer(w.postFeedforwardNorm, "post_feedforward_layernorm.weight");
    bindLayer(w.gateProj, "mlp.gate_proj.weight");
    bindLayer(w.upProj, "mlp.up_proj.weight");
    bindLayer(w.downProj, "mlp.down_proj.weight");
    bindLayer(w.layerScalar, "layer_scalar");
    if (modelConfig.hasPerLayerInputs()) {
      bindLayer(w.perLayerInputGate, "per_layer_input_gate.weight");
      bindLayer(w.perLayerProjection, "per_layer_projection.weight");
      bindLayer(w.postPerLayerInputNorm, "post_per_layer_input_norm.weight");
    }
    if (facts.hasMoe) {
      bindLayer(w.routerProj, "router.proj.weight");
      bindLayer(w.routerScale, "router.scale");
      bindLayer(w.routerPerExpertScale, "router.per_expert_scale");
      bindLayer(w.expertsGateUp, "experts.gate_up_proj");
      bindLayer(w.expertsDown, "experts.down_proj");
      bindLayer(w.preFeedforwardNorm2, "pre_feedforward_layernorm_2.weight");
      bindLayer(w.postFeedforwardNorm1, "post_feedforward_layernorm_1.weight");
      bindLayer(w.postFeedforwardNorm2, "post_feedforward_layernorm_2.weight");
    }
    const RopeParameters &rope =
        facts.kind == AttentionKind::Full ? t.fullRope : t.slidingRope;
    ropeFrequencies.push_back(ropeInverseFrequencies(
        facts.headDim, facts.rotaryDims, facts.ropeTheta, rope.factor));
    ropeFrequenciesAllRotated.push_back(ropeInverseFrequencies(
        facts.headDim, facts.headDim, facts.ropeTheta, rope.factor));
  }
  return error;
}

llvm::Expected<std::unique_ptr<ReferenceModel>>
ReferenceModel::create(const Checkpoint &checkpoint) {
  if (Error error = checkpoint.validateTensors())
    return std::move(error);
  std::unique_ptr<ReferenceModel> model(new ReferenceModel());
  model->modelConfig = checkpoint.config();
  if (Error error = model->bind(checkpoint))
    return std::move(error);
  return std::move(model);
}

Error ReferenceModel::overrideTensor(llvm::StringRef name,
                                     std::vector<float> values) {
  auto it = matricesByName.find(name);
  if (it == matricesByName.end())
    return makeError("no tensor '" + name + "' in the reference model");
  Matrix &matrix = *it->second;
  if (int64_t(values.size()) != matrix.rows * matrix.cols)
    return makeError(llvm::formatv("tensor '{0}' has {1} elements, got {2}",
                                   name, matrix.rows * matrix.cols,
                                   values.size()));
  std::vector<float> &stored = overrides[name];
  stored = std::move(values);
  matrix.owned = stored.data();
  return Error::success();
}

std::vector<float> ReferenceModel::tensorValues(llvm::StringRef name) const {
  auto it = matricesByName.find(name);
  if (it == matricesByName.end())
    return {};
  const Matrix &matrix = *it->second;
  std::vector<float> values(size_t(matrix.rows * matrix.cols));
  for (int64_t r = 0; r < matrix.rows; ++r)
    for (int64_t c = 0; c < matrix.cols; ++c)
      values[r * matrix.cols + c] = matrix.at(r, c);
  return values;
}

const std::vector<double> &ReferenceModel::rope(int64_t layer) const {
  bool allRotated = bugs.ropeWithoutZeroFrequencies &&
                    modelConfig.layers[layer].kind == AttentionKind::Full;
  return allRotated ? ropeFrequenciesAllRotated[layer] : ropeFrequencies[layer];
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

int64_t ReferenceModel::kvWidth(int64_t layer) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  return facts.numKvHeads * facts.headDim;
}

int64_t ReferenceModel::queryWidth(int64_t layer) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  return facts.numQueryHeads * facts.headDim;
}

Error ReferenceModel::checkTokens(ArrayRef<int64_t> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= modelConfig.text.vocabSize)
      return makeError(llvm::formatv("token {0} at position {1} is outside "
                                     "the vocabulary [0, {2})",
                                     tokens[i], i, modelConfig.text.vocabSize));
  return Error::success();
}

void ReferenceModel::embed(int64_t token, float *h0) const {
  for (int64_t i = 0; i < embedTokens.cols; ++i)
    h0[i] = embedTokens.at(token, i) * embedScale;
}

void ReferenceModel::perLayerInputs(int64_t token, ArrayRef<float> h0,
                                    float *out) const {
  const TextConfig &t = modelConfig.text;
  const int64_t L = t.numHiddenLayers, P = t.hiddenSizePerLayerInput;
  // Multimodal placeholders read the PLE row of the pad token.
  const MultimodalTokenIds &ids = modelConfig.multimodal;
  int64_t pleToken = token;
  for (const std::optional<int64_t> &placeholder :
       {ids.imageTokenId, ids.videoTokenId, ids.audioTokenId})
    if (placeholder && *placeholder == token)
      pleToken = t.padTokenId;
  if (pleToken >= embedTokensPerLayer.rows)
    pleToken = t.padTokenId;

  std::vector<float> context(size_t(L * P));
  linear(h0, perLayerModelProjection, context.data());
  const double projectionScale = 1.0 / std::sqrt(double(t.hiddenSize));
  for (int64_t i = 0; i < L; ++i) {
    float *slice = context.data() + i * P;
    for (int64_t j = 0; j < P; ++j)
      slice[j] = float(slice[j] * projectionScale);
    rmsNorm(slice, P, &perLayerProjectionNorm, t.rmsNormEps);
    for (int64_t j = 0; j < P; ++j) {
      double tokenPart = double(embedTokensPerLayer.at(pleToken, i * P + j)) *
                         perLayerEmbedScale;
      out[i * P + j] = float((slice[j] + tokenPart) * std::sqrt(0.5));
    }
  }
}

void ReferenceModel::attentionInput(int64_t layer, ArrayRef<float> x,
                                    float *a) const {
  std::copy(x.begin(), x.end(), a);
  rmsNorm(a, int64_t(x.size()), &layerWeights[layer].inputNorm,
          modelConfig.text.rmsNormEps);
}

void ReferenceModel::query(int64_t layer, ArrayRef<float> a, int64_t position,
                           float *q) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  const LayerWeights &w = layerWeights[layer];
  linear(a, w.qProj, q);
  for (int64_t h = 0; h < facts.numQueryHeads; ++h) {
    float *head = q + h * facts.headDim;
    rmsNorm(head, facts.headDim, &w.qNorm, modelConfig.text.rmsNormEps);
    applyRope(head, facts.headDim, rope(layer), position);
  }
}

void ReferenceModel::keyValue(int64_t layer, ArrayRef<float> a,
                              int64_t position, float *k, float *v) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  const LayerWeights &w = layerWeights[layer];
  linear(a, w.kProj, k);
  // K=V layers: V is the same raw projection as K, normalised without a
  // weight and not rotated.
  if (facts.kEqV)
    std::copy(k, k + kvWidth(layer), v);
  else
    linear(a, w.vProj, v);
  for (int64_t h = 0; h < facts.numKvHeads; ++h) {
    float *keyHead = k + h * facts.headDim;
    rmsNorm(keyHead, facts.headDim, &w.kNorm, modelConfig.text.rmsNormEps);
    applyRope(keyHead, facts.headDim, rope(layer), position);
    rmsNorm(v + h * facts.headDim, facts.headDim, nullptr,
            modelConfig.text.rmsNormEps);
  }
}

void ReferenceModel::attend(int64_t layer, ArrayRef<float> q,
                            ArrayRef<const float *> keys,
                            ArrayRef<const float *> values, float *out) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  const int64_t hd = facts.headDim;
  const int64_t group = facts.numQueryHeads / facts.numKvHeads;
  std::vector<double> scores(keys.size());
  for (int64_t h = 0; h < facts.numQueryHeads; ++h) {
    const float *qHead = q.data() + h * hd;
    const int64_t kvHead = h / group;
    // Scaling 1.0: q and k are RMS-normalised; no attention softcap.
    double maxScore = -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < keys.size(); ++j) {
      const float *kHead = keys[j] + kvHead * hd;
      double dot = 0;
      for (int64_t i = 0; i < hd; ++i)
        dot += double(qHead[i]) * double(kHead[i]);
      scores[j] = dot;
      maxScore = std::max(maxScore, dot);
    }
    double total = 0;
    for (double &score : scores) {
      score = std::exp(score - maxScore);
      total += score;
    }
    for (int64_t i = 0; i < hd; ++i) {
      double sum = 0;
      for (size_t j = 0; j < keys.size(); ++j)
        sum += scores[j] / total * double(values[j][kvHead * hd + i]);
      out[h * hd + i] = float(sum);
    }
  }
}

void ReferenceModel::feedForward(int64_t layer, ArrayRef<float> x,
                                 float *out) const {
  const LayerWeights &w = layerWeights[layer];
  const int64_t width = w.gateProj.rows;
  std::vector<float> gate(width), up(width);
  linear(x, w.gateProj, gate.data());
  linear(x, w.upProj, up.data());
  for (int64_t i = 0; i < width; ++i)
    gate[i] = geluTanh(gate[i]) * up[i];
  linear(gate, w.downProj, out);
}

void ReferenceModel::mixtureOfExperts(int64_t layer, ArrayRef<float> xn,
                                      ArrayRef<float> routerInput,
                                      float *out) const {
  const TextConfig &t = modelConfig.text;
  const LayerWeights &w = layerWeights[layer];
  const int64_t d = t.hiddenSize, E = t.numExperts, I = t.moeIntermediateSize;
  // Router: no-scale RMSNorm of the residual, times router.scale * d^-1/2.
  std::vector<float> r(routerInput.begin(), routerInput.end());
  rmsNorm(r.data(), d, nullptr, t.rmsNormEps);
  const double scale = 1.0 / std::sqrt(double(d));
  for (int64_t i = 0; i < d; ++i)
    r[i] = float(double(r[i]) * double(w.routerScale.at(0, i)) * scale);
  std::vector<float> routerLogits(E);
  linear(r, w.routerProj, routerLogits.data());
  double maxLogit = *std::max_element(routerLogits.begin(), routerLogits.end());
  std::vector<double> probabilities(E);
  double total = 0;
  for (int64_t e = 0; e < E; ++e)
    total += probabilities[e] = std::exp(double(routerLogits[e]) - maxLogit);
  for (double &p : probabilities)
    p /= total;
  // Top-k by probability; ties go to the lower expert index.
  std::vector<int64_t> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return probabilities[a] > probabilities[b];
  });
  order.resize(t.topKExperts);
  double selected = 0;
  for (int64_t e : order)
    selected += probabilities[e];

  std::vector<double> sum(d, 0.0);
  std::vector<float> gateUp(2 * I), hidden(I), expertOut(d);
  for (int64_t e : order) {
    double weight =
        probabilities[e] / selected * double(w.routerPerExpertScale.at(0, e));
    linear(xn, w.expertsGateUp.block(e, E), gateUp.data());
    for (int64_t i = 0; i < I; ++i)
      hidden[i] = geluTanh(gateUp[i]) * gateUp[I + i];
    linear(hidden, w.expertsDown.block(e, E), expertOut.data());
    for (int64_t i = 0; i < d; ++i)
      sum[i] += weight * double(expertOut[i]);
  }
  for (int64_t i = 0; i < d; ++i)
    out[i] = float(sum[i]);
}

void ReferenceModel::finishLayer(int64_t layer, ArrayRef<float> attention,
                                 ArrayRef<float> perLayerInput,
                                 float *x) const {
  const LayerFacts &facts = modelConfig.layers[layer];
  const LayerWeights &w = layerWeights[layer];
  const TextConfig &t = modelConfig.text;
  const int64_t d = t.hiddenSize;
  const double eps = t.rmsNormEps;

  std::vector<float> a(d);
  linear(attention, w.oProj, a.data());
  rmsNorm(a.data(), d, &w.postAttentionNorm, eps);
  for (int64_t i = 0; i < d; ++i)
    x[i] += a[i];

  std::vector<float> residual(x, x + d), normed(x, x + d), f(d);
  rmsNorm(normed.data(), d, &w.preFeedforwardNorm, eps);
  feedForward(layer, normed, f.data());
  if (!facts.hasMoe) {
    rmsNorm(f.data(), d, &w.postFeedforwardNorm, eps);
  } else {
    rmsNorm(f.data(), d, &w.postFeedforwardNorm1, eps);
    std::vector<float> expertInput(residual), experts(d);
    rmsNorm(expertInput.data(), d, &w.preFeedforwardNorm2, eps);
    mixtureOfExperts(layer, expertInput, residual, experts.data());
    rmsNorm(experts.data(), d, &w.postFeedforwardNorm2, eps);
    for (int64_t i = 0; i < d; ++i)
      f[i] += experts[i];
    rmsNorm(f.data(), d, &w.postFeedforwardNorm, eps);
  }
  for (int64_t i = 0; i < d; ++i)
    x[i] += f[i];

  if (modelConfig.hasPerLayerInputs()) {
    const int64_t P = t.hiddenSizePerLayerInput;
    std::vector<float> gate(P), injected(d);
    linear(ArrayRef<float>(x, d), w.perLayerInputGate, gate.data());
    for (int64_t i = 0; i < P; ++i)
      gate[i] = geluTanh(gate[i]) * perLayerInput[i];
    linear(gate, w.perLayerProjection, injected.data());
    rmsNorm(injected.data(), d, &w.postPerLayerInputNorm, eps);
    for (int64_t i = 0; i < d; ++i)
      x[i] += injected[i];
  }
  // The learned scalar multiplies the whole residual stream.
  const float scalar = w.layerScalar.at(0, 0);
  for (int64_t i = 0; i < d; ++i)
    x[i] *= scalar;
}

void ReferenceModel::logits(ArrayRef<float> x, float *out) const {
  const TextConfig &t = modelConfig.text;
  std::vector<float> h(x.begin(), x.end());
  rmsNorm(h.data(), t.hiddenSize, &finalNorm, t.rmsNormEps);
  linear(h, embedTokens, out); // tied LM head: the unscaled embedding table
  if (t.finalLogitSoftcapping)
    for (int64_t v = 0; v < t.vocabSize; ++v)
      out[v] = softcap(out[v], *t.finalLogitSoftcapping);
}

//===----------------------------------------------------------------------===//
// Whole-sequence forward pass
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<float>>
ReferenceModel::forward(ArrayRef<int64_t> tokens, ForwardTrace *trace) const {
  const TextConfig &t = modelConfig.text;
  const int64_t T = int64_t(tokens.size());
  const int64_t d = t.hiddenSize, L = t.numHiddenLayers;
  const int64_t P = t.hiddenSizePerLayerInput;
  if (Error error = checkTokens(tokens))
    return std::move(error);
  if (t.maxPositionEmbeddings > 0 && T > t.maxPositionEmbeddings)
    return makeError(llvm::formatv("sequence of {0} tokens is longer than "
                                   "max_position_embeddings ({1})",
                                   T, t.maxPositionEmbeddings));

  std::vector<float> x(size_t(T * d)), ple(size_t(T * L * P));
  for (int64_t p = 0; p < T; ++p) {
    embed(tokens[p], &x[p * d]);
    if (P > 0)
      perLayerInputs(tokens[p], ArrayRef<float>(&x[p * d], d), &ple[p * L * P]);
  }
  if (trace) {
    trace->embeddings = x;
    trace->perLayerInputs.assign(L, std::vector<float>(size_t(T * P)));
    for (int64_t i = 0; P > 0 && i < L; ++i)
      for (int64_t p = 0; p < T; ++p)
        std::copy_n(&ple[(p * L + i) * P], P, &trace->perLayerInputs[i][p * P]);
    trace->layerOutputs.clear();
    trace->layerKeys.clear();
    trace->layerValues.clear();
  }

  // K/V of every KV-owning layer at every position; consumers read them.
  std::vector<std::vector<float>> keys(L), values(L);
  for (const LayerFacts &facts : modelConfig.layers) {
    const int64_t i = facts.index, kv = kvWidth(i), qw = queryWidth(i);
    std::vector<float> a(size_t(T * d)), q(size_t(T * qw)), out(size_t(T * qw));
    for (int64_t p = 0; p < T; ++p) {
      attentionInput(i, ArrayRef<float>(&x[p * d], d), &a[p * d]);
      query(i, ArrayRef<float>(&a[p * d], d), p, &q[p * qw]);
    }
    if (facts.ownsKv()) {
      keys[i].resize(size_t(T * kv));
      values[i].resize(size_t(T * kv));
      for (int64_t p = 0; p < T; ++p)
        keyValue(i, ArrayRef<float>(&a[p * d], d), p, &keys[i][p * kv],
                 &values[i][p * kv]);
    }
    const std::vector<float> &layerKeys = keys[facts.kvOwner];
    const std::vector<float> &layerValues = values[facts.kvOwner];
    // Explicit mask over the whole sequence: causal, and on sliding layers
    // only the current token plus the W-1 before it (q - k < W).
    for (int64_t qp = 0; qp < T; ++qp) {
      std::vector<const float *> visibleKeys, visibleValues;
      for (int64_t kp = 0; kp < T; ++kp) {
        bool visible = kp <= qp;
        if (facts.kind == AttentionKind::Sliding)
          visible = visible && qp - kp < t.slidingWindow;
        if (!visible)
          continue;
        visibleKeys.push_back(&layerKeys[kp * kv]);
        visibleValues.push_back(&layerValues[kp * kv]);
      }
      attend(i, ArrayRef<float>(&q[qp * qw], qw), visibleKeys, visibleValues,
             &out[qp * qw]);
    }
    for (int64_t p = 0; p < T; ++p)
      finishLayer(i, ArrayRef<float>(&out[p * qw], qw),
                  P > 0 ? ArrayRef<float>(&ple[(p * L + i) * P], P)
                        : ArrayRef<float>(),
                  &x[p * d]);
    if (trace) {
      trace->layerOutputs.push_back(x);
      trace->layerKeys.push_back(layerKeys);
      trace->layerValues.push_back(layerValues);
    }
  }

  std::vector<float> result(size_t(T * t.vocabSize));
  for (int64_t p = 0; p < T; ++p)
    logits(ArrayRef<float>(&x[p * d], d), &result[p * t.vocabSize]);
  return std::move(result);
}

} // namespace g4c::reference
