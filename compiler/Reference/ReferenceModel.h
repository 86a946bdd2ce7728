//===- ReferenceModel.h - the golden Gemma 4 text forward pass --*- C++ -*-===//
//
// Part of g4c. A plain float32/float64 implementation of the Gemma 4 text
// decoder (§2 of the architecture document) for every family, reading the
// weights straight from the mapped checkpoint. Every correctness test of the
// compiled code compares against it. It shares no code with the optimised
// path; it uses only the checkpoint reader and ModelConfig.
//
// Two paths: ReferenceModel::forward runs a whole sequence with explicit
// causal / sliding-window masks; ReferenceSession (ReferenceSession.h) runs
// chunked prefill and decode over explicit KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_REFERENCE_REFERENCEMODEL_H
#define G4C_REFERENCE_REFERENCEMODEL_H

#include "compiler/Checkpoint/Checkpoint.h"
#include "compiler/Reference/ReferenceMath.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>
#include <vector>

namespace g4c::reference {

/// The weights of one decoder layer (k/v are absent on KV-shared layers,
/// v on K=V layers, MoE and PLE tensors where the family has none).
struct LayerWeights {
  Matrix inputNorm, qProj, kProj, vProj, oProj, qNorm, kNorm;
  Matrix postAttentionNorm, preFeedforwardNorm, postFeedforwardNorm;
  Matrix gateProj, upProj, downProj;
  Matrix layerScalar;
  Matrix perLayerInputGate, perLayerProjection, postPerLayerInputNorm;
  Matrix routerProj, routerScale, routerPerExpertScale;
  Matrix expertsGateUp, expertsDown;
  Matrix preFeedforwardNorm2, postFeedforwardNorm1, postFeedforwardNorm2;
};

/// Intermediate values of a whole-sequence forward pass, for tests that
/// must look below the final RMSNorm. Row-major, T rows each.
struct ForwardTrace {
  std::vector<float> embeddings;                  ///< [T, d], scaled
  std::vector<std::vector<float>> perLayerInputs; ///< [L][T, P]
  std::vector<std::vector<float>> layerOutputs;   ///< [L][T, d]
  std::vector<std::vector<float>> layerKeys;      ///< [L][T, Hkv*hd] read
  std::vector<std::vector<float>> layerValues;    ///< [L][T, Hkv*hd] read
};

/// Switches that inject known porting bugs, so tests can show that the
/// reference's outputs depend on getting each detail right.
struct BugInjection {
  /// Rotate every dimension pair on full-attention layers (forgetting the
  /// zero frequencies of proportional RoPE).
  bool ropeWithoutZeroFrequencies = false;
};

class ReferenceModel {
public:
  /// Binds the weights of |checkpoint| (validated first); the checkpoint
  /// must outlive the model.
  static llvm::Expected<std::unique_ptr<ReferenceModel>>
  create(const Checkpoint &checkpoint);

  const ModelConfig &config() const { return modelConfig; }

  /// Logits [T, vocab] at every position of |tokens| (positions 0..T-1),
  /// with causal and sliding-window masks over the whole sequence.
  llvm::Expected<std::vector<float>>
  forward(llvm::ArrayRef<int64_t> tokens, ForwardTrace *trace = nullptr) const;

  /// Replaces tensor |name| (unprefixed) by |values| (tests perturb
  /// weights this way); |values| must have the tensor's element count.
  llvm::Error overrideTensor(llvm::StringRef name, std::vector<float> values);
  /// The tensor's current values as float32.
  std::vector<float> tensorValues(llvm::StringRef name) const;

  BugInjection bugs;

  //===--------------------------------------------------------------------===//
  // Building blocks shared by the whole-sequence and incremental paths.
  //===--------------------------------------------------------------------===//

  /// Checks every token id against the vocabulary.
  llvm::Error checkTokens(llvm::ArrayRef<int64_t> tokens) const;
  /// h0 = E[t] * bf16-rounded sqrt(d), [d].
  void embed(int64_t token, float *h0) const;
  /// The per-layer inputs [L, P] of one token given its h0.
  void perLayerInputs(int64_t token, llvm::ArrayRef<float> h0,
                      float *out) const;
  /// q [Hq*hd] of layer |layer| from its normed input |a| at |position|.
  void query(int64_t layer, llvm::ArrayRef<float> a, int64_t position,
             float *q) const;
  /// K and V [Hkv*hd] of KV-owning layer |layer|.
  void keyValue(int64_t layer, llvm::ArrayRef<float> a, int64_t position,
                float *k, float *v) const;
  /// One query's attention over the listed keys/values (given in position
  /// order; all visible): out [Hq*hd].
  void attend(int64_t layer, llvm::ArrayRef<float> q,
              llvm::ArrayRef<const float *> keys,
              llvm::ArrayRef<const float *> values, float *out) const;
  /// Everything after attention for one position: o_proj, sandwich norms,
  /// feed-forward (dense or MoE), per-layer input, layer scalar. Updates
  /// the residual |x| [d] in place.
  void finishLayer(int64_t layer, llvm::ArrayRef<float> attention,
                   llvm::ArrayRef<float> perLayerInput, float *x) const;
  /// Final norm, tied LM head, softcap: logits [vocab] from |x| [d].
  void logits(llvm::ArrayRef<float> x, float *out) const;
  /// RMSNorm of the residual before attention, [d].
  void attentionInput(int64_t layer, llvm::ArrayRef<float> x, float *a) const;

  int64_t kvWidth(int64_t layer) const;
  int64_t queryWidth(int64_t layer) const;

private:
  ReferenceModel() = default;
  llvm::Error bind(const Checkpoint &checkpoint);
  Matrix lookup(const Checkpoint &checkpoint, llvm::StringRef name,
                llvm::Error &error);
  void feedForward(int64_t layer, llvm::ArrayRef<float> x, float *out) const;
  void mixtureOfExperts(int64_t layer, llvm::ArrayRef<float> xn,
                        llvm::ArrayRef<float> routerInput, float *out) const;

  ModelConfig modelConfig;
  Matrix embedTokens, embedTokensPerLayer, perLayerModelProjection;
  Matrix perLayerProjectionNorm, finalNorm;
  std::vector<LayerWeights> layerWeights;
  std::vector<std::vector<double>> ropeFrequencies; ///< per layer
  /// Per layer, every pair rotated (BugInjection::ropeWithoutZeroFrequencies).
  std::vector<std::vector<double>> ropeFrequenciesAllRotated;
  const std::vector<double> &rope(int64_t layer) const;
  float embedScale = 1, perLayerEmbedScale = 1;
  llvm::StringMap<Matrix *> matricesByName;
  llvm::StringMap<std::vector<float>> overrides;
};

} // namespace g4c::reference

#endif // G4C_REFERENCE_REFERENCEMODEL_H
