//===- SyntheticTokenizer.cpp - small tokenizer.json for tests ------------===//
//
// Part of g4c. This file implements makeSyntheticTokenizer: a greedy BPE
// trainer over a fixed corpus (deterministic: ties broken by the pair's
// text) plus the HF tokenizer.json scaffolding Gemma uses.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SyntheticTokenizer.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <set>
#include <vector>

namespace g4c {

namespace json = llvm::json;

namespace {

constexpr const char *kSpace = "\xe2\x96\x81"; // "▁"

constexpr const char *kCorpus =
    "the quick brown fox jumps over the lazy dog . a compiler turns a model "
    "into code that runs on the target machine . the model reads tokens and "
    "writes the next token . attention looks at the tokens that came before "
    "and the layers mix what they see . we test the code against a reference "
    "so that the numbers match . hello world , this is gemma running as "
    "compiled code on the cpu with its weights in one file .";

/// Gemma 4's special tokens at their real ids (§4 of the architecture doc).
const std::pair<int64_t, const char *> kSpecialTokens[] = {
    {0, "<pad>"},
    {1, "<eos>"},
    {2, "<bos>"},
    {3, "<unk>"},
    {4, "<mask>"},
    {46, "<|tool>"},
    {47, "<tool|>"},
    {48, "<|tool_call>"},
    {49, "<tool_call|>"},
    {50, "<|tool_response>"},
    {51, "<tool_response|>"},
    {52, "<|\"|>"},
    {98, "<|think|>"},
    {100, "<|channel>"},
    {101, "<channel|>"},
    {105, "<|turn>"},
    {106, "<turn|>"},
    {255999, "<|image>"},
    {256000, "<|audio>"},
    {258880, "<|image|>"},
    {258881, "<|audio|>"},
    {258882, "<image|>"},
    {258883, "<audio|>"},
    {258884, "<|video|>"},
};

/// Splits UTF-8 text into characters.
std::vector<std::string> utf8Characters(llvm::StringRef text) {
  std::vector<std::string> characters;
  for (size_t i = 0; i < text.size();) {
    unsigned char lead = text[i];
    size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    characters.push_back(text.substr(i, length).str());
    i += length;
  }
  return characters;
}

} // namespace

llvm::Error writeSyntheticTokenizer(llvm::raw_ostream &os, int64_t vocabSize) {
  std::vector<std::string> pieces(static_cast<size_t>(vocabSize));
  std::vector<bool> special(static_cast<size_t>(vocabSize), false);
  llvm::StringSet<> used;
  for (auto [id, text] : kSpecialTokens)
    if (id < vocabSize) {
      pieces[id] = text;
      special[id] = true;
      used.insert(text);
    }
  // Everything not yet assigned is filled in id order from this queue.
  std::vector<std::string> queue;
  queue.push_back("\n");
  queue.push_back("\n\n");
  for (int byte = 0; byte < 256; ++byte)
    queue.push_back(llvm::formatv("<0x{0:X-2}>", byte).str());

  // Words as the normalizer sees them: spaces become "▁", kept as a prefix.
  std::string normalized;
  for (char c : llvm::StringRef(kCorpus))
    normalized += c == ' ' ? std::string(kSpace) : std::string(1, c);
  std::vector<std::vector<std::string>> words;
  for (llvm::StringRef rest = normalized; !rest.empty();) {
    size_t next = rest.find(kSpace, 1);
    words.push_back(utf8Characters(rest.substr(0, next)));
    rest = next == llvm::StringRef::npos ? "" : rest.substr(next);
  }
  std::set<std::string> characters;
  for (const auto &word : words)
    characters.insert(word.begin(), word.end());
  queue.insert(queue.end(), characters.begin(), characters.end());

  size_t free = 0;
  for (const std::string &piece : pieces)
    free += piece.empty();
  if (queue.size() > free)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "vocabulary of %lld is too small for the synthetic tokenizer (needs "
        "at least %zu entries)",
        (long long)vocabSize, size_t(vocabSize) - free + queue.size());

  // Greedy BPE: merge the most frequent adjacent pair until the vocabulary
  // is full or no pair occurs twice.
  std::vector<std::string> merges;
  size_t room = free - queue.size();
  while (merges.size() < room) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto &word : words)
      for (size_t i = 0; i + 1 < word.size(); ++i)
        ++counts[{word[i], word[i + 1]}];
    const std::pair<std::string, std::string> *best = nullptr;
    int bestCount = 1;
    for (const auto &[pair, count] : counts)
      if (count > bestCount && !used.contains(pair.first + pair.second)) {
        best = &pair;
        bestCount = count;
      }
    if (!best)
      break;
    std::string merged = best->first + best->second;
    merges.push_back(best->first + " " + best->second);
    queue.push_back(merged);
    used.insert(merged);
    std::pair<std::string, std::string> pair = *best;
    for (auto &word : words)
      for (size_t i = 0; i + 1 < word.size(); ++i)
        if (word[i] == pair.first && word[i + 1] == pair.second) {
          word[i] = merged;
          word.erase(word.begin() + i + 1);
        }
  }

  size_t next = 0, unused = 0;
  for (std::string &piece : pieces) {
    if (!piece.empty())
      continue;
    piece = next < queue.size() ? queue[next++]
                                : llvm::formatv("<unused{0}>", unused++).str();
  }

  auto isAdded = [&](int64_t id) {
    return special[id] || llvm::StringRef(pieces[id]).starts_with("<unused");
  };
  auto replace = [](json::OStream &out, const char *from, const char *to) {
    out.object([&] {
      out.attribute("type", "Replace");
      out.attributeObject("pattern", [&] { out.attribute("String", from); });
      out.attribute("content", to);
    });
  };
  json::OStream out(os);
  out.object([&] {
    out.attribute("version", "1.0");
    out.attribute("truncation", nullptr);
    out.attribute("padding", nullptr);
    out.attributeArray("added_tokens", [&] {
      for (int64_t id = 0; id < vocabSize; ++id)
        if (isAdded(id))
          out.object([&] {
            out.attribute("id", id);
            out.attribute("content", pieces[id]);
            for (const char *flag :
                 {"single_word", "lstrip", "rstrip", "normalized"})
              out.attribute(flag, false);
            out.attribute("special", true);
          });
    });
    out.attributeBegin("normalizer");
    replace(out, " ", kSpace);
    out.attributeEnd();
    out.attributeObject("pre_tokenizer", [&] {
      out.attribute("type", "Split");
      out.attributeObject("pattern", [&] { out.attribute("String", " "); });
      out.attribute("behavior", "MergedWithPrevious");
      out.attribute("invert", false);
    });
    out.attribute("post_processor", nullptr);
    out.attributeObject("decoder", [&] {
      out.attribute("type", "Sequence");
      out.attributeArray("decoders", [&] {
        replace(out, kSpace, " ");
        out.object([&] { out.attribute("type", "ByteFallback"); });
        out.object([&] { out.attribute("type", "Fuse"); });
      });
    });
    out.attributeObject("model", [&] {
      out.attribute("type", "BPE");
      out.attribute("dropout", nullptr);
      out.attribute("unk_token", "<unk>");
      out.attribute("continuing_subword_prefix", nullptr);
      out.attribute("end_of_word_suffix", nullptr);
      out.attribute("fuse_unk", true);
      out.attribute("byte_fallback", true);
      out.attribute("ignore_merges", false);
      out.attributeObject("vocab", [&] {
        for (int64_t id = 0; id < vocabSize; ++id)
          out.attribute(pieces[id], id);
      });
      out.attributeArray("merges", [&] {
        for (const std::string &merge : merges)
          out.value(merge);
      });
    });
  });
  return llvm::Error::success();
}

} // namespace g4c
