//===- ReferenceMathTest.cpp - the reference's elementary operations ------===//
//
// Part of g4c. Values worked out by hand from §2 of the architecture
// document; each case distinguishes the right formula from a known wrong
// one (1 + w RMSNorm, erf GELU, interleaved RoPE, 128-dim denominator).
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceMath.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace g4c::reference;

namespace {

Matrix vectorMatrix(const std::vector<float> &values) {
  Matrix matrix;
  matrix.owned = values.data();
  matrix.rows = 1;
  matrix.cols = int64_t(values.size());
  return matrix;
}

TEST(ReferenceMath, RMSNormUsesPlainWeight) {
  std::vector<float> x = {3, 4}; // mean square 12.5
  std::vector<float> w = {2, 0.5f};
  Matrix weight = vectorMatrix(w);
  rmsNorm(x.data(), 2, &weight, 0.0);
  EXPECT_NEAR(x[0], 3 / std::sqrt(12.5) * 2, 1e-6);   // not * (1 + 2)
  EXPECT_NEAR(x[1], 4 / std::sqrt(12.5) * 0.5, 1e-6); // not * 1.5
  std::vector<float> y = {3, 4};
  rmsNorm(y.data(), 2, nullptr, 0.5); // no scale; eps inside the root
  EXPECT_NEAR(y[0], 3 / std::sqrt(13.0), 1e-6);
}

TEST(ReferenceMath, GeluIsTheTanhApproximation) {
  EXPECT_NEAR(geluTanh(1.0f), 0.8411920f, 1e-6); // erf GELU: 0.8413447
  EXPECT_NEAR(geluTanh(-1.0f), -0.1588080f, 1e-6);
  EXPECT_NEAR(geluTanh(3.0f), 2.9963627f, 1e-6);
  EXPECT_EQ(geluTanh(0.0f), 0.0f);
}

TEST(ReferenceMath, Softcap) {
  EXPECT_NEAR(softcap(30.0f, 30.0), 30 * std::tanh(1.0), 1e-5);
  EXPECT_NEAR(softcap(1e6f, 30.0), 30.0, 1e-5);
  EXPECT_NEAR(softcap(0.3f, 30.0), 0.29999, 1e-5);
}

TEST(ReferenceMath, ProportionalRopeKeepsFullHeadDimDenominator) {
  std::vector<double> inverse = ropeInverseFrequencies(512, 128, 1e6, 1.0);
  ASSERT_EQ(inverse.size(), 256u);
  EXPECT_EQ(inverse[0], 1.0);
  EXPECT_NEAR(inverse[1], std::pow(1e6, -2.0 / 512), 1e-15);
  EXPECT_NEAR(inverse[63], std::pow(1e6, -126.0 / 512), 1e-15);
  EXPECT_EQ(inverse[64], 0.0); // dims 64..255 and 320..511 do not rotate
  EXPECT_EQ(inverse[255], 0.0);
  std::vector<double> local = ropeInverseFrequencies(256, 256, 1e4, 1.0);
  EXPECT_NEAR(local[127], std::pow(1e4, -254.0 / 256), 1e-15);
  std::vector<double> scaled = ropeInverseFrequencies(8, 8, 1e4, 4.0);
  EXPECT_EQ(scaled[0], 0.25);
}

TEST(ReferenceMath, RopeRotatesHalves) {
  // head dim 4: pairs (0, 2) and (1, 3); the second pair has frequency 0.
  std::vector<double> inverse = {1.0, 0.0};
  float x[4] = {1, 2, 3, 4};
  applyRope(x, 4, inverse, 1);
  EXPECT_NEAR(x[0], 1 * std::cos(1.0) - 3 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(1.0) + 1 * std::sin(1.0), 1e-6);
  EXPECT_EQ(x[1], 2.0f);
  EXPECT_EQ(x[3], 4.0f);
  float y[4] = {1, 2, 3, 4};
  applyRope(y, 4, {0.5, 0.25}, 0); // position 0: identity
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[3], 4.0f);
}

TEST(ReferenceMath, LinearIsOutByIn) {
  std::vector<float> w = {1, 2, 3, 4, 5, 6}; // [2 out, 3 in]
  Matrix weight;
  weight.owned = w.data();
  weight.rows = 2;
  weight.cols = 3;
  float y[2];
  linear({1.0f, 0.0f, -1.0f}, weight, y);
  EXPECT_EQ(y[0], -2.0f);
  EXPECT_EQ(y[1], -2.0f);
  Matrix second = weight.block(1, 2);
  EXPECT_EQ(second.at(0, 2), 6.0f);
}

} // namespace
