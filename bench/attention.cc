//===- attention.cc - g4k::attend_tokens against the multiply-add peak ----===//
//
// Part of g4c. The C++ backend's attention at E2B shapes (8 query heads, 1
// KV head) on the kernel library's pool, as the models run it: 64 prefill
// tokens (the token tiles) late and early in a sliding layer's ring of 512
// and in a global layer (head 512), and a decode step on each; over f32
// caches and over int8 ones (--kv-cache int8). Prints microseconds per call
// and the multiply-adds' GFLOP/s (scores and value rows: 2 x heads x head
// dim per token and position read). Built by bench/attention.sh with -O3
// -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"

#include <cstdio>
#include <type_traits>

namespace {

constexpr int kQueryHeads = 8;

/// An f32 cache of random rows, or an int8 one (random levels, scales
/// 1/127).
template <typename Cache> struct RandomCache;
template <> struct RandomCache<g4k::f32_kv> {
  std::vector<float> k, v;
  RandomCache(size_t values, std::mt19937 &rng)
      : k(randomFloats(values, rng)), v(randomFloats(values, rng)) {}
  g4k::f32_kv view() const { return {k.data(), v.data()}; }
};
template <> struct RandomCache<g4k::q8_kv> {
  std::vector<int8_t> k, v;
  std::vector<float> scales;
  RandomCache(size_t values, std::mt19937 &rng)
      : k(values), v(values), scales(values, 1.0f / 127) {
    for (size_t i = 0; i < values; ++i) {
      k[i] = int8_t(int(rng() % 255) - 127);
      v[i] = int8_t(int(rng() % 255) - 127);
    }
  }
  g4k::q8_kv view() const {
    return {k.data(), v.data(), scales.data(), scales.data()};
  }
};

template <int T, int HeadDim, int Slots, int Window, typename Cache>
void measure(const char *name, int64_t start) {
  std::mt19937 rng(3);
  auto random = [&](size_t count) { return randomFloats(count, rng); };
  const std::vector<float> q = random(size_t(T) * kQueryHeads * HeadDim),
                           freshK = random(size_t(T) * HeadDim),
                           freshV = random(size_t(T) * HeadDim);
  const RandomCache<Cache> rows(size_t(Slots) * HeadDim, rng);
  std::vector<float> scratch(Slots + T), out(q.size());
  const Cache cache = rows.view();
  double flops = 0;
  for (int t = 0; t < T; ++t) {
    const int64_t p = start + t;
    const int64_t first = Window > 0 && p >= Window ? p - Window + 1 : 0;
    flops += 2.0 * 2 * double(p - first + 1) * kQueryHeads * HeadDim;
  }
  const double rate = best([&] {
    g4k::attend_tokens<T, HeadDim, kQueryHeads, 1, Slots, Window>(
        q.data(), cache, freshK.data(), freshV.data(), start, scratch.data(),
        out.data());
  });
  std::printf("| %s | %s | %.1f | %.1f |\n", name,
              std::is_same<Cache, g4k::f32_kv>::value ? "f32" : "int8",
              1e6 / rate, rate * flops / 1e9);
}

template <typename Cache> void measureAll() {
  measure<64, 256, 512, 512, Cache>("prefill 64, sliding, from 448", 448);
  measure<64, 256, 512, 512, Cache>("prefill 64, sliding, from 64", 64);
  measure<64, 512, 704, 0, Cache>("prefill 64, global, from 448", 448);
  measure<1, 256, 512, 512, Cache>("decode, sliding, at 600", 600);
  measure<1, 512, 704, 0, Cache>("decode, global, at 600", 600);
}

} // namespace

int main() {
  g4k::threads().start();
  std::printf("| attend_tokens | cache | µs/call | GFLOP/s |\n"
              "|---|---|---|---|\n");
  measureAll<g4k::f32_kv>();
  measureAll<g4k::q8_kv>();
  return 0;
}
