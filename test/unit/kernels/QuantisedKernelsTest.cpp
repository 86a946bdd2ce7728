//===- QuantisedKernelsTest.cpp - g4k.h on int8 / int4 weights ------------===//
//
// Part of g4c. The kernels read packed int8 / int4 rows exactly as the
// compiler's dequantiser (targets/weights/Quantize) does: linear on int8
// activations against plain double sums over the dequantised weights and
// independently quantised activations, f32 row dots, gathers and slices.
// Built three times: for the baseline ISA (the portable kernels) and, on
// x86-64, for AVX-512 VNNI (g4k_avx512.h) and for AVX2 (g4k_avx2.h), each
// asserting which kernels it has. The x86 kernels must also add their
// scaled integer sums in the order g4k::integer_sum_order_of names, bit
// for bit against a scalar model of each order.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/Quantize.h"

#include "g4k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace g4c;
using weightfile::Format;

namespace {

std::vector<float> randomValues(size_t count, unsigned seed, bool gaussian) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 0.02f);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(count);
  for (float &value : values)
    value = gaussian ? normal(rng) : uniform(rng);
  return values;
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

/// The activations the kernels' Q8_0 quantiser stands for, in blocks of
/// |block| columns: scale = absmax / 127, q = round-half-even(x * 127 /
/// absmax).
std::vector<float> quantisedActivations(const std::vector<float> &x,
                                        int block) {
  std::vector<float> values(x.size());
  for (size_t first = 0; first < x.size(); first += block) {
    float absmax = 0;
    for (int i = 0; i < block; ++i)
      absmax = std::max(absmax, std::fabs(x[first + i]));
    const float inverse = absmax > 0 ? 127.0f / absmax : 0.0f;
    for (int i = 0; i < block; ++i) {
      values[first + i] =
          std::nearbyint(x[first + i] * inverse) * (absmax / 127.0f);
      // Within half a step of the input.
      EXPECT_LE(std::fabs(values[first + i] - x[first + i]),
                absmax / 127 / 2 * 1.001f);
    }
  }
  return values;
}

/// g4k::linear (on int8 activations when the kernel uses them), the f32
/// row_dot and g4k::embed on a packed matrix against plain sums over the
/// dequantised values.
template <typename W, int T, int Out, int In>
void checkKernels(Format format, size_t group) {
  std::vector<float> weights = randomValues(Out * In, 3, true);
  std::vector<uint8_t> packed = packMatrix(format, group, weights, In);
  std::vector<float> dequantised = unpackMatrix(format, group, packed, Out, In);
  const W *w = reinterpret_cast<const W *>(packed.data());
  std::vector<float> x = randomValues(T * In, 4, false);
  std::vector<float> seen = x;
  // Activation blocks: 32 columns for int8 weights, the group for int4.
  if constexpr (g4k::uses_int8_activations<W, In>())
    seen = quantisedActivations(x, group ? int(group) : 32);
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
  // The same rows as two stacked parts: the same values.
  constexpr int kFirst = Out / 2;
  std::vector<float> first(T * kFirst), second(T * (Out - kFirst));
  g4k::fused_linear<T, In, kFirst, Out - kFirst>(x.data(), w, first.data(),
                                                 second.data());
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o)
      ASSERT_EQ(o < kFirst ? first[t * kFirst + o]
                           : second[t * (Out - kFirst) + o - kFirst],
                y[t * Out + o])
          << t << "," << o;
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

/// Activations as g4k's Q8_0 rule functions quantise them, in blocks.
struct Levels {
  int block;
  std::vector<int> level;
  std::vector<float> scale;

  Levels(const std::vector<float> &x, int block) : block(block) {
    for (size_t first = 0; first < x.size(); first += block) {
      const g4k::q8_rule rule = g4k::q8_rule_of(&x[first], block);
      for (int i = 0; i < block; ++i)
        level.push_back(g4k::q8_level(x[first + i], rule.inverse));
      scale.push_back(rule.scale);
    }
  }
};

/// The packed weight at |column| of |row| as its integer level (int4: the
/// stored nibble - 8), and the scale of its group (int4) or row (int8).
int weightLevel(Format format, int group, const uint8_t *row, int column) {
  if (format == Format::Int8)
    return int8_t(row[column]);
  const int g = column / group, k = column % group, half = group / 2;
  const int byte = row[g * half + k % half];
  return (k < half ? byte & 15 : byte >> 4) - 8;
}
float groupScale(const uint8_t *row, int in, int group, int g) {
  uint16_t bits;
  std::memcpy(&bits, row + in / 2 + 2 * g, sizeof(bits));
  return g4k::half_to_float(bits);
}

/// x[t] . |row| with the scaled integer sums added in |order|, as
/// g4k::integer_sum_order documents it: per block (the activation block:
/// 32 columns for int8, the group for int4) in turn, or per 64-byte chunk
/// of the row in 16 lanes of 4 weight bytes, the lanes added at the end as
/// a tree (lane i + lane i + 8, then + 4, + 2, + 1). Each term is the exact
/// integer sum times (int4) the weight scale times the activation scale,
/// rounded once for the product of scales and once for the term.
float orderedDot(Format format, int group, int in, const uint8_t *row,
                 const Levels &x, int t, g4k::integer_sum_order order) {
  const bool int8 = format == Format::Int8;
  const int block = int8 ? 32 : group;
  auto scaleOf = [&](int b) {
    const float activation = x.scale[size_t(t) * (in / block) + b];
    return int8 ? activation : groupScale(row, in, group, b) * activation;
  };
  auto levelAt = [&](int column) { return x.level[size_t(t) * in + column]; };
  float sum = 0;
  if (order == g4k::integer_sum_order::blocks) {
    for (int b = 0; b < in / block; ++b) {
      int integer = 0;
      for (int i = b * block; i < (b + 1) * block; ++i)
        integer += weightLevel(format, group, row, i) * levelAt(i);
      sum += g4k::unfused_product(float(integer), scaleOf(b));
    }
  } else {
    // The 4 columns of lane l of chunk c: int8 columns in order; int4 the
    // low and high nibbles of 4 bytes.
    const int chunkColumns = int8 ? 64 : 128;
    float lanes[16] = {};
    for (int c = 0; c < in / chunkColumns; ++c)
      for (int l = 0; l < 16; ++l) {
        int integer = 0, b = 0;
        for (int i = 0; i < 4; ++i) {
          const int k = 4 * l + i;
          if (int8) {
            const int column = c * 64 + k;
            integer +=
                weightLevel(format, group, row, column) * levelAt(column);
            b = column / 32;
          } else {
            const int half = group / 2;
            const int low = c * 128 + k / half * group + k % half;
            integer += weightLevel(format, group, row, low) * levelAt(low) +
                       weightLevel(format, group, row, low + half) *
                           levelAt(low + half);
            b = low / group;
          }
        }
        lanes[l] += g4k::unfused_product(float(integer), scaleOf(b));
      }
    for (int width = 8; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l)
        lanes[l] += lanes[l + width];
    sum = lanes[0];
  }
  if (int8) {
    float rowScale;
    std::memcpy(&rowScale, row + in, sizeof(rowScale));
    sum *= rowScale;
  }
  return sum;
}

/// g4k::linear against orderedDot in the order g4k::integer_sum_order_of
/// names for the shape: equal bit for bit.
template <typename W, int T, int Out, int In>
void checkSumOrder(Format format, int group) {
  std::vector<float> weights = randomValues(Out * In, 9, true);
  std::vector<uint8_t> packed = packMatrix(format, group, weights, In);
  std::vector<float> x = randomValues(T * In, 10, false);
  x[In / 2] = 3.0f; // a large value: small levels in its block
  const Levels levels(x, format == Format::Int8 ? 32 : group);
  std::vector<float> y(T * Out);
  g4k::linear<T, Out, In>(x.data(), reinterpret_cast<const W *>(packed.data()),
                          y.data());
  const size_t rowSize = weightfile::rowBytes(format, In, group);
  const g4k::integer_sum_order order = g4k::integer_sum_order_of<W, T, In>();
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o)
      ASSERT_EQ(
          y[t * Out + o],
          orderedDot(format, group, In, &packed[o * rowSize], levels, t, order))
          << "token " << t << " row " << o << " order " << int(order);
}

// The AVX-512 and AVX2 builds run only where the CPU has the instructions.
#if defined(G4K_EXPECT_AVX512)
#define SKIP_WITHOUT_THE_INSTRUCTIONS()                                        \
  if (!__builtin_cpu_supports("avx512bw") ||                                   \
      !__builtin_cpu_supports("avx512vnni"))                                   \
  GTEST_SKIP() << "this CPU has no AVX-512 VNNI"
#elif defined(G4K_EXPECT_AVX2)
#define SKIP_WITHOUT_THE_INSTRUCTIONS()                                        \
  if (!__builtin_cpu_supports("avx2"))                                         \
  GTEST_SKIP() << "this CPU has no AVX2"
#else
#define SKIP_WITHOUT_THE_INSTRUCTIONS() (void)0
#endif

TEST(QuantisedKernels, ReadTheLayoutTheQuantiserWrites) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
  checkKernels<g4k::q8, 3, 5, 48>(Format::Int8, 0); // 48: f32 activations
  checkKernels<g4k::q8, 3, 5, 96>(Format::Int8, 0);
  checkKernels<g4k::q4<32>, 3, 5, 96>(Format::Int4, 32);
  checkKernels<g4k::q4<64>, 3, 4, 128>(Format::Int4, 64);
  checkKernels<g4k::q4<128>, 3, 3, 256>(Format::Int4, 128);
}

// Shapes the AVX-512 kernels take (whole 64 / 128-column chunks), with
// token counts around their tile of 4.
TEST(QuantisedKernels, WholeChunksAndTokenTiles) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
  checkKernels<g4k::q8, 1, 7, 192>(Format::Int8, 0); // decode: 4 rows + 3
  checkKernels<g4k::q8, 6, 7, 192>(Format::Int8, 0);
  checkKernels<g4k::q4<32>, 1, 5, 256>(Format::Int4, 32);
  checkKernels<g4k::q4<64>, 1, 9, 256>(Format::Int4, 64); // decode: 8 rows + 1
  // decode: 16-row tiles where the core is not a Zen (2 x 16 rows + 5)
  checkKernels<g4k::q4<32>, 1, 37, 256>(Format::Int4, 32);
  checkKernels<g4k::q4<128>, 1, 11, 384>(Format::Int4, 128);
  checkKernels<g4k::q4<32>, 9, 5, 384>(Format::Int4, 32);
  checkKernels<g4k::q4<64>, 4, 6, 256>(Format::Int4, 64);
  checkKernels<g4k::q4<128>, 5, 3, 384>(Format::Int4, 128);
}

// Prefill's token counts (16 and more: tokens in lanes on AVX-512), with
// partial vectors of 16 tokens, and row counts around the tile of 4.
TEST(QuantisedKernels, ManyTokens) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
  checkKernels<g4k::q8, 16, 9, 128>(Format::Int8, 0);
  checkKernels<g4k::q8, 37, 7, 192>(Format::Int8, 0);
  checkKernels<g4k::q8, 20, 3, 96>(Format::Int8, 0); // 96: chunked kernels
  checkKernels<g4k::q4<32>, 20, 9, 256>(Format::Int4, 32);
  checkKernels<g4k::q4<64>, 33, 6, 256>(Format::Int4, 64);
  checkKernels<g4k::q4<128>, 64, 5, 384>(Format::Int4, 128);
  // Wider than a pass of the lane kernels (2048 columns): two passes, the
  // second partial.
  checkKernels<g4k::q8, 20, 6, 2304>(Format::Int8, 0);
  checkKernels<g4k::q4<32>, 37, 5, 4480>(Format::Int4, 32);
  // 16 rows and more: whole panels on AMX where there is AMX.
  checkKernels<g4k::q8, 24, 35, 128>(Format::Int8, 0);
  checkKernels<g4k::q4<32>, 40, 33, 256>(Format::Int4, 32);
}

// The x86 kernels' sums, bit for bit: chunks (decode, a few tokens) and
// tokens in lanes (prefill), with passes of columns (2304 columns).
TEST(QuantisedKernels, SumsInTheNamedOrder) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
#ifndef G4K_X86_KERNELS
  GTEST_SKIP() << "the portable kernels' order depends on the C++ compiler";
#else
  checkSumOrder<g4k::q8, 1, 7, 192>(Format::Int8, 0);
  checkSumOrder<g4k::q8, 3, 5, 128>(Format::Int8, 0);
  checkSumOrder<g4k::q8, 20, 6, 2304>(Format::Int8, 0);
  checkSumOrder<g4k::q4<32>, 1, 9, 256>(Format::Int4, 32);
  checkSumOrder<g4k::q4<64>, 2, 5, 384>(Format::Int4, 64);
  checkSumOrder<g4k::q4<128>, 1, 3, 384>(Format::Int4, 128);
  checkSumOrder<g4k::q4<32>, 37, 5, 4480>(Format::Int4, 32);
  checkSumOrder<g4k::q4<64>, 17, 7, 256>(Format::Int4, 64);
  checkSumOrder<g4k::q4<128>, 9, 3, 384>(Format::Int4, 128);
#endif
}

#ifdef G4K_AVX512
/// The lane layout written 16 tokens at a time (quantize_lanes) against the
/// same tokens one at a time (quantize_token): the same bytes. Tokens 0-31
/// are two whole vectors, 32-36 a partial one; one block is all zeros (no
/// scale), one holds a single large value, and one has a level of 1.5
/// (rounded half to even).
template <int Block, int Bias> void checkLaneQuantisation() {
  constexpr int T = 37, In = 4 * Block;
  using Lanes = g4k::avx512::lane_activations<T, In, Block, Bias>;
  std::vector<float> x = randomValues(T * In, 11, false);
  std::fill(x.begin() + 3 * In + Block, x.begin() + 3 * In + 2 * Block, 0.0f);
  x[20 * In + 2 * Block + 5] = 1e30f;
  x[7 * In] = 1.0f;
  x[7 * In + 1] = 1.5f / 127; // level 1.5: rounds to 2
  static Lanes lanes, tokens;
  std::memset(&lanes, 0x55, sizeof(lanes));
  std::memset(&tokens, 0x55, sizeof(tokens));
  g4k::avx512::quantize_activations(x.data(), lanes, 0, T);
  for (int t = 0; t < Lanes::kVectors * 16; ++t)
    g4k::avx512::quantize_token(x.data(), tokens, t);
  EXPECT_EQ(std::memcmp(lanes.q, tokens.q, sizeof(lanes.q)), 0);
  EXPECT_EQ(std::memcmp(lanes.scale, tokens.scale, sizeof(lanes.scale)), 0);
  EXPECT_EQ(std::memcmp(lanes.offset, tokens.offset, sizeof(lanes.offset)), 0);
  // Token 7's first dword: levels of 1.0 (the block's maximum) and 1.5.
  int8_t first[4];
  std::memcpy(first, &tokens.q[0][0][7], sizeof(first));
  EXPECT_EQ(first[0], 127);
  EXPECT_EQ(first[1], 2);
}

TEST(QuantisedKernels, LaneQuantisationMatchesTokenByToken) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
  checkLaneQuantisation<32, 128>(); // int8 weights
  checkLaneQuantisation<32, 8>();   // int4, groups of 32
  checkLaneQuantisation<64, 8>();
  checkLaneQuantisation<128, 8>();
}
#endif

#ifdef G4K_AMX
/// The AMX panels (16 rows at a time) against the VNNI lane tiles on the
/// same activations and rows: the same values, bit for bit. Out is not a
/// multiple of 16, so the last rows take the lane tiles in dot_rows too.
template <typename W, int T, int Out, int In>
void checkAmxPanels(Format format, size_t group) {
  using F = g4k::avx512::lane_format<W>;
  std::vector<float> weights = randomValues(Out * In, 7, true);
  std::vector<uint8_t> packed = packMatrix(format, group, weights, In);
  const W *w = reinterpret_cast<const W *>(packed.data());
  std::vector<float> x = randomValues(T * In, 8, false);
  static g4k::avx512::lane_activations<T, In, F::kBlock, F::kBias> a;
  g4k::avx512::quantize_activations(x.data(), a, 0, T);
  std::vector<float> lanes(T * Out, -1), panels(T * Out, -2);
  g4k::avx512::lane_rows<T, In, Out>(a, w, 0, Out, lanes.data());
  g4k::avx512::dot_rows<T, In, Out>(a, w, 0, Out, panels.data());
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o)
      ASSERT_EQ(panels[t * Out + o], lanes[t * Out + o]) << t << "," << o;
  // A part of the rows from an offset (one thread's share), in place.
  std::vector<float> part(T * Out, -3);
  g4k::avx512::dot_rows<T, In, Out>(a, w, 3, Out, part.data());
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o)
      ASSERT_EQ(part[t * Out + o], o < 3 ? -3.0f : lanes[t * Out + o])
          << t << "," << o;
}

TEST(QuantisedKernels, AmxPanelsMatchTheLaneTiles) {
  if (!g4k::avx512::amx::available())
    GTEST_SKIP() << "no AMX-INT8 here (CPU, Linux permission or G4_AMX=0)";
  checkAmxPanels<g4k::q8, 37, 40, 192>(Format::Int8, 0);
  checkAmxPanels<g4k::q8, 16, 16, 64>(Format::Int8, 0);
  checkAmxPanels<g4k::q4<32>, 20, 35, 256>(Format::Int4, 32);
  checkAmxPanels<g4k::q4<32>, 64, 48, 640>(Format::Int4, 32); // 20 blocks
  checkAmxPanels<g4k::q4<64>, 33, 34, 384>(Format::Int4, 64); // 6 blocks
  checkAmxPanels<g4k::q4<128>, 50, 33, 384>(Format::Int4, 128);
}
#endif

/// g4k::linear on f32 and bf16 weights against double sums: on AVX-512,
/// every token count takes register tiles of rows x tokens (partial tiles
/// at both edges here).
template <int T, int Out, int In> void checkFloatWeights() {
  std::vector<float> w = randomValues(Out * In, 5, true);
  std::vector<float> x = randomValues(T * In, 6, false);
  std::vector<g4k::bf16> wb(w.size());
  std::vector<float> rounded(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &w[i], sizeof(bits));
    wb[i].bits = uint16_t(bits >> 16); // truncation: any bf16 will do
    rounded[i] = g4k::widen(wb[i]);
  }
  std::vector<float> y(T * Out), yb(T * Out);
  g4k::linear<T, Out, In>(x.data(), w.data(), y.data());
  g4k::linear<T, Out, In>(x.data(), wb.data(), yb.data());
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o) {
      double exact = 0, exactBf16 = 0;
      for (int i = 0; i < In; ++i) {
        exact += double(x[t * In + i]) * w[o * In + i];
        exactBf16 += double(x[t * In + i]) * rounded[o * In + i];
      }
      ASSERT_NEAR(y[t * Out + o], exact, 1e-5) << t << "," << o;
      ASSERT_NEAR(yb[t * Out + o], exactBf16, 1e-5) << t << "," << o;
    }
}

TEST(QuantisedKernels, FloatWeights) {
  SKIP_WITHOUT_THE_INSTRUCTIONS();
  checkFloatWeights<4, 3, 48>();
  checkFloatWeights<11, 7, 160>();
  checkFloatWeights<20, 8, 64>();
  checkFloatWeights<3, 5, 48>();    // below the tiles' token count
  checkFloatWeights<1, 13, 1536>(); // decode: one token, rows of 3 KiB
}

TEST(QuantisedKernels, BuiltForTheExpectedInstructions) {
#ifdef G4K_EXPECT_AVX512
  EXPECT_TRUE(g4k::kAvx512Kernels);
#else
  EXPECT_FALSE(g4k::kAvx512Kernels);
#endif
#ifdef G4K_EXPECT_AVX2
  EXPECT_TRUE(g4k::kAvx2Kernels);
#else
  EXPECT_FALSE(g4k::kAvx2Kernels);
#endif
}

} // namespace
