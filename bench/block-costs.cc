//===- block-costs.cc - what scaling the block sums costs vpdpbusd --------===//
//
// Part of g4c. The VNNI lane tile of g4k_avx512_prefill.h (4 rows x 32
// tokens: 8 vpdpbusd chains, weight dwords broadcast from memory) with
// everything in L1, on one thread, and at the end of every 32-column block
// what a format does with its integer sums:
//   sums only       added as integers (no float work: the tile's own bound)
//   int8            converted, times the activation scale, added
//   int4            converted, times (weight scale x activation scale),
//                   added: one multiplication more per 8 vpdpbusd
//   int4 fused      the same with the last multiplication and the addition
//                   fused (not the kernels' values: what fusing would gain)
// against vpdpbusd's own throughput (12 independent chains). On CPUs whose
// float multiplications issue on the pipes vpdpbusd uses, each costs a
// vpdpbusd slot. Built by bench/block-costs.sh with -O3 -march=native.
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

constexpr int kRows = 4, kVectors = 2, kBlocks = 8, kDwordsPerBlock = 8;
constexpr long kIterations = 1000000;

enum class Scaling { SumsOnly, Int8, Int4, Int4Fused };

alignas(64) int32_t activations[kBlocks * kDwordsPerBlock][kVectors][16];
alignas(64) int32_t offsets[kBlocks][kVectors][16];
alignas(64) float activationScales[kBlocks][kVectors][16];
alignas(64) uint8_t weights[kRows][kBlocks * kDwordsPerBlock * 4];
alignas(64) float weightScales[kRows][kBlocks];

/// kIterations passes over kBlocks blocks; returns a value of the sums so
/// that nothing is left out.
template <Scaling S> __attribute__((noinline)) float tile() {
  __m512 acc[kRows][kVectors];
  for (auto &row : acc)
    for (__m512 &a : row)
      a = _mm512_setzero_ps();
  for (long it = 0; it < kIterations; ++it) {
    // The tables may have changed: they are read again every pass.
    __asm__ volatile("" ::"r"(activations), "r"(offsets), "r"(activationScales),
                     "r"(weights), "r"(weightScales)
                     : "memory");
#pragma GCC unroll 8
    for (int b = 0; b < kBlocks; ++b) {
      __m512i sum[kRows][kVectors];
      for (int v = 0; v < kVectors; ++v)
        for (int r = 0; r < kRows; ++r)
          sum[r][v] = _mm512_load_si512(offsets[b][v]);
#pragma GCC unroll 8
      for (int k = 0; k < kDwordsPerBlock; ++k) {
        __m512i x[kVectors];
        for (int v = 0; v < kVectors; ++v)
          x[v] = _mm512_load_si512(activations[b * kDwordsPerBlock + k][v]);
        for (int r = 0; r < kRows; ++r) {
          int32_t word;
          std::memcpy(&word, weights[r] + 4 * (b * kDwordsPerBlock + k), 4);
          const __m512i w = _mm512_set1_epi32(word);
          for (int v = 0; v < kVectors; ++v)
            sum[r][v] = _mm512_dpbusd_epi32(sum[r][v], w, x[v]);
        }
      }
      for (int v = 0; v < kVectors; ++v) {
        const __m512 xscale = _mm512_load_ps(activationScales[b][v]);
        for (int r = 0; r < kRows; ++r) {
          if constexpr (S == Scaling::SumsOnly) {
            acc[r][v] = _mm512_castsi512_ps(
                _mm512_add_epi32(_mm512_castps_si512(acc[r][v]), sum[r][v]));
            continue;
          }
          __m512 scale = xscale;
          if constexpr (S != Scaling::Int8)
            scale = _mm512_mul_ps(_mm512_set1_ps(weightScales[r][b]), xscale);
          const __m512 sums = _mm512_cvtepi32_ps(sum[r][v]);
          if constexpr (S == Scaling::Int4Fused)
            acc[r][v] = _mm512_fmadd_ps(sums, scale, acc[r][v]);
          else
            acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_mul_ps(sums, scale));
        }
      }
    }
  }
  float total = 0;
  for (auto &row : acc)
    for (__m512 &a : row)
      total += _mm512_reduce_add_ps(a);
  return total;
}

/// vpdpbusd on 12 independent register chains: its throughput.
__attribute__((noinline)) int32_t chains() {
  __m512i acc[12], x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
  for (int k = 0; k < 12; ++k)
    acc[k] = _mm512_set1_epi32(k);
  for (long it = 0; it < kIterations * 8; ++it) {
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (__m512i &a : acc)
      a = _mm512_dpbusd_epi32(a, x, y);
  }
  int32_t total = 0;
  for (__m512i &a : acc)
    total += _mm512_reduce_add_epi32(a);
  return total;
}

/// The best of 5 timings of |body| in vpdpbusd per second.
template <typename Body> double rate(double instructions, Body body) {
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    static volatile float sink;
    sink = float(body());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    best = std::max(best, instructions / seconds);
  }
  return best;
}

} // namespace

int main() {
  for (int i = 0; i < kRows; ++i)
    for (int b = 0; b < kBlocks; ++b)
      weightScales[i][b] = 0.01f * float(i + b + 1);
  const double peak = rate(kIterations * 8.0 * 12, chains);
  const double perTile =
      double(kIterations) * kBlocks * kDwordsPerBlock * kRows * kVectors;
  std::printf("One thread, in L1; vpdpbusd per second (G) and share of its "
              "throughput (%.2f G)\n\n",
              peak / 1e9);
  std::printf("| block sums | G vpdpbusd/s | of throughput |\n|---|---|---|\n");
  auto row = [&](const char *name, double value) {
    std::printf("| %s | %.2f | %.1f %% |\n", name, value / 1e9,
                100 * value / peak);
  };
  row("sums only", rate(perTile, tile<Scaling::SumsOnly>));
  row("int8 (convert, 1 multiplication, add)",
      rate(perTile, tile<Scaling::Int8>));
  row("int4 (convert, 2 multiplications, add)",
      rate(perTile, tile<Scaling::Int4>));
  row("int4 fused (convert, 1 multiplication, 1 fused multiply-add)",
      rate(perTile, tile<Scaling::Int4Fused>));
  return 0;
}
