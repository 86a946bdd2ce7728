//===- tokenizer_format.h - the .g4t tokenizer table -----------*- C++ -*-===//
//
// Part of g4c. The layout of NAME.g4t, the compiled form of a Gemma
// tokenizer.json (BPE with byte fallback): written by the compiler, read in
// place (mapped or linked in) by the runtime's encoder and decoder, which
// need no JSON parser and no allocation.
//
//   header     (128 bytes) magic "G4CTOKEN", version, counts, flags, ids,
//              and the byte offset of every section below
//   pieces     u32 piece_offsets[vocab + 1] into piece_bytes (each id's text,
//              "▁" for spaces as in tokenizer.json)
//   bytes      int16 byte_value[vocab]: the byte of a "<0xAB>" piece, or -1
//   lookup     u32 piece_hash[piece_capacity]: id + 1 by FNV-1a of the piece
//              text, linear probing (0 = empty); finds single characters
//   merges     MergeEntry merge_hash[merge_capacity] by (left, right) id,
//              linear probing (left = 0xffffffff: empty)
//   fallback   int32 byte_id[256]: the id of piece "<0xAB>", or -1
//   trie       TrieNode trie[trie_nodes]: the added tokens (matched on the
//              raw text, leftmost-longest); node 0 is the root; children
//              and next siblings always have larger indices than their
//              node, so every walk ends
//
// All integers are little-endian; sections start 8-byte aligned.
//
//===----------------------------------------------------------------------===//

#ifndef G4RT_TOKENIZER_FORMAT_H
#define G4RT_TOKENIZER_FORMAT_H

#include <cstdint>

namespace g4c::tokenizerfile {

constexpr char kMagic[8] = {'G', '4', 'C', 'T', 'O', 'K', 'E', 'N'};
constexpr uint32_t kVersion = 1;

enum Flags : uint32_t {
  kByteFallback = 1u << 0, ///< unknown characters become <0xAB> pieces
  kFuseUnknown = 1u << 1,  ///< consecutive unknowns become one <unk>
  kSpaceToMeta = 1u << 2,  ///< the normalizer writes " " as "▁"
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  uint32_t vocabSize;
  uint32_t pieceCapacity; ///< power of two
  uint32_t mergeCapacity; ///< power of two
  uint32_t trieNodes;
  int32_t unknownId; ///< -1 if none
  uint32_t reserved0;
  uint64_t pieceOffsets, pieceBytes, pieceBytesSize, byteValues, pieceHash,
      mergeHash, byteIds, trie, fileSize;
  uint8_t reserved[16];
};
static_assert(sizeof(Header) == 128, "header is 128 bytes");

struct MergeEntry {
  uint32_t left, right; ///< the pair; left == kEmpty marks a free slot
  uint32_t rank;        ///< lower merges first
  uint32_t result;      ///< the merged piece's id
};
constexpr uint32_t kEmpty = 0xffffffffu;

struct TrieNode {
  uint32_t firstChild;  ///< 0: none (the root is never a child)
  uint32_t nextSibling; ///< 0: none
  int32_t token;        ///< the added token ending here, or -1
  uint8_t byte;         ///< the byte that leads here from the parent
  uint8_t padding[3];
};

/// FNV-1a 32 of a piece's text (the lookup table's hash).
inline uint32_t hashPiece(const uint8_t *bytes, uint64_t size) {
  uint32_t hash = 2166136261u;
  for (uint64_t i = 0; i < size; ++i)
    hash = (hash ^ bytes[i]) * 16777619u;
  return hash;
}

/// The merge table's hash of a pair.
inline uint32_t hashPair(uint32_t left, uint32_t right) {
  uint64_t key = (uint64_t(left) << 32) | right;
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return uint32_t(key);
}

} // namespace g4c::tokenizerfile

#endif // G4RT_TOKENIZER_FORMAT_H
