//===- linear_generator.cpp - Halide f32 / bf16 matrix products -----------===//
//
// Part of g4c. This file implements the Halide generator of the matrix
// product of f32 or bf16 weights: y[t, o] = sum_i x[t, i] * w[o, i] (HF
// nn.Linear), for one token (decode's matrix-vector product) or many
// (prefill's matrix-matrix product). Each sum is taken in g4k::dot's
// order: 16 lane partial sums over whole blocks of 16 columns, the tail
// alone, then the tail plus each partial sum in turn.
//
// GeneratorParams fix the shape: `tokens` rows of x, `columns` per row;
// `bf16_weight` reads the weights as bfloat16 bits. The rows of w (the
// outputs) are not fixed: the caller splits them across its threads and
// passes each part's rows, with y's token rows `output_stride` apart.
// Schedule: tiles of `row_tile` rows x `token_tile` tokens of 16-lane
// partial sums, each weight vector loaded once per tile, each activation
// vector once per row tile. (Halide's prefetch directive, at the tile or
// the block loop, did not make decode's products faster on Zen 4.)
//
//===----------------------------------------------------------------------===//

#include "G4kOrder.h"

#include "Halide.h"

#include <algorithm>
#include <optional>

namespace {

using namespace Halide;
using g4c::halide::bf16ToFloat;
using g4c::halide::SumInG4kOrder;

class LinearGenerator : public Generator<LinearGenerator> {
public:
  GeneratorParam<int> tokens{"tokens", 1};
  GeneratorParam<int> columns{"columns", 16};
  GeneratorParam<int> outputStride{"output_stride", 0}; // 0: the rows given
  GeneratorParam<bool> bf16Weight{"bf16_weight", false};
  /// Schedule: rows and tokens of a register tile of partial sums.
  GeneratorParam<int> rowTile{"row_tile", 4};
  GeneratorParam<int> tokenTile{"token_tile", 4};

  Input<Buffer<float, 2>> input{"input"};    // [tokens][columns]
  Input<Buffer<void, 2>> weight{"weight"};   // [rows][columns]
  Output<Buffer<float, 2>> output{"output"}; // [tokens][rows], strided

  void configure() { weight.set_type(bf16Weight ? UInt(16) : Float(32)); }

  void generate() {
    // A tile past the last row or token computes from the last one (its
    // results are not stored): every read stays in the buffers.
    Expr lastRow = weight.dim(1).extent() - 1;
    Expr row = clamp(o, 0, lastRow), token = clamp(t, 0, int(tokens) - 1);
    Expr w = weight(i, row);
    if (bf16Weight)
      w = bf16ToFloat(w);
    product(i, o, t) = input(i, token) * w;
    dot.emplace("dot", product, int(columns), std::vector<Var>{o, t});
    output(o, t) = dot->sum(o, t);
  }

  void schedule() {
    const int width = columns;
    input.dim(0).set_bounds(0, width).set_stride(1);
    input.dim(1).set_bounds(0, tokens).set_stride(width);
    weight.dim(0).set_bounds(0, width).set_stride(1);
    weight.dim(1).set_stride(width);
    output.dim(0).set_stride(1);
    output.dim(1).set_bounds(0, tokens);
    if (outputStride > 0)
      output.dim(1).set_stride(outputStride);
    // Estimates (g4c tune's benchmark sizes its buffers by them): the whole
    // matrix, one part for all threads.
    const int allRows = outputStride > 0 ? int(outputStride) : 2048;
    input.set_estimates({{0, width}, {0, tokens}});
    weight.set_estimates({{0, width}, {0, allRows}});
    output.set_estimates({{0, allRows}, {0, tokens}});

    const int rows = std::max(1, int(rowTile));
    const int tokensPerTile = std::clamp(int(tokenTile), 1, int(tokens));
    Var oOuter("o_outer"), tOuter("t_outer"), oInner("o_inner"),
        tInner("t_inner");
    // One thread: the caller's pool runs one part of the rows per core.
    output
        .tile(o, t, oOuter, tOuter, oInner, tInner, rows, tokensPerTile,
              TailStrategy::GuardWithIf)
        .reorder(oInner, tInner, oOuter, tOuter);
    // The tile's partial sums: lanes in a vector, rows and tokens unrolled
    // so that they stay in registers while the blocks of columns go by.
    Func partial = dot->partial, tail = dot->tail, sum = dot->sum;
    sum.compute_at(output, oOuter);
    tail.compute_at(output, oOuter);
    partial.compute_at(output, oOuter)
        .vectorize(partial.args()[0])
        .unroll(partial.args()[1])
        .unroll(partial.args()[2]);
    partial.update()
        .reorder(partial.args()[0], partial.args()[1], partial.args()[2],
                 dot->blocks)
        .vectorize(partial.args()[0])
        .unroll(partial.args()[1])
        .unroll(partial.args()[2]);
  }

private:
  Var i{"i"}, o{"o"}, t{"t"};
  Func product{"product"};
  std::optional<SumInG4kOrder> dot;
};

} // namespace

HALIDE_REGISTER_GENERATOR(LinearGenerator, g4c_linear)
