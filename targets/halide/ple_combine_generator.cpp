//===- ple_combine_generator.cpp - Halide PLE gather and combine ----------===//
//
// Part of g4c. This file implements the Halide generator of Gemma 4's
// Per-Layer-Embedding combine, after the context projection: for token t
// and layer l of the layers first.., out[t, l, :] = (RMSNorm(context[t, l,
// :] * context_scale; norm) + table[row, first + l, :] * table_scale) *
// 2^-1/2, row = tokens[t] (row 0 beyond the table), the table row gathered
// straight from the weight file in its stored format. The operations of
// g4k::ple_combine in the same order, so that under strict_float both
// backends round alike.
//
// GeneratorParams fix the call: `tokens`, `layers`, `width` (values per
// layer), `table_rows`, `table_layers`, `first`, `table_format` (f32, bf16,
// int8: a row's int8 values then its f32 scale; int4: a row's nibbles in
// groups of `group` then its f16 group scales; rows padded to 16 bytes),
// `bf16_norm`.
//
//===----------------------------------------------------------------------===//

#include "G4kOrder.h"
#include "runtime/src/weight_file_format.h"

#include "Halide.h"

#include <optional>

namespace {

using namespace Halide;
using g4c::halide::bf16ToFloat;
using g4c::halide::SumInG4kOrder;

enum class TableFormat { F32, BF16, Int8, Int4 };

class PleCombineGenerator : public Generator<PleCombineGenerator> {
public:
  GeneratorParam<int> tokens{"tokens", 1};
  GeneratorParam<int> layers{"layers", 1};
  GeneratorParam<int> width{"width", 1};
  GeneratorParam<int> tableRows{"table_rows", 1};
  GeneratorParam<int> tableLayers{"table_layers", 1};
  GeneratorParam<int> first{"first", 0};
  GeneratorParam<TableFormat> tableFormat{"table_format",
                                          TableFormat::F32,
                                          {{"f32", TableFormat::F32},
                                           {"bf16", TableFormat::BF16},
                                           {"int8", TableFormat::Int8},
                                           {"int4", TableFormat::Int4}}};
  GeneratorParam<int> group{"group", 32};
  GeneratorParam<bool> bf16Norm{"bf16_norm", false};

  Input<Buffer<int32_t, 1>> tokenIds{"token_ids"};
  /// [table_rows][values or bytes per row]: f32, bf16 bits, or bytes.
  Input<Buffer<void, 2>> table{"table"};
  Input<Buffer<float, 3>> context{"context"}; // [tokens][layers][width]
  Input<Buffer<void, 1>> norm{"norm"};        // [width], f32 or bf16 bits
  Input<float> tableScale{"table_scale"};
  Input<float> contextScale{"context_scale"};
  Input<float> epsilon{"epsilon"};
  Output<Buffer<float, 3>> out{"out"};

  void configure() {
    switch (tableFormat) {
    case TableFormat::F32:
      table.set_type(Float(32));
      break;
    case TableFormat::BF16:
      table.set_type(UInt(16));
      break;
    default:
      table.set_type(UInt(8));
    }
    norm.set_type(bf16Norm ? UInt(16) : Float(32));
  }

  void generate() {
    Expr id = tokenIds(t);
    row(t) = select(id >= 0 && id < int(tableRows), id, 0);
    // Column of the token's table row that layer l, value j reads.
    Expr column = (int(first) + l) * int(width) + j;
    // The clamp (a no-op) bounds the gather for Halide's bounds inference.
    tableValue(j, l, t) =
        dequantised(column, clamp(row(t), 0, int(tableRows) - 1));

    slice(j, l, t) = context(j, l, t) * contextScale;
    square(j, l, t) = slice(j, l, t) * slice(j, l, t);
    sumSquares.emplace("sum_squares", square, Expr(int(width)),
                       std::vector<Var>{l, t});
    inverseRms(l, t) =
        1.0f / sqrt(sumSquares->sum(l, t) / cast<float>(int(width)) + epsilon);
    Expr scale = bf16Norm ? bf16ToFloat(norm(j)) : Expr(norm(j));
    Expr normed = slice(j, l, t) * inverseRms(l, t) * scale;
    const float kCombine = 0.70710678118654752f;
    out(j, l, t) = (normed + tableValue(j, l, t) * tableScale) * kCombine;
  }

  void schedule() {
    const int values = int(tableLayers) * int(width);
    // A row in the buffer's elements: values, or bytes when quantised.
    const int rowExtent =
        tableFormat == TableFormat::F32 || tableFormat == TableFormat::BF16
            ? values
            : int(g4c::weightfile::rowBytes(tableFormat == TableFormat::Int8
                                                ? g4c::weightfile::Format::Int8
                                                : g4c::weightfile::Format::Int4,
                                            uint64_t(values),
                                            uint64_t(int(group))));
    tokenIds.dim(0).set_bounds(0, tokens);
    table.dim(0).set_bounds(0, rowExtent).set_stride(1);
    table.dim(1).set_bounds(0, tableRows).set_stride(rowExtent);
    context.dim(0).set_bounds(0, width).set_stride(1);
    context.dim(1).set_bounds(0, layers).set_stride(width);
    context.dim(2).set_bounds(0, tokens).set_stride(int(layers) * int(width));
    norm.dim(0).set_bounds(0, width).set_stride(1);
    out.dim(0).set_bounds(0, width).set_stride(1);
    out.dim(1).set_bounds(0, layers).set_stride(width);
    out.dim(2).set_bounds(0, tokens).set_stride(int(layers) * int(width));
    tokenIds.set_estimates({{0, tokens}});
    table.set_estimates({{0, rowExtent}, {0, tableRows}});
    context.set_estimates({{0, width}, {0, layers}, {0, tokens}});
    norm.set_estimates({{0, width}});
    tableScale.set_estimate(1.0f);
    contextScale.set_estimate(1.0f);
    epsilon.set_estimate(1e-6f);
    out.set_estimates({{0, width}, {0, layers}, {0, tokens}});
    // One token's layers at a time, one thread (microseconds of work),
    // vectorised along each layer's values.
    const int lanes = natural_vector_size<float>();
    row.compute_at(out, t);
    inverseRms.compute_at(out, l);
    sumSquares->computeAt(out, l);
    if (int(width) >= lanes)
      out.vectorize(j, lanes, TailStrategy::GuardWithIf);
  }

private:
  /// The table's value at |column| of row |r|, as g4k::row_load reads it.
  Expr dequantised(Expr column, Expr r) {
    const int values = int(tableLayers) * int(width);
    switch (tableFormat) {
    case TableFormat::F32:
      return table(column, r);
    case TableFormat::BF16:
      return bf16ToFloat(table(column, r));
    case TableFormat::Int8: {
      // The row's f32 scale follows its values, little-endian.
      Expr bits = cast<uint32_t>(table(values, r)) |
                  (cast<uint32_t>(table(values + 1, r)) << 8) |
                  (cast<uint32_t>(table(values + 2, r)) << 16) |
                  (cast<uint32_t>(table(values + 3, r)) << 24);
      Expr level = cast<int8_t>(table(column, r));
      return cast<float>(level) * reinterpret<float>(bits);
    }
    case TableFormat::Int4: {
      const int g = group, half = g / 2;
      Expr groupIndex = column / g, k = column % g;
      Expr byte = table(groupIndex * half + k % half, r);
      Expr nibble = select(k < half, byte & 15, byte >> 4);
      Expr scaleAt = values / 2 + 2 * groupIndex;
      Expr scaleBits = cast<uint16_t>(table(scaleAt, r)) |
                       (cast<uint16_t>(table(scaleAt + 1, r)) << 8);
      Expr groupScale = cast<float>(reinterpret(Float(16), scaleBits));
      return cast<float>(cast<int32_t>(nibble) - 8) * groupScale;
    }
    }
    return Expr();
  }

  Var j{"j"}, l{"l"}, t{"t"};
  Func row{"row"}, tableValue{"table_value"}, slice{"slice"}, square{"square"},
      inverseRms{"inverse_rms"};
  std::optional<SumInG4kOrder> sumSquares;
};

} // namespace

HALIDE_REGISTER_GENERATOR(PleCombineGenerator, g4c_ple_combine)
