//===- AttentionKernelTest.cpp - Halide attention against oracles ---------===//
//
// Part of g4c. Attention through the generated passes (scores, values) and
// g4k::attend_blocks must match a double-precision softmax attention
// written from the architecture document to float accuracy, and
// g4k::attend_heads (the C++ backend's) bit for bit: the object backend
// swaps one for the other. Over a ring cache with fresh rows, and over a
// linear cache of every position, f32 and int8 caches; in one block and in
// several (the running maximum rescales the sums).
//
//===----------------------------------------------------------------------===//

#include "g4c_attention_scores_linear8_host.h"
#include "g4c_attention_scores_linear_host.h"
#include "g4c_attention_scores_ring8_host.h"
#include "g4c_attention_scores_ring_host.h"
#include "g4c_attention_values_linear8_host.h"
#include "g4c_attention_values_linear_host.h"
#include "g4c_attention_values_ring8_host.h"
#include "g4c_attention_values_ring_host.h"

#include "g4k.h"
#include "g4k_halide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

namespace {

struct Rows {
  std::vector<float> q, keys, values, freshKeys, freshValues;
};

std::vector<float> randomValues(size_t count, std::mt19937 &rng, float range) {
  std::uniform_real_distribution<float> uniform(-range, range);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(rng);
  return values;
}

/// |queries| query floats, a cache of Slots rows and FreshRows fresh ones
/// (one when none, unread) of KvHeads heads, all random.
template <int HeadDim, int KvHeads, int Slots, int FreshRows>
Rows randomRows(size_t queries, std::mt19937 &rng) {
  constexpr size_t kRow = KvHeads * HeadDim, kFresh = FreshRows ? FreshRows : 1;
  return Rows{randomValues(queries, rng, 0.5f),
              randomValues(Slots * kRow, rng, 2.0f),
              randomValues(Slots * kRow, rng, 2.0f),
              randomValues(kFresh * kRow, rng, 2.0f),
              randomValues(kFresh * kRow, rng, 2.0f)};
}

/// An int8 cache of |rows|' cache rows: each row of HeadDim values (a slot's
/// KV head) as levels with its own scale (absmax / 127, rounded to
/// nearest), as g4k::kv_store_q8 stores it; |rows|' keys and values become
/// the values the levels stand for (scale x level), which the oracle reads.
struct Int8Rows {
  std::vector<int8_t> k, v;
  std::vector<float> kScales, vScales;
};

Int8Rows quantiseCache(Rows &rows, int headDim) {
  Int8Rows int8;
  auto quantise = [&](std::vector<float> &values, std::vector<int8_t> &levels,
                      std::vector<float> &scales) {
    levels.resize(values.size());
    for (size_t row = 0; row < values.size() / headDim; ++row) {
      float *x = &values[row * headDim];
      float absmax = 0;
      for (int i = 0; i < headDim; ++i)
        absmax = std::max(absmax, std::fabs(x[i]));
      const float scale = absmax / 127;
      scales.push_back(scale);
      for (int i = 0; i < headDim; ++i) {
        const int8_t level = int8_t(std::lround(x[i] / scale));
        levels[row * headDim + i] = level;
        x[i] = scale * float(level);
      }
    }
  };
  quantise(rows.keys, int8.k, int8.kScales);
  quantise(rows.values, int8.v, int8.vScales);
  return int8;
}

/// The cache the kernels read: |rows|' f32 rows, or |int8|'s.
template <typename Cache>
Cache cacheOf(const Rows &rows, const Int8Rows &int8) {
  if constexpr (std::is_same<Cache, g4k::q8_kv>::value)
    return {int8.k.data(), int8.v.data(), int8.kScales.data(),
            int8.vScales.data()};
  else
    return {rows.keys.data(), rows.values.data()};
}

template <typename Cache>
using ScoresFn = typename g4k::halide::attention_passes<Cache>::scores_fn;
template <typename Cache>
using ValuesFn = typename g4k::halide::attention_passes<Cache>::values_fn;

/// softmax(q_g . K_p) . V_p over p in [first, last] in double, the rows
/// found as the kernels find them.
template <int HeadDim, int KvHeads, int Slots>
std::vector<double> referenceAttention(const Rows &rows, int heads, int kv,
                                       int freshStart, int first, int last) {
  auto row = [&](const std::vector<float> &cached,
                 const std::vector<float> &fresh, int p) {
    return p < freshStart
               ? &cached[(size_t(p % Slots) * KvHeads + kv) * HeadDim]
               : &fresh[(size_t(p - freshStart) * KvHeads + kv) * HeadDim];
  };
  std::vector<double> out(size_t(heads) * HeadDim, 0.0);
  for (int g = 0; g < heads; ++g) {
    std::vector<double> scores;
    double maximum = -INFINITY, total = 0;
    for (int p = first; p <= last; ++p) {
      const float *k = row(rows.keys, rows.freshKeys, p);
      double score = 0;
      for (int i = 0; i < HeadDim; ++i)
        score += double(rows.q[size_t(g) * HeadDim + i]) * k[i];
      scores.push_back(score);
      maximum = std::max(maximum, score);
    }
    for (int p = first; p <= last; ++p) {
      const double weight = std::exp(scores[p - first] - maximum);
      total += weight;
      const float *v = row(rows.values, rows.freshValues, p);
      for (int i = 0; i < HeadDim; ++i)
        out[size_t(g) * HeadDim + i] += weight * v[i];
    }
    for (int i = 0; i < HeadDim; ++i)
      out[size_t(g) * HeadDim + i] /= total;
  }
  return out;
}

/// One call of Heads query heads reading KV head |kv|, scratch for |room|
/// scores, through Halide and through g4k, over an f32 or an int8 cache.
template <int HeadDim, int KvHeads, int Slots, int FreshRows, int Heads,
          typename Cache = g4k::f32_kv>
void checkAttention(ScoresFn<Cache> scoresKernel, ValuesFn<Cache> valuesKernel,
                    int kv, int freshStart, int first, int last, int room) {
  SCOPED_TRACE(testing::Message()
               << "kv " << kv << " positions " << first << ".." << last
               << " fresh from " << freshStart << " room " << room);
  std::mt19937 rng(first * 100 + last + room);
  Rows rows =
      randomRows<HeadDim, KvHeads, Slots, FreshRows>(Heads * HeadDim, rng);
  const Int8Rows int8 = std::is_same<Cache, g4k::q8_kv>::value
                            ? quantiseCache(rows, HeadDim)
                            : Int8Rows{};
  const Cache cache = cacheOf<Cache>(rows, int8);
  const float *freshKeys = FreshRows ? rows.freshKeys.data() : nullptr;
  const float *freshValues = FreshRows ? rows.freshValues.data() : nullptr;
  std::vector<float> scratch(room), generated(Heads * HeadDim, -1.0f),
      library(Heads * HeadDim, -2.0f);
  auto heads =
      g4k::halide::attention_heads<HeadDim, KvHeads, Slots, FreshRows, Heads>(
          scoresKernel, valuesKernel, cache, freshKeys, freshValues);
  heads(std::integral_constant<int, Heads>(), rows.q.data(), kv, freshStart,
        first, last, scratch.data(), room, generated.data(), nullptr);
  g4k::attend_heads<HeadDim, KvHeads, Slots, Heads>(
      rows.q.data(), cache, kv, freshKeys, freshValues, freshStart, first, last,
      scratch.data(), room, library.data());
  std::vector<double> expected = referenceAttention<HeadDim, KvHeads, Slots>(
      rows, Heads, kv, freshStart, first, last);
  for (size_t k = 0; k < generated.size(); ++k) {
    ASSERT_NEAR(generated[k], expected[k], 1e-5 * (1 + std::fabs(expected[k])))
        << "head " << k / HeadDim << " element " << k % HeadDim;
    ASSERT_EQ(std::memcmp(&generated[k], &library[k], sizeof(float)), 0)
        << "head " << k / HeadDim << " element " << k % HeadDim << ": halide "
        << generated[k] << ", g4k " << library[k];
  }
}

// Ring: head_dim=32 kv_heads=2 slots=8 fresh_rows=3 heads=2
// (targets/halide/CMakeLists.txt). A window of 7 positions ending on the
// 3 fresh rows, in blocks of 3 and of 1, and in one.
TEST(AttentionKernel, RingCacheWithFreshRows) {
  for (int room : {6, 2, 200})
    checkAttention<32, 2, 8, 3, 2>(g4c_attention_scores_ring_host,
                                   g4c_attention_values_ring_host, 1, 10, 6, 12,
                                   room);
  // Only cached positions (a decode step's first blocks), KV head 0.
  checkAttention<32, 2, 8, 3, 2>(g4c_attention_scores_ring_host,
                                 g4c_attention_values_ring_host, 0, 30, 22, 29,
                                 8);
}

// Linear: head_dim=16 kv_heads=1 slots=40 fresh_rows=0 heads=4: the cache
// holds every position (no fresh rows).
TEST(AttentionKernel, LinearCacheOfEveryPosition) {
  for (int room : {28, 4, 160})
    checkAttention<16, 1, 40, 0, 4>(g4c_attention_scores_linear_host,
                                    g4c_attention_values_linear_host, 0, 30, 0,
                                    29, room);
  checkAttention<16, 1, 40, 0, 4>(g4c_attention_scores_linear_host,
                                  g4c_attention_values_linear_host, 0, 40, 39,
                                  39, 4);
}

/// T tokens from |start| through g4k::halide::attend_tokens against the
/// double oracle for each token's window, and against g4k::attend_tokens
/// bit for bit.
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window,
          int FreshRows, typename Cache = g4k::f32_kv>
void checkTokens(ScoresFn<Cache> scoresKernel, ValuesFn<Cache> valuesKernel,
                 int start) {
  SCOPED_TRACE(testing::Message() << T << " tokens from " << start);
  constexpr int kGroup = QHeads / KvHeads;
  std::mt19937 rng(start);
  Rows rows =
      randomRows<HeadDim, KvHeads, Slots, FreshRows>(T * QHeads * HeadDim, rng);
  const Int8Rows int8 = std::is_same<Cache, g4k::q8_kv>::value
                            ? quantiseCache(rows, HeadDim)
                            : Int8Rows{};
  const Cache cache = cacheOf<Cache>(rows, int8);
  const float *freshKeys = FreshRows ? rows.freshKeys.data() : nullptr;
  const float *freshValues = FreshRows ? rows.freshValues.data() : nullptr;
  std::vector<float> scratch(Slots + T), generated(rows.q.size(), -1.0f),
      expectedByG4k(rows.q.size(), -2.0f);
  g4k::threads().start();
  g4k::halide::attend_tokens<T, HeadDim, QHeads, KvHeads, Slots, Window,
                             FreshRows>(
      scoresKernel, valuesKernel, rows.q.data(), cache, freshKeys, freshValues,
      start, scratch.data(), generated.data());
  g4k::attend_tokens<T, HeadDim, QHeads, KvHeads, Slots, Window>(
      rows.q.data(), cache, freshKeys, freshValues, start, scratch.data(),
      expectedByG4k.data());
  for (int t = 0; t < T; ++t) {
    const int p = start + t,
              first = Window > 0 && p >= Window ? p - Window + 1 : 0;
    for (int kv = 0; kv < KvHeads; ++kv) {
      const size_t group = (size_t(t) * QHeads + kv * kGroup) * HeadDim;
      Rows one = rows;
      one.q.assign(rows.q.begin() + group,
                   rows.q.begin() + group + kGroup * HeadDim);
      const std::vector<double> expected =
          referenceAttention<HeadDim, KvHeads, Slots>(
              one, kGroup, kv, FreshRows ? start : start + T, first, p);
      for (int k = 0; k < kGroup * HeadDim; ++k) {
        ASSERT_NEAR(generated[group + k], expected[k],
                    1e-5 * (1 + std::fabs(expected[k])))
            << "token " << t << " kv " << kv << " element " << k;
        ASSERT_EQ(std::memcmp(&generated[group + k], &expectedByG4k[group + k],
                              sizeof(float)),
                  0)
            << "token " << t << " kv " << kv << " element " << k;
      }
    }
  }
}

// Prefill through the passes: 3 tokens on the ring (their own rows fresh,
// a window of 7) in token tiles; 5 tokens on the linear cache that holds
// every position, split by token (a head size of 16 is not whole vectors
// for g4k's loops); both as g4k takes them.
TEST(AttentionKernel, TokenTilesThroughThePasses) {
  checkTokens<3, 32, 4, 2, 8, 7, 3>(g4c_attention_scores_ring_host,
                                    g4c_attention_values_ring_host, 10);
  checkTokens<5, 16, 4, 1, 40, 0, 0>(g4c_attention_scores_linear_host,
                                     g4c_attention_values_linear_host, 30);
}

// The same shapes over int8 caches (int8_cache=true): the levels widened,
// each score times its K row's scale, each weight times its V row's scale,
// as g4k's loops (targets/halide/CMakeLists.txt: ring8, linear8).
TEST(AttentionKernel, Int8Caches) {
  using g4k::q8_kv;
  for (int room : {6, 2, 200})
    checkAttention<32, 2, 8, 3, 2, q8_kv>(g4c_attention_scores_ring8_host,
                                          g4c_attention_values_ring8_host, 1,
                                          10, 6, 12, room);
  checkAttention<32, 2, 8, 3, 2, q8_kv>(g4c_attention_scores_ring8_host,
                                        g4c_attention_values_ring8_host, 0, 30,
                                        22, 29, 8);
  for (int room : {28, 4})
    checkAttention<16, 1, 40, 0, 4, q8_kv>(g4c_attention_scores_linear8_host,
                                           g4c_attention_values_linear8_host, 0,
                                           30, 0, 29, room);
  checkTokens<3, 32, 4, 2, 8, 7, 3, q8_kv>(g4c_attention_scores_ring8_host,
                                           g4c_attention_values_ring8_host, 10);
  checkTokens<5, 16, 4, 1, 40, 0, 0, q8_kv>(
      g4c_attention_scores_linear8_host, g4c_attention_values_linear8_host, 30);
}

} // namespace
