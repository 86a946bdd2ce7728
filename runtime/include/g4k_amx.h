//===- g4k_amx.h - AMX tiles for the lane kernels' products -----*- C++ -*-===//
//
// Part of g4c. Included by g4k_avx512_prefill.h where the compiler targets
// AMX-INT8 (-march=native on Sapphire Rapids and later). The prefill
// products of int8 / int4 weights with the tile unit: one tdpbssd computes a
// block's exact integer sums for 16 weight rows x 16 tokens (the lane
// kernels need 16 x 8 vpdpbusd for the same), then the same conversion and
// multiply and add per row and 16 tokens as lane_tile, in the same order:
// the values are the lane kernels' (and so the portable kernels') bit for
// bit.
//
// The weight operand of tdpbssd (signed bytes, 16 rows x up to 64 columns)
// is read from a panel: 16 rows unpacked once to their signed levels in
// column order, then used by every 16 tokens. The token operand is the lane
// activations' layout as it is (a dword of 4 columns per token, 16 tokens
// per 64 bytes). Signed by signed products need no bias: the lane kernels'
// (q + Bias) . x - Bias * sum(x) is the same integer.
//
// Linux hands out the tile state only on request (arch_prctl): available()
// asks once per process; where it is refused, or G4_AMX=0 is set, the lane
// kernels run instead.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_AMX_H
#define G4K_AMX_H

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace g4k {
namespace avx512 {
namespace amx {

/// Whether this process may use the tiles: the CPU has AMX-TILE and
/// AMX-INT8, Linux granted the tile data state, and G4_AMX is not "0".
inline bool available() {
  static const bool granted = [] {
    if (const char *env = std::getenv("G4_AMX"))
      if (env[0] == '0')
        return false;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
      return false;
    constexpr unsigned kAmxTile = 1u << 24, kAmxInt8 = 1u << 25;
    if ((edx & kAmxTile) == 0 || (edx & kAmxInt8) == 0)
      return false;
    constexpr long kRequestPermission = 0x1023; // ARCH_REQ_XCOMP_PERM
    constexpr long kTileData = 18;              // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
  }();
  return granted;
}

/// Rows of weights per tile (the tile unit's maximum).
constexpr int kRows = 16;

/// The tile configuration: tiles 0-3 integer sums (16 rows x 16 tokens),
/// 4-5 weights (16 rows x Columns bytes), 6-7 tokens (Columns / 4 dwords x
/// 16 tokens).
template <int Columns> struct alignas(64) tile_config {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t bytes_per_row[16] = {64, 64, 64, 64, Columns, Columns, 64, 64};
  uint8_t rows[16] = {kRows, kRows, kRows,       kRows,
                      kRows, kRows, Columns / 4, Columns / 4};
};

/// Qword k of 16 in a chunk of unpacked int4 columns in column order: which
/// qword of (low nibbles | high nibbles) holds it (see q4_chunk).
template <int Group> constexpr int nibble_qword(int k) {
  constexpr int kHalf = Group / 16; // qwords of one half group
  const int group = k / (2 * kHalf), within = k % (2 * kHalf);
  return within < kHalf ? group * kHalf + within
                        : 8 + group * kHalf + within - kHalf;
}

/// 16 rows of a matrix unpacked to signed levels in column order, and their
/// scales as floats: per block (int4) or per row (int8). Rows are a cache
/// line longer than In: at In a multiple of 4 KiB, a tile load's 16 rows
/// would all fall in one set of the L1 cache.
template <typename W, int In> struct panel {
  using F = lane_format<W>;
  static constexpr int kScales = F::kBlockScales ? In / F::kBlock : 1;
  static constexpr int kStride = In + 64;
  /// Columns of one tile product: the block, or 64 (the most a tile row
  /// holds) for groups of 128.
  static constexpr int kColumns = F::kBlock < 64 ? F::kBlock : 64;
  alignas(64) int8_t bytes[kRows][kStride];
  alignas(64) float scale[kRows][kScales];
};

template <int In>
inline void unpack_row(const uint8_t *row, int8_t *out, const q8 *) {
  std::memcpy(out, row, In);
}
template <int In, int Group>
inline void unpack_row(const uint8_t *row, int8_t *out, const q4<Group> *) {
  const __m512i first = _mm512_set_epi64(
      nibble_qword<Group>(7), nibble_qword<Group>(6), nibble_qword<Group>(5),
      nibble_qword<Group>(4), nibble_qword<Group>(3), nibble_qword<Group>(2),
      nibble_qword<Group>(1), nibble_qword<Group>(0));
  const __m512i second = _mm512_set_epi64(
      nibble_qword<Group>(15), nibble_qword<Group>(14), nibble_qword<Group>(13),
      nibble_qword<Group>(12), nibble_qword<Group>(11), nibble_qword<Group>(10),
      nibble_qword<Group>(9), nibble_qword<Group>(8));
  const __m512i nibble = _mm512_set1_epi8(15), bias = _mm512_set1_epi8(8);
  for (int c = 0; c < In / 2; c += 64) {
    const __m512i bytes = _mm512_loadu_si512(row + c);
    const __m512i low = _mm512_sub_epi8(_mm512_and_si512(bytes, nibble), bias);
    const __m512i high = _mm512_sub_epi8(
        _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble), bias);
    _mm512_store_si512(out + 2 * c,
                       _mm512_permutex2var_epi64(low, first, high));
    _mm512_store_si512(out + 2 * c + 64,
                       _mm512_permutex2var_epi64(low, second, high));
  }
}

template <typename W, int In>
inline void fill_panel(const uint8_t *rows, size_t size, panel<W, In> &p) {
  using F = lane_format<W>;
  for (int r = 0; r < kRows; ++r) {
    const uint8_t *row = rows + r * size;
    unpack_row<In>(row, p.bytes[r], static_cast<const W *>(nullptr));
    if constexpr (F::kBlockScales) {
      for (int b = 0; b < In / F::kBlock; ++b)
        p.scale[r][b] = F::template block_scale<In>(row, b);
    } else {
      p.scale[r][0] = F::template row_scale<In>(row);
    }
  }
}

/// Pulls the next panel's rows into L2 a few lines at a time while the tile
/// unit works on this one. Filling a panel straight from memory stalls on
/// its loads: with 64 tokens that took about as long as the panel's
/// products (perf).
class panel_prefetch {
public:
  /// The lines of [next, end) over |steps| calls of step(); none where
  /// |next| is null.
  panel_prefetch(const uint8_t *next, const uint8_t *end, int64_t steps)
      : cursor(next), end(next ? end : nullptr),
        lines_per_step(next ? ((end - next) / 64 + steps - 1) / steps : 0) {}
  void step() {
    for (int64_t i = 0; i < lines_per_step && cursor < end; ++i, cursor += 64)
      _mm_prefetch(reinterpret_cast<const char *>(cursor), _MM_HINT_T1);
  }

private:
  const uint8_t *cursor, *end;
  int64_t lines_per_step;
};

/// The integer sums of block |b| of the panel's rows and the 16 tokens of
/// vector |v| into tile SUMS, through weight tile A and token tile B. (GCC's
/// tile intrinsics paste the tile numbers into the instruction text: they
/// must be literal digits.)
#define G4K_AMX_BLOCK(SUMS, A, B, b)                                           \
  do {                                                                         \
    _tile_zero(SUMS);                                                          \
    for (int c = (b)*kBlock; c < ((b) + 1) * kBlock; c += kColumns) {          \
      _tile_loadd(A, &p.bytes[0][c], p.kStride);                               \
      _tile_loadd(B, a.q[c / 4][v], kVectors * 64);                            \
      _tile_dpbssd(SUMS, A, B);                                                \
    }                                                                          \
  } while (0)

/// Step |i| of the ring of sum tiles 0-3: tile SLOT's sums of block i - 4
/// go to memory, block i's are computed into it, and block i - 5's (stored
/// one step before) are scaled into |acc|.
#define G4K_AMX_STEP(SLOT, A, B, i)                                            \
  do {                                                                         \
    if ((i) >= 4 && (i)-4 < kBlocks)                                           \
      _tile_stored(SLOT, sums[SLOT], 64);                                      \
    if ((i) < kBlocks)                                                         \
      G4K_AMX_BLOCK(SLOT, A, B, i);                                            \
    if ((i) >= 5 && (i)-5 < kBlocks) {                                         \
      scale_block<W, T, In>(a, p, (i)-5, v, sums[((SLOT) + 3) % 4], acc);      \
      next.step();                                                             \
    }                                                                          \
  } while (0)

/// acc[r] += float(sums[r]) * scale of block |b|, as lane_tile does.
template <typename W, int T, int In>
inline void scale_block(const lane_activations<T, In, lane_format<W>::kBlock,
                                               lane_format<W>::kBias> &a,
                        const panel<W, In> &p, int b, int v,
                        const int32_t (&sums)[kRows][16],
                        __m512 (&acc)[kRows][1]) {
  const __m512 xscale = _mm512_load_ps(a.scale[b][v]);
  for (int r = 0; r < kRows; ++r) {
    __m512 scale = xscale;
    if constexpr (lane_format<W>::kBlockScales)
      scale = _mm512_mul_ps(_mm512_set1_ps(p.scale[r][b]), xscale);
    acc[r][0] = add_product(
        acc[r][0], _mm512_cvtepi32_ps(_mm512_load_si512(sums[r])), scale);
    // Finishes each row here: clang otherwise interleaves the blocks of a
    // step and keeps the 16 sums on the stack (a load and a store per row).
    __asm__("" : "+v"(acc[r][0]));
  }
}

/// y[t * Stride + r] = x[t] . row r for the 16 rows of |p| and the 16 tokens
/// of vector |v|, in lane_tile's order of operations. Blocks go round a
/// ring of four sum tiles: a tile's sums are stored four blocks after their
/// tdpbssd was issued, and read back for scaling one block later, so that
/// neither waits on the instruction before it: one thread, panel in L1, 30
/// ns per block with pairs of blocks computed, stored and scaled at once, 21
/// with the ring (an AMX Xeon). |next| steps once per block.
template <typename W, int T, int In, int Stride>
inline void panel_tokens(const lane_activations<T, In, lane_format<W>::kBlock,
                                                lane_format<W>::kBias> &a,
                         const panel<W, In> &p, int v, panel_prefetch &next,
                         float *y) {
  using F = lane_format<W>;
  constexpr int kBlock = F::kBlock, kBlocks = In / kBlock;
  constexpr int kColumns = panel<W, In>::kColumns;
  constexpr int kVectors = (T + 15) / 16;
  __m512 acc[kRows][1];
  for (int r = 0; r < kRows; ++r)
    acc[r][0] = _mm512_setzero_ps();
  alignas(64) int32_t sums[4][kRows][16];
  for (int i = 0; i < kBlocks + 5; i += 4) {
    G4K_AMX_STEP(0, 4, 6, i);
    G4K_AMX_STEP(1, 5, 7, i + 1);
    G4K_AMX_STEP(2, 4, 6, i + 2);
    G4K_AMX_STEP(3, 5, 7, i + 3);
  }
  if constexpr (!F::kBlockScales)
    for (int r = 0; r < kRows; ++r)
      acc[r][0] = _mm512_mul_ps(acc[r][0], _mm512_set1_ps(p.scale[r][0]));
  for (int r = 0; r < kRows; r += 4) {
    const __m512 quad[4][1] = {
        {acc[r][0]}, {acc[r + 1][0]}, {acc[r + 2][0]}, {acc[r + 3][0]}};
    store_lanes<4, T, Stride>(quad, 0, v * 16, y + r);
  }
}

#undef G4K_AMX_STEP
#undef G4K_AMX_BLOCK

/// Rows [begin, begin + 16 * panels) of the matrix at |rows| (|size| bytes
/// each) against all T tokens: y[t * Stride + o]. The caller checked
/// available().
template <typename W, int T, int In, int Stride>
inline void dot_panels(const lane_activations<T, In, lane_format<W>::kBlock,
                                              lane_format<W>::kBias> &a,
                       const uint8_t *rows, size_t size, int64_t panels,
                       float *y) {
  // One panel per shape and thread, in static storage (no allocation at
  // run time).
  static thread_local panel<W, In> p;
  static constexpr tile_config<panel<W, In>::kColumns> config{};
  _tile_loadconfig(&config);
  constexpr int kVectors = (T + 15) / 16;
  constexpr int kBlocks = In / lane_format<W>::kBlock;
  const size_t panel_bytes = kRows * size;
  for (int64_t i = 0; i < panels; ++i) {
    const uint8_t *panel_rows = rows + size_t(i) * panel_bytes;
    fill_panel<W, In>(panel_rows, size, p);
    // The tile loads are asm statements that do not tell the compiler
    // they read memory: the panel's stores must come first.
    asm volatile("" ::: "memory");
    const uint8_t *next_rows = panel_rows + panel_bytes;
    panel_prefetch next(i + 1 < panels ? next_rows : nullptr,
                        next_rows + panel_bytes, kVectors * kBlocks);
    for (int v = 0; v < kVectors; ++v)
      panel_tokens<W, T, In, Stride>(a, p, v, next, y + i * kRows);
  }
  _tile_release();
}

} // namespace amx
} // namespace avx512
} // namespace g4k

#endif // G4K_AMX_H
