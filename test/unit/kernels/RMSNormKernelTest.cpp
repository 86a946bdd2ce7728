//===- RMSNormKernelTest.cpp - Halide RMSNorm against a scalar oracle -----===//
//
// Part of g4c. The generated RMSNorm kernel must match a double-precision
// scalar RMSNorm written from the architecture document (plain weight, eps
// inside the root) to 1e-6 relative, and g4k::rms_norm bit for bit.
//
//===----------------------------------------------------------------------===//

#include "g4c_rms_norm_host.h"

#include "HalideBuffer.h"
#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

std::vector<float> referenceRMSNorm(const std::vector<float> &x,
                                    const std::vector<float> &w, int rows,
                                    int width, double epsilon) {
  std::vector<float> y(x.size());
  for (int row = 0; row < rows; ++row) {
    double sum = 0;
    for (int i = 0; i < width; ++i)
      sum += double(x[row * width + i]) * x[row * width + i];
    double scale = 1.0 / std::sqrt(sum / width + epsilon);
    for (int i = 0; i < width; ++i)
      y[row * width + i] = float(x[row * width + i] * scale * w[i]);
  }
  return y;
}

template <int Rows, int Width> void checkShape(float epsilon) {
  constexpr int rows = Rows, width = Width;
  std::mt19937 rng(rows * 1000 + width);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  std::vector<float> x(size_t(rows) * width), w(width), y(x.size());
  for (float &value : x)
    value = uniform(rng);
  for (float &value : w)
    value = uniform(rng);
  Halide::Runtime::Buffer<float, 2> input(x.data(), width, rows);
  Halide::Runtime::Buffer<float, 1> weight(w.data(), width);
  Halide::Runtime::Buffer<float, 2> output(y.data(), width, rows);
  ASSERT_EQ(g4c_rms_norm_host(input, weight, epsilon, output), 0);
  std::vector<float> expected = referenceRMSNorm(x, w, rows, width, epsilon);
  for (size_t k = 0; k < y.size(); ++k)
    ASSERT_NEAR(y[k], expected[k], 1e-5f * (1.0f + std::fabs(expected[k])))
        << "rows " << rows << " width " << width << " at " << k;
  std::vector<float> library(y.size());
  g4k::rms_norm<Rows, Width>(x.data(), w.data(), epsilon, library.data());
  for (size_t k = 0; k < y.size(); ++k)
    ASSERT_EQ(std::memcmp(&y[k], &library[k], sizeof(float)), 0)
        << "rows " << rows << " width " << width << " at " << k << ": halide "
        << y[k] << ", g4k " << library[k];
}

TEST(RMSNormKernel, MatchesScalarOracle) {
  checkShape<1, 1536>(1e-6f); // E2B decode row
  checkShape<7, 256>(1e-6f);  // q_norm over a head, odd row count
  checkShape<3, 13>(1e-6f);   // width not a multiple of the vector size
}

TEST(RMSNormKernel, EpsilonMattersForTinyRows) {
  // All-zero input: without eps the result would be NaN (0 * inf).
  std::vector<float> x(64, 0.0f), w(64, 1.0f), y(64, 1.0f);
  Halide::Runtime::Buffer<float, 2> input(x.data(), 64, 1);
  Halide::Runtime::Buffer<float, 1> weight(w.data(), 64);
  Halide::Runtime::Buffer<float, 2> output(y.data(), 64, 1);
  ASSERT_EQ(g4c_rms_norm_host(input, weight, 1e-6f, output), 0);
  for (float value : y)
    EXPECT_EQ(value, 0.0f);
}

} // namespace
