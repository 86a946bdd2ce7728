//===- QuantizeTest.cpp - int8 / int4 quantisers and their kernels --------===//
//
// Part of g4c. The quantisers against plain round-to-nearest absmax
// symmetric quantisation at the same bits and group size (llama.cpp's
// Q8_0 / Q4_0 rules, written here independently): never a larger squared
// error, on uniform, Gaussian and outlier-heavy rows. Then the runtime's
// kernels (g4k.h) read the packed rows exactly as the dequantiser does.
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

/// |rows| x |columns| packed as |format| the way the packer lays them out.
std::vector<uint8_t> packMatrix(Format format, size_t group,
                                const std::vector<float> &values,
                                size_t columns) {
  const size_t rowSize = weightfile::rowBytes(format, columns, group);
  std::vector<uint8_t> packed(values.size() / columns * rowSize);
  for (size_t r = 0; r < values.size() / columns; ++r)
    quantizeRow(format, group, &values[r * columns], columns,
                &packed[r * rowSize]);
  return packed;
}

std::vector<float> unpackMatrix(Format format, size_t group,
                                const std::vector<uint8_t> &packed, size_t rows,
                                size_t columns) {
  const size_t rowSize = weightfile::rowBytes(format, columns, group);
  std::vector<float> values(rows * columns);
  for (size_t r = 0; r < rows; ++r)
    dequantizeRow(format, group, &packed[r * rowSize], columns,
                  &values[r * columns]);
  return values;
}

/// The activations the kernels' Q8_0 quantiser stands for.
template <int T, int In>
std::vector<float> quantisedActivations(const std::vector<float> &x) {
  static g4k::q8_activations<T, In> a;
  g4k::quantize_activations<T, In>(x.data(), a);
  std::vector<float> values(T * In);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < In; ++i) {
      const int block = i / g4k::kActivationBlock;
      values[t * In + i] = a.scale[t][block] * float(a.q[t][i]);
      // Within half a step of the input, a step being the block's
      // absmax / 127.
      EXPECT_LE(std::fabs(values[t * In + i] - x[t * In + i]),
                a.scale[t][block] / 2 * 1.001f);
    }
  return values;
}

/// g4k::linear (on int8 activations when the kernel uses them), the f32
/// row_dot and g4k::embed on a packed matrix against plain sums over the
/// dequantised values.
template <typename W, int Out, int In>
void checkKernels(Format format, size_t group) {
  std::vector<float> weights = sampleRow(Distribution::Gaussian, Out * In, 3);
  std::vector<uint8_t> packed = packMatrix(format, group, weights, In);
  std::vector<float> dequantised = unpackMatrix(format, group, packed, Out, In);
  const W *w = reinterpret_cast<const W *>(packed.data());
  constexpr int T = 3;
  std::vector<float> x = sampleRow(Distribution::Uniform, T * In, 4);
  std::vector<float> seen = x;
  if constexpr (g4k::uses_int8_activations<W, In>())
    seen = quantisedActivations<T, In>(x);
  std::vector<float> y(T * Out);
  g4k::linear<T, Out, In>(x.data(), w, y.data());
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o) {
      double expected = 0, exact = 0;
      for (int i = 0; i < In; ++i) {
        expected += double(seen[t * In + i]) * dequantised[o * In + i];
        exact += double(x[t * In + i]) * dequantised[o * In + i];
      }
      ASSERT_NEAR(y[t * Out + o], expected, 1e-5) << t << "," << o;
      // f32 activations: exactly the dequantised product.
      ASSERT_NEAR(g4k::row_dot<In>(x.data() + t * In, w, size_t(o)), exact,
                  1e-5)
          << t << "," << o;
    }
  const int32_t tokens[2] = {Out - 1, 2};
  std::vector<float> rows(2 * In);
  g4k::embed<2, In>(tokens, w, 0.5f, rows.data());
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < In; ++i)
      ASSERT_EQ(rows[t * In + i], dequantised[tokens[t] * In + i] * 0.5f);
  // A slice of a row (the PLE gather of some layers).
  std::vector<float> slice(In / 2);
  g4k::row_load<In, In / 2>(w, 1, In / 4, slice.data());
  for (int j = 0; j < In / 2; ++j)
    ASSERT_EQ(slice[j], dequantised[In + In / 4 + j]);
}

TEST(Quantize, KernelsReadTheLayoutTheQuantiserWrites) {
  checkKernels<g4k::q8, 5, 48>(Format::Int8, 0); // 48: f32 activations
  checkKernels<g4k::q8, 5, 96>(Format::Int8, 0);
  checkKernels<g4k::q4<32>, 5, 96>(Format::Int4, 32);
  checkKernels<g4k::q4<64>, 4, 128>(Format::Int4, 64);
  checkKernels<g4k::q4<128>, 3, 256>(Format::Int4, 128);
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
