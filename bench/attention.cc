//===- attention.cc - g4k::attend_tokens against the multiply-add peak ----===//
//
// Part of g4c. The C++ backend's attention at E2B shapes (8 query heads, 1
// KV head, f32 caches) on the kernel library's pool, as the models run it:
// 64 prefill tokens (the token tiles) late and early in a sliding layer's
// ring of 512 and in a global layer (head 512), and a decode step on each.
// Prints microseconds per call and the multiply-adds' GFLOP/s (scores and
// value rows: 2 x heads x head dim per token and position read). Built by
// bench/attention.sh with -O3 -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"

#include <cstdio>

namespace {

constexpr int kQueryHeads = 8;

template <int T, int HeadDim, int Slots, int Window>
void measure(const char *name, int64_t start) {
  std::mt19937 rng(3);
  auto random = [&](size_t count) { return randomFloats(count, rng); };
  const std::vector<float> q = random(size_t(T) * kQueryHeads * HeadDim),
                           k = random(size_t(Slots) * HeadDim),
                           v = random(size_t(Slots) * HeadDim),
                           freshK = random(size_t(T) * HeadDim),
                           freshV = random(size_t(T) * HeadDim);
  std::vector<float> scratch(Slots + T), out(q.size());
  const g4k::f32_kv cache{k.data(), v.data()};
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
  std::printf("| %s | %.1f | %.1f |\n", name, 1e6 / rate, rate * flops / 1e9);
}

} // namespace

int main() {
  g4k::threads().start();
  std::printf("| attend_tokens | µs/call | GFLOP/s |\n|---|---|---|\n");
  measure<64, 256, 512, 512>("prefill 64, sliding, from 448", 448);
  measure<64, 256, 512, 512>("prefill 64, sliding, from 64", 64);
  measure<64, 512, 704, 0>("prefill 64, global, from 448", 448);
  measure<1, 256, 512, 512>("decode, sliding, at 600", 600);
  measure<1, 512, 704, 0>("decode, global, at 600", 600);
  return 0;
}
