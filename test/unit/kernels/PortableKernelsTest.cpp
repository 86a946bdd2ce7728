//===- PortableKernelsTest.cpp - g4k.h against the reference --------------===//
//
// Part of g4c. Each portable kernel against the reference executor's scalar
// float64-accumulating version (the oracle), at shapes that are not
// multiples of the vector width, with f32 and bf16 weights. Tolerance:
// 1e-5 relative (f32 sums of up to a few hundred terms).
//
//===----------------------------------------------------------------------===//

#include "g4k.h"

#include "compiler/Reference/ReferenceModel.h"
#include "test/unit/TestCheckpoints.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace g4c;
using namespace g4c::reference;

namespace {

std::vector<float> randomValues(size_t count, unsigned seed, float scale = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(rng);
  return values;
}

/// bf16 copies of |values| (rounded) for the kernel, and the rounded floats
/// for the oracle.
std::vector<g4k::bf16> toBf16(std::vector<float> &values) {
  std::vector<g4k::bf16> packed(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    packed[i].bits = floatToBf16(values[i]);
    values[i] = bf16ToFloat(packed[i].bits);
  }
  return packed;
}

Matrix matrixOf(const std::vector<float> &values, int64_t rows, int64_t cols) {
  Matrix matrix;
  matrix.owned = values.data();
  matrix.rows = rows;
  matrix.cols = cols;
  return matrix;
}

void expectClose(const std::vector<float> &actual,
                 const std::vector<float> &expected, float relative = 1e-5f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i],
                relative * (1.0f + std::fabs(expected[i])))
        << "at " << i;
}

TEST(PortableKernels, LinearF32AndBf16) {
  constexpr int T = 3, Out = 37, In = 70;
  std::vector<float> x = randomValues(T * In, 1);
  std::vector<float> w = randomValues(Out * In, 2);
  std::vector<float> expected(T * Out), actual(T * Out);
  for (int t = 0; t < T; ++t)
    reference::linear(llvm::ArrayRef<float>(&x[t * In], In),
                      matrixOf(w, Out, In), &expected[t * Out]);
  g4k::linear<T, Out, In>(x.data(), w.data(), actual.data());
  expectClose(actual, expected);

  std::vector<g4k::bf16> wb = toBf16(w); // w now holds the rounded values
  for (int t = 0; t < T; ++t)
    reference::linear(llvm::ArrayRef<float>(&x[t * In], In),
                      matrixOf(w, Out, In), &expected[t * Out]);
  g4k::linear<T, Out, In>(x.data(), wb.data(), actual.data());
  expectClose(actual, expected);
}

// Attention's scores: 16 partial sums added pairwise, in exactly that
// order (the vector-extension path and the plain one must agree), and close
// to the exact product.
TEST(PortableKernels, DotPairwiseOrder) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (int trial = 0; trial < 100; ++trial) {
    float a[40], b[40];
    for (int i = 0; i < 40; ++i) {
      a[i] = uniform(rng);
      b[i] = uniform(rng);
    }
    float partial[16] = {};
    for (int i = 0; i < 32; ++i) {
      const float product = a[i] * b[i]; // rounded: no fused multiply-add
      partial[i % 16] = partial[i % 16] + product;
    }
    for (int width = 8; width > 0; width /= 2)
      for (int lane = 0; lane < width; ++lane)
        partial[lane] = partial[lane] + partial[lane + width];
    float expected = partial[0];
    double exact = 0;
    for (int i = 0; i < 40; ++i) {
      if (i >= 32) {
        const float product = a[i] * b[i];
        expected = expected + product;
      }
      exact += double(a[i]) * b[i];
    }
    ASSERT_EQ(g4k::dot_pairwise<40>(a, b), expected) << trial;
    ASSERT_NEAR(g4k::dot_pairwise<40>(a, b), exact, 1e-5) << trial;
  }
}

TEST(PortableKernels, RmsNormWithAndWithoutWeight) {
  constexpr int T = 2, N = 45;
  std::vector<float> x = randomValues(T * N, 3, 4.0f);
  std::vector<float> w = randomValues(N, 4);
  std::vector<g4k::bf16> wb = toBf16(w);
  std::vector<float> expected = x, actual(T * N);
  Matrix weight = matrixOf(w, 1, N);
  for (int t = 0; t < T; ++t)
    reference::rmsNorm(&expected[t * N], N, &weight, 1e-6);
  g4k::rms_norm<T, N>(x.data(), wb.data(), 1e-6f, actual.data());
  expectClose(actual, expected);

  expected = x;
  for (int t = 0; t < T; ++t)
    reference::rmsNorm(&expected[t * N], N, nullptr, 1e-6);
  g4k::rms_norm_no_scale<T, N>(x.data(), 1e-6f, actual.data());
  expectClose(actual, expected);
}

TEST(PortableKernels, GeluGateAndSoftcap) {
  constexpr int N = 29;
  std::vector<float> gate = randomValues(N, 5, 4.0f), up = randomValues(N, 6);
  std::vector<float> actual(N), expected(N);
  for (int i = 0; i < N; ++i)
    expected[i] = reference::geluTanh(gate[i]) * up[i];
  g4k::gelu_gate<N>(gate.data(), up.data(), actual.data());
  expectClose(actual, expected);

  std::vector<float> logits = randomValues(N, 7, 100.0f);
  for (int i = 0; i < N; ++i)
    expected[i] = reference::softcap(logits[i], 30.0);
  g4k::softcap<N>(logits.data(), 30.0f);
  expectClose(logits, expected);
}

// The vectorisable exp and tanh behind gelu and softcap, over their whole
// range against the double-precision functions.
TEST(PortableKernels, ExpAndTanhApproximations) {
  double worstExp = 0, worstTanh = 0, worstGelu = 0;
  for (int i = -87000; i <= 87000; ++i) {
    const float x = i * 1e-3f;
    worstExp = std::max(
        worstExp, std::fabs(g4k::exp_approx(x) / std::exp(double(x)) - 1));
  }
  for (int i = -200000; i <= 200000; ++i) {
    const float y = i * 1e-4f;
    const double exact = std::tanh(double(y));
    if (y != 0)
      worstTanh =
          std::max(worstTanh, std::fabs(g4k::tanh_approx(y) / exact - 1));
    const double gelu = reference::geluTanh(y);
    worstGelu = std::max(worstGelu, std::fabs(g4k::gelu_tanh(y) - gelu) /
                                        (1e-6 + std::fabs(gelu)));
  }
  EXPECT_LT(worstExp, 5e-7);
  EXPECT_LT(worstTanh, 2e-6);
  EXPECT_LT(worstGelu, 2e-6);
  EXPECT_EQ(g4k::tanh_approx(0.0f), 0.0f);
  EXPECT_EQ(g4k::tanh_approx(1000.0f), 1.0f);
  EXPECT_EQ(g4k::tanh_approx(-1000.0f), -1.0f);
  EXPECT_NEAR(g4k::gelu_tanh(-1000.0f), 0.0f, 1e-30f);
  EXPECT_EQ(g4k::gelu_tanh(1000.0f), 1000.0f);
}

TEST(PortableKernels, ProportionalRope) {
  // Global heads: 32 dims, 4 of their 16 pairs rotate (theta 1e6,
  // denominator 32); two rows of two heads at large positions.
  std::vector<double> inverse = ropeInverseFrequencies(32, 8, 1e6, 1.0);
  std::vector<float> heads = randomValues(4 * 32, 8), expected = heads;
  for (int row = 0; row < 4; ++row)
    reference::applyRope(expected.data() + row * 32, 32, inverse,
                         70000 + row / 2);
  g4k::rope_rows<2, 2, 32, 4>(heads.data(), inverse.data(), 70000);
  expectClose(heads, expected);
  // Dimensions 4..15 and 20..31 pass through untouched.
  std::vector<float> original = randomValues(4 * 32, 8);
  for (int row = 0; row < 4; ++row)
    for (int j = 4; j < 16; ++j) {
      EXPECT_EQ(heads[row * 32 + j], original[row * 32 + j]);
      EXPECT_EQ(heads[row * 32 + j + 16], original[row * 32 + j + 16]);
    }
}

TEST(PortableKernels, AttentionOverRingAndLinearCaches) {
  // tiny-e4b layer 0: sliding, 4 query heads over 2 KV heads of 16, W = 4.
  g4c::testing::TempDir dir;
  auto checkpoint =
      Checkpoint::open(g4c::testing::generate(dir, "tiny-e4b", DType::F32));
  ASSERT_TRUE(bool(checkpoint));
  auto model = ReferenceModel::create(**checkpoint);
  ASSERT_TRUE(bool(model));
  constexpr int kHeadDim = 16, kQHeads = 4, kKvHeads = 2, kRow = 32;
  constexpr int kSlots = 4;
  // Positions 9..12 are visible: 9 and 10 from the ring (slots 1, 2), 11
  // and 12 from the current tokens' rows, not yet stored.
  const int64_t first = 9, last = 12, freshStart = 11;
  std::vector<float> q = randomValues(kQHeads * kHeadDim, 9, 2.0f);
  std::vector<float> keys = randomValues(kSlots * kRow, 10, 2.0f);
  std::vector<float> values = randomValues(kSlots * kRow, 11);
  std::vector<float> freshKeys = randomValues(2 * kRow, 14, 2.0f);
  std::vector<float> freshValues = randomValues(2 * kRow, 15);
  std::vector<const float *> keyRows, valueRows;
  for (int64_t p = first; p <= last; ++p) {
    bool fresh = p >= freshStart;
    keyRows.push_back(fresh ? &freshKeys[(p - freshStart) * kRow]
                            : &keys[(p % kSlots) * kRow]);
    valueRows.push_back(fresh ? &freshValues[(p - freshStart) * kRow]
                              : &values[(p % kSlots) * kRow]);
  }
  std::vector<float> expected(kQHeads * kHeadDim), actual(expected.size());
  (*model)->attend(0, q, keyRows, valueRows, expected.data());
  // Room for all 4 scores, and for 3, 2 or 1 at a time (running maximum).
  for (int room = 4; room >= 1; --room) {
    float scores[4];
    g4k::attend<kHeadDim, kQHeads, kKvHeads, kSlots>(
        q.data(), g4k::f32_kv{keys.data(), values.data()}, freshKeys.data(),
        freshValues.data(), freshStart, first, last, scores, room,
        actual.data());
    expectClose(actual, expected);
  }

  // A linear cache: slot p holds position p.
  constexpr int kContext = 8;
  std::vector<float> linearKeys = randomValues(kContext * kRow, 12, 2.0f);
  std::vector<float> linearValues = randomValues(kContext * kRow, 13);
  keyRows.clear();
  valueRows.clear();
  for (int64_t p = 0; p <= 6; ++p) {
    keyRows.push_back(&linearKeys[p * kRow]);
    valueRows.push_back(&linearValues[p * kRow]);
  }
  (*model)->attend(0, q, keyRows, valueRows, expected.data());
  float linearScores[kContext];
  g4k::attend<kHeadDim, kQHeads, kKvHeads, kContext>(
      q.data(), g4k::f32_kv{linearKeys.data(), linearValues.data()}, nullptr,
      nullptr, /*fresh_start=*/7, 0, 6, linearScores, kContext, actual.data());
  expectClose(actual, expected);
}

/// Attention of one query position over rows |keys| / |values| (one KV
/// head, |heads| query heads of HeadDim), computed in double: the oracle of
/// the vector attention tests below.
std::vector<float> attentionInDouble(const std::vector<float> &q, int heads,
                                     int headDim,
                                     const std::vector<const float *> &keys,
                                     const std::vector<const float *> &values) {
  std::vector<float> out(heads * headDim);
  for (int h = 0; h < heads; ++h) {
    std::vector<double> scores;
    double maximum = -INFINITY, total = 0;
    for (const float *key : keys) {
      double score = 0;
      for (int i = 0; i < headDim; ++i)
        score += double(q[h * headDim + i]) * key[i];
      scores.push_back(score);
      maximum = std::max(maximum, score);
    }
    std::vector<double> sum(headDim);
    for (size_t n = 0; n < keys.size(); ++n) {
      const double weight = std::exp(scores[n] - maximum);
      total += weight;
      for (int i = 0; i < headDim; ++i)
        sum[i] += weight * values[n][i];
    }
    for (int i = 0; i < headDim; ++i)
      out[h * headDim + i] = float(sum[i] / total);
  }
  return out;
}

/// |count| int8 levels (an int8 KV cache's rows), all of -127 .. 127.
std::vector<int8_t> randomLevels(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(-127, 127);
  std::vector<int8_t> levels(count);
  for (int8_t &value : levels)
    value = int8_t(level(rng));
  return levels;
}

/// |count| values of |K|: floats in [-1, 1], or int8 levels.
template <typename K> std::vector<K> randomRows(size_t count, unsigned seed) {
  if constexpr (std::is_same<K, float>::value)
    return randomValues(count, seed);
  else
    return randomLevels(count, seed);
}

#if defined(__GNUC__)
/// key_scores gives dot_pairwise's scores bit for bit, each at
/// scores[head * stride + key], for Heads query heads and P keys at once
/// (rows of floats, or of int8 levels).
template <int Heads, int P, typename K = float>
void expectKeyScoresArePairwiseDots() {
  constexpr int kHeadDim = 64, kStride = 19;
  SCOPED_TRACE(::testing::Message() << Heads << " heads, " << P << " keys, "
                                    << sizeof(K) << "-byte rows");
  const std::vector<float> q = randomValues(Heads * kHeadDim, 7 * Heads + P);
  const std::vector<K> keys = randomRows<K>(P * kHeadDim, 11 * Heads + P);
  const K *rows[P];
  for (int j = 0; j < P; ++j) // not in memory order
    rows[j] = keys.data() + (P - 1 - j) * kHeadDim;
  std::vector<float> scores(Heads * kStride, -1.0f);
  g4k::key_scores<kHeadDim, Heads, P>(q.data(), rows, scores.data(), kStride);
  for (int g = 0; g < Heads; ++g)
    for (int j = 0; j < kStride; ++j) {
      if (j >= P) { // past the P keys: untouched
        ASSERT_EQ(scores[g * kStride + j], -1.0f) << g << " " << j;
        continue;
      }
      ASSERT_EQ(scores[g * kStride + j],
                g4k::dot_pairwise<kHeadDim>(q.data() + g * kHeadDim, rows[j]))
          << "head " << g << " key " << j;
    }
}

TEST(PortableKernels, KeyScoresArePairwiseDots) {
  expectKeyScoresArePairwiseDots<1, 16>();
  expectKeyScoresArePairwiseDots<1, 1>();
  expectKeyScoresArePairwiseDots<2, 8>();
  expectKeyScoresArePairwiseDots<4, 4>();
  expectKeyScoresArePairwiseDots<4, 1>();
  expectKeyScoresArePairwiseDots<8, 2>();
  expectKeyScoresArePairwiseDots<8, 1>();
  expectKeyScoresArePairwiseDots<16, 1>();
  expectKeyScoresArePairwiseDots<8, 2, int8_t>();
  expectKeyScoresArePairwiseDots<1, 16, int8_t>();
}

TEST(PortableKernels, ValueRowsAddInPositionOrder) {
  constexpr int kHeadDim = 64, kHeads = 8, kCount = 37, kStride = 40;
  const std::vector<float> weights = randomValues(kHeads * kStride, 31);
  const std::vector<float> rows = randomValues(kCount * kHeadDim, 32);
  std::vector<float> actual = randomValues(kHeads * kHeadDim, 33);
  std::vector<float> expected = actual;
  // Row n lives at kCount - 1 - n: the kernel must follow |row|.
  auto row = [&](int64_t n) {
    return rows.data() + (kCount - 1 - n) * kHeadDim;
  };
  g4k::value_rows<kHeadDim, kHeads>(
      weights.data(), kStride, kCount, row, [](float w, int64_t) { return w; },
      actual.data());
  for (int n = 0; n < kCount; ++n)
    for (int g = 0; g < kHeads; ++g)
      for (int i = 0; i < kHeadDim; ++i)
        expected[g * kHeadDim + i] += weights[g * kStride + n] * row(n)[i];
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_EQ(actual[i], expected[i]) << "at " << i;
}

// Rows of an int8 cache: each weight times its row's scale, then the
// products, as value_axpy (the scalar loops' definition) adds them.
TEST(PortableKernels, Int8ValueRowsAreValueAxpys) {
  constexpr int kHeadDim = 64, kHeads = 8, kCount = 21, kStride = 24;
  const std::vector<float> weights = randomValues(kHeads * kStride, 34);
  const std::vector<int8_t> levels = randomLevels(kCount * kHeadDim, 35);
  std::vector<float> scales = randomValues(kCount, 36, 0.02f);
  const g4k::q8_kv cache{nullptr, levels.data(), nullptr, scales.data()};
  std::vector<float> actual = randomValues(kHeads * kHeadDim, 37);
  std::vector<float> expected = actual;
  g4k::value_rows<kHeadDim, kHeads>(
      weights.data(), kStride, kCount,
      [&](int64_t n) { return levels.data() + n * kHeadDim; },
      [&](float w, int64_t n) { return w * scales[n]; }, actual.data());
  for (int n = 0; n < kCount; ++n)
    for (int g = 0; g < kHeads; ++g)
      g4k::value_axpy<kHeadDim, 1>(cache, n, 0, weights[g * kStride + n],
                                   expected.data() + g * kHeadDim);
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_EQ(actual[i], expected[i]) << "at " << i;
}
#endif

// The vector loops of attend_heads (head dim a multiple of 32, f32 cache):
// a group of 8 query heads over one KV head, 13 positions from a ring and
// the current rows, in blocks of every size the scores' room allows
// (positions left over after whole vectors of scores, running maximum), and
// decode's split of the heads in halves across the pool.
TEST(PortableKernels, VectorAttentionAgainstDouble) {
  constexpr int kHeadDim = 64, kQHeads = 8, kKvHeads = 1, kSlots = 64;
  const int64_t first = 20, last = 32, freshStart = 30;
  const std::vector<float> q = randomValues(kQHeads * kHeadDim, 41, 0.5f);
  const std::vector<float> keys = randomValues(kSlots * kHeadDim, 42, 0.5f);
  const std::vector<float> values = randomValues(kSlots * kHeadDim, 43);
  const std::vector<float> freshKeys = randomValues(3 * kHeadDim, 44, 0.5f);
  const std::vector<float> freshValues = randomValues(3 * kHeadDim, 45);
  std::vector<const float *> keyRows, valueRows;
  for (int64_t p = first; p <= last; ++p) {
    const bool fresh = p >= freshStart;
    keyRows.push_back(fresh ? &freshKeys[(p - freshStart) * kHeadDim]
                            : &keys[(p % kSlots) * kHeadDim]);
    valueRows.push_back(fresh ? &freshValues[(p - freshStart) * kHeadDim]
                              : &values[(p % kSlots) * kHeadDim]);
  }
  const std::vector<float> expected =
      attentionInDouble(q, kQHeads, kHeadDim, keyRows, valueRows);
  const g4k::f32_kv cache{keys.data(), values.data()};
  std::vector<float> actual(expected.size());
  // 8 heads together over 13, 5, 3 and 1 positions a block; then (room 7)
  // each head alone, 7 positions a block.
  for (int room : {8 * 13, 8 * 5, 8 * 3, 8, 7}) {
    SCOPED_TRACE(::testing::Message() << "room " << room);
    std::vector<float> scores(room);
    g4k::attend<kHeadDim, kQHeads, kKvHeads, kSlots>(
        q.data(), cache, freshKeys.data(), freshValues.data(), freshStart,
        first, last, scores.data(), room, actual.data());
    expectClose(actual, expected);
  }
  // One token (decode) at position 32 of a sliding window of 13: the cache
  // holds every position (no fresh rows); too few positions to split, all
  // 8 heads together, with room for 4 positions a block.
  keyRows.clear();
  valueRows.clear();
  for (int64_t p = first; p <= last; ++p) {
    keyRows.push_back(&keys[(p % kSlots) * kHeadDim]);
    valueRows.push_back(&values[(p % kSlots) * kHeadDim]);
  }
  const std::vector<float> decodeExpected =
      attentionInDouble(q, kQHeads, kHeadDim, keyRows, valueRows);
  g4k::threads().start();
  std::vector<float> scores(kSlots + 1);
  g4k::attend_tokens<1, kHeadDim, kQHeads, kKvHeads, kSlots, 13>(
      q.data(), cache, nullptr, nullptr, last, scores.data(), actual.data());
  expectClose(actual, decodeExpected);
}

// Decode's split of the positions: attention over two ranges, each with
// its log-sum-exp, merged, is the attention over both (double oracle); and
// attend_tokens over 201 positions of a linear cache, which the pool's
// threads (two or more) take in halves.
TEST(PortableKernels, AttentionPartsMerge) {
  constexpr int kHeadDim = 64, kQHeads = 8, kKvHeads = 1, kSlots = 256;
  const int64_t last = 200, middle = 77;
  const std::vector<float> q = randomValues(kQHeads * kHeadDim, 51, 0.5f);
  const std::vector<float> keys = randomValues(kSlots * kHeadDim, 52, 0.5f);
  const std::vector<float> values = randomValues(kSlots * kHeadDim, 53);
  const g4k::f32_kv cache{keys.data(), values.data()};
  std::vector<const float *> keyRows, valueRows;
  for (int64_t p = 0; p <= last; ++p) {
    keyRows.push_back(&keys[p * kHeadDim]);
    valueRows.push_back(&values[p * kHeadDim]);
  }
  const std::vector<float> expected =
      attentionInDouble(q, kQHeads, kHeadDim, keyRows, valueRows);
  std::vector<float> scores(kSlots + 1), first(expected.size()),
      second(expected.size());
  float firstLse[kQHeads], secondLse[kQHeads];
  g4k::attend_heads<kHeadDim, kKvHeads, kSlots, kQHeads>(
      q.data(), cache, 0, nullptr, nullptr, last + 1, 0, middle - 1,
      scores.data(), 64, first.data(), firstLse);
  g4k::attend_heads<kHeadDim, kKvHeads, kSlots, kQHeads>(
      q.data(), cache, 0, nullptr, nullptr, last + 1, middle, last,
      scores.data(), 64, second.data(), secondLse);
  for (int h = 0; h < kQHeads; ++h) { // log sum_p e^(q . k_p), in double
    double total = 0;
    for (int64_t p = 0; p < middle; ++p) {
      double score = 0;
      for (int i = 0; i < kHeadDim; ++i)
        score += double(q[h * kHeadDim + i]) * keyRows[p][i];
      total += std::exp(score);
    }
    EXPECT_NEAR(firstLse[h], std::log(total), 1e-5 * std::fabs(std::log(total)))
        << "head " << h;
  }
  g4k::merge_attention<kHeadDim, kQHeads>(first.data(), firstLse, second.data(),
                                          secondLse);
  expectClose(first, expected);

  g4k::threads().start();
  std::vector<float> actual(expected.size());
  g4k::attend_tokens<1, kHeadDim, kQHeads, kKvHeads, kSlots, 0>(
      q.data(), cache, nullptr, nullptr, last, scores.data(), actual.data());
  expectClose(actual, expected);
}

/// An int8 KV cache of random levels and scales ([rows][HeadDim], one
/// scale a row), and the values it stands for (scale x level) as floats.
struct RandomInt8Cache {
  std::vector<int8_t> k, v;
  std::vector<float> kScales, vScales, keys, values;

  RandomInt8Cache(int rows, int headDim, unsigned seed)
      : k(randomLevels(size_t(rows) * headDim, seed)),
        v(randomLevels(size_t(rows) * headDim, seed + 1)),
        kScales(randomValues(rows, seed + 2, 0.5f / 127)),
        vScales(randomValues(rows, seed + 3, 1.0f / 127)), keys(k.size()),
        values(v.size()) {
    for (size_t i = 0; i < k.size(); ++i) {
      keys[i] = kScales[i / headDim] * float(k[i]);
      values[i] = vScales[i / headDim] * float(v[i]);
    }
  }
  g4k::q8_kv view() const {
    return {k.data(), v.data(), kScales.data(), vScales.data()};
  }
};

/// Each token's attention from attend_tokens<T> (prefill: the token tiles
/// of the vector loops) against the double oracle over the rows it reads:
/// positions [max(0, p - Window + 1), p] for token t at p = start + t, from
/// the fresh rows from |start| on (with them), else from the cache's slot
/// p % Slots (f32, or with |int8| an int8 cache: the oracle reads the
/// values it stands for); query head h reads KV head h / (QHeads /
/// KvHeads).
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window>
void checkTokenAttention(int64_t start, bool fresh, bool int8 = false) {
  SCOPED_TRACE(::testing::Message()
               << T << " tokens from " << start << (fresh ? ", fresh rows" : "")
               << (int8 ? ", int8 cache" : ""));
  constexpr int kRow = KvHeads * HeadDim, kGroup = QHeads / KvHeads;
  const std::vector<float> q = randomValues(T * QHeads * HeadDim, 61, 0.5f);
  const RandomInt8Cache int8Cache(Slots * KvHeads, HeadDim, 66);
  const std::vector<float> keys =
      int8 ? int8Cache.keys : randomValues(Slots * kRow, 62, 0.5f);
  const std::vector<float> values =
      int8 ? int8Cache.values : randomValues(Slots * kRow, 63);
  const std::vector<float> freshKeys = randomValues(T * kRow, 64, 0.5f);
  const std::vector<float> freshValues = randomValues(T * kRow, 65);
  std::vector<float> scores(Slots + T), actual(q.size());
  g4k::threads().start();
  auto attend = [&](const auto &cache) {
    g4k::attend_tokens<T, HeadDim, QHeads, KvHeads, Slots, Window>(
        q.data(), cache, fresh ? freshKeys.data() : nullptr,
        fresh ? freshValues.data() : nullptr, start, scores.data(),
        actual.data());
  };
  if (int8)
    attend(int8Cache.view());
  else
    attend(g4k::f32_kv{keys.data(), values.data()});
  for (int t = 0; t < T; ++t) {
    const int64_t p = start + t;
    const int64_t first = Window > 0 && p >= Window ? p - Window + 1 : 0;
    for (int kv = 0; kv < KvHeads; ++kv) {
      SCOPED_TRACE(::testing::Message() << "token " << t << " kv " << kv);
      std::vector<const float *> keyRows, valueRows;
      for (int64_t n = first; n <= p; ++n) {
        const bool isFresh = fresh && n >= start;
        const size_t offset =
            size_t(isFresh ? n - start : n % Slots) * kRow + kv * HeadDim;
        keyRows.push_back((isFresh ? freshKeys : keys).data() + offset);
        valueRows.push_back((isFresh ? freshValues : values).data() + offset);
      }
      const size_t group = (size_t(t) * QHeads + kv * kGroup) * HeadDim;
      const std::vector<float> groupQ(q.begin() + group,
                                      q.begin() + group + kGroup * HeadDim);
      expectClose(
          std::vector<float>(actual.begin() + group,
                             actual.begin() + group + kGroup * HeadDim),
          attentionInDouble(groupQ, kGroup, HeadDim, keyRows, valueRows));
    }
  }
}

// Prefill: 11 tokens (tiles of 4, 4 and 3) of 2 KV heads with 2 query heads
// each, over a ring of 80 slots with a window of 70 whose ends fall inside
// blocks, with the tokens' own rows fresh; and over a linear cache that
// holds every position (no fresh rows), from position 0 and from 130.
TEST(PortableKernels, TokenAttentionAgainstDouble) {
  checkTokenAttention<11, 64, 4, 2, 80, 70>(150, true);
  checkTokenAttention<11, 64, 4, 2, 256, 0>(0, false);
  checkTokenAttention<11, 64, 4, 2, 256, 0>(130, false);
  checkTokenAttention<11, 64, 4, 2, 256, 0>(130, true);
  // The same over int8 caches, whose rows the vector loops widen.
  checkTokenAttention<11, 64, 4, 2, 80, 70>(150, true, /*int8=*/true);
  checkTokenAttention<11, 64, 4, 2, 256, 0>(130, false, /*int8=*/true);
  // Decode: one token, the positions split across the pool.
  checkTokenAttention<1, 64, 8, 1, 256, 0>(200, false, /*int8=*/true);
  checkTokenAttention<1, 64, 8, 1, 256, 0>(200, true, /*int8=*/true);
}

#if defined(__GNUC__)
// The vector loops over an int8 cache compute what the scalar ones
// (key_dot, value_axpy: the loops of head sizes that are not whole vectors)
// compute, bit for bit: 8 query heads over 13 positions from a ring and the
// current rows, in blocks of every size the scores' room allows.
TEST(PortableKernels, Int8CacheVectorAttentionIsTheScalarLoops) {
  constexpr int kHeadDim = 64, kQHeads = 8, kKvHeads = 1, kSlots = 64;
  const int64_t first = 20, last = 32, freshStart = 30;
  const std::vector<float> q = randomValues(kQHeads * kHeadDim, 71, 0.5f);
  const RandomInt8Cache int8Cache(kSlots, kHeadDim, 72);
  const g4k::q8_kv cache = int8Cache.view();
  const std::vector<float> freshKeys = randomValues(3 * kHeadDim, 76, 0.5f);
  const std::vector<float> freshValues = randomValues(3 * kHeadDim, 77);
  auto fresh = [&](const std::vector<float> &rows, int64_t p) {
    return rows.data() + (p - freshStart) * kHeadDim;
  };
  for (int room : {8 * 13, 8 * 5, 8 * 3, 8}) {
    SCOPED_TRACE(::testing::Message() << "room " << room);
    std::vector<float> scores(room), actual(kQHeads * kHeadDim),
        expected(actual.size());
    g4k::attend_heads<kHeadDim, kKvHeads, kSlots, kQHeads>(
        q.data(), cache, 0, freshKeys.data(), freshValues.data(), freshStart,
        first, last, scores.data(), room, actual.data());
    g4k::attend_blocks<kHeadDim, kQHeads>(
        first, last, scores.data(), room, expected.data(),
        [&](int64_t block, int64_t count, float *blockScores, int64_t stride) {
          for (int64_t p = block; p < block + count; ++p)
            for (int g = 0; g < kQHeads; ++g)
              blockScores[g * stride + p - block] =
                  p < freshStart
                      ? g4k::key_dot<kHeadDim, kKvHeads>(
                            cache, p % kSlots, 0, q.data() + g * kHeadDim)
                      : g4k::dot_pairwise<kHeadDim>(q.data() + g * kHeadDim,
                                                    fresh(freshKeys, p));
        },
        [&](int64_t block, int64_t count, const float *weights, int64_t stride,
            float *sums) {
          for (int64_t p = block; p < block + count; ++p)
            for (int g = 0; g < kQHeads; ++g) {
              const float weight = weights[g * stride + p - block];
              float *sum = sums + g * kHeadDim;
              if (p < freshStart) {
                g4k::value_axpy<kHeadDim, kKvHeads>(cache, p % kSlots, 0,
                                                    weight, sum);
                continue;
              }
              for (int i = 0; i < kHeadDim; ++i)
                sum[i] += weight * fresh(freshValues, p)[i];
            }
        });
    for (size_t i = 0; i < actual.size(); ++i)
      ASSERT_EQ(actual[i], expected[i]) << "at " << i;
  }
}
#endif

// int8 KV: kv_store_q8 keeps each head's row within half a step of its
// absmax / 127 scale, and attention over the int8 cache is attention over
// the values it stands for.
TEST(PortableKernels, Int8KvCacheStoresAndAttends) {
  constexpr int kHeadDim = 12, kQHeads = 4, kKvHeads = 2, kSlots = 5, kT = 3;
  constexpr int kRow = kKvHeads * kHeadDim;
  std::vector<float> k = randomValues(kT * kRow, 21, 2.0f);
  std::vector<float> v = randomValues(kT * kRow, 22);
  int8_t kCache[kSlots * kRow] = {}, vCache[kSlots * kRow] = {};
  float kScales[kSlots * kKvHeads] = {}, vScales[kSlots * kKvHeads] = {};
  g4k::kv_store_q8<kT, kKvHeads, kHeadDim, kSlots>(
      k.data(), v.data(), /*start=*/4, kCache, vCache, kScales, vScales);
  // Positions 4, 5, 6 land in slots 4, 0, 1.
  std::vector<float> kBack(kSlots * kRow), vBack(kSlots * kRow);
  for (int slot = 0; slot < kSlots; ++slot)
    for (int h = 0; h < kKvHeads; ++h)
      for (int i = 0; i < kHeadDim; ++i) {
        const int at = (slot * kKvHeads + h) * kHeadDim + i;
        kBack[at] = kScales[slot * kKvHeads + h] * float(kCache[at]);
        vBack[at] = vScales[slot * kKvHeads + h] * float(vCache[at]);
      }
  for (int t = 0; t < kT; ++t) {
    const int slot = (4 + t) % kSlots;
    for (int h = 0; h < kKvHeads; ++h) {
      float absmax = 0;
      for (int i = 0; i < kHeadDim; ++i)
        absmax =
            std::max(absmax, std::fabs(k[(t * kKvHeads + h) * kHeadDim + i]));
      EXPECT_FLOAT_EQ(kScales[slot * kKvHeads + h], absmax / 127);
      for (int i = 0; i < kHeadDim; ++i)
        EXPECT_LE(std::fabs(kBack[(slot * kKvHeads + h) * kHeadDim + i] -
                            k[(t * kKvHeads + h) * kHeadDim + i]),
                  absmax / 127 / 2 * 1.0001f);
    }
  }
  std::vector<float> q = randomValues(kQHeads * kHeadDim, 23);
  std::vector<float> expected(kQHeads * kHeadDim), actual(expected.size());
  float scores[kSlots];
  // Position 6 attends to 4..6 (slots 4, 0, 1), all from the cache.
  g4k::attend<kHeadDim, kQHeads, kKvHeads, kSlots>(
      q.data(), g4k::f32_kv{kBack.data(), vBack.data()}, nullptr, nullptr,
      /*fresh_start=*/7, 4, 6, scores, kSlots, expected.data());
  g4k::attend<kHeadDim, kQHeads, kKvHeads, kSlots>(
      q.data(), g4k::q8_kv{kCache, vCache, kScales, vScales}, nullptr, nullptr,
      /*fresh_start=*/7, 4, 6, scores, kSlots, actual.data());
  expectClose(actual, expected);
}

} // namespace
