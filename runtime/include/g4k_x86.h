//===- g4k_x86.h - what the x86-64 integer kernels share --------*- C++ -*-===//
//
// Part of g4c. Included by g4k_avx512.h and g4k_avx2.h: how the matrix
// kernels stream weight rows (software prefetches ahead of the reads) and
// walk a matrix in register tiles of rows x tokens. No instruction here
// needs more than SSE.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_X86_H
#define G4K_X86_H

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

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

} // namespace x86
} // namespace g4k

#endif // G4K_X86_H
