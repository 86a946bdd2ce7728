//===- LinearKernelTest.cpp - Halide matrix products against oracles ------===//
//
// Part of g4c. The generated f32 / bf16 matrix products must match double
// sums over the same (bf16-widened) weights to float accuracy, and
// g4k::linear to the last bits of a float sum: they differ only in the
// order partial sums are added (and fused multiply-adds). Rows are passed
// as the object backend's wrappers pass them: a thread's part of the rows,
// the output's token rows a whole matrix apart.
//
//===----------------------------------------------------------------------===//

#include "g4c_linear_bf16_host.h"
#include "g4c_linear_f32_host.h"

#include "HalideBuffer.h"
#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using Halide::Runtime::Buffer;

std::vector<float> randomValues(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float &v : values)
    v = value(rng);
  return values;
}

/// sum_i x[t][i] * w[o][i] in double.
double exactDot(const std::vector<float> &x, const std::vector<float> &w,
                int columns, int t, int o) {
  double sum = 0;
  for (int i = 0; i < columns; ++i)
    sum += double(x[size_t(t) * columns + i]) * w[size_t(o) * columns + i];
  return sum;
}

// The f32 instance: 3 tokens of 40 columns, 11 rows.
constexpr int kTokens = 3, kColumns = 40, kRows = 11;

/// Runs the f32 instance on rows [first, first + count) of w into the same
/// rows of y ([kTokens][kRows]).
int runF32Rows(const std::vector<float> &x, const std::vector<float> &w,
               int first, int count, std::vector<float> &y) {
  Buffer<float, 2> input(const_cast<float *>(x.data()), kColumns, kTokens);
  Buffer<float, 2> weight(const_cast<float *>(w.data()) + first * kColumns,
                          kColumns, count);
  halide_dimension_t outputDims[] = {{0, count, 1}, {0, kTokens, kRows}};
  Buffer<float, 2> output(y.data() + first, 2, outputDims);
  return g4c_linear_f32_host(input, weight, output);
}

TEST(LinearKernel, F32RowsMatchDoubleSumsAndLibrary) {
  const std::vector<float> x = randomValues(kTokens * kColumns, 1);
  const std::vector<float> w = randomValues(kRows * kColumns, 2);
  std::vector<float> y(kTokens * kRows, NAN), library(kTokens * kRows);
  // All rows in one call, then the same rows in parts of 6 and 5 (a whole
  // row tile, a partial one), as two threads would take them.
  ASSERT_EQ(runF32Rows(x, w, 0, kRows, y), 0);
  std::vector<float> parts(kTokens * kRows, NAN);
  ASSERT_EQ(runF32Rows(x, w, 0, 6, parts), 0);
  ASSERT_EQ(runF32Rows(x, w, 6, 5, parts), 0);
  g4k::linear<kTokens, kRows, kColumns>(x.data(), w.data(), library.data());
  for (int t = 0; t < kTokens; ++t)
    for (int o = 0; o < kRows; ++o) {
      const size_t k = size_t(t) * kRows + o;
      const double exact = exactDot(x, w, kColumns, t, o);
      ASSERT_NEAR(y[k], exact, 1e-5) << "token " << t << " row " << o;
      ASSERT_NEAR(y[k], library[k], 2e-6) << "token " << t << " row " << o;
      ASSERT_EQ(y[k], parts[k]) << "token " << t << " row " << o;
    }
}

TEST(LinearKernel, Bf16DecodeRowsMatchDoubleSumsAndLibrary) {
  constexpr int kColumns = 64, kRows = 9;
  const std::vector<float> x = randomValues(kColumns, 3);
  const std::vector<float> values = randomValues(kRows * kColumns, 4);
  std::vector<g4k::bf16> w(values.size());
  std::vector<float> widened(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof(bits));
    w[i].bits = uint16_t(bits >> 16); // truncation: any bf16 will do
    widened[i] = g4k::widen(w[i]);
  }
  std::vector<float> y(kRows, NAN), library(kRows);
  Buffer<float, 2> input(const_cast<float *>(x.data()), kColumns, 1);
  Buffer<uint16_t, 2> weight(reinterpret_cast<uint16_t *>(w.data()), kColumns,
                             kRows);
  Buffer<float, 2> output(y.data(), kRows, 1);
  ASSERT_EQ(g4c_linear_bf16_host(input, weight, output), 0);
  g4k::linear<1, kRows, kColumns>(x.data(), w.data(), library.data());
  for (int o = 0; o < kRows; ++o) {
    ASSERT_NEAR(y[o], exactDot(x, widened, kColumns, 0, o), 1e-5) << o;
    ASSERT_NEAR(y[o], library[o], 2e-6) << o;
  }
}

} // namespace
