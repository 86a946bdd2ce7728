//===- LogitMetrics.h - how close two models' logits are --------*- C++ -*-===//
//
// Part of g4c. Compares the logits of a model under test (compiled,
// quantised) with the reference's at every position of a token stream: the
// largest absolute difference, the mean KL divergence of the softmax
// distributions KL(reference || test), and how often the top-1 tokens agree.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_REFERENCE_LOGITMETRICS_H
#define G4C_REFERENCE_LOGITMETRICS_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace g4c::reference {

struct LogitMetrics {
  int64_t positions = 0;
  double maxAbsDelta = 0;
  double meanKl = 0;
  int64_t top1Agreements = 0;
  double top1Fraction() const {
    return positions ? double(top1Agreements) / double(positions) : 1.0;
  }
};

/// Metrics over positions of |vocab| logits each; |reference| and |test|
/// have the same size, a multiple of |vocab|. Sums in double.
LogitMetrics compareLogits(llvm::ArrayRef<float> reference,
                           llvm::ArrayRef<float> test, int64_t vocab);

} // namespace g4c::reference

#endif // G4C_REFERENCE_LOGITMETRICS_H
