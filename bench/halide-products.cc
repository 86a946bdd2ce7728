//===- halide-products.cc - Halide products against g4k::linear -----------===//
//
// Part of g4c. The object backend's Halide matrix products (--halide-products:
// g4c_linear for bf16, g4c_quantised_linear for int8 / int4) against
// g4k::linear on the same E2B shapes, both on one thread: decode's 1 token x
// 1536 -> 12288 (weights streamed from memory, bytes read per second) and
// prefill's 64 tokens x 1536 -> 2048 (multiply-adds per second). The
// quantised kernels are fed as the generated wrappers feed them: the
// activations quantised by g4k::quantize_activations, timed with the kernel.
// bench/halide-products.sh generates the kernels and builds this with -O3
// -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"
#include "g4k_halide.h"

#include <chrono>
#include <cstdio>

extern "C" {
#define G4C_BENCH_KERNEL(name)                                                 \
  int name(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *);
#define G4C_BENCH_QUANTISED_KERNEL(name)                                       \
  int name(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *,            \
           halide_buffer_t *);
G4C_BENCH_KERNEL(decode_bf16)
G4C_BENCH_KERNEL(prefill_bf16)
G4C_BENCH_QUANTISED_KERNEL(decode_int8)
G4C_BENCH_QUANTISED_KERNEL(prefill_int8)
G4C_BENCH_QUANTISED_KERNEL(decode_int4)
G4C_BENCH_QUANTISED_KERNEL(prefill_int4)
}

namespace {

constexpr int kHidden = 1536, kMlp = 12288, kQ = 2048, kPrefillTokens = 64;
constexpr size_t kStreamedBytes = size_t(1) << 28;

/// g4k's and Halide's rate for T tokens x In -> Out on W weights, in calls
/// per second. |copies| matrices taken in turn (decode: past the caches).
template <int T, int Out, int In, typename W, typename Kernel>
void compare(const char *name, Kernel kernel, double unitsPerCall,
             const char *unit, bool streamed) {
  const std::vector<uint8_t> one = randomWeights<In, W>(Out);
  const size_t copies = streamed ? kStreamedBytes / one.size() + 1 : 1;
  std::vector<uint8_t> all(one.size() * copies);
  for (size_t c = 0; c < copies; ++c)
    std::memcpy(all.data() + c * one.size(), one.data(), one.size());
  std::vector<float> x(T * In), y(T * Out);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(i % 17) / 17.0f - 0.5f;
  size_t next = 0;
  auto weights = [&] {
    const uint8_t *w = all.data() + next * one.size();
    next = (next + 1) % copies;
    return w;
  };

  const double library = best([&] {
    g4k::linear<T, Out, In>(x.data(), reinterpret_cast<const W *>(weights()),
                            y.data());
  });
  const int rowBytes = int(one.size() / Out);
  double halide = 0;
  g4k::halide::view<2> output(y.data(), g4k::halide::f32(), {Out, T});
  if constexpr (std::is_same<W, g4k::bf16>::value) {
    g4k::halide::view<2> input(x.data(), g4k::halide::f32(), {In, T});
    halide = best([&] {
      g4k::halide::view<2> w(weights(), g4k::halide::bf16_bits(), {In, Out});
      g4k::halide::check(kernel(input.get(), w.get(), output.get()), name);
    });
  } else {
    constexpr int kBlock = 32; // int8's, and the int4 group here
    static g4k::q8_activations<T, In, kBlock> a;
    g4k::halide::view<2> levels(a.q, g4k::halide::i8(), {In, T});
    g4k::halide::view<2> scales(a.scale, g4k::halide::f32(), {In / kBlock, T});
    halide = best([&] {
      g4k::quantize_activations(x.data(), a, 0, T);
      g4k::halide::view<2> w(weights(), g4k::halide::bytes(), {rowBytes, Out});
      g4k::halide::check(
          kernel(levels.get(), scales.get(), w.get(), output.get()), name);
    });
  }
  std::printf("| %s | %.1f %s | %.1f %s | %.2f |\n", name,
              library * unitsPerCall, unit, halide * unitsPerCall, unit,
              halide / library);
}

template <typename W, typename Kernel>
void decode(const char *name, Kernel kernel) {
  const double bytes = double(randomWeights<kHidden, W>(1).size()) * kMlp;
  compare<1, kMlp, kHidden, W>(name, kernel, bytes / 1e9, "GB/s", true);
}

template <typename W, typename Kernel>
void prefill(const char *name, Kernel kernel) {
  const double macs = double(kPrefillTokens) * kQ * kHidden;
  compare<kPrefillTokens, kQ, kHidden, W>(name, kernel, macs / 1e9, "GMAC/s",
                                          false);
}

} // namespace

int main() {
  std::printf("| product (one thread) | g4k::linear | Halide | Halide / g4k "
              "|\n|---|---|---|---|\n");
  decode<g4k::bf16>("decode_bf16", decode_bf16);
  decode<g4k::q8>("decode_int8", decode_int8);
  decode<g4k::q4<32>>("decode_int4", decode_int4);
  prefill<g4k::bf16>("prefill_bf16", prefill_bf16);
  prefill<g4k::q8>("prefill_int8", prefill_int8);
  prefill<g4k::q4<32>>("prefill_int4", prefill_int4);
  return 0;
}
