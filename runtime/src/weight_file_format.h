//===- weight_file_format.h - the .g4w packed weight file ------*- C++ -*-===//
//
// Part of g4c. The layout of NAME.g4w, defined by the runtime that reads it
// and used by the packer that writes it; plain C++ with no dependencies so
// both can include it.
//
//   offset 0   header (64 bytes): magic "G4CWEIGH", version, tensor count,
//              directory size, fingerprint, data offset, file size
//   offset 64  directory: per tensor, in order: u32 name length, name bytes,
//              u32 format, u32 group, u32 rank, u64 dims[rank], u64 offset,
//              u64 size
//   data       each tensor at a 64-byte aligned offset (a page for tensors
//              read by row gathers, so their untouched rows stay on disk);
//              the data region starts on a 4096-byte page
//
// Quantised tensors are matrices of R rows (the product of the leading
// dimensions) by C columns (the last one), symmetric (zero maps to zero),
// stored row by row so a row is one contiguous piece (streamed by the
// packer, gathered by embedding lookups): each row is its values, then its
// scales, padded to a multiple of 16 bytes:
//   int8  int8 q[C], f32 scale; x = scale * q (one scale per output
//         channel / table row)
//   int4  u8 q[C/2], f16 scales[C/G]: per group g of G columns, byte
//         g*G/2 + j holds column g*G + j in its low nibble and column
//         g*G + j + G/2 in its high one, each as q + 8 with q in [-8, 7];
//         x = scale[g] * q
//
//===----------------------------------------------------------------------===//

#ifndef G4RT_WEIGHT_FILE_FORMAT_H
#define G4RT_WEIGHT_FILE_FORMAT_H

#include <cstdint>

namespace g4c::weightfile {

constexpr char kMagic[8] = {'G', '4', 'C', 'W', 'E', 'I', 'G', 'H'};
constexpr uint32_t kVersion = 2;
constexpr uint64_t kHeaderSize = 64;
constexpr uint64_t kTensorAlignment = 64;
constexpr uint64_t kDataAlignment = 4096;

constexpr uint64_t kRowAlignment = 16;

/// How a tensor's elements are stored.
enum class Format : uint32_t {
  F32 = 0,
  BF16 = 1,
  Int8 = 2, ///< a f32 scale per row
  Int4 = 3, ///< a f16 scale per group of columns
};

constexpr bool isQuantised(Format format) {
  return format == Format::Int8 || format == Format::Int4;
}

/// Bytes of one row of |columns| values stored as |format| (group |group|
/// for int4), scales and padding included.
constexpr uint64_t rowBytes(Format format, uint64_t columns, uint64_t group) {
  switch (format) {
  case Format::F32:
    return columns * 4;
  case Format::BF16:
    return columns * 2;
  case Format::Int8:
    return (columns + 4 + kRowAlignment - 1) / kRowAlignment * kRowAlignment;
  case Format::Int4:
    return (columns / 2 + columns / group * 2 + kRowAlignment - 1) /
           kRowAlignment * kRowAlignment;
  }
  return 0;
}

/// The fixed header (little-endian on disk).
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t tensorCount;
  uint64_t directorySize;
  uint64_t fingerprint;
  uint64_t dataOffset;
  uint64_t fileSize;
  uint8_t reserved[16];
};
static_assert(sizeof(Header) == kHeaderSize, "header is 64 bytes");

/// FNV-1a 64, incremental.
struct Fingerprint {
  uint64_t state = 0xcbf29ce484222325ull;
  void add(const void *data, uint64_t size) {
    const auto *bytes = static_cast<const uint8_t *>(data);
    for (uint64_t i = 0; i < size; ++i)
      state = (state ^ bytes[i]) * 0x100000001b3ull;
  }
};

} // namespace g4c::weightfile

#endif // G4RT_WEIGHT_FILE_FORMAT_H
