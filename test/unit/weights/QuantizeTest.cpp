//===- QuantizeTest.cpp - int8 / int4 quantisers and their kernels --------===//
//
// Part of g4c. The quantisers against plain round-to-nearest absmax
// symmetric quantisation at the same bits and group size (llama.cpp's
// Q8_0 / Q4_0 rules, written here independently): never a larger squared
// error, on uniform, Gaussian and outlier-heavy rows. The kernels that read
// the packed rows: test/unit/kernels/QuantisedKernelsTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/Quantize.h"
#include "compiler/Checkpoint/DType.h"

#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace g4c;
using weightfile::Format;

namespace {

enum class Distribution { Uniform, Gaussian, Outliers };

std::vector<float> sampleRow(Distribution distribution, size_t columns,
                             unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::normal_distribution<float> normal(0, 0.02f);
  std::vector<float> row(columns);
  for (size_t i = 0; i < columns; ++i) {
    switch (distribution) {
    case Distribution::Uniform:
      row[i] = uniform(rng);
      break;
    case Distribution::Gaussian:
      row[i] = normal(rng);
      break;
    case Distribution::Outliers: // Gaussian with a rare 20-sigma value
      row[i] = normal(rng) * (rng() % 97 == 0 ? 20.0f : 1.0f);
      break;
    }
  }
  return row;
}

/// Q8_0's rule over a whole row: d = absmax / 127, q = round(x / d).
double baselineInt8Error(const std::vector<float> &row) {
  float absmax = 0;
  for (float x : row)
    absmax = std::max(absmax, std::fabs(x));
  const float d = absmax / 127;
  double error = 0;
  for (float x : row) {
    float q = d == 0 ? 0 : std::round(x / d);
    error += std::pow(double(x) - double(q * d), 2);
  }
  return error;
}

/// Q4_0's rule per group: d = (signed extreme) / -8, q = clamp(floor(x/d +
/// 8.5), 0, 15) - 8, d stored as f16.
double baselineInt4Error(const std::vector<float> &row, size_t group) {
  double error = 0;
  for (size_t g = 0; g < row.size() / group; ++g) {
    float extreme = 0;
    for (size_t j = 0; j < group; ++j)
      if (std::fabs(row[g * group + j]) > std::fabs(extreme))
        extreme = row[g * group + j];
    const float d = extreme / -8;
    const float inverse = d == 0 ? 0 : 1 / d;
    const float stored = f16ToFloat(floatToF16(d));
    for (size_t j = 0; j < group; ++j) {
      const float x = row[g * group + j];
      int q = std::min(15, int(x * inverse + 8.5f)) - 8;
      error += std::pow(double(x) - double(q * stored), 2);
    }
  }
  return error;
}

double roundTripError(Format format, size_t group,
                      const std::vector<float> &row) {
  std::vector<uint8_t> packed(weightfile::rowBytes(format, row.size(), group));
  std::vector<float> back(row.size());
  quantizeRow(format, group, row.data(), row.size(), packed.data());
  dequantizeRow(format, group, packed.data(), row.size(), back.data());
  double error = 0;
  for (size_t i = 0; i < row.size(); ++i)
    error += std::pow(double(row[i]) - double(back[i]), 2);
  return error;
}

struct Case {
  Format format;
  size_t group;
};

TEST(Quantize, NeverWorseThanRoundToNearestAbsmax) {
  for (Case c : {Case{Format::Int8, 0}, Case{Format::Int4, 32},
                 Case{Format::Int4, 64}, Case{Format::Int4, 128}}) {
    for (Distribution distribution :
         {Distribution::Uniform, Distribution::Gaussian,
          Distribution::Outliers}) {
      double ours = 0, baseline = 0;
      for (unsigned seed = 0; seed < 40; ++seed) {
        std::vector<float> row = sampleRow(distribution, 1536, seed);
        const double mine = roundTripError(c.format, c.group, row);
        const double theirs = c.format == Format::Int8
                                  ? baselineInt8Error(row)
                                  : baselineInt4Error(row, c.group);
        ASSERT_LE(mine, theirs * (1 + 1e-6))
            << "group " << c.group << " seed " << seed;
        ours += mine;
        baseline += theirs;
      }
      // The scale search pays off: strictly less error, except for int8
      // on uniform rows, where the absmax scale is already the best one.
      if (c.format == Format::Int4 || distribution != Distribution::Uniform) {
        EXPECT_LT(ours, baseline)
            << "group " << c.group << " distribution " << int(distribution);
      }
    }
  }
}

TEST(Quantize, ExactValuesAndZerosSurvive) {
  // A row on the int8 grid of its absmax comes back exactly.
  std::vector<float> grid(64);
  for (size_t i = 0; i < grid.size(); ++i)
    grid[i] = float(int(i) - 32) * 0.25f;
  grid[5] = 127 * 0.25f;
  EXPECT_EQ(roundTripError(Format::Int8, 0, grid), 0.0);
  std::vector<float> zeros(128, 0.0f);
  EXPECT_EQ(roundTripError(Format::Int8, 0, zeros), 0.0);
  EXPECT_EQ(roundTripError(Format::Int4, 32, zeros), 0.0);
  // Integers -8..7 with scale 1 are int4's own grid.
  std::vector<float> levels(32);
  for (size_t i = 0; i < levels.size(); ++i)
    levels[i] = float(int(i % 16) - 8);
  EXPECT_EQ(roundTripError(Format::Int4, 32, levels), 0.0);
}

TEST(Quantize, RowLayoutIsPaddedAndFormatsAreChecked) {
  EXPECT_EQ(weightfile::rowBytes(Format::Int8, 64, 0), 80u);  // 64 + 4 -> 80
  EXPECT_EQ(weightfile::rowBytes(Format::Int4, 64, 32), 48u); // 32 + 4 -> 48
  EXPECT_EQ(weightfile::rowBytes(Format::Int4, 1536, 32), 864u);
  EXPECT_TRUE(canQuantize(Format::Int4, 96, 32));
  EXPECT_FALSE(canQuantize(Format::Int4, 96, 64));
  EXPECT_FALSE(canQuantize(Format::Int4, 64, 16));
  EXPECT_TRUE(canQuantize(Format::Int8, 7, 0));
}

TEST(Quantize, HalfConversionMatchesTheCompilers) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float expected = f16ToFloat(uint16_t(bits));
    const float actual = g4k::half_to_float(uint16_t(bits));
    if (std::isnan(expected))
      ASSERT_TRUE(std::isnan(actual)) << bits;
    else
      ASSERT_EQ(actual, expected) << bits;
  }
}

} // namespace
