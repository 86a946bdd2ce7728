//===- decode.cc - decode's matrix-vector products against the bandwidth --===//
//
// Part of g4c. One token against E2B-shaped weights (the fused q|k|v
// projection, the double-wide gate|up and its down projection) through
// g4k::linear on every hardware thread, for int4, int8 and bf16: the bytes
// of weights read per second. Each matrix is repeated past 1 GiB and the
// copies are taken in turn, so every read comes from memory, as in decode.
// bench/decode.sh prints these against the read bandwidth measured in the
// same run (bench/stream.cc). Built with -O3 -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"

#include <chrono>
#include <cstdio>

namespace {

constexpr size_t kStreamedBytes = size_t(1) << 30;

/// Weight bytes read per second by linear<1, Out, In> on format W.
template <int Out, int In, typename W> double readRate() {
  const std::vector<uint8_t> one = randomWeights<In, W>(Out);
  const size_t copies = kStreamedBytes / one.size() + 1;
  std::vector<uint8_t> all(one.size() * copies);
  for (size_t c = 0; c < copies; ++c)
    std::memcpy(all.data() + c * one.size(), one.data(), one.size());
  std::vector<float> x(In), y(Out);
  for (int i = 0; i < In; ++i)
    x[i] = float(i % 17) / 17.0f - 0.5f;
  auto pass = [&] {
    for (size_t c = 0; c < copies; ++c)
      g4k::linear<1, Out, In>(
          x.data(), reinterpret_cast<const W *>(all.data() + c * one.size()),
          y.data());
  };
  return double(all.size()) * callsPerSecond(pass, 1.0);
}

template <typename W> void report(const char *format) {
  constexpr int kHidden = 1536, kQkv = 2048 + 2 * 256, kMlp = 12288;
  std::printf("%s %.2f %.2f %.2f\n", format, readRate<kQkv, kHidden, W>() / 1e9,
              readRate<2 * kMlp, kHidden, W>() / 1e9,
              readRate<kHidden, kMlp, W>() / 1e9);
}

} // namespace

/// One line per format: name, then GB/s for q|k|v, gate|up and down.
int main() {
  g4k::threads().start();
  report<g4k::q4<32>>("int4-g32");
  report<g4k::q8>("int8");
  report<g4k::bf16>("bf16");
  return 0;
}
