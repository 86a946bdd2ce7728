//===- g4k_avx512.h - AVX-512 VNNI integer matrix kernels -------*- C++ -*-===//
//
// Part of g4c. Included by g4k.h when the target has AVX-512 BW and VNNI
// (x86-64-v4 with VNNI: Ice Lake, Zen 4 and later). The int8-activation
// products of linear() for int8 and int4 weights with vpdpbusd (64
// unsigned x signed byte products per instruction), computing what the
// portable kernels compute (the same activation quantisation, integer sums
// per block, one float scale per block) up to float summation order.
//
// The activations are laid out for the weights: per chunk of columns one
// register of bytes that lines up with a register of weight bytes, plus the
// per-lane correction and scale vectors, so the inner loop is loads,
// vpdpbusd, one conversion, a multiply and an add per chunk and token (not
// fused, add_product: the object backend's Halide kernels compute the same
// sums in the same order and round alike).
//
//===----------------------------------------------------------------------===//

#ifndef G4K_AVX512_H
#define G4K_AVX512_H

// GCC 12 warns about the intrinsics' own _mm512_undefined_* operands
// (-W[maybe-]uninitialized, located in its headers) once they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "g4k_x86.h"

namespace g4k {
namespace avx512 {

using x86::prefetch;
using x86::prefetch_row;
using x86::rows_by_tiles;

/// Tokens computed together against one weight row: the row's unpacked
/// chunk stays in registers for all of them (prefill's matrix-matrix form).
constexpr int kTokenTile = 4;
/// Rows computed together: each token's chunk is loaded once for them.
constexpr int kRowTile = 2;
/// Decode (one token) streams more rows at once: 8 int4 rows, 4 int8 ones.
/// E2B decode of 127 steps (e2b-run, 2-core Zen 5, medians of alternating
/// runs): int4 4.14 s with 4 rows, 3.92 s with 6, 3.67 s with 8 (against
/// 3.74 s for 6 in that set); int8 6.21 s with 2 rows, 5.72 s with 4. The
/// down projection's 12288-column rows, each its own stream, gain most.
/// Elsewhere (an AMX Xeon) int4 rows of up to 4096 columns go 16 at a time:
/// bench/decode.cc, 2 alternating runs, q|k|v 21.8-22.2 -> 24.3-24.5 GB/s,
/// gate|up 22.6 -> 24.7-24.8; the down projection 25.3-25.8 -> 24.1-24.5.
#if defined(__znver3__) || defined(__znver4__) || defined(__znver5__)
template <int T, int In> constexpr int kQ4RowTile = T == 1 ? 8 : kRowTile;
#else
template <int T, int In>
constexpr int kQ4RowTile = T == 1 ? (In <= 4096 ? 16 : 8) : kRowTile;
#endif
template <int T> constexpr int kQ8RowTile = T == 1 ? 4 : kRowTile;

/// acc + a * b, rounded after the multiply and after the add, as the
/// object backend's Halide kernels (which have no fused multiply-add) and
/// the portable kernels compute it. GCC contracts _mm512_mul_ps into a
/// following add (both are plain vector arithmetic to it); a multiply with
/// its rounding given is a builtin that it leaves alone.
inline __m512 add_product(__m512 acc, __m512 a, __m512 b) {
  return _mm512_add_ps(
      acc,
      _mm512_mul_round_ps(a, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/// q8_level of the 16 values at |x| (the product, rounded half to even), as
/// int32 lanes.
inline __m512i levels16(const float *x, __m512 inverse) {
  return _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), inverse),
                                  _MM_FROUND_TO_NEAREST_INT |
                                      _MM_FROUND_NO_EXC);
}

/// levels[i] = q8_level(block[i]) by q8_rule_of(block): |rule|, and the sum
/// of the levels. Blocks of whole vectors in vector instructions: the same
/// maximum (of finite values), product and rounding (half to even).
template <int Block>
inline int quantize_block(const float *block, int8_t *levels, q8_rule &rule) {
  if constexpr (Block % 16 != 0) {
    rule = q8_rule_of(block, Block);
    int sum = 0;
    for (int i = 0; i < Block; ++i) {
      levels[i] = q8_level(block[i], rule.inverse);
      sum += levels[i];
    }
    return sum;
  } else {
    __m512 absmax = _mm512_setzero_ps();
    for (int i = 0; i < Block; i += 16)
      absmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(block + i)), absmax);
    rule = q8_rule_for(_mm512_reduce_max_ps(absmax));
    const __m512 inverse = _mm512_set1_ps(rule.inverse);
    __m512i sums = _mm512_setzero_si512();
    for (int i = 0; i < Block; i += 16) {
      const __m512i q = levels16(block + i, inverse);
      sums = _mm512_add_epi32(sums, q);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(levels + i),
                       _mm512_cvtepi32_epi8(q));
    }
    return _mm512_reduce_add_epi32(sums);
  }
}

//===----------------------------------------------------------------------===//
// int4 weights: a chunk is 128 columns = 64 weight bytes. Byte k of the
// chunk holds column g*G + j (low nibble) and g*G + H + j (high nibble),
// g = k / H, j = k % H, H = G / 2 (the file's group layout). Activation
// blocks are the weight groups, so each int32 lane of vpdpbusd (4 bytes)
// belongs to one group: one scale per lane.
//===----------------------------------------------------------------------===//

struct q4_chunk {
  int8_t low[64];     ///< activations meeting the low nibbles
  int8_t high[64];    ///< ... the high nibbles
  int32_t offset[16]; ///< -8 * the sum of the lane's 8 activations
  float scale[16];    ///< the activation scale of the lane's group
};

template <int T, int In, int Group> struct q4_activations {
  static constexpr int kChunks = In / 128;
  alignas(64) q4_chunk chunk[T][kChunks];
};

template <int T, int In, int Group>
inline void quantize_activations(const float *x,
                                 q4_activations<T, In, Group> &a, int first,
                                 int last) {
  constexpr int kHalf = Group / 2;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int t = first; t < last; ++t)
    for (int c = 0; c < In / 128; ++c) {
      q4_chunk &chunk = a.chunk[t][c];
      for (int g = 0; g < 128 / Group; ++g) {
        alignas(64) int8_t levels[Group];
        q8_rule rule;
        quantize_block<Group>(x + t * In + c * 128 + g * Group, levels, rule);
        std::memcpy(chunk.low + g * kHalf, levels, kHalf);
        std::memcpy(chunk.high + g * kHalf, levels + kHalf, kHalf);
        for (int lane = g * kHalf / 4; lane < (g + 1) * kHalf / 4; ++lane)
          chunk.scale[lane] = rule.scale;
      }
      // Each lane's sum of its 4 low and 4 high levels (times 1, unsigned).
      const __m512i sum =
          _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones,
                                                  _mm512_load_si512(chunk.low)),
                              ones, _mm512_load_si512(chunk.high));
      _mm512_store_si512(chunk.offset,
                         _mm512_mullo_epi32(sum, _mm512_set1_epi32(-8)));
    }
}

/// Int4 weight scales: loaded as floats 16 groups at a time (kScaleChunks
/// chunks), then spread per chunk so that each int32 lane has its group's.
template <int Group> constexpr int kGroupsPerChunk = 128 / Group;
template <int Group> constexpr int kScaleChunks = 16 / kGroupsPerChunk<Group>;

/// Up to 16 scales of |row| (in a tile of R rows |size| bytes apart) from
/// group |first|: fewer at the row's end, where only the row's own bytes are
/// read. The scales follow the row's nibbles, which the chunks' prefetches
/// stop short of: they get their own.
template <int R, int In, int Group>
inline __m512 q4_load_scales(const uint8_t *row, size_t size, int first) {
  constexpr int kTotal = In / Group;
  const int count = kTotal - first < 16 ? kTotal - first : 16;
  const __mmask16 mask = __mmask16((1u << count) - 1);
  const size_t offset = In / 2 + 2 * first;
  prefetch_row<R>(row, size, offset);
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, row + offset));
}

/// The scales of chunk j of those loaded: lane l belongs to group
/// j * kGroupsPerChunk + l / (16 / kGroupsPerChunk).
template <int Group> inline __m512 q4_chunk_scales(__m512 loaded, int j) {
  constexpr int kGroups = kGroupsPerChunk<Group>;
  const __m512i lane =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i index =
      _mm512_add_epi32(_mm512_set1_epi32(j * kGroups),
                       _mm512_srli_epi32(lane, kGroups == 4   ? 2
                                               : kGroups == 2 ? 3
                                                              : 4));
  return _mm512_permutexvar_ps(index, loaded);
}

/// y[(t0 + k) * Stride + r] = x[t0 + k] . row r for R rows from |rows|
/// (|size| bytes apart) and K tokens: each chunk of a row is unpacked once
/// for the K tokens, each token's chunk loaded once for the R rows.
template <int R, int K, int T, int In, int Group, int Stride>
inline void q4_tile(const q4_activations<T, In, Group> &a, int t0,
                    const uint8_t *rows, size_t size, float *y) {
  constexpr int kChunks = In / 128, kPerLoad = kScaleChunks<Group>;
  const __m512i nibble = _mm512_set1_epi8(15);
  __m512 acc[R][K];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k)
      acc[r][k] = _mm512_setzero_ps();
  for (int c0 = 0; c0 < kChunks; c0 += kPerLoad) {
    __m512 loaded[R];
    for (int r = 0; r < R; ++r)
      loaded[r] = q4_load_scales<R, In, Group>(rows + r * size, size,
                                               c0 * kGroupsPerChunk<Group>);
#if defined(__clang__)
#pragma clang loop unroll(full)
#else
#pragma GCC unroll 16
#endif
    for (int j = 0; j < kPerLoad; ++j) {
      const int c = c0 + j;
      if (kChunks % kPerLoad != 0 && c >= kChunks)
        break;
      __m512i low[R], high[R];
      __m512 wscale[R];
      for (int r = 0; r < R; ++r) {
        const __m512i bytes = _mm512_loadu_si512(rows + r * size + 64 * c);
        prefetch_row<R>(rows + r * size, size, 64 * c);
        low[r] = _mm512_and_si512(bytes, nibble);
        high[r] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble);
        wscale[r] = q4_chunk_scales<Group>(loaded[r], j);
      }
      for (int k = 0; k < K; ++k) {
        const q4_chunk &x = a.chunk[t0 + k][c];
        const __m512i offset = _mm512_load_si512(x.offset);
        const __m512i xlow = _mm512_load_si512(x.low);
        const __m512i xhigh = _mm512_load_si512(x.high);
        const __m512 xscale = _mm512_load_ps(x.scale);
        for (int r = 0; r < R; ++r) {
          __m512i sum = _mm512_dpbusd_epi32(offset, low[r], xlow);
          sum = _mm512_dpbusd_epi32(sum, high[r], xhigh);
          acc[r][k] = add_product(acc[r][k], _mm512_cvtepi32_ps(sum),
                                  _mm512_mul_ps(wscale[r], xscale));
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k)
      y[(t0 + k) * Stride + r] = _mm512_reduce_add_ps(acc[r][k]);
}

//===----------------------------------------------------------------------===//
// int8 weights: a chunk is 64 columns. vpdpbusd multiplies unsigned by
// signed bytes, so the weights are taken as w + 128 (the sign bit flipped
// as each chunk is loaded) and each token's 128 * sum(x), quantised with
// the activations, starts the integer sum: one instruction fewer per row
// and chunk than activations stored as x + 128 against a per-row 128 *
// sum(w), which a decode step could not share (the same integer sums;
// bench/decode.cc on an AMX Xeon, 3 alternating runs: q|k|v 29.4-29.7 ->
// 31.3-31.9 GB/s, gate|up 28.4-30.1 -> 31.7-31.8). Activation blocks of 32:
// lanes 0-7 and 8-15 have one scale each.
//===----------------------------------------------------------------------===//

struct q8_chunk {
  int8_t levels[64];  ///< the activations' levels
  int32_t offset[16]; ///< -128 * the sum of the lane's 4 levels
  float scale[16];    ///< the activation scale of the lane's block
};

template <int T, int In> struct q8_activations {
  alignas(64) q8_chunk chunk[T][In / 64];
};

template <int T, int In>
inline void quantize_activations(const float *x, q8_activations<T, In> &a,
                                 int first, int last) {
  for (int t = first; t < last; ++t)
    for (int c = 0; c < In / 64; ++c) {
      q8_chunk &chunk = a.chunk[t][c];
      alignas(64) int8_t levels[64];
      for (int b = 0; b < 2; ++b) {
        q8_rule rule;
        quantize_block<32>(x + t * In + c * 64 + b * 32, levels + b * 32, rule);
        for (int lane = 8 * b; lane < 8 * b + 8; ++lane)
          chunk.scale[lane] = rule.scale;
      }
      const __m512i q = _mm512_load_si512(levels);
      _mm512_store_si512(chunk.levels, q);
      _mm512_store_si512(
          chunk.offset,
          _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                                 _mm512_set1_epi8(1), q),
                             _mm512_set1_epi32(-128)));
    }
}

template <int R, int K, int T, int In, int Stride>
inline void q8_tile(const q8_activations<T, In> &a, int t0, const uint8_t *rows,
                    size_t size, float *y) {
  const __m512i bias = _mm512_set1_epi8(char(0x80));
  __m512 acc[R][K];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k)
      acc[r][k] = _mm512_setzero_ps();
  for (int c = 0; c < In / 64; ++c) {
    __m512i weights[R];
    for (int r = 0; r < R; ++r) {
      weights[r] =
          _mm512_xor_si512(_mm512_loadu_si512(rows + r * size + 64 * c), bias);
      prefetch_row<R>(rows + r * size, size, 64 * c);
    }
    for (int k = 0; k < K; ++k) {
      const q8_chunk &x = a.chunk[t0 + k][c];
      const __m512i levels = _mm512_load_si512(x.levels);
      const __m512i offset = _mm512_load_si512(x.offset);
      const __m512 xscale = _mm512_load_ps(x.scale);
      for (int r = 0; r < R; ++r)
        acc[r][k] = add_product(
            acc[r][k],
            _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(offset, weights[r], levels)),
            xscale);
    }
  }
  for (int r = 0; r < R; ++r) {
    float scale;
    std::memcpy(&scale, rows + r * size + In, sizeof(scale));
    for (int k = 0; k < K; ++k)
      y[(t0 + k) * Stride + r] = _mm512_reduce_add_ps(acc[r][k]) * scale;
  }
}

template <int T, int In, int Stride, int Group>
inline void dot_rows(const q4_activations<T, In, Group> &a, const q4<Group> *w,
                     int64_t begin, int64_t end, float *y) {
  const size_t size = row_bytes<In>(w);
  rows_by_tiles<T, kQ4RowTile<T, In>, kTokenTile>(
      bytes_of(w), size, begin, end, y,
      [&](auto r, auto k, int t0, const uint8_t *rows, float *out) {
        q4_tile<decltype(r)::value, decltype(k)::value, T, In, Group, Stride>(
            a, t0, rows, size, out);
      });
}

template <int T, int In, int Stride>
inline void dot_rows(const q8_activations<T, In> &a, const q8 *w, int64_t begin,
                     int64_t end, float *y) {
  const size_t size = row_bytes<In>(w);
  rows_by_tiles<T, kQ8RowTile<T>, kTokenTile>(
      bytes_of(w), size, begin, end, y,
      [&](auto r, auto k, int t0, const uint8_t *rows, float *out) {
        q8_tile<decltype(r)::value, decltype(k)::value, T, In, Stride>(
            a, t0, rows, size, out);
      });
}

/// The chunked layout for weights W at In columns, void where these
/// kernels do not apply.
template <typename W, int T, int In> struct chunk_activations_for {
  using type = void;
};
template <int T, int In> struct chunk_activations_for<q8, T, In> {
  using type = std::conditional_t<In % 64 == 0, q8_activations<T, In>, void>;
};
template <int Group, int T, int In>
struct chunk_activations_for<q4<Group>, T, In> {
  using type = std::conditional_t<In % 128 == 0 && 128 % Group == 0,
                                  q4_activations<T, In, Group>, void>;
};

} // namespace avx512
} // namespace g4k

#include "g4k_avx512_prefill.h"

namespace g4k {
namespace avx512 {

//===----------------------------------------------------------------------===//
// Elementwise kernels, 16 lanes at a time: g4k.h's scalar operations in the
// same order (no fused multiply-adds), so they round as the scalar code and
// the object backend's Halide kernels do. GCC does not vectorise the scalar
// GELU: the exponent's clamp before a float-to-int conversion stops its
// if-conversion.
//===----------------------------------------------------------------------===//

/// g4k::gelu_tanh(x) * up on 16 lanes (clamps by min / max: the same values
/// as the scalar comparisons for every input but NaN, which stays NaN).
G4K_NO_CONTRACT inline __m512 gelu_gate16(__m512 x, __m512 up) {
  G4K_NO_CONTRACT_BODY
  const __m512 cube = _mm512_mul_ps(
      _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x), x);
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                                 _mm512_add_ps(x, cube));
  // exp_approx(clamp_exponent(-2 * u)).
  __m512 e = _mm512_mul_ps(_mm512_set1_ps(-2.0f), u);
  e = _mm512_min_ps(_mm512_max_ps(e, _mm512_set1_ps(-87.0f)),
                    _mm512_set1_ps(87.0f));
  const __m512 half = _mm512_mask_blend_ps(
      _mm512_cmp_ps_mask(e, _mm512_setzero_ps(), _CMP_GE_OQ),
      _mm512_set1_ps(-0.5f), _mm512_set1_ps(0.5f));
  const __m512i n_int = _mm512_cvttps_epi32(
      _mm512_add_ps(_mm512_mul_ps(e, _mm512_set1_ps(1.44269504f)), half));
  const __m512 n = _mm512_cvtepi32_ps(n_int);
  const __m512 r = _mm512_add_ps(
      _mm512_sub_ps(e, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
      _mm512_mul_ps(n, _mm512_set1_ps(2.12194440e-4f)));
  static constexpr float kPolynomial[] = {1.3981999507e-3f, 8.3334519073e-3f,
                                          4.1665795894e-2f, 1.6666665459e-1f,
                                          5.0000001201e-1f};
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  for (float c : kPolynomial)
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(c));
  p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r),
                    _mm512_set1_ps(1.0f));
  const __m512 power = _mm512_castsi512_ps(
      _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(n_int, 23)));
  const __m512 gelu =
      _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), power));
  return _mm512_mul_ps(gelu, up);
}

/// The activation layout for weights W at In columns: tokens in lanes for
/// many tokens, else chunks; void where neither applies (the portable
/// kernels do).
template <typename W, int T, int In> struct activations {
  using lanes = typename lane_activations_for<W, T, In>::type;
  using type =
      std::conditional_t<std::is_void<lanes>::value,
                         typename chunk_activations_for<W, T, In>::type, lanes>;
};

} // namespace avx512
} // namespace g4k

#endif // G4K_AVX512_H
