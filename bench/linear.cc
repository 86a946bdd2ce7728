//===- linear.cc - g4k::linear against the machine's arithmetic peak ------===//
//
// Part of g4c. Prefill's matrix products at E2B shapes (64 tokens, hidden
// 1536, MLP 12288) for int4, int8 and bf16 weights through g4k::linear on
// every hardware thread, in multiply-adds per second, against the peak of
// the instruction each format's kernel is built on, measured here on every
// thread: vpdpbusd (64 int8 multiply-adds) for int8 / int4, vfmadd231ps (16
// f32) for bf16; on AVX2 without AVX-512, vpmaddubsw (32 int8 products
// into pair sums) and vfmadd231ps on 8 floats. Built by bench/linear.sh
// with -O3 -march=native.
//
//===----------------------------------------------------------------------===//

#include "bench.h"

#include <chrono>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

namespace {

/// Multiply-adds per second of |body| (one call = |macs|) on |threads|
/// threads at once, each running it |reps| times.
template <typename Body>
double onEveryThread(int threads, long reps, double macs, Body body) {
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (long i = 0; i < reps; ++i)
        body();
    });
  for (std::thread &worker : workers)
    worker.join();
  return threads * reps * macs / seconds(start);
}

#if defined(__AVX512F__) || defined(__AVX2__)
constexpr long kPeakIterations = 100000000;

/// 12 independent accumulators in registers: the instruction's throughput,
/// not its latency. The operands pass through an empty asm each iteration
/// so that nothing is hoisted.
template <typename V, typename Step>
double peak(int threads, double macsPerStep, V a, V b, Step step) {
  return onEveryThread(threads, 1, kPeakIterations * 12 * macsPerStep, [=] {
    V acc[12], x = a, y = b;
    for (int k = 0; k < 12; ++k) // distinct: no two chains are the same
      std::memset(&acc[k], k + 1, sizeof(V));
    for (long i = 0; i < kPeakIterations; ++i) {
      __asm__ volatile("" : "+v"(x), "+v"(y));
#pragma GCC unroll 12
      for (int k = 0; k < 12; ++k)
        acc[k] = step(acc[k], x, y);
    }
    static volatile char sink;
    for (int k = 0; k < 12; ++k) {
      char bytes[sizeof(V)];
      std::memcpy(bytes, &acc[k], sizeof(V));
      sink = bytes[0];
    }
  });
}
#if defined(__AVX512F__)
constexpr const char *kInt8Peak = "vpdpbusd", *kF32Peak = "vfmadd231ps";
double peakInt8(int threads) {
  return peak(threads, 64, _mm512_set1_epi8(3), _mm512_set1_epi8(5),
              [](__m512i acc, __m512i x, __m512i y) {
                return _mm512_dpbusd_epi32(acc, x, y);
              });
}
double peakF32(int threads) {
  return peak(threads, 16, _mm512_set1_ps(1.0f), _mm512_set1_ps(1e-7f),
              [](__m512 acc, __m512 x, __m512 y) {
                return _mm512_fmadd_ps(acc, x, y);
              });
}
#else
constexpr const char *kInt8Peak = "vpmaddubsw", *kF32Peak = "vfmadd231ps ymm";
double peakInt8(int threads) {
  return peak(threads, 32, _mm256_set1_epi8(3), _mm256_set1_epi8(5),
              [](__m256i acc, __m256i x, __m256i y) {
                return _mm256_add_epi16(acc, _mm256_maddubs_epi16(x, y));
              });
}
double peakF32(int threads) {
  return peak(threads, 8, _mm256_set1_ps(1.0f), _mm256_set1_ps(1e-7f),
              [](__m256 acc, __m256 x, __m256 y) {
                return _mm256_fmadd_ps(acc, x, y);
              });
}
#endif
#endif

#ifdef G4K_AMX
/// What one 32-column block costs the tile unit, in ns on one thread: a
/// tdpbssd into four independent sum tiles (the unit's throughput), and a
/// block's whole round trip as the int8 / int4 kernels make it (zero the
/// sums, load both operands, tdpbssd, store the 16 x 16 sums, convert and
/// add them to 16 accumulators), one after another.
struct TileCosts {
  double product, roundTrip;
};

TileCosts tileCosts() {
  namespace amx = g4k::avx512::amx;
  static constexpr amx::tile_config<32> config{};
  alignas(64) static int8_t weights[32][1024], tokens[32][1024];
  alignas(64) static int32_t sums[16][16];
  _tile_loadconfig(&config);
  constexpr long kProducts = 20000000, kTrips = 2000000;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, weights[0], 64);
  _tile_loadd(6, tokens[0], 64);
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < kProducts; ++i) {
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 6);
    _tile_dpbssd(2, 4, 6);
    _tile_dpbssd(3, 4, 6);
  }
  const double product = seconds(start) / (4.0 * kProducts);
  __m512 acc[16];
  for (__m512 &a : acc)
    a = _mm512_setzero_ps();
  start = std::chrono::steady_clock::now();
  for (long i = 0; i < kTrips; ++i) {
    _tile_zero(0);
    _tile_loadd(4, weights[i % 32], 64);
    _tile_loadd(6, tokens[i % 32], 64);
    _tile_dpbssd(0, 4, 6);
    _tile_stored(0, sums, 64);
    for (int r = 0; r < 16; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums[r])),
                               _mm512_set1_ps(1e-9f), acc[r]);
  }
  const double roundTrip = seconds(start) / kTrips;
  _tile_release();
  static volatile float sink;
  for (__m512 &a : acc)
    sink = _mm512_reduce_add_ps(a);
  return {product * 1e9, roundTrip * 1e9};
}
#endif

template <int T, int Out, int In, typename W>
double linearRate(const std::vector<uint8_t> &storage) {
  std::mt19937 rng(1);
  std::vector<float> x(T * In), y(T * Out);
  for (float &v : x)
    v = float(rng() % 1000) / 1000.0f - 0.5f;
  const W *w = reinterpret_cast<const W *>(storage.data());
  return double(T) * Out * In *
         callsPerSecond([&] { g4k::linear<T, Out, In>(x.data(), w, y.data()); },
                        1.0);
}

/// Prints format's row of the table; returns its rate for 1536 -> 12288.
template <typename W>
double report(const char *format, const char *peakName, double peak) {
  constexpr int kT = 64, kHidden = 1536, kMlp = 12288;
  const double up =
      linearRate<kT, kMlp, kHidden, W>(randomWeights<kHidden, W>(kMlp));
  const double down =
      linearRate<kT, kHidden, kMlp, W>(randomWeights<kMlp, W>(kHidden));
  std::printf("| %s | %.1f | %.1f | %s %.1f | %.1f %% | %.1f %% |\n", format,
              up / 1e9, down / 1e9, peakName, peak / 1e9, 100 * up / peak,
              100 * down / peak);
  return up;
}

} // namespace

int main() {
  g4k::threads().start();
  const int threads = g4k::threads().threads();
#if defined(__AVX512F__) || defined(__AVX2__)
  // The peaks once the pool's idle workers sleep: before, they yield in a
  // loop, taking turns with the measuring threads (a third less).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double int8Peak = peakInt8(threads), f32Peak = peakF32(threads);
#ifdef G4K_AMX
  const bool amx = g4k::avx512::amx::available();
#else
  const bool amx = false;
#endif
  std::printf("%d threads; 64 tokens; GMAC/s (multiply-adds per second); "
              "int8 / int4 products on %s\n\n",
              threads,
              amx ? "the AMX tile unit (the vpdpbusd peak is the VNNI "
                    "kernels' reference)"
              : g4k::kAvx512Kernels ? "VNNI"
              : g4k::kAvx2Kernels   ? "AVX2"
                                    : "the portable kernels");
  std::printf("| weights | 1536 -> 12288 | 12288 -> 1536 | peak | "
              "up / peak | down / peak |\n|---|---|---|---|---|---|\n");
  const double int4Up =
      report<g4k::q4<32>>("int4 (group 32)", kInt8Peak, int8Peak);
  report<g4k::q8>("int8", kInt8Peak, int8Peak);
  report<g4k::bf16>("bf16", kF32Peak, f32Peak);
#ifdef G4K_AMX
  if (amx) {
    // Both int8 and int4 activations come in blocks of 32 columns, each
    // with its own scale: every 16 x 16 x 32 block of sums goes through a
    // tile store and 16 conversions before the next block's can be added.
    const TileCosts costs = tileCosts();
    std::printf("\nTile unit, one thread, ns per 16 x 16 x 32 block: "
                "tdpbssd alone %.2f; a block's round trip (zero, loads, "
                "tdpbssd, store, 16 conversions) %.2f; int4 1536 -> 12288 "
                "through g4k::linear %.2f\n",
                costs.product, costs.roundTrip,
                threads * 16.0 * 16 * 32 / int4Up * 1e9);
  }
#endif
  return 0;
#else
  std::fprintf(stderr, "bench/linear: built without AVX-512 or AVX2\n");
  return 1;
#endif
}
