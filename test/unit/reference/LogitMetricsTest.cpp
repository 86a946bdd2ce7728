//===- LogitMetricsTest.cpp - max |delta|, KL, top-1 on known rows --------===//
//
// Part of g4c. Hand-computed cases: identical rows, a constant shift (same
// softmax: KL 0, top-1 kept), a two-token row with a closed-form KL, and a
// flipped argmax.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/LogitMetrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace g4c::reference;

namespace {

TEST(LogitMetrics, HandComputedCases) {
  std::vector<float> a = {1, 2, 3, 0, 0, 5};
  LogitMetrics same = compareLogits(a, a, 3);
  EXPECT_EQ(same.positions, 2);
  EXPECT_EQ(same.maxAbsDelta, 0);
  EXPECT_EQ(same.meanKl, 0);
  EXPECT_EQ(same.top1Agreements, 2);

  std::vector<float> shifted = {11, 12, 13, -1, -1, 4};
  LogitMetrics shift = compareLogits(a, shifted, 3);
  EXPECT_EQ(shift.maxAbsDelta, 10);
  EXPECT_NEAR(shift.meanKl, 0, 1e-12);
  EXPECT_EQ(shift.top1Fraction(), 1.0);

  // p = softmax(0, 0) = (1/2, 1/2), q = softmax(0, log 3) = (1/4, 3/4):
  // KL = 1/2 log 2 + 1/2 log(2/3).
  std::vector<float> p = {0, 0}, q = {0, float(std::log(3.0))};
  LogitMetrics two = compareLogits(p, q, 2);
  EXPECT_NEAR(two.meanKl, 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0),
              1e-7);
  EXPECT_EQ(two.top1Agreements, 0); // argmax 0 vs 1
  // Ties go to the lower id: (1, 1) has argmax 0, like (1, 0.5).
  std::vector<float> tie = {1, 1}, lower = {1, 0.5f};
  EXPECT_EQ(compareLogits(tie, lower, 2).top1Agreements, 1);

  std::vector<float> broken = {1, NAN, 3, 0, 0, 5};
  EXPECT_TRUE(std::isinf(compareLogits(a, broken, 3).maxAbsDelta));
}

} // namespace
