//===- halide-attention.cc - Halide attention against g4k -----------------===//
//
// Part of g4c. The object backend's attention (g4k::halide::attend_tokens:
// the kernel library's token tiles or split of the pool, and attend_blocks'
// softmax, around the generated g4c_attention_scores / _values passes)
// against the C++ backend's g4k::attend_tokens, E2B shapes, f32 caches,
// both on the kernel library's pool as the models run them: a decode step
// on a sliding layer (ring of 512, head 256) and on a global one (linear
// cache of 4096 positions, 2000 filled, head 512), and 64 prefill tokens on
// a sliding layer. Prints each one's calls per second and the ratio.
// bench/halide-attention.sh generates the passes and builds this with -O3
// -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"
#include "g4k_halide.h"

#include <cstdio>

extern "C" {
#define G4C_BENCH_PASSES(name)                                                 \
  int name##_scores(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *,   \
                    int, int, int, halide_buffer_t *);                         \
  int name##_values(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *,   \
                    int, int, int, halide_buffer_t *, halide_buffer_t *);
G4C_BENCH_PASSES(decode_sliding)
G4C_BENCH_PASSES(decode_global)
G4C_BENCH_PASSES(prefill_sliding)
}

namespace {

constexpr int kQueryHeads = 8, kKvHeads = 1;

/// attend_tokens<T, HeadDim, 8, 1, Slots, Window> at position |start| both
/// ways (the passes generated for all 8 query heads of the KV head).
template <int T, int HeadDim, int Slots, int Window>
void compare(const char *name, g4k::halide::attention_scores_fn scores,
             g4k::halide::attention_values_fn values, int64_t start) {
  std::mt19937 rng(3);
  auto random = [&](size_t count) { return randomFloats(count, rng); };
  const std::vector<float> q = random(size_t(T) * kQueryHeads * HeadDim),
                           k = random(size_t(Slots) * kKvHeads * HeadDim),
                           v = random(size_t(Slots) * kKvHeads * HeadDim),
                           freshK = random(size_t(T) * kKvHeads * HeadDim),
                           freshV = random(size_t(T) * kKvHeads * HeadDim);
  std::vector<float> scratch(Slots + T), out(q.size());
  const g4k::f32_kv cache{k.data(), v.data()};
  const double library = best([&] {
    g4k::attend_tokens<T, HeadDim, kQueryHeads, kKvHeads, Slots, Window>(
        q.data(), cache, freshK.data(), freshV.data(), start, scratch.data(),
        out.data());
  });
  const double halide = best([&] {
    g4k::halide::attend_tokens<T, HeadDim, kQueryHeads, kKvHeads, Slots, Window,
                               T>(scores, values, q.data(), cache,
                                  freshK.data(), freshV.data(), start,
                                  scratch.data(), out.data());
  });
  std::printf("%-16s g4k %9.0f calls/s   halide %9.0f calls/s   halide/g4k "
              "%.2f\n",
              name, library, halide, halide / library);
}

} // namespace

int main() {
  g4k::threads().start(); // both cores, as a model's session has them
  compare<1, 256, 512, 512>("decode sliding", decode_sliding_scores,
                            decode_sliding_values, 1000);
  compare<1, 512, 4096, 0>("decode global", decode_global_scores,
                           decode_global_values, 2000);
  compare<64, 256, 512, 512>("prefill sliding", prefill_sliding_scores,
                             prefill_sliding_values, 512);
  return 0;
}
