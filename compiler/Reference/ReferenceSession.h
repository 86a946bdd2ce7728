//===- ReferenceSession.h - incremental reference decoding ------*- C++ -*-===//
//
// Part of g4c. The reference executor's incremental path: prefill chunks and
// decode single tokens over explicit KV caches, as a runtime would. Sliding
// layers keep exactly W slots (a ring: position p lives in slot p mod W);
// full layers keep one slot per position of the context; KV-shared layers
// read their producer's cache.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_REFERENCE_REFERENCESESSION_H
#define G4C_REFERENCE_REFERENCESESSION_H

#include "compiler/Reference/ReferenceModel.h"

namespace g4c::reference {

class ReferenceSession {
public:
  /// A session over |model| holding at most |contextLength| positions
  /// (<= max_position_embeddings).
  static llvm::Expected<std::unique_ptr<ReferenceSession>>
  create(const ReferenceModel &model, int64_t contextLength);

  /// Runs |tokens| at the next positions; returns their logits [n, vocab].
  llvm::Expected<std::vector<float>> prefill(llvm::ArrayRef<int64_t> tokens);
  /// prefill of one token.
  llvm::Expected<std::vector<float>> decode(int64_t token) {
    return prefill(llvm::ArrayRef<int64_t>(token));
  }
  /// The position the next token gets.
  int64_t position() const { return nextPosition; }
  /// Forgets everything (back to position 0).
  void reset();

private:
  explicit ReferenceSession(const ReferenceModel &model) : model(model) {}

  /// One KV-owning layer's cache.
  struct Cache {
    int64_t slots = 0; ///< W for sliding layers, the context for full ones
    int64_t width = 0; ///< Hkv * hd
    std::vector<float> keys, values;   ///< [slots, width]
    std::vector<int64_t> slotPosition; ///< position held by each slot, or -1
  };

  const ReferenceModel &model;
  int64_t contextLength = 0;
  int64_t nextPosition = 0;
  std::vector<Cache> caches; ///< indexed by layer; empty for shared layers
};

} // namespace g4c::reference

#endif // G4C_REFERENCE_REFERENCESESSION_H
