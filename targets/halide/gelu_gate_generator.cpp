//===- gelu_gate_generator.cpp - Halide gated GELU kernel -----------------===//
//
// Part of g4c. This file implements the Halide generator of the gated GELU
// of Gemma 4's MLP: out[t, i] = gelu_tanh(gate[t, i]) * up[t, i], with
// gelu_tanh(x) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3), and
// e^x by Cephes' expf polynomial: the operations of g4k::gelu_tanh in the
// same order, so that under strict_float both backends round alike.
//
// GeneratorParams fix the call's shape: `tokens` rows of `width` values;
// gate and up rows `gate_stride` and `up_stride` floats apart (halves of a
// fused gate|up product), out rows dense. The kernel may run in place on
// gate: rows go in order, each element read before it is written.
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

namespace {

using namespace Halide;

/// g4k::exp_approx: x = n ln2 + r, a degree-6 polynomial in r, times 2^n
/// through the exponent bits.
Expr expApprox(Expr x) {
  Expr n = cast<float>(
      cast<int32_t>(x * 1.44269504f + select(x >= 0.0f, 0.5f, -0.5f)));
  Expr r = x - n * 0.693359375f + n * 2.12194440e-4f;
  Expr p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  Expr bits = reinterpret<int32_t>(p) + cast<int32_t>(n) * (1 << 23);
  return reinterpret<float>(bits);
}

/// g4k::clamp_exponent: the range where expApprox is valid.
Expr clampExponent(Expr x) {
  return select(x < -87.0f, -87.0f, select(x > 87.0f, 87.0f, x));
}

/// g4k::gelu_tanh.
Expr geluTanh(Expr x) {
  const float kSqrt2OverPi = 0.7978845608028654f;
  Expr u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  return x / (1.0f + expApprox(clampExponent(-2.0f * u)));
}

class GeluGateGenerator : public Generator<GeluGateGenerator> {
public:
  GeneratorParam<int> tokens{"tokens", 1};
  GeneratorParam<int> width{"width", 1};
  GeneratorParam<int> gateStride{"gate_stride", 1};
  GeneratorParam<int> upStride{"up_stride", 1};
  /// Schedule: vectors of this many natural vector widths per step.
  GeneratorParam<int> vectors{"vectors", 1};

  // gate and up are flat: their rows are |*_stride| floats apart, which
  // need not be the width. out is [tokens][width].
  Input<Buffer<float, 1>> gate{"gate"};
  Input<Buffer<float, 1>> up{"up"};
  Output<Buffer<float, 2>> out{"out"};

  void generate() {
    out(column, token) = geluTanh(gate(token * int(gateStride) + column)) *
                         up(token * int(upStride) + column);
  }

  void schedule() {
    const int rows = tokens, columns = width;
    auto extentOf = [&](int stride) { return (rows - 1) * stride + columns; };
    gate.dim(0).set_bounds(0, extentOf(gateStride)).set_stride(1);
    up.dim(0).set_bounds(0, extentOf(upStride)).set_stride(1);
    out.dim(0).set_bounds(0, columns).set_stride(1);
    out.dim(1).set_bounds(0, rows).set_stride(columns);
    gate.set_estimates({{0, extentOf(gateStride)}});
    up.set_estimates({{0, extentOf(upStride)}});
    out.set_estimates({{0, columns}, {0, rows}});
    // One thread (the kernel library's workers spin on the other cores),
    // rows in order, vectorised along them; the tail guarded, never
    // recomputed, since out may be gate.
    out.vectorize(column, natural_vector_size<float>() * int(vectors),
                  TailStrategy::GuardWithIf);
  }

private:
  Var column{"column"}, token{"token"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(GeluGateGenerator, g4c_gelu_gate)
