//===- PleCombineKernelTest.cpp - Halide PLE combine against oracles ------===//
//
// Part of g4c. The generated Per-Layer-Embedding combine must match a
// double-precision combine written from the architecture document (the
// table dequantised by this test's own reading of the .g4w row layout) to
// float accuracy, and g4k::ple_combine bit for bit, at every table format.
//
//===----------------------------------------------------------------------===//

#include "g4c_ple_combine_bf16_host.h"
#include "g4c_ple_combine_f32_host.h"
#include "g4c_ple_combine_int4_host.h"
#include "g4c_ple_combine_int8_host.h"

#include "HalideBuffer.h"
#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using Halide::Runtime::Buffer;

// The host instances' shape (targets/halide/CMakeLists.txt): 3 tokens,
// layers 1..2 of a 4-layer table of 10 rows, 24 values per layer (a
// vector and a tail), int4 groups of 32.
constexpr int kTokens = 3, kLayers = 2, kWidth = 24, kTableRows = 10,
              kTableLayers = 4, kFirst = 1, kGroup = 32;
constexpr int kValues = kTableLayers * kWidth; // per table row
constexpr float kTableScale = 0.75f, kContextScale = 1.25f, kEpsilon = 1e-6f;

/// A table in one format: its bytes and each value as the layout defines it.
struct Table {
  std::vector<uint8_t> bytes;
  size_t rowBytes = 0;
  std::vector<double> values; // [row][kValues]
};

size_t padRow(size_t bytes) { return (bytes + 15) / 16 * 16; }

double halfValue(uint16_t bits) {
  const int exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  const double magnitude = exponent == 0
                               ? std::ldexp(mantissa, -24)
                               : std::ldexp(1024 + mantissa, exponent - 25);
  return bits & 0x8000 ? -magnitude : magnitude;
}

Table makeTable(const char *format, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  Table table;
  table.values.resize(size_t(kTableRows) * kValues);
  const std::string name = format;
  if (name == "f32" || name == "bf16") {
    const size_t size = name == "f32" ? 4 : 2;
    table.rowBytes = kValues * size;
    table.bytes.resize(kTableRows * table.rowBytes);
    for (size_t k = 0; k < table.values.size(); ++k) {
      float value = uniform(rng);
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      if (size == 2) {
        bits &= 0xffff0000u; // a bf16 value
        std::memcpy(&value, &bits, 4);
        const uint16_t top = uint16_t(bits >> 16);
        std::memcpy(&table.bytes[k * 2], &top, 2);
      } else {
        std::memcpy(&table.bytes[k * 4], &value, 4);
      }
      table.values[k] = value;
    }
    return table;
  }
  if (name == "int8") {
    // Per row: kValues int8 values, the f32 scale, padding.
    table.rowBytes = padRow(kValues + 4);
    table.bytes.assign(kTableRows * table.rowBytes, 0);
    for (int r = 0; r < kTableRows; ++r) {
      uint8_t *row = &table.bytes[r * table.rowBytes];
      const float scale = 0.01f * float(r + 1);
      std::memcpy(row + kValues, &scale, 4);
      for (int c = 0; c < kValues; ++c) {
        row[c] = uint8_t(byte(rng));
        table.values[r * kValues + c] = double(int8_t(row[c])) * scale;
      }
    }
    return table;
  }
  // int4: per group g of kGroup columns, byte j holds column g*kGroup + j
  // (low nibble) and g*kGroup + kGroup/2 + j (high), as q + 8; then the
  // f16 group scales, one subnormal among them.
  table.rowBytes = padRow(kValues / 2 + kValues / kGroup * 2);
  table.bytes.assign(kTableRows * table.rowBytes, 0);
  for (int r = 0; r < kTableRows; ++r) {
    uint8_t *row = &table.bytes[r * table.rowBytes];
    for (int g = 0; g < kValues / kGroup; ++g) {
      const uint16_t scaleBits =
          (r + g) % 5 == 0
              ? uint16_t(0x0123) // subnormal
              : uint16_t((13 + (r + g) % 4) << 10 | (r * 37 % 1024));
      std::memcpy(row + kValues / 2 + 2 * g, &scaleBits, 2);
      for (int j = 0; j < kGroup / 2; ++j) {
        const uint8_t packed = uint8_t(byte(rng));
        row[g * kGroup / 2 + j] = packed;
        const double scale = halfValue(scaleBits);
        table.values[r * kValues + g * kGroup + j] =
            double((packed & 15) - 8) * scale;
        table.values[r * kValues + g * kGroup + kGroup / 2 + j] =
            double((packed >> 4) - 8) * scale;
      }
    }
  }
  return table;
}

/// The combine from the architecture document, in double.
std::vector<double> referenceCombine(const std::vector<int32_t> &tokens,
                                     const Table &table,
                                     const std::vector<float> &context,
                                     const std::vector<float> &norm) {
  std::vector<double> out(size_t(kTokens) * kLayers * kWidth);
  for (int t = 0; t < kTokens; ++t) {
    const int row = tokens[t] < kTableRows ? tokens[t] : 0;
    for (int l = 0; l < kLayers; ++l) {
      const size_t base = (size_t(t) * kLayers + l) * kWidth;
      double sum = 0;
      for (int j = 0; j < kWidth; ++j) {
        const double x = double(context[base + j]) * kContextScale;
        sum += x * x;
      }
      const double inverse = 1.0 / std::sqrt(sum / kWidth + kEpsilon);
      for (int j = 0; j < kWidth; ++j) {
        const double normed =
            double(context[base + j]) * kContextScale * inverse * norm[j];
        const double embedded =
            table.values[size_t(row) * kValues + (kFirst + l) * kWidth + j];
        out[base + j] = (normed + embedded * kTableScale) / std::sqrt(2.0);
      }
    }
  }
  return out;
}

template <typename W, typename Kernel>
void checkFormat(const char *format, Kernel kernel) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  Table table = makeTable(format, rng);
  // The last id is beyond the table: it reads row 0.
  std::vector<int32_t> tokens{7, 2, kTableRows + 5};
  std::vector<float> context(size_t(kTokens) * kLayers * kWidth), norm(kWidth);
  for (float &value : context)
    value = uniform(rng);
  for (float &value : norm)
    value = uniform(rng);
  std::vector<float> out(context.size());

  const int rowElements = int(table.rowBytes / sizeof(W));
  Buffer<int32_t, 1> ids(tokens.data(), kTokens);
  Buffer<W, 2> tableBuffer(reinterpret_cast<W *>(table.bytes.data()),
                           rowElements, kTableRows);
  Buffer<float, 3> contextBuffer(context.data(), kWidth, kLayers, kTokens);
  Buffer<float, 1> normBuffer(norm.data(), kWidth);
  Buffer<float, 3> outBuffer(out.data(), kWidth, kLayers, kTokens);
  ASSERT_EQ(kernel(ids, tableBuffer, contextBuffer, normBuffer, kTableScale,
                   kContextScale, kEpsilon, outBuffer),
            0);

  std::vector<double> expected = referenceCombine(tokens, table, context, norm);
  std::vector<float> library(out.size());
  using Element = std::conditional_t<
      std::is_same<W, float>::value, float,
      std::conditional_t<std::is_same<W, uint16_t>::value, g4k::bf16, void>>;
  if constexpr (!std::is_void<Element>::value) {
    g4k::ple_combine<kTokens, kLayers, kWidth, kTableRows, kTableLayers,
                     kFirst>(
        tokens.data(), reinterpret_cast<const Element *>(table.bytes.data()),
        context.data(), norm.data(), kTableScale, kContextScale, kEpsilon,
        library.data());
  } else if (std::string(format) == "int8") {
    g4k::ple_combine<kTokens, kLayers, kWidth, kTableRows, kTableLayers,
                     kFirst>(
        tokens.data(), reinterpret_cast<const g4k::q8 *>(table.bytes.data()),
        context.data(), norm.data(), kTableScale, kContextScale, kEpsilon,
        library.data());
  } else {
    g4k::ple_combine<kTokens, kLayers, kWidth, kTableRows, kTableLayers,
                     kFirst>(
        tokens.data(),
        reinterpret_cast<const g4k::q4<kGroup> *>(table.bytes.data()),
        context.data(), norm.data(), kTableScale, kContextScale, kEpsilon,
        library.data());
  }
  for (size_t k = 0; k < out.size(); ++k) {
    ASSERT_NEAR(out[k], expected[k], 2e-6 * (1.0 + std::fabs(expected[k])))
        << format << " at " << k;
    ASSERT_EQ(std::memcmp(&out[k], &library[k], sizeof(float)), 0)
        << format << " at " << k << ": halide " << out[k] << ", g4k "
        << library[k];
  }
}

TEST(PleCombineKernel, F32TableMatchesOracleAndLibrary) {
  checkFormat<float>("f32", g4c_ple_combine_f32_host);
}
TEST(PleCombineKernel, Bf16TableMatchesOracleAndLibrary) {
  checkFormat<uint16_t>("bf16", g4c_ple_combine_bf16_host);
}
TEST(PleCombineKernel, Int8TableMatchesOracleAndLibrary) {
  checkFormat<uint8_t>("int8", g4c_ple_combine_int8_host);
}
TEST(PleCombineKernel, Int4TableMatchesOracleAndLibrary) {
  checkFormat<uint8_t>("int4", g4c_ple_combine_int4_host);
}

} // namespace
