//===- TokenizerTest.cpp - tokenizer table, encoder and decoder -----------===//
//
// Part of g4c. Hand-made tokenizer.json files whose encodings are worked out
// by hand: merge order and ties, byte fallback, unknown fusing, added tokens
// (leftmost-longest), invalid UTF-8; the streaming decoder's whole-character
// output; table corruption and unsupported tokenizer.json settings.
//
//===----------------------------------------------------------------------===//

#include "compiler/Tokenizer/TokenizerTable.h"
#include "runtime/src/tokenizer_format.h"

#include "g4tok.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace g4c;

namespace {

/// A tokenizer.json with Gemma's scheme over |vocab| (ids in order),
/// |merges| ("a b") and added tokens |added| (ids into |vocab|).
std::string tokenizerJson(const std::vector<std::string> &vocab,
                          const std::vector<std::string> &merges,
                          const std::vector<int> &added = {},
                          bool byteFallback = true,
                          const std::string &extraModel = "") {
  auto quote = [](const std::string &text) {
    std::string out = "\"";
    for (char c : text)
      out += c == '"' ? "\\\"" : c == '\\' ? "\\\\" : std::string(1, c);
    return out + "\"";
  };
  std::string json = R"({"added_tokens": [)";
  for (size_t i = 0; i < added.size(); ++i)
    json += llvm::formatv(R"({0}{{"id": {1}, "content": {2}, "special": true,
        "lstrip": false, "rstrip": false, "normalized": false,
        "single_word": false})",
                          i ? "," : "", added[i], quote(vocab[added[i]]))
                .str();
  json += R"(], "normalizer": {"type": "Replace", "pattern": {"String": " "},
    "content": "▁"}, "pre_tokenizer": {"type": "Split", "pattern":
    {"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
    "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true,)";
  json +=
      byteFallback ? R"("byte_fallback": true,)" : R"("byte_fallback": false,)";
  json += extraModel + R"("vocab": {)";
  for (size_t i = 0; i < vocab.size(); ++i)
    json += (i ? "," : "") + quote(vocab[i]) + ": " + std::to_string(i);
  json += R"(}, "merges": [)";
  for (size_t i = 0; i < merges.size(); ++i)
    json += (i ? "," : "") + quote(merges[i]);
  return json + "]}}";
}

struct Compiled {
  TokenizerTable table;
  g4_tokenizer tokenizer = {};

  explicit Compiled(const std::string &json) {
    auto compiled = compileTokenizer("test/tokenizer.json", json);
    EXPECT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
    if (!compiled)
      return;
    table = std::move(*compiled);
    g4_error error;
    EXPECT_EQ(
        g4_tokenizer_init(table.data(), table.size, "test", &tokenizer, &error),
        G4_OK)
        << error.message;
  }

  std::vector<int32_t> encode(const std::string &text) {
    std::vector<uint64_t> work(g4_tokenizer_work_bytes(text.size()) / 8 + 1);
    std::vector<int32_t> ids(3 * text.size() + 1);
    size_t count = 0;
    g4_error error;
    EXPECT_EQ(g4_tokenizer_encode(&tokenizer, text.data(), text.size(),
                                  ids.data(), ids.size(), work.data(),
                                  work.size() * 8, &count, &error),
              G4_OK)
        << error.message;
    ids.resize(count);
    return ids;
  }

  std::string decode(const std::vector<int32_t> &ids) {
    std::string out, buffer(g4_tokenizer_max_piece_bytes(&tokenizer) + 16, 0);
    g4_decoder decoder = {};
    for (int32_t id : ids)
      out.append(buffer.data(),
                 g4_decoder_push(&tokenizer, &decoder, id, buffer.data()));
    out.append(buffer.data(), g4_decoder_finish(&decoder, buffer.data()));
    return out;
  }
};

/// ids 0..: <unk>, then the 256 byte pieces, then |pieces|.
std::vector<std::string> vocabWith(const std::vector<std::string> &pieces) {
  std::vector<std::string> vocab{"<unk>"};
  for (int b = 0; b < 256; ++b)
    vocab.push_back(llvm::formatv("<0x{0:X-2}>", b).str());
  vocab.insert(vocab.end(), pieces.begin(), pieces.end());
  return vocab;
}
constexpr int32_t kFirst = 257; // id of the first extra piece

TEST(Tokenizer, MergesLowestRankFirstThenLeftmost) {
  // Pieces: a b c ▁ ab bc abc aa; merges by rank: "b c", "a b", "a bc",
  // "a a".
  Compiled t(
      tokenizerJson(vocabWith({"a", "b", "c", "▁", "ab", "bc", "abc", "aa"}),
                    {"b c", "a b", "a bc", "a a"}));
  const int32_t a = kFirst, b = kFirst + 1, c = kFirst + 2, space = kFirst + 3,
                ab = kFirst + 4, abc = kFirst + 6, aa = kFirst + 7;
  // "abc": b+c (rank 0) before a+b (rank 1), then a+bc.
  EXPECT_EQ(t.encode("abc"), (std::vector<int32_t>{abc}));
  // "ab": only a+b applies.
  EXPECT_EQ(t.encode("ab"), (std::vector<int32_t>{ab}));
  // "aaa": equal ranks merge leftmost first: (aa) a.
  EXPECT_EQ(t.encode("aaa"), (std::vector<int32_t>{aa, a}));
  // Spaces become ▁ and do not merge here.
  EXPECT_EQ(t.encode("a b"), (std::vector<int32_t>{a, space, b}));
  EXPECT_EQ(t.decode(t.encode("a b c")), "a b c");
  EXPECT_EQ(t.encode(""), (std::vector<int32_t>{}));
  (void)c;
}

TEST(Tokenizer, ByteFallbackAndUnknowns) {
  Compiled t(tokenizerJson(vocabWith({"a"}), {}));
  // "é" is not a piece: its UTF-8 bytes C3 A9 are (ids 1 + byte).
  EXPECT_EQ(t.encode("aé"), (std::vector<int32_t>{kFirst, 1 + 0xc3, 1 + 0xa9}));
  EXPECT_EQ(t.decode(t.encode("aé")), "aé");
  // Invalid UTF-8 reads as U+FFFD (EF BF BD).
  EXPECT_EQ(t.encode("\xff"),
            (std::vector<int32_t>{1 + 0xef, 1 + 0xbf, 1 + 0xbd}));

  // Without byte fallback unknown characters become <unk>, consecutive
  // ones fused into one.
  Compiled noFallback(tokenizerJson({"<unk>", "a"}, {}, {}, false));
  EXPECT_EQ(noFallback.encode("xyaz"), (std::vector<int32_t>{0, 1, 0}));
}

TEST(Tokenizer, AddedTokensLeftmostLongest) {
  // <x> and <xy> are added tokens; < x y > are ordinary pieces.
  std::vector<std::string> vocab =
      vocabWith({"<", "x", "y", ">", "<x>", "<xy>"});
  Compiled t(tokenizerJson(vocab, {}, {kFirst + 4, kFirst + 5}));
  EXPECT_EQ(t.encode("<xy><x>y"),
            (std::vector<int32_t>{kFirst + 5, kFirst + 4, kFirst + 2}));
  // Not a match: pieces one by one.
  EXPECT_EQ(t.encode("<y>"),
            (std::vector<int32_t>{kFirst, kFirst + 2, kFirst + 3}));
  EXPECT_EQ(t.decode({kFirst + 5, kFirst}), "<xy><");
}

TEST(Tokenizer, StreamingDecodeEmitsWholeCharacters) {
  Compiled t(tokenizerJson(vocabWith({"▁hi"}), {}));
  g4_decoder decoder = {};
  std::string out(64, 0);
  // "é" = C3 A9 as two byte pieces: nothing until the second arrives.
  EXPECT_EQ(g4_decoder_push(&t.tokenizer, &decoder, 1 + 0xc3, out.data()), 0u);
  size_t n = g4_decoder_push(&t.tokenizer, &decoder, 1 + 0xa9, out.data());
  EXPECT_EQ(std::string(out.data(), n), "é");
  // "▁hi" decodes with a space.
  n = g4_decoder_push(&t.tokenizer, &decoder, kFirst, out.data());
  EXPECT_EQ(std::string(out.data(), n), " hi");
  // A lone lead byte interrupted by a piece, and one left at the end,
  // come out as U+FFFD.
  EXPECT_EQ(g4_decoder_push(&t.tokenizer, &decoder, 1 + 0xe2, out.data()), 0u);
  n = g4_decoder_push(&t.tokenizer, &decoder, kFirst, out.data());
  EXPECT_EQ(std::string(out.data(), n), "\xef\xbf\xbd hi");
  EXPECT_EQ(g4_decoder_push(&t.tokenizer, &decoder, 1 + 0xf0, out.data()), 0u);
  n = g4_decoder_finish(&decoder, out.data());
  EXPECT_EQ(std::string(out.data(), n), "\xef\xbf\xbd");
  // Ids outside the vocabulary too.
  n = g4_decoder_push(&t.tokenizer, &decoder, 1 << 30, out.data());
  EXPECT_EQ(std::string(out.data(), n), "\xef\xbf\xbd");
}

TEST(Tokenizer, CallerBuffersTooSmall) {
  Compiled t(tokenizerJson(vocabWith({"a"}), {}));
  std::vector<uint64_t> work(g4_tokenizer_work_bytes(3) / 8 + 1);
  int32_t ids[2];
  size_t count = 0;
  g4_error error;
  EXPECT_EQ(g4_tokenizer_encode(&t.tokenizer, "aaa", 3, ids, 2, work.data(),
                                work.size() * 8, &count, &error),
            G4_OUT_OF_MEMORY);
  EXPECT_NE(std::string(error.message).find("id buffer is full"),
            std::string::npos);
  EXPECT_EQ(g4_tokenizer_encode(&t.tokenizer, "aaa", 3, ids, 2, work.data(), 8,
                                &count, &error),
            G4_OUT_OF_MEMORY);
  EXPECT_NE(std::string(error.message).find("work buffer"), std::string::npos);
}

TEST(Tokenizer, CorruptTablesAreRefused) {
  Compiled t(tokenizerJson(vocabWith({"a", "b", "ab"}), {"a b"}, {kFirst}));
  auto refuse = [&](auto corrupt, const char *expected) {
    std::vector<uint64_t> words = t.table.words;
    uint64_t size = t.table.size;
    corrupt(reinterpret_cast<uint8_t *>(words.data()), size);
    g4_tokenizer tokenizer;
    g4_error error;
    EXPECT_EQ(
        g4_tokenizer_init(words.data(), size, "bad.g4t", &tokenizer, &error),
        G4_FORMAT_ERROR)
        << expected;
    EXPECT_NE(std::string(error.message).find(expected), std::string::npos)
        << error.message;
  };
  using tokenizerfile::Header;
  auto header = [](uint8_t *data) { return reinterpret_cast<Header *>(data); };
  refuse([](uint8_t *d, uint64_t &) { d[0] = 'X'; }, "wrong magic");
  refuse([](uint8_t *, uint64_t &size) { size -= 8; }, "truncated");
  refuse([](uint8_t *, uint64_t &size) { size = 16; },
         "shorter than its header");
  refuse([&](uint8_t *d, uint64_t &) { header(d)->trie = header(d)->fileSize; },
         "outside the file");
  refuse([&](uint8_t *d, uint64_t &) { header(d)->mergeCapacity = 3; },
         "power of two");
  refuse(
      [&](uint8_t *d, uint64_t &) {
        auto *trie =
            reinterpret_cast<tokenizerfile::TrieNode *>(d + header(d)->trie);
        trie[1].firstChild = 1; // a cycle
      },
      "malformed added-token trie");
  refuse(
      [&](uint8_t *d, uint64_t &) {
        auto *offsets =
            reinterpret_cast<uint32_t *>(d + header(d)->pieceOffsets);
        offsets[3] = 0xffffff;
      },
      "piece");
}

TEST(Tokenizer, UnsupportedTokenizerJsonIsRefused) {
  auto refused = [](const std::string &json, const char *expected) {
    auto compiled = compileTokenizer("dir/tokenizer.json", json);
    ASSERT_FALSE(bool(compiled)) << expected;
    std::string message = llvm::toString(compiled.takeError());
    EXPECT_NE(message.find("dir/tokenizer.json: "), std::string::npos);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  std::string good = tokenizerJson(vocabWith({"a", "b", "ab"}), {"a b"});
  refused("{", "invalid JSON");
  refused(R"({"model": {"type": "WordPiece"}})", "model.type must be");
  refused(tokenizerJson(vocabWith({"a"}), {"a z"}), "outside the vocabulary");
  refused(tokenizerJson({"<unk>", "a"}, {}, {}, true,
                        R"("continuing_subword_prefix": "##",)"),
          "continuing_subword_prefix");
  std::string lowercase = good;
  lowercase.replace(lowercase.find(R"("normalizer": {"type": "Replace")"),
                    std::strlen(R"("normalizer": {"type": "Replace")"),
                    R"("normalizer": {"type": "Lowercase")");
  refused(lowercase, "normalizer");
  std::string gap = tokenizerJson({"<unk>", "a"}, {});
  gap.replace(gap.find(R"("a": 1)"), 6, R"("a": 2)");
  refused(gap, "token id 1 has no piece");
  std::string lstrip = tokenizerJson(vocabWith({"<x>"}), {}, {kFirst});
  lstrip.replace(lstrip.find(R"("lstrip": false)"), 15, R"("lstrip": true)");
  refused(lstrip, "sets lstrip");
}

} // namespace
