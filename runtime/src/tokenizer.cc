//===- tokenizer.cc - BPE encoding and streaming decoding from a .g4t -----===//
//
// Part of g4c. The runtime's tokenizer: g4_tokenizer_init validates a table
// completely (so that encoding never reads out of bounds or loops), the
// encoder splits added tokens out with the table's trie and runs BPE with a
// min-heap of candidate merges (lowest rank first, then leftmost) over each
// stretch between them, the decoder turns ids back into whole UTF-8
// characters.
//
//===----------------------------------------------------------------------===//

#include "g4tok.h"
#include "tokenizer_format.h"

#include <cstring>

using namespace g4c::tokenizerfile;

namespace {

struct Table {
  const Header *header;
  const uint32_t *pieceOffsets;
  const uint8_t *pieceBytes;
  const int16_t *byteValues;
  const uint32_t *pieceHash;
  const MergeEntry *merges;
  const int32_t *byteIds;
  const TrieNode *trie;
};

Table tableOf(const uint8_t *data) {
  const auto *header = reinterpret_cast<const Header *>(data);
  return {header,
          reinterpret_cast<const uint32_t *>(data + header->pieceOffsets),
          data + header->pieceBytes,
          reinterpret_cast<const int16_t *>(data + header->byteValues),
          reinterpret_cast<const uint32_t *>(data + header->pieceHash),
          reinterpret_cast<const MergeEntry *>(data + header->mergeHash),
          reinterpret_cast<const int32_t *>(data + header->byteIds),
          reinterpret_cast<const TrieNode *>(data + header->trie)};
}

bool isPowerOfTwo(uint64_t value) {
  return value && (value & (value - 1)) == 0;
}

/// Whether [offset, offset + count * size) lies in |fileSize|, 8-aligned.
bool fits(uint64_t offset, uint64_t count, uint64_t size, uint64_t fileSize) {
  return offset % 8 == 0 && offset <= fileSize &&
         count <= (fileSize - offset) / size;
}

g4_status validate(const uint8_t *data, size_t size, const char *name,
                   g4_error *error) {
  auto bad = [&](const char *problem) {
    return g4_fail(error, G4_FORMAT_ERROR,
                   "%s: not a valid tokenizer table: %s", name, problem);
  };
  if (size < sizeof(Header))
    return bad("shorter than its header");
  const auto *h = reinterpret_cast<const Header *>(data);
  if (std::memcmp(h->magic, kMagic, sizeof(kMagic)) != 0)
    return bad("wrong magic (not a .g4t file)");
  if (h->version != kVersion)
    return bad("unsupported version");
  if (h->fileSize != size)
    return bad("its size does not match the header (truncated?)");
  if (h->vocabSize == 0 || h->vocabSize > (1u << 24))
    return bad("vocabulary size out of range");
  if (!isPowerOfTwo(h->pieceCapacity) || !isPowerOfTwo(h->mergeCapacity) ||
      h->pieceCapacity > (1u << 26) || h->mergeCapacity > (1u << 26))
    return bad("hash table capacity is not a power of two");
  if (h->trieNodes == 0)
    return bad("the trie has no root");
  const uint64_t vocab = h->vocabSize;
  if (!fits(h->pieceOffsets, vocab + 1, 4, size) ||
      !fits(h->pieceBytes, h->pieceBytesSize, 1, size) ||
      !fits(h->byteValues, vocab, 2, size) ||
      !fits(h->pieceHash, h->pieceCapacity, 4, size) ||
      !fits(h->mergeHash, h->mergeCapacity, sizeof(MergeEntry), size) ||
      !fits(h->byteIds, 256, 4, size) ||
      !fits(h->trie, h->trieNodes, sizeof(TrieNode), size))
    return bad("a section lies outside the file");
  if (h->unknownId < -1 || h->unknownId >= int64_t(vocab))
    return bad("unknown-token id out of range");
  Table t = tableOf(data);
  for (uint64_t i = 0; i < vocab; ++i)
    if (t.pieceOffsets[i] > t.pieceOffsets[i + 1] || t.byteValues[i] < -1 ||
        t.byteValues[i] > 255)
      return bad("inconsistent piece directory");
  if (t.pieceOffsets[vocab] > h->pieceBytesSize)
    return bad("piece text outside its section");
  for (uint64_t i = 0; i < h->pieceCapacity; ++i)
    if (t.pieceHash[i] > vocab)
      return bad("piece lookup names an id outside the vocabulary");
  for (uint64_t i = 0; i < h->mergeCapacity; ++i) {
    const MergeEntry &m = t.merges[i];
    if (m.left != kEmpty &&
        (m.left >= vocab || m.right >= vocab || m.result >= vocab))
      return bad("merge names an id outside the vocabulary");
  }
  for (int i = 0; i < 256; ++i)
    if (t.byteIds[i] < -1 || t.byteIds[i] >= int64_t(vocab))
      return bad("byte-fallback id outside the vocabulary");
  for (uint64_t i = 0; i < h->trieNodes; ++i) {
    const TrieNode &node = t.trie[i];
    // Links only go forward: every walk ends.
    if ((node.firstChild &&
         (node.firstChild <= i || node.firstChild >= h->trieNodes)) ||
        (node.nextSibling &&
         (node.nextSibling <= i || node.nextSibling >= h->trieNodes)) ||
        node.token < -1 || node.token >= int64_t(vocab))
      return bad("malformed added-token trie");
  }
  return G4_OK;
}

/// The length of the UTF-8 character at |text| (|available| bytes), or 0
/// when it is not a valid one.
size_t utf8Length(const uint8_t *text, size_t available) {
  const uint8_t lead = text[0];
  size_t length;
  uint32_t minimum;
  if (lead < 0x80)
    return 1;
  if (lead >= 0xc2 && lead < 0xe0)
    length = 2, minimum = 0x80;
  else if (lead >= 0xe0 && lead < 0xf0)
    length = 3, minimum = 0x800;
  else if (lead >= 0xf0 && lead < 0xf5)
    length = 4, minimum = 0x10000;
  else
    return 0;
  if (length > available)
    return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((text[i] & 0xc0) != 0x80)
      return 0;
    code = (code << 6) | (text[i] & 0x3f);
  }
  if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
    return 0;
  return length;
}

const uint8_t kReplacement[3] = {0xef, 0xbf, 0xbd}; // U+FFFD
const uint8_t kMeta[3] = {0xe2, 0x96, 0x81};        // "▁"

int32_t findPiece(const Table &t, const uint8_t *bytes, size_t size) {
  const uint32_t mask = t.header->pieceCapacity - 1;
  uint32_t slot = hashPiece(bytes, size) & mask;
  for (uint32_t probe = 0; probe <= mask; ++probe, slot = (slot + 1) & mask) {
    uint32_t entry = t.pieceHash[slot];
    if (!entry)
      return -1;
    uint32_t id = entry - 1;
    uint32_t begin = t.pieceOffsets[id], end = t.pieceOffsets[id + 1];
    if (end - begin == size &&
        std::memcmp(t.pieceBytes + begin, bytes, size) == 0)
      return int32_t(id);
  }
  return -1;
}

const MergeEntry *findMerge(const Table &t, uint32_t left, uint32_t right) {
  const uint32_t mask = t.header->mergeCapacity - 1;
  uint32_t slot = hashPair(left, right) & mask;
  for (uint32_t probe = 0; probe <= mask; ++probe, slot = (slot + 1) & mask) {
    const MergeEntry &entry = t.merges[slot];
    if (entry.left == kEmpty)
      return nullptr;
    if (entry.left == left && entry.right == right)
      return &entry;
  }
  return nullptr;
}

struct Symbol {
  int32_t id, prev, next;
  uint32_t alive;
};

struct Candidate {
  uint32_t rank;
  int32_t pos, result;
  bool before(const Candidate &other) const {
    return rank != other.rank ? rank < other.rank : pos < other.pos;
  }
};

/// A binary min-heap over caller memory.
struct Heap {
  Candidate *items;
  size_t size = 0;

  void push(Candidate c) {
    size_t i = size++;
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (!c.before(items[parent]))
        break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = c;
  }
  Candidate pop() {
    Candidate top = items[0], last = items[--size];
    size_t i = 0;
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= size)
        break;
      if (child + 1 < size && items[child + 1].before(items[child]))
        ++child;
      if (!items[child].before(last))
        break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }
};

/// Symbols per input byte at most: an invalid byte becomes U+FFFD, which
/// may fall back to its 3 bytes.
constexpr size_t kSymbolsPerByte = 3;
/// Heap entries per symbol at most: one per initial pair, two per merge.
constexpr size_t kCandidatesPerSymbol = 3;

struct Encoder {
  Table t;
  Symbol *symbols;
  Heap heap;
  int32_t *ids;
  size_t capacity, count = 0;
  g4_error *error;
  g4_status status = G4_OK;

  bool emit(int32_t id) {
    if (count == capacity) {
      status = g4_fail(error, G4_OUT_OF_MEMORY,
                       "more than %zu tokens: the id buffer is full", capacity);
      return false;
    }
    ids[count++] = id;
    return true;
  }

  void pushPair(int32_t pos) {
    int32_t next = symbols[pos].next;
    if (next < 0)
      return;
    if (const MergeEntry *m =
            findMerge(t, uint32_t(symbols[pos].id), uint32_t(symbols[next].id)))
      heap.push({m->rank, pos, int32_t(m->result)});
  }

  /// BPE over text[begin, end) (no added tokens inside).
  bool segment(const uint8_t *text, size_t begin, size_t end) {
    int32_t n = 0;
    bool lastUnknown = false;
    auto add = [&](int32_t id) {
      symbols[n] = {id, n - 1, -1, 1};
      if (n > 0)
        symbols[n - 1].next = n;
      ++n;
    };
    const uint32_t flags = t.header->flags;
    for (size_t i = begin; i < end;) {
      const uint8_t *c = text + i;
      size_t length = utf8Length(c, end - i);
      size_t consumed = length ? length : 1;
      if (!length)
        c = kReplacement, length = 3;
      else if (*c == ' ' && (flags & kSpaceToMeta))
        c = kMeta, length = 3;
      i += consumed;
      int32_t id = findPiece(t, c, length);
      if (id >= 0) {
        add(id), lastUnknown = false;
        continue;
      }
      bool bytes = (flags & kByteFallback) != 0;
      for (size_t k = 0; bytes && k < length; ++k)
        bytes = t.byteIds[c[k]] >= 0;
      if (bytes) {
        for (size_t k = 0; k < length; ++k)
          add(t.byteIds[c[k]]);
        lastUnknown = false;
        continue;
      }
      if (t.header->unknownId < 0) {
        status = g4_fail(error, G4_INVALID_ARGUMENT,
                         "text at byte %zu has no token and the tokenizer "
                         "has no unknown token",
                         i - consumed);
        return false;
      }
      if (!(lastUnknown && (flags & kFuseUnknown)))
        add(t.header->unknownId);
      lastUnknown = true;
    }
    if (n == 0)
      return true;
    heap.size = 0;
    for (int32_t pos = 0; pos + 1 < n; ++pos)
      pushPair(pos);
    while (heap.size) {
      Candidate top = heap.pop();
      Symbol &left = symbols[top.pos];
      if (!left.alive || left.next < 0)
        continue;
      const MergeEntry *m =
          findMerge(t, uint32_t(left.id), uint32_t(symbols[left.next].id));
      if (!m || int32_t(m->result) != top.result)
        continue; // stale: a neighbour changed since it was queued
      Symbol &right = symbols[left.next];
      right.alive = 0;
      left.id = top.result;
      left.next = right.next;
      if (left.next >= 0)
        symbols[left.next].prev = top.pos;
      if (left.prev >= 0)
        pushPair(left.prev);
      pushPair(top.pos);
    }
    for (int32_t pos = 0; pos >= 0; pos = symbols[pos].next)
      if (!emit(symbols[pos].id))
        return false;
    return true;
  }
};

/// The longest added token at text[i..], as (length, id); length 0: none.
size_t matchAdded(const Table &t, const uint8_t *text, size_t size, size_t i,
                  int32_t *token) {
  uint32_t node = 0;
  size_t best = 0;
  for (size_t j = i; j < size; ++j) {
    uint32_t child = t.trie[node].firstChild;
    while (child && t.trie[child].byte != text[j])
      child = t.trie[child].nextSibling;
    if (!child)
      break;
    node = child;
    if (t.trie[node].token >= 0) {
      best = j - i + 1;
      *token = t.trie[node].token;
    }
  }
  return best;
}

size_t putReplacement(char *out) {
  std::memcpy(out, kReplacement, 3);
  return 3;
}

} // namespace

extern "C" {

g4_status g4_tokenizer_init(const void *data, size_t size, const char *name,
                            g4_tokenizer *out_tokenizer, g4_error *out_error) {
  if (!data || !out_tokenizer || !name)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  if (reinterpret_cast<uintptr_t>(data) % 8)
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                   "%s: the table must be 8-byte aligned", name);
  const auto *bytes = static_cast<const uint8_t *>(data);
  if (g4_status status = validate(bytes, size, name, out_error))
    return status;
  out_tokenizer->data = bytes;
  out_tokenizer->size = size;
  out_tokenizer->vocab_size = tableOf(bytes).header->vocabSize;
  return G4_OK;
}

size_t g4_tokenizer_work_bytes(size_t text_bytes) {
  size_t symbols = kSymbolsPerByte * text_bytes + 1;
  return symbols * sizeof(Symbol) +
         kCandidatesPerSymbol * symbols * sizeof(Candidate) + 8;
}

g4_status g4_tokenizer_encode(const g4_tokenizer *tokenizer, const char *text,
                              size_t length, int32_t *ids, size_t capacity,
                              void *work, size_t work_bytes, size_t *out_count,
                              g4_error *out_error) {
  if (!tokenizer || !tokenizer->data || (!text && length) || !out_count ||
      (!ids && capacity) || !work)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  if (reinterpret_cast<uintptr_t>(work) % 8 ||
      work_bytes < g4_tokenizer_work_bytes(length))
    return g4_fail(out_error, G4_OUT_OF_MEMORY,
                   "the work buffer must be 8-byte aligned and hold %zu bytes",
                   g4_tokenizer_work_bytes(length));
  Encoder encoder;
  encoder.t = tableOf(tokenizer->data);
  size_t symbols = kSymbolsPerByte * length + 1;
  encoder.symbols = static_cast<Symbol *>(work);
  encoder.heap.items = reinterpret_cast<Candidate *>(encoder.symbols + symbols);
  encoder.ids = ids;
  encoder.capacity = capacity;
  encoder.error = out_error;
  const auto *bytes = reinterpret_cast<const uint8_t *>(text);
  // The bytes an added token can start with: most text skips the trie.
  bool starts[256] = {};
  for (uint32_t child = encoder.t.trie[0].firstChild; child;
       child = encoder.t.trie[child].nextSibling)
    starts[encoder.t.trie[child].byte] = true;
  size_t begin = 0;
  for (size_t i = 0; i < length;) {
    int32_t token = -1;
    size_t matched =
        starts[bytes[i]] ? matchAdded(encoder.t, bytes, length, i, &token) : 0;
    if (!matched) {
      ++i;
      continue;
    }
    if (!encoder.segment(bytes, begin, i) || !encoder.emit(token))
      return encoder.status;
    i += matched;
    begin = i;
  }
  if (!encoder.segment(bytes, begin, length))
    return encoder.status;
  *out_count = encoder.count;
  return G4_OK;
}

int32_t g4_tokenizer_find(const g4_tokenizer *tokenizer, const char *text,
                          size_t length) {
  if (!tokenizer || !tokenizer->data || (!text && length))
    return -1;
  return findPiece(tableOf(tokenizer->data),
                   reinterpret_cast<const uint8_t *>(text), length);
}

size_t g4_tokenizer_max_piece_bytes(const g4_tokenizer *tokenizer) {
  Table t = tableOf(tokenizer->data);
  size_t longest = 0;
  for (uint32_t id = 0; id < t.header->vocabSize; ++id) {
    size_t size = t.pieceOffsets[id + 1] - t.pieceOffsets[id];
    longest = size > longest ? size : longest;
  }
  return longest;
}

size_t g4_decoder_finish(g4_decoder *decoder, char *out) {
  size_t written = 0;
  for (uint32_t i = 0; i < decoder->count; ++i)
    written += putReplacement(out + written);
  decoder->count = 0;
  return written;
}

size_t g4_decoder_push(const g4_tokenizer *tokenizer, g4_decoder *decoder,
                       int32_t id, char *out) {
  Table t = tableOf(tokenizer->data);
  if (id < 0 || uint32_t(id) >= t.header->vocabSize) {
    size_t written = g4_decoder_finish(decoder, out);
    return written + putReplacement(out + written);
  }
  if (t.byteValues[id] >= 0) {
    // A byte of a character: wait until the character is complete.
    decoder->pending[decoder->count++] = uint8_t(t.byteValues[id]);
    size_t written = 0;
    while (decoder->count) {
      const uint8_t lead = decoder->pending[0];
      size_t need = lead < 0x80                   ? 1
                    : lead >= 0xc2 && lead < 0xe0 ? 2
                    : lead >= 0xe0 && lead < 0xf0 ? 3
                    : lead >= 0xf0 && lead < 0xf5 ? 4
                                                  : 0;
      size_t valid = need && decoder->count >= need
                         ? utf8Length(decoder->pending, need)
                         : 0;
      bool broken = !need;
      // A continuation byte that cannot belong breaks the character.
      for (uint32_t k = 1; !broken && k < decoder->count && k < need; ++k)
        broken = (decoder->pending[k] & 0xc0) != 0x80;
      if (!broken && need && decoder->count < need)
        break; // wait for more bytes
      if (valid) {
        std::memcpy(out + written, decoder->pending, valid);
        written += valid;
      } else {
        written += putReplacement(out + written);
        valid = 1;
      }
      decoder->count -= uint32_t(valid);
      std::memmove(decoder->pending, decoder->pending + valid, decoder->count);
    }
    return written;
  }
  size_t written = g4_decoder_finish(decoder, out);
  const uint8_t *piece = t.pieceBytes + t.pieceOffsets[id];
  const size_t size = t.pieceOffsets[id + 1] - t.pieceOffsets[id];
  const bool meta = (t.header->flags & kSpaceToMeta) != 0;
  for (size_t i = 0; i < size;) {
    if (meta && size - i >= 3 && std::memcmp(piece + i, kMeta, 3) == 0) {
      out[written++] = ' ';
      i += 3;
    } else {
      out[written++] = char(piece[i++]);
    }
  }
  return written;
}

} // extern "C"
