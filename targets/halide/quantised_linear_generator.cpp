//===- quantised_linear_generator.cpp - Halide int8 / int4 products -------===//
//
// Part of g4c. This file implements the Halide generator of the matrix
// product of int8 or group-wise int4 weights with int8 activations (Q8_0:
// int8 levels, one f32 scale per block of columns, quantised by the caller
// with g4k::quantize_activations): y[t, o] = sum over blocks of the block's
// scales times the exact integer sum of its levels' products.
//
// The integer sums are exact in any order; the float steps follow the g4k.h
// kernel that the C++ backend runs for the same shape and target, so that
// the two backends round alike, bit for bit (a last-bit difference in one
// layer's outputs can move a level of the next layer's int8 activations):
//
//  - `order=blocks`: g4k's portable kernels and its AVX-512 kernels with
//    tokens in lanes (prefill): per output, the blocks' scaled sums added
//    in block order, then (int8) times the row's scale.
//  - `order=lanes`: g4k's AVX-512 chunked kernels (decode): 16 partial sums,
//    lane l taking 4 weight bytes of each chunk of 64 bytes (64 int8
//    columns, 128 int4 columns) in chunk order, added as a tree at the end
//    (lane l + lane l + 8, then + 4, + 2, + 1), then (int8) times the
//    row's scale.
//
// The integer sums are u8 x i8 products in runs of 4 (vpdpbusd with AVX-512
// VNNI): int4 nibbles as stored, int8 weights with the sign bit flipped,
// each bias taken off with the activations' sum.
//
// A scaled sum is a product then a sum, never fused (g4k keeps them apart):
// int8 sum += float(isum) * activation scale; int4 sum += float(isum) *
// (weight scale * activation scale).
//
// Weight rows as the weight file stores them (runtime/src/
// weight_file_format.h): int8 columns then the row's f32 scale; int4
// nibbles (byte j of group g: column g*G + j low, g*G + G/2 + j high, value
// nibble - 8) then the groups' f16 scales. The rows are not fixed: the
// caller splits them across its threads, as for g4c_linear.
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

#include <algorithm>
#include <string>

namespace {

using namespace Halide;

enum class WeightFormat { Int8, Int4 };
enum class SumOrder { Blocks, Lanes };

/// The lanes of g4k's AVX-512 partial sums and the bytes each takes of a
/// chunk.
constexpr int kLanes = 16, kBytesPerLane = 4, kChunkBytes = 64;

class QuantisedLinearGenerator : public Generator<QuantisedLinearGenerator> {
public:
  GeneratorParam<int> tokens{"tokens", 1};
  GeneratorParam<int> columns{"columns", 64};
  GeneratorParam<int> outputStride{"output_stride", 0}; // 0: the rows given
  GeneratorParam<WeightFormat> format{
      "format",
      WeightFormat::Int8,
      {{"int8", WeightFormat::Int8}, {"int4", WeightFormat::Int4}}};
  GeneratorParam<int> group{"group", 32}; // int4's columns per scale
  GeneratorParam<SumOrder> order{
      "order",
      SumOrder::Blocks,
      {{"blocks", SumOrder::Blocks}, {"lanes", SumOrder::Lanes}}};
  /// Schedule: rows of a tile, each token's activations loaded once for
  /// them.
  GeneratorParam<int> rowTile{"row_tile", 4};
  /// Schedule: how many tiles ahead the weight rows are prefetched (0:
  /// none).
  GeneratorParam<int> prefetchTiles{"prefetch_tiles", 2};

  Input<Buffer<int8_t, 2>> levels{"levels"};  // [tokens][columns]
  Input<Buffer<float, 2>> scales{"scales"};   // [tokens][columns / block]
  Input<Buffer<uint8_t, 2>> weight{"weight"}; // [rows][row bytes]
  Output<Buffer<float, 2>> output{"output"};  // [tokens][rows], strided

  void generate() {
    const bool int4 = format == WeightFormat::Int4;
    const int width = columns, block = int4 ? int(group) : 32;
    require(width % block == 0, "columns must be whole blocks of the "
                                "activations' (32; int4: the group)");
    // A tile past the last row computes from the last one (its results are
    // not stored): every read stays in the buffer.
    Expr row = clamp(o, 0, weight.dim(1).extent() - 1);
    Expr token = clamp(t, 0, int(tokens) - 1);

    // A block's weight scale (int4: the group's f16), and activations'.
    Func weightScale("weight_scale");
    if (int4) {
      Expr at = width / 2 + 2 * i;
      Expr bits = cast<uint16_t>(weight(at, row)) |
                  (cast<uint16_t>(weight(at + 1, row)) << 8);
      weightScale(i, o) = cast<float>(reinterpret(Float(16), bits));
    }
    activationScale(b, t) = scales(b, token);
    // block / chunk b's scale of token t (int4: times the weight's).
    auto scaleOf = [&](Expr b) {
      Expr s = activationScale(b, t);
      return int4 ? Expr(weightScale(b, o) * s) : s;
    };

    Func sum("sum");
    if (order == SumOrder::Blocks) {
      // Block b's integer sums for tokens in vector lanes: runs of 4
      // columns q, 4 q + 1, ... as u8 x i8 products (vpdpbusd), the
      // activations laid out 4 columns x token once per call, the weights'
      // bias taken off per block and token (as in g4k's lane kernels).
      require(block % 8 == 0, "order=blocks needs int4 groups of whole "
                              "runs of 4 bytes (a multiple of 8)");
      const int quads = block / 4;
      blocks = RDom(0, width / block, "blocks");
      const int half = block / 2;
      // The activations stored 4 columns x token x quad of columns.
      quadActivation(i, t, k) = levels(4 * k + i, token);
      auto activation = [&](Expr column) {
        return cast<int32_t>(quadActivation(column % 4, t, column / 4));
      };
      quadColumns = RDom(0, block, "quad_columns");
      blockOffset(b, t) = 0;
      blockOffset(b, t) +=
          (int4 ? -8 : -128) * activation(b * block + quadColumns);
      blockSum(b, o, t) = blockOffset(b, t);
      if (int4) {
        // Bytes b * half + j: column j low, column half + j high.
        quadBytes = RDom(0, kBytesPerLane, 0, half / 4, "quad_bytes");
        Expr at = b * half + 4 * quadBytes.y + quadBytes.x;
        Expr byte = weight(at, row);
        Expr column = b * block + 4 * quadBytes.y + quadBytes.x;
        blockSum(b, o, t) += cast<int32_t>(byte & 15) * activation(column);
        blockSum(b, o, t) +=
            cast<int32_t>(byte >> 4) * activation(column + half);
      } else {
        quadBytes = RDom(0, kBytesPerLane, 0, quads, "quad_bytes");
        Expr at = b * block + 4 * quadBytes.y + quadBytes.x;
        blockSum(b, o, t) +=
            cast<int32_t>(weight(at, row) ^ cast<uint8_t>(128)) *
            activation(at);
      }
      partial(o, t) = 0.0f;
      partial(o, t) += cast<float>(blockSum(blocks, o, t)) * scaleOf(blocks);
      sum(o, t) = partial(o, t);
    } else {
      // Chunk c, lane l: weight bytes c * 64 + 4 l + m, m < 4.
      const int chunkColumns = int4 ? 2 * kChunkBytes : kChunkBytes;
      require(width % chunkColumns == 0,
              "order=lanes needs whole chunks (64 int8 / 128 int4 columns)");
      require(!int4 || (chunkColumns % block == 0 && block % 8 == 0),
              "order=lanes needs int4 groups of 8 to 128 that divide 128");
      chunks = RDom(0, width / chunkColumns, "chunks");
      byteOfLane = RDom(0, kBytesPerLane, "byte_of_lane");
      Expr byteAt = c * kChunkBytes + kBytesPerLane * l + byteOfLane;
      // The integer sums as u8 x i8 products in runs of 4 (what vpdpbusd
      // takes), with the activations put in the weight bytes' order once
      // per call, and a correction per lane: exact, like any integer sum.
      const int half = block / 2;
      if (int4) {
        // The nibbles (0..15, value + 8) against the activations of byte
        // k's low and high columns; the + 8 taken off as -8 * their sum.
        Expr column = k / half * block + k % half;
        lowActivation(k, t) = levels(column, token);
        highActivation(k, t) = levels(column + half, token);
        laneOffset(l, c, t) = 0;
        laneOffset(l, c, t) += -8 * (cast<int32_t>(lowActivation(byteAt, t)) +
                                     cast<int32_t>(highActivation(byteAt, t)));
        Expr byte = weight(byteAt, row);
        laneIntegerSum(l, c, o, t) = laneOffset(l, c, t);
        laneIntegerSum(l, c, o, t) +=
            cast<int32_t>(byte & 15) * cast<int32_t>(lowActivation(byteAt, t));
        laneIntegerSum(l, c, o, t) +=
            cast<int32_t>(byte >> 4) * cast<int32_t>(highActivation(byteAt, t));
      } else {
        // The weights biased to u8 (+ 128: the sign bit flipped), the bias
        // taken off as -128 * the activations' sum.
        lowActivation(k, t) = levels(k, token);
        laneOffset(l, c, t) = 0;
        laneOffset(l, c, t) += -128 * cast<int32_t>(lowActivation(byteAt, t));
        Expr biased = weight(byteAt, row) ^ cast<uint8_t>(128);
        laneIntegerSum(l, c, o, t) = laneOffset(l, c, t);
        laneIntegerSum(l, c, o, t) +=
            cast<int32_t>(biased) * cast<int32_t>(lowActivation(byteAt, t));
      }
      partial(l, o, t) = 0.0f;
      // The lane's 4 bytes are in one block (int4: a group's half bytes).
      const int blockBytes = int4 ? half : block;
      partial(l, o, t) +=
          cast<float>(laneIntegerSum(l, chunks, o, t)) *
          scaleOf((chunks * kChunkBytes + kBytesPerLane * l) / blockBytes);
      // _mm512_reduce_add_ps's tree.
      Expr halves[8];
      for (int j = 0; j < 8; ++j)
        halves[j] = partial(j, o, t) + partial(j + 8, o, t);
      Expr quarters[4], eighths[2];
      for (int j = 0; j < 4; ++j)
        quarters[j] = halves[j] + halves[j + 4];
      for (int j = 0; j < 2; ++j)
        eighths[j] = quarters[j] + quarters[j + 2];
      sum(o, t) = eighths[0] + eighths[1];
    }
    if (int4) {
      output(o, t) = sum(o, t);
    } else {
      Expr at = width;
      Expr bits = cast<uint32_t>(weight(at, row)) |
                  (cast<uint32_t>(weight(at + 1, row)) << 8) |
                  (cast<uint32_t>(weight(at + 2, row)) << 16) |
                  (cast<uint32_t>(weight(at + 3, row)) << 24);
      output(o, t) = sum(o, t) * reinterpret(Float(32), bits);
    }
  }

  void schedule() {
    const int width = columns;
    levels.dim(0).set_bounds(0, width).set_stride(1);
    levels.dim(1).set_bounds(0, tokens).set_stride(width);
    const bool int4 = format == WeightFormat::Int4;
    const int block = int4 ? int(group) : 32;
    scales.dim(0).set_bounds(0, width / block).set_stride(1);
    scales.dim(1).set_bounds(0, tokens).set_stride(width / block);
    weight.dim(0).set_stride(1);
    output.dim(0).set_stride(1);
    output.dim(1).set_bounds(0, tokens);
    if (outputStride > 0)
      output.dim(1).set_stride(outputStride);
    const int allRows = outputStride > 0 ? int(outputStride) : 2048;
    const int rowBytes = int4 ? width / 2 + width / block * 2 : width + 4;
    levels.set_estimates({{0, width}, {0, tokens}});
    scales.set_estimates({{0, width / block}, {0, tokens}});
    weight.set_estimates({{0, (rowBytes + 15) / 16 * 16}, {0, allRows}});
    output.set_estimates({{0, allRows}, {0, tokens}});

    const int rows = std::max(1, int(rowTile));
    Var oOuter("o_outer"), oInner("o_inner");
    output.split(o, oOuter, oInner, rows, TailStrategy::GuardWithIf)
        .reorder(oInner, t, oOuter);
    // The weight rows a few tiles on asked for while this one is summed
    // (memory-bound in decode).
    if (prefetchTiles > 0)
      output.prefetch(weight, oOuter, oOuter, int(prefetchTiles),
                      PrefetchBoundStrategy::NonFaulting);
    if (order == SumOrder::Lanes) {

      // The tile's 16-lane partial sums stay in registers while the chunks
      // go by, as in g4k's tiles.
      // Whole tiles, also at the end (those rows read the last one): fixed
      // sizes that stay in registers.
      partial.compute_at(output, oOuter)
          .bound_extent(o, rows)
          .vectorize(l)
          .unroll(o)
          .unroll(t);
      partial.update()
          .reorder(l, o, t, chunks)
          .vectorize(l)
          .unroll(o)
          .unroll(t);
      // Each chunk's integer sums: 4 bytes a lane reduced in the vector
      // (vpdpbusd with AVX-512 VNNI).
      laneIntegerSum.compute_at(partial, chunks)
          .vectorize(l)
          .unroll(o)
          .unroll(t);
      for (int u = 0; u < laneIntegerSum.num_update_definitions(); ++u)
        laneIntegerSum.update(u)
            .reorder(byteOfLane, l, o, t)
            .atomic()
            .vectorize(byteOfLane)
            .vectorize(l)
            .unroll(o)
            .unroll(t);
      // Once per call: the activations in the weight bytes' order and the
      // lanes' offsets.
      lowActivation.compute_root();
      if (int4)
        highActivation.compute_root();
      laneOffset.compute_root().vectorize(l);
      laneOffset.update()
          .reorder(byteOfLane, l)
          .atomic()
          .vectorize(byteOfLane)
          .vectorize(l);
    } else {
      // 16 tokens in a vector, row_tile rows x the tokens in registers
      // (tokens rounded up to whole vectors: the last token's again).
      const int vector = 16;
      const int paddedTokens = (int(tokens) + vector - 1) / vector * vector;
      Var tOuter("t_outer"), tInner("t_inner");
      partial.compute_at(output, oOuter)
          .bound_extent(o, rows)
          .bound_extent(t, paddedTokens)
          .reorder_storage(t, o)
          .split(t, tOuter, tInner, vector)
          .vectorize(tInner)
          .unroll(tOuter)
          .unroll(o);
      partial.update()
          .reorder(t, o, blocks)
          .split(t, tOuter, tInner, vector)
          .vectorize(tInner)
          .unroll(tOuter)
          .unroll(o);
      blockSum.compute_at(partial, blocks)
          .reorder_storage(t, o, b)
          .split(t, tOuter, tInner, vector)
          .vectorize(tInner)
          .unroll(tOuter)
          .unroll(o);
      for (int u = 0; u < blockSum.num_update_definitions(); ++u)
        blockSum.update(u)
            .reorder(quadBytes.x, t, o, quadBytes.y)
            .split(t, tOuter, tInner, vector)
            .atomic()
            .vectorize(quadBytes.x)
            .vectorize(tInner)
            .unroll(tOuter)
            .unroll(o);
      // Once per call, by token: the activations, 4 columns together; the
      // blocks' offsets and scales.
      quadActivation.compute_root().bound_extent(t, paddedTokens);
      blockOffset.compute_root()
          .bound_extent(t, paddedTokens)
          .reorder_storage(t, b);
      activationScale.compute_root()
          .bound_extent(t, paddedTokens)
          .reorder_storage(t, b);
    }
  }

private:
  /// A shape g4c never asks for: the generator stops, naming it.
  static void require(bool holds, const char *what) {
    if (!holds)
      throw CompileError(std::string("g4c_quantised_linear: ") + what);
  }

  Var i{"i"}, o{"o"}, t{"t"}, b{"b"}, c{"c"}, l{"l"}, k{"k"};
  Func blockSum{"block_sum"}, laneIntegerSum{"lane_integer_sum"},
      partial{"partial"}, lowActivation{"low_activation"},
      highActivation{"high_activation"}, laneOffset{"lane_offset"};
  Func blockOffset{"block_offset"}, activationScale{"activation_scale"};
  Func quadActivation{"quad_activation"};
  RDom blocks, quadColumns, quadBytes, chunks, byteOfLane;
};

} // namespace

HALIDE_REGISTER_GENERATOR(QuantisedLinearGenerator, g4c_quantised_linear)
