//===- g4k_avx2.h - AVX2 integer matrix kernels -----------------*- C++ -*-===//
//
// Part of g4c. Included by g4k.h where the target has AVX2 and F16C but not
// the AVX-512 VNNI kernels (x86-64-v3: Haswell to Alder Lake, Zen 1 to 3).
// The int8-activation products of linear() for int8 and int4 weights, with
// the values of the AVX-512 kernels (g4k_avx512.h) bit for bit:
//  - up to kLaneTokens tokens (decode), the chunked order: per 64-byte chunk
//    of a row, 16 lanes of 4 weight bytes, each lane's exact integer sum
//    times its scale added to the lane's partial sum (not fused), the 16
//    lanes added at the end as _mm512_reduce_add_ps's tree. Here the 16
//    lanes are two registers of 8.
//  - from kLaneTokens tokens (prefill), tokens in lanes (8 a register): per
//    output, each block's exact integer sum times its scale added in block
//    order.
//
// AVX2 has no vpdpbusd. vpmaddubsw multiplies unsigned by signed bytes into
// int16 sums of pairs (saturating), vpmaddwd adds those pairs into int32
// lanes. The sums stay exact: int4 nibbles (0-15, the stored q + 8) times
// levels (-127..127) make pair sums of at most 3810, so a group's run of 8
// pair sums adds up in int16 (30480); int8 weights go in as their magnitude
// (unsigned, at most 128) with their sign moved onto the activation
// (vpsignb), pair sums of at most 32512.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_AVX2_H
#define G4K_AVX2_H

#include "g4k_x86.h"

#include <immintrin.h>

namespace g4k {
namespace avx2 {

using x86::prefetch;
using x86::prefetch_row;
using x86::rows_by_tiles;

/// acc + a * b, rounded after the multiply and after the add: the empty asm
/// ends the product's expression, so that no compiler fuses it into the add.
inline __m256 add_product(__m256 acc, __m256 a, __m256 b) {
  __m256 product = _mm256_mul_ps(a, b);
  __asm__("" : "+x"(product));
  return _mm256_add_ps(acc, product);
}

/// Per int32 lane, the sum of its 4 products of unsigned |u| by signed |s|
/// bytes, exact where no pair sum passes the int16 range.
inline __m256i dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/// The sum of 16 lanes (|low| 0-7, |high| 8-15) in _mm512_reduce_add_ps's
/// order: lane i plus lane i + 8, then i + 4, i + 2, i + 1.
inline float reduce16(__m256 low, __m256 high) {
  const __m256 eights = _mm256_add_ps(low, high);
  const __m128 fours = _mm_add_ps(_mm256_castps256_ps128(eights),
                                  _mm256_extractf128_ps(eights, 1));
  const __m128 twos = _mm_add_ps(fours, _mm_movehl_ps(fours, fours));
  return _mm_cvtss_f32(_mm_add_ss(twos, _mm_movehdup_ps(twos)));
}

/// q8_level of the 8 values at |x| (the product, rounded half to even).
inline __m256i levels8(const float *x, __m256 inverse) {
  return _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), inverse));
}

/// levels[i] = q8_level(block[i]) by q8_rule_of(block): |rule|, and the sum
/// of the levels. Blocks of whole 32 values in vector instructions: the same
/// maximum (of finite values), product and rounding (half to even).
template <int Block>
inline int quantize_block(const float *block, int8_t *levels, q8_rule &rule) {
  if constexpr (Block % 32 != 0) {
    rule = q8_rule_of(block, Block);
    int sum = 0;
    for (int i = 0; i < Block; ++i) {
      levels[i] = q8_level(block[i], rule.inverse);
      sum += levels[i];
    }
    return sum;
  } else {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 absmax = _mm256_setzero_ps();
    for (int i = 0; i < Block; i += 8)
      absmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(block + i)),
                             absmax);
    __m128 max4 = _mm_max_ps(_mm256_castps256_ps128(absmax),
                             _mm256_extractf128_ps(absmax, 1));
    max4 = _mm_max_ps(max4, _mm_movehl_ps(max4, max4));
    max4 = _mm_max_ss(max4, _mm_movehdup_ps(max4));
    rule = q8_rule_for(_mm_cvtss_f32(max4));
    const __m256 inverse = _mm256_set1_ps(rule.inverse);
    __m256i sums = _mm256_setzero_si256();
    for (int i = 0; i < Block; i += 32) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        q[j] = levels8(block + i + 8 * j, inverse);
        sums = _mm256_add_epi32(sums, q[j]);
      }
      // The packs work per 128-bit half: dwords 0, 4, 1, 5, ... in order.
      const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                                               _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(
          reinterpret_cast<__m256i *>(levels + i),
          _mm256_permutevar8x32_epi32(
              bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    __m128i sum4 = _mm_add_epi32(_mm256_castsi256_si128(sums),
                                 _mm256_extracti128_si256(sums, 1));
    sum4 = _mm_add_epi32(sum4, _mm_unpackhi_epi64(sum4, sum4));
    sum4 = _mm_add_epi32(sum4, _mm_shuffle_epi32(sum4, 1));
    return _mm_cvtsi128_si32(sum4);
  }
}

//===----------------------------------------------------------------------===//
// Chunked kernels (few tokens). int4: a chunk is 128 columns = 64 weight
// bytes, byte k holding column g*G + j (low nibble) and g*G + H + j (high
// nibble), g = k / H, j = k % H, H = G / 2; each 4-byte lane belongs to one
// group. int8: a chunk is 64 columns, lanes 0-7 in the first block of 32,
// 8-15 in the second.
//===----------------------------------------------------------------------===//

/// Tokens computed together against one weight row, and rows computed
/// together (decode streams more of them at once).
constexpr int kTokenTile = 2;
template <int T> constexpr int kChunkRowTile = T == 1 ? 4 : 2;

struct q4_chunk {
  int8_t low[64];     ///< activations meeting the low nibbles
  int8_t high[64];    ///< ... the high nibbles
  int32_t offset[16]; ///< -8 * the sum of the lane's 8 activations
  float scale[16];    ///< the activation scale of the lane's group
};

template <int T, int In, int Group> struct q4_activations {
  alignas(32) q4_chunk chunk[T][In / 128];
};

template <int T, int In, int Group>
inline void quantize_activations(const float *x,
                                 q4_activations<T, In, Group> &a, int first,
                                 int last) {
  constexpr int kHalf = Group / 2;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int t = first; t < last; ++t)
    for (int c = 0; c < In / 128; ++c) {
      q4_chunk &chunk = a.chunk[t][c];
      for (int g = 0; g < 128 / Group; ++g) {
        alignas(32) int8_t levels[Group];
        q8_rule rule;
        quantize_block<Group>(x + t * In + c * 128 + g * Group, levels, rule);
        std::memcpy(chunk.low + g * kHalf, levels, kHalf);
        std::memcpy(chunk.high + g * kHalf, levels + kHalf, kHalf);
        for (int lane = g * kHalf / 4; lane < (g + 1) * kHalf / 4; ++lane)
          chunk.scale[lane] = rule.scale;
      }
      for (int h = 0; h < 2; ++h) {
        auto half = [&](const int8_t *bytes) {
          return _mm256_load_si256(
              reinterpret_cast<const __m256i *>(bytes + 32 * h));
        };
        const __m256i sum = _mm256_add_epi32(dot4(ones, half(chunk.low)),
                                             dot4(ones, half(chunk.high)));
        _mm256_store_si256(reinterpret_cast<__m256i *>(chunk.offset + 8 * h),
                           _mm256_mullo_epi32(sum, _mm256_set1_epi32(-8)));
      }
    }
}

/// The weight scales of lanes 8h..8h+7 of chunk |c| of |row|, as floats:
/// lane l of the chunk belongs to the chunk's group l / (16 / groups per
/// chunk).
template <int In, int Group>
inline __m256 q4_lane_scales(const uint8_t *row, int c, int h) {
  constexpr int kGroups = 128 / Group; // per chunk, 1 to 4
  const uint8_t *scales = row + In / 2 + 2 * kGroups * c;
  __m128i bits;
  if constexpr (kGroups == 4) {
    bits = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(scales));
  } else {
    uint32_t word = 0;
    std::memcpy(&word, scales, 2 * kGroups);
    bits = _mm_cvtsi32_si128(int(word));
  }
  const __m256 groups = _mm256_castps128_ps256(_mm_cvtph_ps(bits));
  constexpr int kShift = kGroups == 4 ? 2 : kGroups == 2 ? 3 : 4;
  const __m256i lane = _mm256_add_epi32(
      _mm256_set1_epi32(8 * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_permutevar8x32_ps(groups, _mm256_srli_epi32(lane, kShift));
}

/// y[(t0 + k) * Stride + r] = x[t0 + k] . row r for R rows from |rows|
/// (|size| bytes apart) and K tokens.
template <int R, int K, int T, int In, int Group, int Stride>
inline void q4_tile(const q4_activations<T, In, Group> &a, int t0,
                    const uint8_t *rows, size_t size, float *y) {
  const __m256i nibble = _mm256_set1_epi8(15);
  __m256 acc[R][K][2];
  G4K_UNROLL
  for (int r = 0; r < R; ++r)
    G4K_UNROLL
  for (int k = 0; k < K; ++k)
    acc[r][k][0] = acc[r][k][1] = _mm256_setzero_ps();
  for (int c = 0; c < In / 128; ++c) {
    G4K_UNROLL
    for (int h = 0; h < 2; ++h) {
      __m256i low[R], high[R];
      __m256 wscale[R];
      G4K_UNROLL
      for (int r = 0; r < R; ++r) {
        const uint8_t *row = rows + r * size;
        const __m256i bytes = _mm256_loadu_si256(
            reinterpret_cast<const __m256i *>(row + 64 * c + 32 * h));
        if (h == 0)
          prefetch_row<R>(row, size, 64 * c);
        low[r] = _mm256_and_si256(bytes, nibble);
        high[r] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
        wscale[r] = q4_lane_scales<In, Group>(row, c, h);
      }
      G4K_UNROLL
      for (int k = 0; k < K; ++k) {
        const q4_chunk &x = a.chunk[t0 + k][c];
        const __m256i xlow = _mm256_load_si256(
            reinterpret_cast<const __m256i *>(x.low + 32 * h));
        const __m256i xhigh = _mm256_load_si256(
            reinterpret_cast<const __m256i *>(x.high + 32 * h));
        const __m256i offset = _mm256_load_si256(
            reinterpret_cast<const __m256i *>(x.offset + 8 * h));
        const __m256 xscale = _mm256_load_ps(x.scale + 8 * h);
        G4K_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i pairs =
              _mm256_add_epi16(_mm256_maddubs_epi16(low[r], xlow),
                               _mm256_maddubs_epi16(high[r], xhigh));
          const __m256i sum = _mm256_add_epi32(
              offset, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
          acc[r][k][h] = add_product(acc[r][k][h], _mm256_cvtepi32_ps(sum),
                                     _mm256_mul_ps(wscale[r], xscale));
        }
      }
    }
  }
  G4K_UNROLL
  for (int r = 0; r < R; ++r)
    G4K_UNROLL
  for (int k = 0; k < K; ++k)
    y[(t0 + k) * Stride + r] = reduce16(acc[r][k][0], acc[r][k][1]);
}

struct alignas(32) q8_chunk {
  int8_t levels[64]; ///< the activations' levels
  float scale[2];    ///< the activation scales of the two blocks
};

template <int T, int In> struct q8_activations {
  alignas(32) q8_chunk chunk[T][In / 64];
};

template <int T, int In>
inline void quantize_activations(const float *x, q8_activations<T, In> &a,
                                 int first, int last) {
  for (int t = first; t < last; ++t)
    for (int c = 0; c < In / 64; ++c)
      for (int b = 0; b < 2; ++b) {
        q8_rule rule;
        quantize_block<32>(x + t * In + c * 64 + b * 32,
                           a.chunk[t][c].levels + 32 * b, rule);
        a.chunk[t][c].scale[b] = rule.scale;
      }
}

template <int R, int K, int T, int In, int Stride>
inline void q8_tile(const q8_activations<T, In> &a, int t0, const uint8_t *rows,
                    size_t size, float *y) {
  __m256 acc[R][K][2];
  G4K_UNROLL
  for (int r = 0; r < R; ++r)
    G4K_UNROLL
  for (int k = 0; k < K; ++k)
    acc[r][k][0] = acc[r][k][1] = _mm256_setzero_ps();
  for (int c = 0; c < In / 64; ++c) {
    G4K_UNROLL
    for (int h = 0; h < 2; ++h) {
      __m256i weights[R];
      G4K_UNROLL
      for (int r = 0; r < R; ++r) {
        weights[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(
            rows + r * size + 64 * c + 32 * h));
        if (h == 0)
          prefetch_row<R>(rows + r * size, size, 64 * c);
      }
      G4K_UNROLL
      for (int k = 0; k < K; ++k) {
        const q8_chunk &x = a.chunk[t0 + k][c];
        const __m256i levels = _mm256_load_si256(
            reinterpret_cast<const __m256i *>(x.levels + 32 * h));
        const __m256 xscale = _mm256_broadcast_ss(x.scale + h);
        G4K_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i sum = dot4(_mm256_abs_epi8(weights[r]),
                                   _mm256_sign_epi8(levels, weights[r]));
          acc[r][k][h] =
              add_product(acc[r][k][h], _mm256_cvtepi32_ps(sum), xscale);
        }
      }
    }
  }
  G4K_UNROLL
  for (int r = 0; r < R; ++r) {
    float scale;
    std::memcpy(&scale, rows + r * size + In, sizeof(scale));
    G4K_UNROLL
    for (int k = 0; k < K; ++k)
      y[(t0 + k) * Stride + r] = reduce16(acc[r][k][0], acc[r][k][1]) * scale;
  }
}

template <int T, int In, int Stride, int Group>
inline void dot_rows(const q4_activations<T, In, Group> &a, const q4<Group> *w,
                     int64_t begin, int64_t end, float *y) {
  const size_t size = row_bytes<In>(w);
  rows_by_tiles<T, kChunkRowTile<T>, kTokenTile>(
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
  rows_by_tiles<T, kChunkRowTile<T>, kTokenTile>(
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

//===----------------------------------------------------------------------===//
// Tokens in lanes (many tokens): per 4 columns (a dword of levels) and 8
// tokens one register; a weight dword is broadcast against it.
//===----------------------------------------------------------------------===//

/// Tokens from which linear() puts tokens in lanes.
constexpr int kLaneTokens = 8;

/// Activations with tokens in lanes: per dword of levels and 8 tokens one
/// 32-byte vector; per block and 8 tokens the activation scales and -Bias *
/// the block's sum of levels (int4: 8, int8: 0, the weights signed). Tokens
/// past T are zero.
template <int T, int In, int Block, int Bias> struct lane_activations {
  static constexpr int kVectors = (T + 7) / 8;
  alignas(32) int32_t q[In / 4][kVectors][8];
  alignas(32) float scale[In / Block][kVectors][8];
  alignas(32) int32_t offset[In / Block][kVectors][8];
};

/// Tokens [first, last); the part that ends at T zeroes the padding.
template <int T, int In, int Block, int Bias>
inline void quantize_activations(const float *x,
                                 lane_activations<T, In, Block, Bias> &a,
                                 int first, int last) {
  using A = lane_activations<T, In, Block, Bias>;
  if (last == T)
    last = A::kVectors * 8;
  for (int t = first; t < last; ++t) {
    const int v = t / 8, lane = t % 8;
    for (int b = 0; b < In / Block; ++b) {
      alignas(32) int8_t levels[Block] = {};
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
}

/// What the lane kernels need of a weight format: a chunk of columns (64
/// stored bytes) unpacked to bytes, where dword k of a block lies in it,
/// the scales, and the integer sums of a block's dwords.
template <typename W> struct lane_format;

/// int8 rows: chunks of 64 columns in column order, one scale per row. The
/// unpacked chunk is the weights' magnitudes, then the weights themselves
/// (their signs).
template <> struct lane_format<q8> {
  static constexpr int kChunk = 64, kBlock = 32, kBias = 0;
  static constexpr int kUnpacked = 128;
  static constexpr bool kBlockScales = false;
  static void unpack(const uint8_t *row, int chunk, uint8_t *out) {
    for (int h = 0; h < 2; ++h) {
      const __m256i bytes = _mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(row + kChunk * chunk + 32 * h));
      _mm256_store_si256(reinterpret_cast<__m256i *>(out + 32 * h),
                         _mm256_abs_epi8(bytes));
      _mm256_store_si256(reinterpret_cast<__m256i *>(out + 64 + 32 * h), bytes);
    }
  }
  static constexpr int dword(int block_in_chunk, int k) {
    return 4 * (block_in_chunk * kBlock / 4 + k);
  }
  /// Per lane, the 4 products of the dword at |at| with the tokens' levels.
  static __m256i products(const uint8_t *at, __m256i x) {
    int32_t magnitude, sign;
    std::memcpy(&magnitude, at, sizeof(magnitude));
    std::memcpy(&sign, at + 64, sizeof(sign));
    return _mm256_maddubs_epi16(_mm256_set1_epi32(magnitude),
                                _mm256_sign_epi8(x, _mm256_set1_epi32(sign)));
  }
  /// Pair sums that int16 holds (one dword's: 2 x 128 x 127).
  static constexpr int kRun = 1;
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
  static constexpr int kUnpacked = 128;
  static constexpr bool kBlockScales = true;
  static void unpack(const uint8_t *row, int chunk, uint8_t *out) {
    const __m256i nibble = _mm256_set1_epi8(15);
    for (int h = 0; h < 2; ++h) {
      const __m256i bytes = _mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(row + 64 * chunk + 32 * h));
      _mm256_store_si256(reinterpret_cast<__m256i *>(out + 32 * h),
                         _mm256_and_si256(bytes, nibble));
      _mm256_store_si256(reinterpret_cast<__m256i *>(out + 64 + 32 * h),
                         _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble));
    }
  }
  static constexpr int dword(int block_in_chunk, int k) {
    constexpr int kHalfDwords = Group / 8;
    return k < kHalfDwords
               ? 4 * (block_in_chunk * kHalfDwords + k)
               : 64 + 4 * (block_in_chunk * kHalfDwords + k - kHalfDwords);
  }
  static __m256i products(const uint8_t *at, __m256i x) {
    int32_t nibbles;
    std::memcpy(&nibbles, at, sizeof(nibbles));
    return _mm256_maddubs_epi16(_mm256_set1_epi32(nibbles), x);
  }
  /// Pair sums of up to 8 dwords add up in int16 (8 x 2 x 15 x 127).
  static constexpr int kRun = 8;
  template <int In> static float block_scale(const uint8_t *row, int block) {
    uint16_t bits;
    std::memcpy(&bits, row + In / 2 + 2 * block, sizeof(bits));
    return _cvtsh_ss(bits);
  }
};

/// acc[r][v] lane t into y[(t0 + t) * Stride + r] for tokens t0 + t < T
/// (store), or out of it (load, 0 past T).
template <int R, int T, int Stride, int V>
inline void store_lanes(const __m256 (&acc)[R][V], int v, int t0, float *y) {
  for (int r = 0; r < R; ++r) {
    alignas(32) float out[8];
    _mm256_store_ps(out, acc[r][v]);
    for (int t = 0; t < 8 && t0 + t < T; ++t)
      y[(t0 + t) * Stride + r] = out[t];
  }
}
template <int R, int T, int Stride, int V>
inline void load_lanes(__m256 (&acc)[R][V], int v, int t0, const float *y) {
  for (int r = 0; r < R; ++r) {
    alignas(32) float in[8] = {};
    for (int t = 0; t < 8 && t0 + t < T; ++t)
      in[t] = y[(t0 + t) * Stride + r];
    acc[r][v] = _mm256_load_ps(in);
  }
}

/// Chunks [c_begin, c_end) of y[t * Stride + r] = x[t] . row r for R rows
/// from |rows| (|size| bytes apart) and the V vectors of 8 tokens from v0:
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
  constexpr int kDwords = F::kBlock / 4;
  constexpr int kRun = F::kRun < kDwords ? F::kRun : kDwords;
  const bool whole = c_begin == 0 && c_end == kChunks;
  __m256 acc[R][V];
  G4K_UNROLL
  for (int v = 0; v < V; ++v) {
    if (c_begin > 0) {
      load_lanes<R, T, Stride>(acc, v, (v0 + v) * 8, y);
      continue;
    }
    G4K_UNROLL
    for (int r = 0; r < R; ++r)
      acc[r][v] = _mm256_setzero_ps();
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int c = c_begin; c < c_end; ++c) {
    alignas(32) uint8_t weights[R][F::kUnpacked];
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
    // The dwords are broadcast from memory (a load each), not built from
    // the unpacked registers by shuffles.
    __asm__("" : "+m"(weights));
    G4K_UNROLL
    for (int bi = 0; bi < kBlocksPerChunk; ++bi) {
      const int b = c * kBlocksPerChunk + bi;
      __m256i sum[R][V];
      G4K_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m256i offset = _mm256_load_si256(
            reinterpret_cast<const __m256i *>(a.offset[b][v0 + v]));
        G4K_UNROLL
        for (int r = 0; r < R; ++r)
          sum[r][v] = offset;
      }
      G4K_UNROLL
      for (int k0 = 0; k0 < kDwords; k0 += kRun) {
        __m256i pairs[R][V];
        G4K_UNROLL
        for (int k = k0; k < k0 + kRun; ++k) {
          __m256i x[V];
          G4K_UNROLL
          for (int v = 0; v < V; ++v)
            x[v] = _mm256_load_si256(reinterpret_cast<const __m256i *>(
                a.q[b * kDwords + k][v0 + v]));
          G4K_UNROLL
          for (int r = 0; r < R; ++r)
            G4K_UNROLL
          for (int v = 0; v < V; ++v) {
            const __m256i p = F::products(weights[r] + F::dword(bi, k), x[v]);
            pairs[r][v] = k == k0 ? p : _mm256_add_epi16(pairs[r][v], p);
          }
        }
        G4K_UNROLL
        for (int r = 0; r < R; ++r)
          G4K_UNROLL
        for (int v = 0; v < V; ++v)
          sum[r][v] =
              _mm256_add_epi32(sum[r][v], _mm256_madd_epi16(pairs[r][v], ones));
      }
      __m256 wscale[R];
      if constexpr (F::kBlockScales)
        G4K_UNROLL
      for (int r = 0; r < R; ++r)
        wscale[r] =
            _mm256_set1_ps(F::template block_scale<In>(rows + r * size, b));
      G4K_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m256 xscale = _mm256_load_ps(a.scale[b][v0 + v]);
        G4K_UNROLL
        for (int r = 0; r < R; ++r) {
          __m256 scale = xscale;
          if constexpr (F::kBlockScales)
            scale = _mm256_mul_ps(wscale[r], xscale);
          acc[r][v] =
              add_product(acc[r][v], _mm256_cvtepi32_ps(sum[r][v]), scale);
        }
      }
    }
  }
  if (c_end == kChunks) {
    if constexpr (!F::kBlockScales) {
      G4K_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256 row_scale =
            _mm256_set1_ps(F::template row_scale<In>(rows + r * size));
        G4K_UNROLL
        for (int v = 0; v < V; ++v)
          acc[r][v] = _mm256_mul_ps(acc[r][v], row_scale);
      }
    }
  }
  G4K_UNROLL
  for (int v = 0; v < V; ++v)
    store_lanes<R, T, Stride>(acc, v, (v0 + v) * 8, y);
}

/// Rows computed together by the lane kernels, and vectors of 8 tokens.
constexpr int kLaneRowTile = 2, kLaneVectorTile = 2;

/// Columns per pass of the lane kernels over a thread's rows: the block's
/// activations (32 bytes per 4 columns and 8 tokens: 128 KiB for 64 tokens)
/// stay in L2 for all the rows (see g4k_avx512_prefill.h).
constexpr int kLaneColumnBlock = 2048;

/// Rows [begin, end) of the matrix at |w| against all T tokens with the
/// lane tiles: y[t * Stride + o].
template <int T, int In, int Stride, typename W>
inline void dot_rows(const lane_activations<T, In, lane_format<W>::kBlock,
                                            lane_format<W>::kBias> &a,
                     const W *w, int64_t begin, int64_t end, float *y) {
  using F = lane_format<W>;
  constexpr int kPassChunks =
      kLaneColumnBlock / F::kChunk > 0 ? kLaneColumnBlock / F::kChunk : 1;
  const size_t size = row_bytes<In>(w);
  x86::walk_lane_tiles<In / F::kChunk, kPassChunks, kLaneRowTile,
                       kLaneVectorTile, (T + 7) / 8>(
      bytes_of(w), size, begin, end,
      [&](auto r, auto v, int v0, const uint8_t *rows, int64_t o, int c_begin,
          int c_end) {
        lane_tile<W, decltype(r)::value, decltype(v)::value, T, In, Stride>(
            a, v0, rows, size, y + o, c_begin, c_end);
      });
}

//===----------------------------------------------------------------------===//
// f32 and bf16 weights (f32 activations): x86::float_tile on 8 floats, in
// tiles of 3 rows x 4 tokens (12 sums, the weights and an activation in 16
// registers).
//===----------------------------------------------------------------------===//

constexpr int kFloatRowTile = 3, kFloatTokenTile = 4;

/// x86::float_tile's vector: 8 floats.
struct float_vector {
  using type = __m256;
  static constexpr int kLanes = 8;
  static __m256 zero() { return _mm256_setzero_ps(); }
  static __m256 load(const float *p) { return _mm256_loadu_ps(p); }
  static __m256 load(const bf16 *p) {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
  static __m256 fmadd(__m256 a, __m256 b, __m256 acc) {
    return _mm256_fmadd_ps(a, b, acc);
  }
  static float sum(__m256 v) {
    const __m128 fours =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 twos = _mm_add_ps(fours, _mm_movehl_ps(fours, fours));
    return _mm_cvtss_f32(_mm_add_ss(twos, _mm_movehdup_ps(twos)));
  }
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

/// The activation layout for weights W at In columns: tokens in lanes for
/// many tokens, else chunks; void where neither applies (the portable
/// kernels do).
template <typename W, int T, int In> struct activations {
  using lanes = typename lane_activations_for<W, T, In>::type;
  using type =
      std::conditional_t<std::is_void<lanes>::value,
                         typename chunk_activations_for<W, T, In>::type, lanes>;
};

} // namespace avx2
} // namespace g4k

#endif // G4K_AVX2_H
