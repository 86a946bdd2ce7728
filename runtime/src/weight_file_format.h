//===- weight_file_format.h - the .g4w packed weight file ------*- C++ -*-===//
//
// Part of g4c. The layout of NAME.g4w, defined by the runtime that reads it
// and used by the packer that writes it; plain C++ with no dependencies so
// both can include it.
//
//   offset 0   header (64 bytes): magic "G4CWEIGH", version, tensor count,
//              directory size, fingerprint, data offset, file size
//   offset 64  directory: per tensor, in order: u32 name length, name bytes,
//              u32 format, u32 rank, u64 dims[rank], u64 offset, u64 size
//   data       each tensor at a 64-byte aligned offset; the data region
//              starts on a 4096-byte page so the file maps cleanly
//
// All integers are little-endian. The fingerprint is FNV-1a 64 over the
// directory and every data byte: generated code compares it (and the file
// size) at load, so a stale or truncated file is refused.
//
//===----------------------------------------------------------------------===//

#ifndef G4RT_WEIGHT_FILE_FORMAT_H
#define G4RT_WEIGHT_FILE_FORMAT_H

#include <cstdint>

namespace g4c::weightfile {

constexpr char kMagic[8] = {'G', '4', 'C', 'W', 'E', 'I', 'G', 'H'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderSize = 64;
constexpr uint64_t kTensorAlignment = 64;
constexpr uint64_t kDataAlignment = 4096;

/// How a tensor's elements are stored.
enum class Format : uint32_t {
  F32 = 0,
  BF16 = 1,
};

/// Bytes per element of |format|.
constexpr uint64_t formatSize(Format format) {
  return format == Format::F32 ? 4 : 2;
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
