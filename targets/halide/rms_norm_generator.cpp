//===- rms_norm_generator.cpp - Halide RMSNorm kernel ---------------------===//
//
// Part of g4c. This file implements the Halide generator of the RMSNorm
// kernel: y[row, i] = x[row, i] * (mean_i(x[row, :]^2) + eps)^-1/2 * w[i]
// (Gemma 4's plain weight, not Gemma 3's 1 + w). Algorithm in generate(),
// schedule in schedule().
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

namespace {

using namespace Halide;

class RMSNormGenerator : public Generator<RMSNormGenerator> {
public:
  Input<Buffer<float, 2>> input{"input"};   // [rows][width], width innermost
  Input<Buffer<float, 1>> weight{"weight"}; // [width]
  Input<float> epsilon{"epsilon"};
  Output<Buffer<float, 2>> output{"output"};

  void generate() {
    Expr width = input.dim(0).extent();
    RDom r(0, width);
    sumSquares(row) = 0.0f;
    sumSquares(row) += input(r, row) * input(r, row);
    inverseRms(row) =
        1.0f / sqrt(sumSquares(row) / cast<float>(width) + epsilon);
    output(i, row) = input(i, row) * inverseRms(row) * weight(i);
  }

  void schedule() {
    // One row at a time: the reduction and the scaling are both vectorised
    // over the row at the target's natural width. (Decode has one row; the
    // rows of a prefill chunk are independent, so they run in parallel.)
    const int lanes = natural_vector_size<float>();
    input.set_estimates({{0, 1536}, {0, 8}});
    weight.set_estimates({{0, 1536}});
    epsilon.set_estimate(1e-6f);
    output.set_estimates({{0, 1536}, {0, 8}});
    output.vectorize(i, lanes, TailStrategy::GuardWithIf).parallel(row);
    inverseRms.compute_at(output, row);
    sumSquares.compute_at(output, row);
  }

private:
  Var i{"i"}, row{"row"};
  Func sumSquares{"sum_squares"}, inverseRms{"inverse_rms"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(RMSNormGenerator, g4c_rms_norm)
