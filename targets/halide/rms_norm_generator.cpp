//===- rms_norm_generator.cpp - Halide RMSNorm kernel ---------------------===//
//
// Part of g4c. This file implements the Halide generator of the RMSNorm
// kernel: y[row, i] = x[row, i] * (mean_i(x[row, :]^2) + eps)^-1/2 * w[i]
// (Gemma 4's plain weight, not Gemma 3's 1 + w). Algorithm in generate(),
// schedule in schedule().
//
// GeneratorParams specialise it the way g4c compiles a model: `rows` and
// `width` fix the shape (0: any), `bf16_weight` reads the weight as bfloat16
// bits (uint16, the top half of a float32).
//
//===----------------------------------------------------------------------===//

#include "G4kOrder.h"

#include "Halide.h"

#include <optional>

namespace {

using namespace Halide;
using g4c::halide::bf16ToFloat;
using g4c::halide::SumInG4kOrder;

class RMSNormGenerator : public Generator<RMSNormGenerator> {
public:
  GeneratorParam<int> rows{"rows", 0};
  GeneratorParam<int> width{"width", 0};
  GeneratorParam<bool> bf16Weight{"bf16_weight", false};
  /// Schedule: the scaling in vectors of this many natural widths.
  GeneratorParam<int> vectors{"vectors", 1};

  Input<Buffer<float, 2>> input{"input"};  // [rows][width], width innermost
  Input<Buffer<void, 1>> weight{"weight"}; // [width], float32 or bf16 bits
  Input<float> epsilon{"epsilon"};
  Output<Buffer<float, 2>> output{"output"};

  void configure() { weight.set_type(bf16Weight ? UInt(16) : Float(32)); }

  void generate() {
    Expr extent = width > 0 ? Expr(int(width)) : input.dim(0).extent();
    Func square("square"), scale("scale");
    square(i, row) = input(i, row) * input(i, row);
    if (bf16Weight)
      scale(i) = bf16ToFloat(weight(i));
    else
      scale(i) = weight(i);
    // The sum of squares in the C++ kernels' order, so both backends round
    // alike.
    sumSquares.emplace("sum_squares", square, extent, std::vector<Var>{row});
    inverseRms(row) =
        1.0f / sqrt(sumSquares->sum(row) / cast<float>(extent) + epsilon);
    output(i, row) = input(i, row) * inverseRms(row) * scale(i);
  }

  void schedule() {
    // One row at a time: the reduction and the scaling are both vectorised
    // over the row at the target's natural width. Rows run one after the
    // other: a norm takes microseconds, and Halide's thread pool would
    // compete for the cores with the kernel library's spinning workers.
    const int lanes = natural_vector_size<float>();
    if (width > 0) {
      // Dense rows of exactly |width|: no bounds or stride checks inside.
      for (OutputImageParam buffer :
           {OutputImageParam(input), OutputImageParam(output)}) {
        buffer.dim(0).set_bounds(0, width).set_stride(1);
        buffer.dim(1).set_stride(width);
      }
      weight.dim(0).set_bounds(0, width).set_stride(1);
    }
    if (rows > 0)
      for (OutputImageParam buffer :
           {OutputImageParam(input), OutputImageParam(output)})
        buffer.dim(1).set_bounds(0, rows);
    input.set_estimates(
        {{0, width > 0 ? int(width) : 1536}, {0, rows > 0 ? int(rows) : 8}});
    weight.set_estimates({{0, width > 0 ? int(width) : 1536}});
    epsilon.set_estimate(1e-6f);
    output.set_estimates(
        {{0, width > 0 ? int(width) : 1536}, {0, rows > 0 ? int(rows) : 8}});
    output.vectorize(i, lanes * int(vectors), TailStrategy::GuardWithIf);
    inverseRms.compute_at(output, row);
    sumSquares->computeAt(output, row);
  }

private:
  Var i{"i"}, row{"row"};
  std::optional<SumInG4kOrder> sumSquares;
  Func inverseRms{"inverse_rms"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(RMSNormGenerator, g4c_rms_norm)
