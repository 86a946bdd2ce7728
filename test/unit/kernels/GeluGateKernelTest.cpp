//===- GeluGateKernelTest.cpp - Halide gated GELU against oracles ---------===//
//
// Part of g4c. The generated gated GELU must match a double-precision
// GELU (tanh form, from the architecture document) to float accuracy, and
// the C++ backend's g4k::gelu_gate_rows bit for bit: the object backend
// swaps one for the other, and a last-bit difference can move an int8
// activation a whole level downstream.
//
//===----------------------------------------------------------------------===//

#include "g4c_gelu_gate_row_host.h"
#include "g4c_gelu_gate_strided_host.h"

#include "HalideBuffer.h"
#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using Halide::Runtime::Buffer;

double referenceGelu(double x) {
  const double kPi = 3.14159265358979323846;
  return 0.5 * x *
         (1.0 + std::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x)));
}

/// Values across GELU's regimes: near zero, the curved part, the tails
/// beyond the exponent clamp, and exact zeros.
std::vector<float> testValues(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-12.0f, 12.0f),
      narrow(-0.05f, 0.05f);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    switch (i % 7) {
    case 0:
      values[i] = narrow(rng);
      break;
    case 1:
      values[i] = i % 2 ? 90.0f : -90.0f;
      break;
    case 2:
      values[i] = 0.0f;
      break;
    default:
      values[i] = wide(rng);
    }
  }
  return values;
}

bool sameBits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

/// Checks |out| ([tokens][width]) against g4k and the double oracle.
template <int Tokens, int Width, int Stride>
void checkAgainstOracles(const std::vector<float> &gate,
                         const std::vector<float> &up,
                         const std::vector<float> &out) {
  std::vector<float> library(Tokens * Width);
  g4k::gelu_gate_rows<Tokens, Width, Stride, Stride>(gate.data(), up.data(),
                                                     library.data());
  for (int t = 0; t < Tokens; ++t)
    for (int i = 0; i < Width; ++i) {
      const size_t k = size_t(t) * Width + i;
      const double x = gate[size_t(t) * Stride + i];
      const double expected = referenceGelu(x) * up[size_t(t) * Stride + i];
      ASSERT_NEAR(out[k], expected, 2e-6 * (1.0 + std::fabs(expected)))
          << "token " << t << " column " << i << " gate " << x;
      ASSERT_TRUE(sameBits(out[k], library[k]))
          << "token " << t << " column " << i << " gate " << x << ": halide "
          << out[k] << ", g4k " << library[k];
    }
}

// The strided instance: rows of 200 from a fused gate|up product (gate and
// up rows 400 apart).
constexpr int kTokens = 3, kWidth = 200, kStride = 400;
constexpr size_t kExtent = (kTokens - 1) * kStride + kWidth;

/// Runs the strided instance on gate and up into out (which may be gate).
int runStrided(float *gate, float *up, float *out) {
  Buffer<float, 1> gateBuffer(gate, int(kExtent)), upBuffer(up, int(kExtent));
  Buffer<float, 2> outBuffer(out, kWidth, kTokens);
  return g4c_gelu_gate_strided_host(gateBuffer, upBuffer, outBuffer);
}

TEST(GeluGateKernel, StridedRowsMatchOracleAndLibrary) {
  std::vector<float> gate = testValues(kExtent, 1), up = testValues(kExtent, 2);
  std::vector<float> out(kTokens * kWidth);
  ASSERT_EQ(runStrided(gate.data(), up.data(), out.data()), 0);
  checkAgainstOracles<kTokens, kWidth, kStride>(gate, up, out);
}

TEST(GeluGateKernel, InPlaceOnGateMatchesOutOfPlace) {
  std::vector<float> gate = testValues(kExtent, 3), up = testValues(kExtent, 4);
  std::vector<float> separate(kTokens * kWidth);
  ASSERT_EQ(runStrided(gate.data(), up.data(), separate.data()), 0);
  // Out over gate's first rows, as the memory planner may place it.
  std::vector<float> shared = gate;
  ASSERT_EQ(runStrided(shared.data(), up.data(), shared.data()), 0);
  for (size_t k = 0; k < separate.size(); ++k)
    ASSERT_TRUE(sameBits(shared[k], separate[k])) << "at " << k;
}

TEST(GeluGateKernel, DecodeRowMatchesOracleAndLibrary) {
  constexpr int kWidth = 12288; // E2B's double-wide MLP
  std::vector<float> gate = testValues(kWidth, 5), up = testValues(kWidth, 6);
  std::vector<float> out(kWidth);
  Buffer<float, 1> gateBuffer(gate.data(), kWidth), upBuffer(up.data(), kWidth);
  Buffer<float, 2> outBuffer(out.data(), kWidth, 1);
  ASSERT_EQ(g4c_gelu_gate_row_host(gateBuffer, upBuffer, outBuffer), 0);
  checkAgainstOracles<1, kWidth, kWidth>(gate, up, out);
}

} // namespace
