//===- TensorManifest.h - the tensors a Gemma 4 config implies --*- C++ -*-===//
//
// Part of g4c. From a ModelConfig, the exact list of text-decoder tensors a
// checkpoint must contain (names without the model prefix, HF shapes).
// The generator writes this list; the reader cross-checks against it.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_TENSORMANIFEST_H
#define G4C_CHECKPOINT_TENSORMANIFEST_H

#include "compiler/Checkpoint/ModelConfig.h"

#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace g4c {

/// What a tensor is used for, for parameter accounting.
enum class TensorRole {
  PerLayerEmbeddingTable, ///< embed_tokens_per_layer (stays in storage)
  Embedding,              ///< embed_tokens (tied LM head)
  Global,                 ///< other model-wide tensors (norm, PLE projection)
  Layer,                  ///< a decoder layer's weights
};

/// One tensor the config implies.
struct TensorSpec {
  std::string name; ///< without prefix: "layers.3.self_attn.q_proj.weight"
  llvm::SmallVector<int64_t, 3> shape;
  TensorRole role;
  /// Present in real checkpoints but never read (k/v of KV-shared layers):
  /// a checkpoint may omit it.
  bool unused = false;
  /// The layer it belongs to, or -1.
  int64_t layer = -1;
  /// Initial value kind for the generator: a norm scale (around 1), a
  /// q/k norm scale (around head_dim^-1/4: unit-variance attention scores,
  /// as Gemma 4 does not scale them), the layer scalar, or a matrix/table
  /// (around 0).
  enum class Init {
    Matrix,
    NormScale,
    QkNormScale,
    LayerScalar,
    Positive
  } init = Init::Matrix;

  /// The input width a matrix's values are scaled for (0: the last dim).
  int64_t fanIn = 0;

  uint64_t numElements() const;
};

/// Every text-decoder tensor of |config|, in a stable order (model-wide
/// tensors first, then layer by layer).
std::vector<TensorSpec> expectedTextTensors(const ModelConfig &config);

} // namespace g4c

#endif // G4C_CHECKPOINT_TENSORMANIFEST_H
