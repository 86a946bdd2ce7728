//===- g4k_x86.h - what the x86-64 matrix kernels share ---------*- C++ -*-===//
//
// Part of g4c. Included by g4k_avx512.h and g4k_avx2.h (after g4k.h's
// types): how the matrix kernels stream weight rows (software prefetches
// ahead of the reads) and walk a matrix in register tiles of rows x tokens,
// and the f32 / bf16 tiles over either ISA's float vector. No instruction
// here needs more than SSE.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_X86_H
#define G4K_X86_H

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

// The tiles' loops over rows, tokens and columns are unrolled so that their
// sums live in registers (GCC keeps arrays indexed by a loop in memory).
#if defined(__clang__)
#define G4K_UNROLL _Pragma("clang loop unroll(full)")
#else
#define G4K_UNROLL _Pragma("GCC unroll 32")
#endif

namespace g4k {
namespace x86 {

/// Weights are streamed from memory: asking for the bytes this far ahead
/// of the ones in use keeps enough reads in flight for one core to pull
/// about twice the bandwidth it gets from the hardware prefetcher alone
/// (measured on Zen 4, at 4 KiB into L1). Into L2 and 8 KiB ahead the int4
/// decode products read 15 % faster than that on a Xeon with AMX, int8 4 %
/// (bench/decode.sh, alternating runs). Prefetches never fault past the end.
constexpr int kPrefetchBytes = 8192;
inline void prefetch(const uint8_t *in_use) {
  _mm_prefetch(reinterpret_cast<const char *>(in_use + kPrefetchBytes),
               _MM_HINT_T1);
}

/// Where prefetch_row asks for the rows' bytes. On Zen cores into L1: the
/// decode products read 10-20 % faster than into L2, int8 and int4 alike
/// (bench/decode.sh on a 2-core Zen 5, median of 4 alternating runs: int8
/// gate|up 45 -> 48-53 GB/s, int4 39.5 -> 44 GB/s). Elsewhere into L2 (the
/// Xeon measurement above). -march=native names the core (__znverN__).
#if defined(__znver3__) || defined(__znver4__) || defined(__znver5__)
#define G4K_ROW_PREFETCH_HINT _MM_HINT_T0
#else
#define G4K_ROW_PREFETCH_HINT _MM_HINT_T1
#endif

/// prefetch() for a tile of R rows (|size| bytes apart) read side by side,
/// |offset| bytes into |row|: kPrefetchBytes further on in the row, or, past
/// its end, as far into the same row of the next tile. Past a row's end
/// come the next row's bytes, which the tile is reading already: on rows
/// longer than kPrefetchBytes / R (int4 down projections, 12288 columns)
/// that left most rows a few hundred bytes ahead of their reads.
template <int R>
inline void prefetch_row(const uint8_t *row, size_t size, size_t offset) {
  size_t ahead = offset + kPrefetchBytes;
  if (ahead >= size)
    ahead += (R - 1) * size;
  _mm_prefetch(reinterpret_cast<const char *>(row + ahead),
               G4K_ROW_PREFETCH_HINT);
}

/// Rows [begin, end) of the matrix at |w| (|size| bytes per row) against
/// all T tokens in tiles of Rows rows x TokenTile tokens (smaller at the
/// edges): y[t * Stride + o].
template <int T, int Rows, int TokenTile, typename Tile>
inline void rows_by_tiles(const uint8_t *w, size_t size, int64_t begin,
                          int64_t end, float *y, Tile tile) {
  auto tokens = [&](auto rows, int64_t o) {
    const uint8_t *first = w + size_t(o) * size;
    int t0 = 0;
    for (; t0 + TokenTile <= T; t0 += TokenTile)
      tile(rows, std::integral_constant<int, TokenTile>(), t0, first, y + o);
    if constexpr (T % TokenTile != 0)
      tile(rows, std::integral_constant<int, T % TokenTile>(), t0, first,
           y + o);
  };
  int64_t o = begin;
  for (; o + Rows <= end; o += Rows)
    tokens(std::integral_constant<int, Rows>(), o);
  // At most Rows - 1 left: the bound spares GCC's loop analysis an
  // imagined overflow of o * size (-Waggressive-loop-optimizations).
  for (int left = 0; left < Rows - 1 && o < end; ++left, ++o)
    tokens(std::integral_constant<int, 1>(), o);
}

/// fn(std::integral_constant<int, rows>) for 0 < rows <= N: the last rows
/// of a matrix as one smaller tile.
template <int N, typename F> inline void with_rows(int64_t rows, F fn) {
  if constexpr (N > 0) {
    if (rows == N)
      fn(std::integral_constant<int, N>());
    else
      with_rows<N - 1>(rows, fn);
  }
}

/// The lane kernels' walk over rows [begin, end) of a matrix (|size| bytes
/// a row from |w|) in passes of PassChunks chunks of columns: per pass,
/// tiles of RowTile rows (fewer at the end) x VectorTile vectors of tokens
/// (fewer at the end) out of Vectors, each a call tile(rows, vectors, v0,
/// first row's bytes, first row's index, c_begin, c_end) with rows and
/// vectors as std::integral_constant.
template <int Chunks, int PassChunks, int RowTile, int VectorTile, int Vectors,
          typename Tile>
inline void walk_lane_tiles(const uint8_t *w, size_t size, int64_t begin,
                            int64_t end, Tile tile) {
  for (int c_begin = 0; c_begin < Chunks; c_begin += PassChunks) {
    const int c_end =
        c_begin + PassChunks < Chunks ? c_begin + PassChunks : Chunks;
    const uint8_t *rows = w + size_t(begin) * size;
    auto vectors = [&](auto tile_rows, int64_t o) {
      int v0 = 0;
      for (; v0 + VectorTile <= Vectors; v0 += VectorTile)
        tile(tile_rows, std::integral_constant<int, VectorTile>(), v0, rows, o,
             c_begin, c_end);
      if constexpr (Vectors % VectorTile != 0)
        tile(tile_rows, std::integral_constant<int, Vectors % VectorTile>(), v0,
             rows, o, c_begin, c_end);
      rows += decltype(tile_rows)::value * size;
    };
    int64_t o = begin;
    for (; o + RowTile <= end; o += RowTile)
      vectors(std::integral_constant<int, RowTile>(), o);
    with_rows<RowTile - 1>(end - o, [&](auto rows) { vectors(rows, o); });
  }
}

//===----------------------------------------------------------------------===//
// f32 and bf16 weights (f32 activations): a register tile of rows x tokens
// of partial sums one vector V wide (V: the ISA's float_vector), so that
// each weight vector (bf16 widened once) meets K tokens and each activation
// vector R rows before the next columns; one horizontal sum per row and
// token.
//===----------------------------------------------------------------------===//

/// y[k * Stride + r] = x[k] . w[r] for R rows of |w| and K tokens of |x|.
template <typename V, int R, int K, int In, int Stride, typename W>
inline void float_tile(const float *x, const W *w, float *y) {
  typename V::type acc[R][K];
  G4K_UNROLL
  for (int r = 0; r < R; ++r) {
    G4K_UNROLL
    for (int k = 0; k < K; ++k)
      acc[r][k] = V::zero();
  }
  for (int i = 0; i < In; i += V::kLanes) {
    typename V::type weights[R];
    G4K_UNROLL
    for (int r = 0; r < R; ++r) {
      weights[r] = V::load(w + r * In + i);
      prefetch_row<R>(bytes_of(w + r * In), In * sizeof(W), i * sizeof(W));
    }
    G4K_UNROLL
    for (int k = 0; k < K; ++k) {
      const typename V::type activations = V::load(x + k * In + i);
      G4K_UNROLL
      for (int r = 0; r < R; ++r)
        acc[r][k] = V::fmadd(weights[r], activations, acc[r][k]);
    }
  }
  G4K_UNROLL
  for (int r = 0; r < R; ++r) {
    G4K_UNROLL
    for (int k = 0; k < K; ++k)
      y[k * Stride + r] = V::sum(acc[r][k]);
  }
}

/// Rows [begin, end) of |w| against the T tokens of |a| in float_tiles of
/// RowTile rows x TokenTile tokens (fewer at the edges): y[t * Stride + o].
template <typename V, int RowTile, int TokenTile, int Stride, int T, int In,
          typename W>
inline void float_rows_by_tiles(const float_rows<T, In> &a, const W *w,
                                int64_t begin, int64_t end, float *y) {
  auto tokens = [&](auto tile_rows, int64_t o) {
    constexpr int R = decltype(tile_rows)::value;
    int t0 = 0;
    for (; t0 + TokenTile <= T; t0 += TokenTile)
      float_tile<V, R, TokenTile, In, Stride>(a.x + t0 * In, w + o * In,
                                              y + t0 * Stride + o);
    if constexpr (T % TokenTile != 0)
      float_tile<V, R, T % TokenTile, In, Stride>(a.x + t0 * In, w + o * In,
                                                  y + t0 * Stride + o);
  };
  int64_t o = begin;
  for (; o + RowTile <= end; o += RowTile)
    tokens(std::integral_constant<int, RowTile>(), o);
  with_rows<RowTile - 1>(end - o, [&](auto rows) { tokens(rows, o); });
}

} // namespace x86
} // namespace g4k

#endif // G4K_X86_H
