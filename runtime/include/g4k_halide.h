//===- g4k_halide.h - raw pointers as Halide buffers ------------*- C++ -*-===//
//
// Part of g4c. The object backend calls Halide-generated kernels through
// small C-ABI wrappers (NAME_kernels.cc). Each wraps the arena and weight
// pointers it gets in halide_buffer_t descriptors on the stack: row-major,
// dense or rows a given stride apart, shapes fixed by the compiler. No
// allocation.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_HALIDE_H
#define G4K_HALIDE_H

#include "HalideRuntime.h"
#include "g4k.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace g4k {
namespace halide {

/// A buffer of |Dims| dimensions, the innermost first (Halide's order):
/// extents {width, rows} for a row-major [rows][width] array.
template <int Dims> class view {
public:
  view(const void *data, halide_type_t type, const int (&extents)[Dims]) {
    // 64-bit: a whole table's size (the last product) may pass 2^31.
    int64_t stride = 1;
    for (int d = 0; d < Dims; ++d) {
      dims_[d] = halide_dimension_t(0, extents[d], int32_t(stride));
      stride *= extents[d];
    }
    describe(data, type);
  }
  /// With explicit strides, in elements (part of a wider array).
  view(const void *data, halide_type_t type, const int (&extents)[Dims],
       const int (&strides)[Dims]) {
    for (int d = 0; d < Dims; ++d)
      dims_[d] = halide_dimension_t(0, extents[d], strides[d]);
    describe(data, type);
  }
  view(const view &) = delete;
  view &operator=(const view &) = delete;
  halide_buffer_t *get() { return &buffer_; }

private:
  void describe(const void *data, halide_type_t type) {
    buffer_.device = 0;
    buffer_.device_interface = nullptr;
    // Halide's descriptor has no const: inputs are only read.
    buffer_.host = static_cast<uint8_t *>(const_cast<void *>(data));
    buffer_.flags = 0;
    buffer_.type = type;
    buffer_.dimensions = Dims;
    buffer_.dim = dims_;
    buffer_.padding = nullptr;
  }

  halide_dimension_t dims_[Dims];
  halide_buffer_t buffer_;
};

inline halide_type_t f32() { return halide_type_t(halide_type_float, 32); }
/// bfloat16 values, read by the kernels as their bits.
inline halide_type_t bf16_bits() { return halide_type_t(halide_type_uint, 16); }
inline halide_type_t i32() { return halide_type_t(halide_type_int, 32); }
/// Quantised activations' int8 levels.
inline halide_type_t i8() { return halide_type_t(halide_type_int, 8); }
/// Packed int8 / int4 rows, read by the kernels as bytes.
inline halide_type_t bytes() { return halide_type_t(halide_type_uint, 8); }

/// A kernel's status: shapes are compile-time constants, so a failure is a
/// bug in the compiler, reported and fatal.
inline void check(int status, const char *kernel) {
  if (status != 0) {
    std::fprintf(stderr, "g4k: Halide kernel %s failed with status %d\n",
                 kernel, status);
    std::abort();
  }
}

/// The generated attention passes' signatures (g4c_attention_scores,
/// g4c_attention_values) over an f32 cache ...
using attention_scores_fn = int (*)(halide_buffer_t *q, halide_buffer_t *keys,
                                    halide_buffer_t *fresh, int kv,
                                    int fresh_start, int block,
                                    halide_buffer_t *scores);
using attention_values_fn = int (*)(halide_buffer_t *weights,
                                    halide_buffer_t *values,
                                    halide_buffer_t *fresh, int kv,
                                    int fresh_start, int block,
                                    halide_buffer_t *sums_in,
                                    halide_buffer_t *sums);
/// ... and over an int8 one (int8_cache=true): the rows' scales after
/// |block|.
using int8_attention_scores_fn = int (*)(halide_buffer_t *q,
                                         halide_buffer_t *keys,
                                         halide_buffer_t *fresh, int kv,
                                         int fresh_start, int block,
                                         halide_buffer_t *key_scales,
                                         halide_buffer_t *scores);
using int8_attention_values_fn = int (*)(
    halide_buffer_t *weights, halide_buffer_t *values, halide_buffer_t *fresh,
    int kv, int fresh_start, int block, halide_buffer_t *sums_in,
    halide_buffer_t *value_scales, halide_buffer_t *sums);

/// The passes' signatures and the rows' element type for a cache.
template <typename Cache> struct attention_passes;
template <> struct attention_passes<f32_kv> {
  using scores_fn = attention_scores_fn;
  using values_fn = attention_values_fn;
  static halide_type_t element() { return f32(); }
};
template <> struct attention_passes<q8_kv> {
  using scores_fn = int8_attention_scores_fn;
  using values_fn = int8_attention_values_fn;
  static halide_type_t element() { return i8(); }
};

/// The generated passes over the rows of KV head |kv| of a cache (f32 or
/// int8) of Slots rows and FreshRows fresh ones (0: none; positions from
/// fresh_start on), for Heads query heads: the loops of g4k::attend_tiles'
/// rows_of, and attend_blocks' block_scores and block_values.
template <int HeadDim, int KvHeads, int Slots, int FreshRows, int Heads,
          typename Cache = f32_kv>
struct kernel_rows {
  using passes = attention_passes<Cache>;
  static constexpr int kRow = KvHeads * HeadDim,
                       kFresh = FreshRows ? FreshRows : 1;
  typename passes::scores_fn scores_kernel;
  typename passes::values_fn values_kernel;
  const Cache &cache;
  const float *fresh_keys, *fresh_values;
  int kv;
  int64_t fresh_start;

  /// scores[g * stride + n] = q_g . K[block + n] for n < count.
  template <int H>
  void key_scores(const float *q, int64_t block, int64_t count,
                  int64_t /*last*/, float *scores, int64_t stride) const {
    static_assert(H == Heads, "the passes were generated for Heads");
    view<2> query(q, f32(), {HeadDim, Heads});
    view<2> keys(cache.k, passes::element(), {kRow, Slots});
    // Without fresh rows the kernels read none: the cache stands in.
    view<2> fresh(FreshRows ? static_cast<const void *>(fresh_keys) : cache.k,
                  f32(), {kRow, kFresh});
    view<2> scored(scores, f32(), {int(count), Heads}, {1, int(stride)});
    int status;
    if constexpr (std::is_same<Cache, q8_kv>::value) {
      view<1> scales(cache.k_scales, f32(), {Slots * KvHeads});
      status = scores_kernel(query.get(), keys.get(), fresh.get(), kv,
                             int(fresh_start), int(block), scales.get(),
                             scored.get());
    } else {
      status = scores_kernel(query.get(), keys.get(), fresh.get(), kv,
                             int(fresh_start), int(block), scored.get());
    }
    check(status, "attention scores");
  }

  /// out[g] += weights[g * stride + n] * V[block + n] for n < count.
  template <int H>
  void value_rows(const float *weights, int64_t stride, int64_t block,
                  int64_t count, float *out) const {
    static_assert(H == Heads, "the passes were generated for Heads");
    view<2> values(cache.v, passes::element(), {kRow, Slots});
    view<2> fresh(FreshRows ? static_cast<const void *>(fresh_values) : cache.v,
                  f32(), {kRow, kFresh});
    view<2> weighted(weights, f32(), {int(count), Heads}, {1, int(stride)});
    // In place: the sums in are the sums out.
    view<2> summed(out, f32(), {HeadDim, Heads});
    int status;
    if constexpr (std::is_same<Cache, q8_kv>::value) {
      view<1> scales(cache.v_scales, f32(), {Slots * KvHeads});
      status = values_kernel(weighted.get(), values.get(), fresh.get(), kv,
                             int(fresh_start), int(block), summed.get(),
                             scales.get(), summed.get());
    } else {
      status = values_kernel(weighted.get(), values.get(), fresh.get(), kv,
                             int(fresh_start), int(block), summed.get(),
                             summed.get());
    }
    check(status, "attention values");
  }
};

/// split_attention's |heads| over a cache (f32 or int8) of Slots rows and
/// FreshRows fresh ones (0: none): for Heads query heads, g4k::attend_blocks
/// with the Halide passes |scores_kernel| and |values_kernel| generated for
/// that shape; for any other number (too little scratch to take a KV head's
/// query heads together), g4k::attend_heads, which rounds alike.
template <int HeadDim, int KvHeads, int Slots, int FreshRows, int Heads,
          typename Cache>
inline auto
attention_heads(typename attention_passes<Cache>::scores_fn scores_kernel,
                typename attention_passes<Cache>::values_fn values_kernel,
                const Cache &cache, const float *fresh_keys,
                const float *fresh_values) {
  return [=](auto heads, const float *q, int kv, int64_t fresh_start,
             int64_t first, int64_t last, float *scores, int64_t room,
             float *out, float *lse) {
    constexpr int kHeads = decltype(heads)::value;
    if constexpr (kHeads != Heads) {
      attend_heads<HeadDim, KvHeads, Slots, kHeads>(
          q, cache, kv, fresh_keys, fresh_values, fresh_start, first, last,
          scores, room, out, lse);
    } else {
      const kernel_rows<HeadDim, KvHeads, Slots, FreshRows, Heads, Cache> rows{
          scores_kernel, values_kernel, cache, fresh_keys, fresh_values, kv,
          fresh_start};
      attend_blocks<HeadDim, Heads>(
          first, last, scores, room, out,
          [&](int64_t block, int64_t count, float *block_scores,
              int64_t stride) {
            rows.template key_scores<Heads>(q, block, count, last, block_scores,
                                            stride);
          },
          [&](int64_t block, int64_t count, const float *weights,
              int64_t stride, float *sums) {
            rows.template value_rows<Heads>(weights, stride, block, count,
                                            sums);
          },
          lse);
    }
  };
}

/// g4k::attend_tokens through the Halide passes generated for Heads =
/// QHeads / KvHeads query heads: prefill's token tiles (attend_tiles) or
/// the split of the pool (split_attention) exactly where the C++ backend
/// takes them, so that the two round alike (a rounding apart can flip a
/// quantised activation or an MoE router's choice).
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window,
          int FreshRows, typename Cache>
inline void
attend_tokens(typename attention_passes<Cache>::scores_fn scores_kernel,
              typename attention_passes<Cache>::values_fn values_kernel,
              const float *q, const Cache &cache, const float *fresh_keys,
              const float *fresh_values, int64_t start, float *scores,
              float *out) {
  constexpr int kHeads = QHeads / KvHeads;
  if constexpr (T > 1 && kVectorAttention<HeadDim, kHeads, Cache>) {
    attend_tiles<T, HeadDim, QHeads, KvHeads, Window>(
        q, fresh_keys != nullptr, start, out, [&](int kv, int64_t fresh_start) {
          return kernel_rows<HeadDim, KvHeads, Slots, FreshRows, kHeads, Cache>{
              scores_kernel, values_kernel, cache, fresh_keys, fresh_values, kv,
              fresh_start};
        });
  } else {
    split_attention<T, HeadDim, QHeads, KvHeads, Slots, Window>(
        q, fresh_keys != nullptr, start, scores, out,
        attention_heads<HeadDim, KvHeads, Slots, FreshRows, kHeads>(
            scores_kernel, values_kernel, cache, fresh_keys, fresh_values));
  }
}

} // namespace halide
} // namespace g4k

#endif // G4K_HALIDE_H
