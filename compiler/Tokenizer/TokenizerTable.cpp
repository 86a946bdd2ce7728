//===- TokenizerTable.cpp - tokenizer.json to a .g4t table ----------------===//
//
// Part of g4c. This file implements compileTokenizer: parse the JSON with
// llvm::json, check that it is the BPE scheme the runtime implements, and
// lay out the pieces, the lookup and merge hash tables, the byte-fallback
// ids and the added-token trie.
//
//===----------------------------------------------------------------------===//

#include "compiler/Tokenizer/TokenizerTable.h"
#include "compiler/Support/Error.h"
#include "runtime/src/tokenizer_format.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>
#include <map>

namespace g4c {

namespace json = llvm::json;
using namespace tokenizerfile;

namespace {

constexpr llvm::StringLiteral kMetaSpace = "\xe2\x96\x81"; // "▁"

/// Errors name the file and the setting.
struct Problems {
  llvm::StringRef path;
  llvm::Error operator()(const llvm::Twine &problem) const {
    return makeError(path + ": " + problem);
  }
};

/// Whether |value| is JSON null or absent.
bool isNull(const json::Value *value) {
  return !value || value->kind() == json::Value::Null;
}

/// A Replace normalizer/decoder step from |from| to |to|.
bool isReplace(const json::Object *step, llvm::StringRef from,
               llvm::StringRef to) {
  if (!step || step->getString("type") != "Replace")
    return false;
  const json::Object *pattern = step->getObject("pattern");
  return pattern && pattern->getString("String") == from &&
         step->getString("content") == to;
}

/// The byte of a "<0xAB>" piece, or -1.
int byteValueOf(llvm::StringRef piece) {
  unsigned value = 0;
  if (piece.size() != 6 || !piece.starts_with("<0x") || !piece.ends_with(">") ||
      piece.substr(3, 2).getAsInteger(16, value) || value > 255)
    return -1;
  return int(value);
}

uint64_t nextPowerOfTwo(uint64_t value) {
  uint64_t result = 1;
  while (result < value)
    result <<= 1;
  return result;
}

/// Appends |count| elements of |T| to |bytes| at an 8-aligned offset.
template <typename T>
uint64_t section(std::vector<uint8_t> &bytes, const T *data, uint64_t count) {
  bytes.resize((bytes.size() + 7) / 8 * 8);
  uint64_t offset = bytes.size();
  bytes.resize(offset + count * sizeof(T));
  if (count)
    std::memcpy(bytes.data() + offset, data, count * sizeof(T));
  return offset;
}

} // namespace

llvm::Expected<TokenizerTable> compileTokenizer(llvm::StringRef path,
                                                llvm::StringRef text) {
  Problems problem{path};
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return problem("invalid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return problem("expected a JSON object");
  const json::Object *model = root->getObject("model");
  if (!model || model->getString("type") != "BPE")
    return problem("model.type must be \"BPE\" (the scheme Gemma uses)");
  for (llvm::StringRef key :
       {"continuing_subword_prefix", "end_of_word_suffix", "dropout"})
    if (!isNull(model->get(key)) &&
        !(model->getString(key) && model->getString(key)->empty()))
      return problem(llvm::formatv("model.{0} is not supported", key));
  if (model->getBoolean("ignore_merges").value_or(false))
    return problem("model.ignore_merges = true is not supported");

  // Normalizer and pre-tokenizer: Gemma's spaces-to-"▁" (or nothing), and
  // a split on " " that is a no-op after it.
  const json::Value *normalizer = root->get("normalizer");
  bool spaceToMeta = false;
  if (!isNull(normalizer)) {
    if (!isReplace(normalizer->getAsObject(), " ", kMetaSpace))
      return problem("only the normalizer Replace(\" \", \"▁\") is "
                     "supported");
    spaceToMeta = true;
  }
  if (const json::Value *pre = root->get("pre_tokenizer"); !isNull(pre)) {
    const json::Object *split = pre->getAsObject();
    const json::Object *pattern = split ? split->getObject("pattern") : nullptr;
    if (!spaceToMeta || !split || split->getString("type") != "Split" ||
        !pattern || pattern->getString("String") != " ")
      return problem("only no pre-tokenizer or Split(\" \") after the \"▁\" "
                     "normalizer is supported");
  }

  // Vocabulary.
  const json::Object *vocab = model->getObject("vocab");
  if (!vocab || vocab->empty())
    return problem("model.vocab must be a non-empty object");
  std::vector<std::string> pieces;
  std::vector<bool> assigned;
  llvm::StringMap<uint32_t> ids;
  auto define = [&](llvm::StringRef piece, int64_t id) -> llvm::Error {
    if (id < 0 || id >= (1 << 24))
      return problem(
          llvm::formatv("token id {0} of '{1}' is out of range", id, piece));
    if (size_t(id) >= pieces.size()) {
      pieces.resize(size_t(id) + 1);
      assigned.resize(size_t(id) + 1, false);
    }
    if (assigned[size_t(id)] && pieces[size_t(id)] != piece)
      return problem(llvm::formatv("token id {0} is given to both '{1}' and "
                                   "'{2}'",
                                   id, pieces[size_t(id)], piece));
    pieces[size_t(id)] = piece.str();
    assigned[size_t(id)] = true;
    ids.try_emplace(piece, uint32_t(id));
    return llvm::Error::success();
  };
  for (const auto &[piece, value] : *vocab) {
    std::optional<int64_t> id = value.getAsInteger();
    if (!id)
      return problem(
          llvm::formatv("model.vocab['{0}'] is not an integer", piece.str()));
    if (llvm::Error error = define(piece, *id))
      return std::move(error);
  }

  // Added tokens: matched on the raw text before BPE.
  std::vector<std::pair<std::string, uint32_t>> added;
  if (const json::Value *list = root->get("added_tokens"); !isNull(list)) {
    const json::Array *array = list->getAsArray();
    if (!array)
      return problem("added_tokens must be an array");
    for (const json::Value &entry : *array) {
      const json::Object *token = entry.getAsObject();
      std::optional<int64_t> id =
          token ? token->getInteger("id") : std::nullopt;
      std::optional<llvm::StringRef> content =
          token ? token->getString("content") : std::nullopt;
      if (!id || !content || content->empty())
        return problem("an added token lacks its id or content");
      for (llvm::StringRef flag : {"lstrip", "rstrip", "single_word"})
        if (token->getBoolean(flag).value_or(false))
          return problem(llvm::formatv("added token '{0}' sets {1}, which is "
                                       "not supported",
                                       *content, flag));
      if (token->getBoolean("normalized").value_or(false) &&
          content->contains(' '))
        return problem(llvm::formatv("added token '{0}' is normalized and "
                                     "contains a space",
                                     *content));
      if (llvm::Error error = define(*content, *id))
        return std::move(error);
      added.emplace_back(content->str(), uint32_t(*id));
    }
  }
  const uint64_t vocabSize = pieces.size();
  for (uint64_t id = 0; id < vocabSize; ++id)
    if (!assigned[id])
      return problem(llvm::formatv("token id {0} has no piece (ids must be "
                                   "0..{1} without gaps)",
                                   id, vocabSize - 1));

  int32_t unknownId = -1;
  if (std::optional<llvm::StringRef> unk = model->getString("unk_token")) {
    auto found = ids.find(*unk);
    if (found == ids.end())
      return problem("model.unk_token '" + *unk + "' is not in the vocabulary");
    unknownId = int32_t(found->second);
  }

  // Merges: "a b" strings or [a, b] pairs; the rank is the position.
  const json::Array *merges = model->getArray("merges");
  if (!merges)
    return problem("model.merges must be an array");
  const uint64_t mergeCapacity =
      nextPowerOfTwo(std::max<uint64_t>(2 * merges->size(), 16));
  std::vector<MergeEntry> mergeHash(mergeCapacity,
                                    {kEmpty, kEmpty, kEmpty, kEmpty});
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const json::Value &merge = (*merges)[rank];
    std::string left, right;
    if (std::optional<llvm::StringRef> pair = merge.getAsString()) {
      auto [a, b] = pair->split(' ');
      if (b.empty() && !pair->contains(' '))
        return problem(
            llvm::formatv("merge {0} ('{1}') is not \"a b\"", rank, *pair));
      left = a.str(), right = b.str();
    } else if (const json::Array *pair = merge.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      left = (*pair)[0].getAsString()->str();
      right = (*pair)[1].getAsString()->str();
    } else {
      return problem(
          llvm::formatv("merge {0} is neither \"a b\" nor [a, b]", rank));
    }
    auto a = ids.find(left), b = ids.find(right),
         result = ids.find(left + right);
    if (a == ids.end() || b == ids.end() || result == ids.end())
      return problem(llvm::formatv("merge {0} ('{1}' + '{2}') names a piece "
                                   "outside the vocabulary",
                                   rank, left, right));
    uint32_t slot = hashPair(a->second, b->second) & (mergeCapacity - 1);
    while (mergeHash[slot].left != kEmpty &&
           !(mergeHash[slot].left == a->second &&
             mergeHash[slot].right == b->second))
      slot = (slot + 1) & (mergeCapacity - 1);
    if (mergeHash[slot].left == kEmpty) // the first (lowest) rank wins
      mergeHash[slot] = {a->second, b->second, uint32_t(rank), result->second};
  }

  // Pieces, their byte values, the lookup table, the byte-fallback ids.
  std::vector<uint32_t> offsets{0};
  std::string pieceBytes;
  std::vector<int16_t> byteValues(vocabSize, -1);
  std::vector<int32_t> byteIds(256, -1);
  const uint64_t pieceCapacity = nextPowerOfTwo(2 * vocabSize);
  std::vector<uint32_t> pieceHash(pieceCapacity, 0);
  for (uint64_t id = 0; id < vocabSize; ++id) {
    const std::string &piece = pieces[id];
    pieceBytes += piece;
    offsets.push_back(uint32_t(pieceBytes.size()));
    int byte = byteValueOf(piece);
    byteValues[id] = int16_t(byte);
    if (byte >= 0 && byteIds[byte] < 0)
      byteIds[byte] = int32_t(id);
    if (ids.lookup(piece) != id)
      continue; // a duplicate text: the first id is the one BPE finds
    uint32_t slot = hashPiece(reinterpret_cast<const uint8_t *>(piece.data()),
                              piece.size()) &
                    (pieceCapacity - 1);
    while (pieceHash[slot])
      slot = (slot + 1) & (pieceCapacity - 1);
    pieceHash[slot] = uint32_t(id + 1);
  }

  // The added-token trie, children after their parent.
  std::vector<TrieNode> trie(1, TrieNode{0, 0, -1, 0, {}});
  for (const auto &[content, id] : added) {
    uint32_t node = 0;
    for (char c : content) {
      uint32_t child = trie[node].firstChild, last = 0;
      while (child && trie[child].byte != uint8_t(c))
        last = child, child = trie[child].nextSibling;
      if (!child) {
        child = uint32_t(trie.size());
        trie.push_back(TrieNode{0, 0, -1, uint8_t(c), {}});
        if (last)
          trie[last].nextSibling = child;
        else
          trie[node].firstChild = child;
      }
      node = child;
    }
    trie[node].token = int32_t(id);
  }

  Header header = {};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.flags = 0;
  if (model->getBoolean("byte_fallback").value_or(false))
    header.flags |= kByteFallback;
  if (model->getBoolean("fuse_unk").value_or(false))
    header.flags |= kFuseUnknown;
  if (spaceToMeta)
    header.flags |= kSpaceToMeta;
  header.vocabSize = uint32_t(vocabSize);
  header.pieceCapacity = uint32_t(pieceCapacity);
  header.mergeCapacity = uint32_t(mergeCapacity);
  header.trieNodes = uint32_t(trie.size());
  header.unknownId = unknownId;
  std::vector<uint8_t> bytes(sizeof(Header));
  header.pieceOffsets = section(bytes, offsets.data(), offsets.size());
  header.pieceBytes = section(bytes, pieceBytes.data(), pieceBytes.size());
  header.pieceBytesSize = pieceBytes.size();
  header.byteValues = section(bytes, byteValues.data(), byteValues.size());
  header.pieceHash = section(bytes, pieceHash.data(), pieceHash.size());
  header.mergeHash = section(bytes, mergeHash.data(), mergeHash.size());
  header.byteIds = section(bytes, byteIds.data(), byteIds.size());
  header.trie = section(bytes, trie.data(), trie.size());
  bytes.resize((bytes.size() + 7) / 8 * 8);
  header.fileSize = bytes.size();
  std::memcpy(bytes.data(), &header, sizeof(header));

  TokenizerTable table;
  table.size = bytes.size();
  table.words.resize(bytes.size() / 8);
  std::memcpy(table.words.data(), bytes.data(), bytes.size());
  return table;
}

llvm::Expected<TokenizerTable> compileTokenizerFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  return compileTokenizer(path, (*buffer)->getBuffer());
}

} // namespace g4c
