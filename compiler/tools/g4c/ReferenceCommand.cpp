//===- ReferenceCommand.cpp - g4c reference -------------------------------===//
//
// Part of g4c. This file implements `g4c reference CKPT --tokens ...`: runs
// the golden reference executor, dumps the logits at every input position
// as float32 .npy, and optionally continues greedily.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceSession.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/NpyWriter.h"
#include "compiler/tools/g4c/Commands.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    referenceCommand("reference",
                     "Run the golden reference forward pass on token ids");
cl::OptionCategory referenceCategory("reference options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(referenceCommand),
                                    cl::cat(referenceCategory));
cl::opt<std::string> tokenList("tokens", cl::Required,
                               cl::desc("Comma-separated input token ids"),
                               cl::value_desc("IDS"), cl::sub(referenceCommand),
                               cl::cat(referenceCategory));
cl::opt<int64_t> prefillChunk(
    "prefill-chunk", cl::init(0),
    cl::desc("Use the incremental path: prefill chunks of K tokens over KV "
             "caches (0: the whole-sequence path with masks)"),
    cl::value_desc("K"), cl::sub(referenceCommand), cl::cat(referenceCategory));
cl::opt<std::string> dumpLogits(
    "dump-logits",
    cl::desc("Write the logits at every input position as float32 .npy of "
             "shape [T, vocab]"),
    cl::value_desc("F.npy"), cl::sub(referenceCommand),
    cl::cat(referenceCategory));
cl::opt<int64_t> greedy("greedy", cl::init(0),
                        cl::desc("Then generate N tokens greedily and print "
                                 "them"),
                        cl::value_desc("N"), cl::sub(referenceCommand),
                        cl::cat(referenceCategory));

int64_t argmax(llvm::ArrayRef<float> row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

} // namespace

int runReference() {
  auto tokens = parseTokenIds(tokenList);
  if (!tokens)
    return reportError(tokens.takeError());
  if (prefillChunk < 0 || greedy < 0)
    return reportError(makeError("--prefill-chunk and --greedy must be >= 0"));
  auto checkpoint = Checkpoint::open(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  auto model = reference::ReferenceModel::create(**checkpoint);
  if (!model)
    return reportError(model.takeError());
  const TextConfig &t = (*model)->config().text;
  const int64_t T = int64_t(tokens->size()), vocab = t.vocabSize;
  if (t.maxPositionEmbeddings > 0 && T + greedy > t.maxPositionEmbeddings)
    return reportError(makeError(llvm::formatv(
        "{0} input tokens + {1} generated exceed max_position_embeddings "
        "({2})",
        T, greedy.getValue(), t.maxPositionEmbeddings)));

  std::vector<float> logits;
  std::unique_ptr<reference::ReferenceSession> session;
  if (prefillChunk == 0) {
    auto all = (*model)->forward(*tokens);
    if (!all)
      return reportError(all.takeError());
    logits = std::move(*all);
  }
  if (prefillChunk > 0 || greedy > 0) {
    auto created = reference::ReferenceSession::create(**model, T + greedy);
    if (!created)
      return reportError(created.takeError());
    session = std::move(*created);
    int64_t chunk = prefillChunk > 0 ? prefillChunk.getValue() : T;
    std::vector<float> incremental;
    for (int64_t start = 0; start < T; start += chunk) {
      auto part = session->prefill(llvm::ArrayRef<int64_t>(*tokens).slice(
          start, std::min(chunk, T - start)));
      if (!part)
        return reportError(part.takeError());
      incremental.insert(incremental.end(), part->begin(), part->end());
    }
    if (prefillChunk > 0)
      logits = std::move(incremental);
  }
  if (!dumpLogits.empty())
    if (llvm::Error error = writeNpyFloat32(dumpLogits, {T, vocab}, logits))
      return reportError(std::move(error));

  if (greedy > 0) {
    std::vector<int64_t> generated;
    int64_t next =
        argmax(llvm::ArrayRef<float>(logits).slice((T - 1) * vocab, vocab));
    for (int64_t step = 0; step < greedy; ++step) {
      generated.push_back(next);
      if (step + 1 == greedy)
        break;
      auto row = session->decode(next);
      if (!row)
        return reportError(row.takeError());
      next = argmax(*row);
    }
    llvm::outs() << llvm::join(llvm::map_range(generated,
                                               [](int64_t id) {
                                                 return std::to_string(id);
                                               }),
                               ",")
                 << "\n";
  }
  return 0;
}

} // namespace g4c
