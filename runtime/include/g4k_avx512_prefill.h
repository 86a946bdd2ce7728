//===- g4k_avx512_prefill.h - VNNI kernels, tokens in lanes -----*- C++ -*-===//
//
// Part of g4c. Included by g4k_avx512.h. The integer products of linear()
// for int8 / int4 weights when there are many tokens (prefill): the 16
// lanes of a register are 16 tokens, so one weight dword (4 columns of one
// row) is broadcast against a register of 16 tokens' activations, and the
// integer sums stay in their lanes for a whole block (32 columns for int8
// weights, the group for int4) before one conversion, a multiply and an add
// (not fused, as in the portable kernels) per block, row and 16 tokens. The
// chunked kernels of g4k_avx512.h convert and scale per 64 products and lane
// instead.
//
// vpdpbusd multiplies unsigned by signed bytes: the activations are the
// signed operand, the weights the unsigned one (int4: the stored nibble
// q + 8; int8: q + 128, flipped as each chunk is unpacked), and each block's
// -bias * sum(activations) starts the integer sum.
//
// The values are those of the portable kernels: the same activation
// quantisation, exact integer sums per block and, per row, the blocks'
// scaled sums added in block order.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_AVX512_PREFILL_H
#define G4K_AVX512_PREFILL_H

namespace g4k {
namespace avx512 {

/// Tokens from which linear() puts tokens in lanes.
constexpr int kLaneTokens = 16;

/// Activations with tokens in lanes: per 4 columns (a dword of int8
/// levels) and 16 tokens one 64-byte vector; per block and 16 tokens the
/// activation scales and -Bias * the block's sum of levels. Tokens past T
/// are zero.
template <int T, int In, int Block, int Bias> struct lane_activations {
  static constexpr int kVectors = (T + 15) / 16;
  alignas(64) int32_t q[In / 4][kVectors][16];
  alignas(64) float scale[In / Block][kVectors][16];
  alignas(64) int32_t offset[In / Block][kVectors][16];
};

/// Lane t of the result = the largest lane of m[4 * (t % 4) + t / 4]: four
/// rounds of halving, each a max of two shuffles, leave the tokens in the
/// order of a 4 x 4 transpose, which the order of |m| undoes.
inline __m512 lane_maxima(const __m512 (&m)[16]) {
  __m512 halves[8], quarters[4], pairs[2];
  for (int i = 0; i < 8; ++i)
    halves[i] =
        _mm512_max_ps(_mm512_shuffle_f32x4(m[2 * i], m[2 * i + 1], 0x44),
                      _mm512_shuffle_f32x4(m[2 * i], m[2 * i + 1], 0xEE));
  for (int i = 0; i < 4; ++i)
    quarters[i] = _mm512_max_ps(
        _mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], 0x88),
        _mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], 0xDD));
  for (int i = 0; i < 2; ++i)
    pairs[i] = _mm512_max_ps(
        _mm512_shuffle_ps(quarters[2 * i], quarters[2 * i + 1], 0x44),
        _mm512_shuffle_ps(quarters[2 * i], quarters[2 * i + 1], 0xEE));
  return _mm512_max_ps(_mm512_shuffle_ps(pairs[0], pairs[1], 0x88),
                       _mm512_shuffle_ps(pairs[0], pairs[1], 0xDD));
}

/// Token |t| alone (zeroes past T).
template <int T, int In, int Block, int Bias>
inline void quantize_token(const float *x,
                           lane_activations<T, In, Block, Bias> &a, int t) {
  const int v = t / 16, lane = t % 16;
  for (int b = 0; b < In / Block; ++b) {
    alignas(16) int8_t levels[Block] = {};
    q8_rule rule = {0, 0};
    int sum = 0;
    if (t < T)
      sum = quantize_block<Block>(x + t * In + b * Block, levels, rule);
    for (int d = 0; d < Block / 4; ++d)
      std::memcpy(&a.q[b * Block / 4 + d][v][lane], levels + 4 * d, 4);
    a.scale[b][v][lane] = rule.scale;
    a.offset[b][v][lane] = -Bias * sum;
  }
}

/// The 16 tokens of vector |v|, all below T, at once, with the values of
/// quantize_token: per block, the tokens' largest magnitudes in one tree,
/// their rules in vector arithmetic, and the 16 tokens' levels gathered a
/// dword at a time into the lanes (token by token, the dwords went to
/// memory one at a time: 0.8 ns a value on an AMX Xeon, a tenth of E2B's
/// down projection at 64 tokens).
template <int T, int In, int Block, int Bias>
inline void quantize_lanes(const float *x,
                           lane_activations<T, In, Block, Bias> &a, int v) {
  static_assert(Block % 16 == 0, "blocks of whole vectors");
  const float *tokens = x + size_t(16 * v) * In;
  const __m512i token_offsets = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(Block));
  const __m512 levels_per_max = _mm512_set1_ps(127.0f);
  for (int b = 0; b < In / Block; ++b) {
    __m512 magnitudes[16];
    for (int t = 0; t < 16; ++t) {
      const float *block = tokens + t * In + b * Block;
      __m512 m = _mm512_setzero_ps();
      for (int i = 0; i < Block; i += 16)
        m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(block + i)), m);
      magnitudes[4 * (t % 4) + t / 4] = m;
    }
    // q8_rule_for, lane by lane.
    const __m512 absmax = lane_maxima(magnitudes);
    const __m512 scale = _mm512_div_ps(absmax, levels_per_max);
    const __m512 inverse = _mm512_maskz_div_ps(
        _mm512_cmp_ps_mask(absmax, _mm512_setzero_ps(), _CMP_GT_OQ),
        levels_per_max, absmax);
    alignas(64) int8_t levels[16][Block];
    for (int t = 0; t < 16; ++t) {
      const float *block = tokens + t * In + b * Block;
      const __m512 factor =
          _mm512_permutexvar_ps(_mm512_set1_epi32(t), inverse);
      for (int i = 0; i < Block; i += 16)
        _mm_store_si128(reinterpret_cast<__m128i *>(levels[t] + i),
                        _mm512_cvtepi32_epi8(levels16(block + i, factor)));
    }
    __m512i sum = _mm512_setzero_si512();
    for (int d = 0; d < Block / 4; ++d) {
      const __m512i dwords =
          _mm512_i32gather_epi32(token_offsets, levels[0] + 4 * d, 1);
      _mm512_store_si512(a.q[b * Block / 4 + d][v], dwords);
      sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), dwords);
    }
    _mm512_store_ps(a.scale[b][v], scale);
    _mm512_store_si512(a.offset[b][v],
                       _mm512_mullo_epi32(sum, _mm512_set1_epi32(-Bias)));
  }
}

/// Tokens [first, last); the part that ends at T zeroes the padding. Whole
/// vectors of real tokens go through quantize_lanes.
template <int T, int In, int Block, int Bias>
inline void quantize_activations(const float *x,
                                 lane_activations<T, In, Block, Bias> &a,
                                 int first, int last) {
  using A = lane_activations<T, In, Block, Bias>;
  if (last == T)
    last = A::kVectors * 16;
  for (int t = first; t < last;) {
    if (t % 16 == 0 && t + 16 <= last && t + 16 <= T) {
      quantize_lanes(x, a, t / 16);
      t += 16;
    } else {
      quantize_token(x, a, t++);
    }
  }
}

/// What the lane kernels need of a weight format: a chunk of columns (64
/// stored bytes) unpacked to unsigned bytes, where dword k of a block lies in
/// it, and the scales.
template <typename W> struct lane_format;

/// int8 rows: chunks of 64 columns in column order, one scale per row.
template <> struct lane_format<q8> {
  static constexpr int kChunk = 64, kBlock = 32, kBias = 128;
  static constexpr bool kBlockScales = false;
  static void unpack(const uint8_t *row, int chunk, uint8_t *out) {
    const __m512i bytes = _mm512_loadu_si512(row + kChunk * chunk);
    _mm512_store_si512(out,
                       _mm512_xor_si512(bytes, _mm512_set1_epi8(char(0x80))));
  }
  static constexpr int dword(int block_in_chunk, int k) {
    return 4 * (block_in_chunk * kBlock / 4 + k);
  }
  template <int In> static float row_scale(const uint8_t *row) {
    float scale;
    std::memcpy(&scale, row + In, sizeof(scale));
    return scale;
  }
};

/// int4 rows: chunks of 128 columns = 64 bytes whose low nibbles come
/// first, then the high ones (a group's first half, then its second: see
/// q4_chunk); one half-precision scale per group.
template <int Group> struct lane_format<q4<Group>> {
  static constexpr int kChunk = 128, kBlock = Group, kBias = 8;
  static constexpr bool kBlockScales = true;
  static void unpack(const uint8_t *row, int chunk, uint8_t *out) {
    const __m512i bytes = _mm512_loadu_si512(row + 64 * chunk);
    const __m512i nibble = _mm512_set1_epi8(15);
    _mm512_store_si512(out, _mm512_and_si512(bytes, nibble));
    _mm512_store_si512(out + 64,
                       _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble));
  }
  static constexpr int dword(int block_in_chunk, int k) {
    constexpr int kHalfDwords = Group / 8;
    return k < kHalfDwords
               ? 4 * (block_in_chunk * kHalfDwords + k)
               : 64 + 4 * (block_in_chunk * kHalfDwords + k - kHalfDwords);
  }
  template <int In> static float block_scale(const uint8_t *row, int block) {
    uint16_t bits;
    std::memcpy(&bits, row + In / 2 + 2 * block, sizeof(bits));
    return _cvtsh_ss(bits);
  }
};

/// y[(t0 + t) * Stride + r] = acc[r][v] lane t for tokens t0 + t < T. Four
/// rows are transposed in registers first, so that each token gets one
/// 16-byte store instead of four scattered floats.
template <int R, int T, int Stride, int V>
inline void store_lanes(const __m512 (&acc)[R][V], int v, int t0, float *y) {
  if constexpr (R == 4) {
    const __m512 t01 = _mm512_unpacklo_ps(acc[0][v], acc[1][v]);
    const __m512 t23 = _mm512_unpacklo_ps(acc[2][v], acc[3][v]);
    const __m512 u01 = _mm512_unpackhi_ps(acc[0][v], acc[1][v]);
    const __m512 u23 = _mm512_unpackhi_ps(acc[2][v], acc[3][v]);
    // Token 4i + j of the 16 is 128-bit part i of by_token[j].
    const __m512 by_token[4] = {
        _mm512_castpd_ps(
            _mm512_unpacklo_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))),
        _mm512_castpd_ps(
            _mm512_unpackhi_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))),
        _mm512_castpd_ps(
            _mm512_unpacklo_pd(_mm512_castps_pd(u01), _mm512_castps_pd(u23))),
        _mm512_castpd_ps(
            _mm512_unpackhi_pd(_mm512_castps_pd(u01), _mm512_castps_pd(u23)))};
    alignas(64) float rows[4][16];
    for (int j = 0; j < 4; ++j)
      _mm512_store_ps(rows[j], by_token[j]);
    for (int t = 0; t < 16 && t0 + t < T; ++t)
      std::memcpy(y + (t0 + t) * Stride, rows[t % 4] + 4 * (t / 4),
                  4 * sizeof(float));
  } else {
    for (int r = 0; r < R; ++r) {
      alignas(64) float out[16];
      _mm512_store_ps(out, acc[r][v]);
      for (int t = 0; t < 16 && t0 + t < T; ++t)
        y[(t0 + t) * Stride + r] = out[t];
    }
  }
}

/// acc[r][v] lane t = y[(t0 + t) * Stride + r] for tokens t0 + t < T (the
/// others 0): what store_lanes stored.
template <int R, int T, int Stride, int V>
inline void load_lanes(__m512 (&acc)[R][V], int v, int t0, const float *y) {
  const __m512i index = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(Stride));
  const int valid = T - t0 < 16 ? T - t0 : 16;
  const __mmask16 mask = __mmask16((1u << valid) - 1);
  for (int r = 0; r < R; ++r)
    acc[r][v] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index,
                                         y + t0 * Stride + r, 4);
}

/// Chunks [c_begin, c_end) of y[t * Stride + r] = x[t] . row r for R rows
/// from |rows| (|size| bytes apart) and the V vectors of 16 tokens from v0:
/// the sums start from y's (after an earlier pass) or 0, and are finished
/// (int8: times the row's scale) at the last chunk.
template <typename W, int R, int V, int T, int In, int Stride>
inline void lane_tile(const lane_activations<T, In, lane_format<W>::kBlock,
                                             lane_format<W>::kBias> &a,
                      int v0, const uint8_t *rows, size_t size, float *y,
                      int c_begin, int c_end) {
  using F = lane_format<W>;
  constexpr int kBlocksPerChunk = F::kChunk / F::kBlock;
  constexpr int kChunks = In / F::kChunk;
  // A whole row streams on: its bytes kPrefetchBytes ahead. A part of the
  // row (a block of columns): the same part of the next tile's rows.
  const bool whole = c_begin == 0 && c_end == kChunks;
  __m512 acc[R][V];
  G4K_UNROLL
  for (int v = 0; v < V; ++v) {
    if (c_begin > 0) {
      load_lanes<R, T, Stride>(acc, v, (v0 + v) * 16, y);
      continue;
    }
    G4K_UNROLL
    for (int r = 0; r < R; ++r)
      acc[r][v] = _mm512_setzero_ps();
  }
  for (int c = c_begin; c < c_end; ++c) {
    alignas(64) uint8_t weights[R][F::kChunk];
    G4K_UNROLL
    for (int r = 0; r < R; ++r) {
      F::unpack(rows + r * size, c, weights[r]);
      if (whole)
        prefetch(rows + r * size + 64 * c);
      else
        _mm_prefetch(
            reinterpret_cast<const char *>(rows + (R + r) * size + 64 * c),
            G4K_ROW_PREFETCH_HINT);
    }
    // The dwords are broadcast from memory (a load each): without this,
    // clang keeps the unpacked chunk in registers and builds each broadcast
    // from two shuffles, which compete with vpdpbusd for the vector pipes
    // (the int4 products 25 % slower on Zen 5).
    __asm__("" : "+m"(weights));
    G4K_UNROLL
    for (int bi = 0; bi < kBlocksPerChunk; ++bi) {
      const int b = c * kBlocksPerChunk + bi;
      __m512i sum[R][V];
      G4K_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m512i offset = _mm512_load_si512(a.offset[b][v0 + v]);
        G4K_UNROLL
        for (int r = 0; r < R; ++r)
          sum[r][v] = offset;
      }
      G4K_UNROLL
      for (int k = 0; k < F::kBlock / 4; ++k) {
        __m512i x[V];
        G4K_UNROLL
        for (int v = 0; v < V; ++v)
          x[v] = _mm512_load_si512(a.q[b * F::kBlock / 4 + k][v0 + v]);
        G4K_UNROLL
        for (int r = 0; r < R; ++r) {
          int32_t word;
          std::memcpy(&word, weights[r] + F::dword(bi, k), sizeof(word));
          const __m512i w = _mm512_set1_epi32(word);
          G4K_UNROLL
          for (int v = 0; v < V; ++v)
            sum[r][v] = _mm512_dpbusd_epi32(sum[r][v], w, x[v]);
        }
      }
      __m512 wscale[R];
      if constexpr (F::kBlockScales)
        G4K_UNROLL
      for (int r = 0; r < R; ++r)
        wscale[r] =
            _mm512_set1_ps(F::template block_scale<In>(rows + r * size, b));
      G4K_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m512 xscale = _mm512_load_ps(a.scale[b][v0 + v]);
        G4K_UNROLL
        for (int r = 0; r < R; ++r) {
          __m512 scale = xscale;
          if constexpr (F::kBlockScales)
            scale = _mm512_mul_ps(wscale[r], xscale);
          acc[r][v] =
              add_product(acc[r][v], _mm512_cvtepi32_ps(sum[r][v]), scale);
        }
      }
    }
  }
  if (c_end < kChunks) { // more columns to come: the partial sums wait in y
    G4K_UNROLL
    for (int v = 0; v < V; ++v)
      store_lanes<R, T, Stride>(acc, v, (v0 + v) * 16, y);
    return;
  }
  if constexpr (!F::kBlockScales) {
    G4K_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512 row_scale =
          _mm512_set1_ps(F::template row_scale<In>(rows + r * size));
      G4K_UNROLL
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_mul_ps(acc[r][v], row_scale);
    }
  }
  G4K_UNROLL
  for (int v = 0; v < V; ++v)
    store_lanes<R, T, Stride>(acc, v, (v0 + v) * 16, y);
}

} // namespace avx512
} // namespace g4k

#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__linux__) &&    \
    !defined(G4K_NO_AMX)
#define G4K_AMX 1
#include "g4k_amx.h"
#endif

namespace g4k {
namespace avx512 {

/// Rows computed together by the lane kernels, and vectors of 16 tokens.
constexpr int kLaneRowTile = 4, kLaneVectorTile = 2;

/// Columns per pass of the lane kernels over a thread's rows. A wider
/// matrix is taken a block of columns at a time, every row each time, so
/// that the block's activations (64 bytes per 4 columns and 16 tokens: 128
/// KiB for 64 tokens) stay in L2 for all the rows; whole rows brought all
/// of them in again from L3 for every tile (E2B's down projection, 12288
/// columns: 3 MiB for 64 tokens). The partial sums wait in y between
/// passes, exactly: a token's sum is a lane of its own, and the blocks are
/// added in the same order.
constexpr int kLaneColumnBlock = 2048;

/// Rows [begin, end) of the matrix at |w| against all T tokens with the
/// VNNI lane tiles: y[t * Stride + o].
template <int T, int In, int Stride, typename W>
inline void lane_rows(const lane_activations<T, In, lane_format<W>::kBlock,
                                             lane_format<W>::kBias> &a,
                      const W *w, int64_t begin, int64_t end, float *y) {
  using F = lane_format<W>;
  constexpr int kPassChunks =
      kLaneColumnBlock / F::kChunk > 0 ? kLaneColumnBlock / F::kChunk : 1;
  const size_t size = row_bytes<In>(w);
  x86::walk_lane_tiles<In / F::kChunk, kPassChunks, kLaneRowTile,
                       kLaneVectorTile, (T + 15) / 16>(
      bytes_of(w), size, begin, end,
      [&](auto r, auto v, int v0, const uint8_t *rows, int64_t o, int c_begin,
          int c_end) {
        lane_tile<W, decltype(r)::value, decltype(v)::value, T, In, Stride>(
            a, v0, rows, size, y + o, c_begin, c_end);
      });
}

/// Rows [begin, end) of the matrix at |w| against all T tokens: y[t *
/// Stride + o]. Whole panels of 16 rows on the AMX tile unit where the
/// process has it, the rest (or all) with the lane tiles: the same values.
template <int T, int In, int Stride, typename W>
inline void dot_rows(const lane_activations<T, In, lane_format<W>::kBlock,
                                            lane_format<W>::kBias> &a,
                     const W *w, int64_t begin, int64_t end, float *y) {
#ifdef G4K_AMX
  if (amx::available()) {
    const int64_t panels = (end - begin) / amx::kRows;
    amx::dot_panels<W, T, In, Stride>(
        a, bytes_of(w) + size_t(begin) * row_bytes<In>(w), row_bytes<In>(w),
        panels, y + begin);
    begin += panels * amx::kRows;
  }
#endif
  lane_rows<T, In, Stride>(a, w, begin, end, y);
}

//===----------------------------------------------------------------------===//
// f32 and bf16 weights (f32 activations): a register tile of rows x tokens
// of 16-column partial sums, so that each weight vector (bf16 widened once)
// meets kFloatTokenTile tokens and each activation vector kFloatRowTile
// rows before the next 16 columns; one horizontal sum per row and token.
//===----------------------------------------------------------------------===//

constexpr int kFloatRowTile = 6, kFloatTokenTile = 4;

/// x86::float_tile's vector: 16 floats.
struct float_vector {
  using type = __m512;
  static constexpr int kLanes = 16;
  static __m512 zero() { return _mm512_setzero_ps(); }
  static __m512 load(const float *p) { return _mm512_loadu_ps(p); }
  static __m512 load(const bf16 *p) {
    const __m256i bits =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
  static __m512 fmadd(__m512 a, __m512 b, __m512 acc) {
    return _mm512_fmadd_ps(a, b, acc);
  }
  static float sum(__m512 v) { return _mm512_reduce_add_ps(v); }
};

/// Rows [begin, end) of |w| against the T tokens of |a|: y[t * Stride + o].
template <int T, int In, int Stride, typename W>
inline void dot_rows(const float_rows<T, In> &a, const W *w, int64_t begin,
                     int64_t end, float *y) {
  x86::float_rows_by_tiles<float_vector, kFloatRowTile, kFloatTokenTile,
                           Stride>(a, w, begin, end, y);
}

/// The lane layout for weights W, or void where it does not apply.
template <typename W, int T, int In> struct lane_activations_for {
  using F = lane_format<W>;
  using type =
      std::conditional_t<T >= kLaneTokens && In % F::kChunk == 0 &&
                             F::kChunk % F::kBlock == 0,
                         lane_activations<T, In, F::kBlock, F::kBias>, void>;
};

} // namespace avx512
} // namespace g4k

#endif // G4K_AVX512_PREFILL_H
