//===- bench.h - what the kernel benchmarks share -------------------------===//
//
// Part of g4c. For the kernel benchmarks: elapsed time, random floats, and
// matrices in g4k.h's packed formats with random bytes and well-formed
// scales.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_BENCH_BENCH_H
#define G4C_BENCH_BENCH_H

#include "g4k.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

/// Seconds since |since|.
inline double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

/// Calls per second of |body|, over at least |minimumSeconds| after one
/// call (pages touched, the pool warm).
template <typename Body>
double callsPerSecond(Body body, double minimumSeconds = 0.5) {
  body();
  long calls = 0;
  const auto start = std::chrono::steady_clock::now();
  do {
    body();
    ++calls;
  } while (seconds(start) < minimumSeconds);
  return calls / seconds(start);
}

/// The best of 5 rates (the machine is shared).
template <typename Body> double best(Body body) {
  double rate = 0;
  for (int i = 0; i < 5; ++i)
    rate = std::max(rate, callsPerSecond(body));
  return rate;
}

/// |count| floats uniform in [-1, 1) from |rng|.
inline std::vector<float> randomFloats(size_t count, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> data(count);
  for (float &value : data)
    value = uniform(rng);
  return data;
}

/// Weights of |rows| x In in format W: random bytes with every scale a
/// small normal number (int8 rows end in an f32 scale, int4 groups have
/// f16 ones; bf16 values are kept small).
template <int In, typename W>
inline std::vector<uint8_t> randomWeights(int rows) {
  size_t size = In * sizeof(g4k::bf16);
  if constexpr (!std::is_same<W, g4k::bf16>::value)
    size = g4k::row_bytes<In>(static_cast<const W *>(nullptr));
  std::vector<uint8_t> bytes(size * rows);
  std::mt19937 rng(2);
  for (uint8_t &b : bytes)
    b = uint8_t(rng());
  for (int r = 0; r < rows; ++r) {
    uint8_t *row = bytes.data() + r * size;
    if constexpr (std::is_same<W, g4k::q8>::value) {
      const float scale = 0.01f;
      std::memcpy(row + In, &scale, sizeof(scale));
    } else if constexpr (std::is_same<W, g4k::bf16>::value) {
      for (int i = 0; i < In; ++i)
        row[2 * i + 1] = uint8_t(0x3c + (row[2 * i + 1] & 1)); // ~1e-2
    } else {
      for (int g = 0; g < In / 32; ++g) {
        const uint16_t half = 0x2000; // 2^-7
        std::memcpy(row + In / 2 + 2 * g, &half, sizeof(half));
      }
    }
  }
  return bytes;
}

#endif // G4C_BENCH_BENCH_H
