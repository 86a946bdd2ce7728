//===- LogitMetrics.cpp - how close two models' logits are ----------------===//
//
// Part of g4c. This file implements compareLogits: log-softmax of each row
// in double (max-shifted), KL = sum p (log p - log q), argmax ties to the
// lower id.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/LogitMetrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace g4c::reference {

namespace {

void logSoftmax(llvm::ArrayRef<float> row, std::vector<double> &out) {
  const double max = *std::max_element(row.begin(), row.end());
  double total = 0;
  for (float x : row)
    total += std::exp(double(x) - max);
  const double logTotal = std::log(total) + max;
  out.resize(row.size());
  for (size_t i = 0; i < row.size(); ++i)
    out[i] = double(row[i]) - logTotal;
}

int64_t argmax(llvm::ArrayRef<float> row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

} // namespace

LogitMetrics compareLogits(llvm::ArrayRef<float> reference,
                           llvm::ArrayRef<float> test, int64_t vocab) {
  LogitMetrics metrics;
  metrics.positions = int64_t(reference.size()) / vocab;
  std::vector<double> p, q;
  double klSum = 0;
  for (int64_t t = 0; t < metrics.positions; ++t) {
    llvm::ArrayRef<float> a = reference.slice(t * vocab, vocab);
    llvm::ArrayRef<float> b = test.slice(t * vocab, vocab);
    for (int64_t i = 0; i < vocab; ++i) {
      const double delta = std::fabs(double(a[i]) - double(b[i]));
      // NaN anywhere makes the difference infinite.
      metrics.maxAbsDelta =
          std::isnan(delta) ? INFINITY : std::max(metrics.maxAbsDelta, delta);
    }
    logSoftmax(a, p);
    logSoftmax(b, q);
    double kl = 0;
    for (int64_t i = 0; i < vocab; ++i)
      kl += std::exp(p[i]) * (p[i] - q[i]);
    klSum += std::max(kl, 0.0); // rounding can make a zero KL slightly < 0
    metrics.top1Agreements += argmax(a) == argmax(b);
  }
  metrics.meanKl = metrics.positions ? klSum / double(metrics.positions) : 0;
  return metrics;
}

} // namespace g4c::reference
