//===- attention_generator.cpp - Halide attention kernels -----------------===//
//
// Part of g4c. This file implements the Halide generators of attention's
// two passes over a block of positions, for g4k::attend_blocks (which keeps
// the running maximum, the exponentials and the sums):
//
//   g4c_attention_scores: scores[g][n] = q_g . K[block + n], each sum in
//     g4k::dot_pairwise's order (16 lane partial sums along the head, then
//     added pairwise);
//   g4c_attention_values: sums[g][i] += weights[g][n] * V[block + n][i],
//     n in order (in place on sums).
//
// The K and V rows of position p: p < fresh_start in slot p % slots of the
// cache (a ring for sliding layers, the identity for a linear cache of the
// context), else row p - fresh_start of the fresh rows (the current tokens,
// not yet stored). Rows are [kv_heads * head_dim]; the call reads KV head
// `kv`. GeneratorParams fix the call's shape: `head_dim` (whole vectors of
// 16), `kv_heads`, `slots`, `fresh_rows` (0: the cache holds every
// position, and the fresh inputs are not read), `heads` (query heads per
// call), `int8_cache` (the cache's rows are int8 levels with a scale per
// slot and KV head, an extra input [slots * kv_heads] after `block`: a
// score is the levels' sum times the K row's scale, a weight is multiplied
// by the V row's scale before its products, as g4k::key_dot and
// g4k::value_axpy do; the fresh rows stay f32). Built with strict_float, so
// that no multiply-add is fused and both backends round alike.
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

namespace {

using namespace Halide;

/// g4k::kLanes: dot_pairwise's partial sums.
constexpr int kLanes = 16;

/// Cache rows: f32, or int8 levels (`int8_cache`, set in configure()).
using CacheInput = GeneratorInput<Buffer<void, 2>>;
using RowsInput = GeneratorInput<Buffer<float, 2>>;
using ScalesInput = GeneratorInput<Buffer<float, 1>>;

/// The shape both passes are specialised to, and the rows they read.
template <typename T> class AttentionGenerator : public Generator<T> {
public:
  GeneratorParam<int> headDim{"head_dim", kLanes};
  GeneratorParam<int> kvHeads{"kv_heads", 1};
  GeneratorParam<int> slots{"slots", 1};
  GeneratorParam<int> freshRows{"fresh_rows", 0};
  GeneratorParam<int> heads{"heads", 1};
  GeneratorParam<bool> int8Cache{"int8_cache", false};

protected:
  /// The cache rows' element type, and an int8 cache's scales (an input
  /// added after the others).
  void configureCache(CacheInput &cache, const std::string &scalesName) {
    cache.set_type(int8Cache ? Int(8) : Float(32));
    if (int8Cache)
      scales = this->template add_input<Buffer<float, 1>>(scalesName);
  }

  /// Whether position p's row comes from the cache.
  Expr isCached(Expr freshStart, Expr p) const {
    return int(freshRows) == 0 ? Expr(true) : p < freshStart;
  }

  /// The scale of position p's cached row (int8_cache) of KV head |kv|.
  Expr rowScale(Expr kv, Expr p) const {
    return (*scales)((p % int(slots)) * int(kvHeads) + kv);
  }

  /// Element i of the K or V row of position p (|cache| and |fresh| are
  /// [rows][kv_heads * head_dim]) of KV head |kv|, as a float (an int8
  /// cache's level as it is).
  Expr rowElement(const CacheInput &cache, const RowsInput &fresh, Expr kv,
                  Expr freshStart, Expr i, Expr p) const {
    Expr column = kv * int(headDim) + i;
    Expr cached = cast<float>(cache(column, p % int(slots)));
    if (int(freshRows) == 0)
      return cached;
    return select(isCached(freshStart, p), cached,
                  fresh(column, clamp(p - freshStart, 0, int(freshRows) - 1)));
  }

  /// Fixes the cache's, its scales' and the fresh rows' layout; |fresh| may
  /// be a stand-in without fresh rows.
  void describeRows(CacheInput &cache, RowsInput &fresh) const {
    const int row = int(kvHeads) * int(headDim);
    cache.dim(0).set_bounds(0, row).set_stride(1);
    cache.dim(1).set_bounds(0, int(slots)).set_stride(row);
    fresh.dim(0).set_stride(1);
    cache.set_estimates({{0, row}, {0, int(slots)}});
    fresh.set_estimates({{0, row}, {0, std::max(int(freshRows), 1)}});
    if (scales) {
      const int count = int(slots) * int(kvHeads);
      scales->dim(0).set_bounds(0, count).set_stride(1);
      scales->set_estimates({{0, count}});
    }
  }

  /// An int8 cache's scales, [slots * kv_heads]; null for an f32 cache.
  ScalesInput *scales = nullptr;

  /// A shape g4c never asks for: the generator stops, naming it.
  void checkShape() const {
    if (int(headDim) <= 0 || int(headDim) % kLanes != 0)
      throw CompileError("g4c_attention: head_dim must be whole vectors of 16");
    if (int(kvHeads) <= 0 || int(slots) <= 0 || int(heads) <= 0 ||
        int(freshRows) < 0)
      throw CompileError("g4c_attention: kv_heads, slots and heads must be "
                         "positive, fresh_rows not negative");
  }
};

class AttentionScoresGenerator
    : public AttentionGenerator<AttentionScoresGenerator> {
public:
  Input<Buffer<float, 2>> q{"q"};             // [heads][head_dim]
  Input<Buffer<void, 2>> keys{"keys"};        // [slots][kv_heads * head_dim]
  Input<Buffer<float, 2>> freshKeys{"fresh"}; // [fresh_rows][...]
  Input<int> kv{"kv"};
  Input<int> freshStart{"fresh_start"};
  Input<int> block{"block"}; // the first position
  // int8_cache: Input<Buffer<float, 1>> key_scales, added here.
  Output<Buffer<float, 2>> scores{"scores"}; // [heads][count], rows strided

  void configure() { configureCache(keys, "key_scales"); }

  void generate() {
    checkShape();
    chunk = RDom(0, int(headDim) / kLanes, "chunk");
    Expr i = chunk * kLanes + lane;
    partial(lane, n, g) = 0.0f;
    partial(lane, n, g) +=
        q(i, g) * rowElement(keys, freshKeys, kv, freshStart, i, block + n);
    // dot_pairwise: lane l plus lane l + width, width 8, 4, 2, 1.
    std::vector<Expr> sums;
    for (int l = 0; l < kLanes; ++l)
      sums.push_back(partial(l, n, g));
    for (int width = kLanes / 2; width > 0; width /= 2)
      for (int l = 0; l < width; ++l)
        sums[l] = sums[l] + sums[l + width];
    Expr p = block + n;
    scores(n, g) = int8Cache ? select(isCached(freshStart, p),
                                      sums[0] * rowScale(kv, p), sums[0])
                             : sums[0];
  }

  void schedule() {
    q.dim(0).set_bounds(0, int(headDim)).set_stride(1);
    q.dim(1).set_bounds(0, int(heads)).set_stride(int(headDim));
    describeRows(keys, freshKeys);
    scores.dim(0).set_min(0).set_stride(1);
    scores.dim(1).set_bounds(0, int(heads));
    q.set_estimates({{0, int(headDim)}, {0, int(heads)}});
    kv.set_estimate(0);
    freshStart.set_estimate(0);
    block.set_estimate(0);
    scores.set_estimates({{0, 64}, {0, int(heads)}});
    // Position after position, every head's partial sums in registers:
    // each K chunk is loaded once for all of them.
    scores.reorder(g, n).unroll(g);
    partial.compute_at(scores, n).vectorize(lane).unroll(g);
    partial.update().reorder(lane, g, chunk).vectorize(lane).unroll(g);
  }

private:
  Var lane{"lane"}, n{"n"}, g{"g"};
  Func partial{"partial"};
  RDom chunk;
};

class AttentionValuesGenerator
    : public AttentionGenerator<AttentionValuesGenerator> {
public:
  Input<Buffer<float, 2>> weights{"weights"}; // [heads][count], strided
  Input<Buffer<void, 2>> values{"values"};    // [slots][kv_heads * head_dim]
  Input<Buffer<float, 2>> freshValues{"fresh"};
  Input<int> kv{"kv"};
  Input<int> freshStart{"fresh_start"};
  Input<int> block{"block"};
  Input<Buffer<float, 2>> sumsIn{"sums_in"}; // [heads][head_dim]
  // int8_cache: Input<Buffer<float, 1>> value_scales, added here.
  Output<Buffer<float, 2>> sums{"sums"}; // the same memory as sums_in

  void configure() { configureCache(values, "value_scales"); }

  void generate() {
    checkShape();
    position = RDom(0, weights.dim(0).extent(), "position");
    Expr p = block + position;
    Expr weight = weights(position, g);
    if (int8Cache)
      weight =
          select(isCached(freshStart, p), weight * rowScale(kv, p), weight);
    total(i, g) = sumsIn(i, g);
    total(i, g) = total(i, g) + weight * rowElement(values, freshValues, kv,
                                                    freshStart, i, p);
    sums(i, g) = total(i, g);
  }

  void schedule() {
    const int width = int(headDim), count = int(heads);
    weights.dim(0).set_min(0).set_stride(1);
    weights.dim(1).set_bounds(0, count);
    describeRows(values, freshValues);
    for (OutputImageParam buffer :
         {OutputImageParam(sumsIn), OutputImageParam(sums)}) {
      buffer.dim(0).set_bounds(0, width).set_stride(1);
      buffer.dim(1).set_bounds(0, count).set_stride(width);
    }
    weights.set_estimates({{0, 64}, {0, count}});
    sumsIn.set_estimates({{0, width}, {0, count}});
    sums.set_estimates({{0, width}, {0, count}});
    kv.set_estimate(0);
    freshStart.set_estimate(0);
    block.set_estimate(0);
    // g4k::value_rows: a slice of every head's sums in registers while the
    // rows go by. Each slice of sums is read before it is written, so the
    // kernel may run in place.
    const int slice = width % (2 * kLanes) == 0 ? 2 * kLanes : kLanes;
    Var io("io"), ii("ii");
    sums.split(i, io, ii, slice).reorder(ii, g, io).vectorize(ii).unroll(g);
    total.compute_at(sums, io).vectorize(i).unroll(g);
    total.update().reorder(i, g, position).vectorize(i).unroll(g);
  }

private:
  Var i{"i"}, g{"g"};
  Func total{"total"};
  RDom position;
};

} // namespace

HALIDE_REGISTER_GENERATOR(AttentionScoresGenerator, g4c_attention_scores)
HALIDE_REGISTER_GENERATOR(AttentionValuesGenerator, g4c_attention_values)
