//===- ReferenceSession.cpp - incremental reference decoding --------------===//
//
// Part of g4c. This file implements chunked prefill over KV caches. Within
// a chunk, each layer first computes the chunk's own K/V (kept aside, since
// a chunk longer than W would overwrite ring slots that earlier tokens of
// the same chunk, or a KV-shared consumer layer, still need); queries read
// older positions from the cache and chunk positions from the side buffer.
// After the last layer the chunk's K/V are committed to the caches.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceSession.h"
#include "compiler/Support/Error.h"

#include "llvm/Support/FormatVariadic.h"

namespace g4c::reference {

using llvm::ArrayRef;

llvm::Expected<std::unique_ptr<ReferenceSession>>
ReferenceSession::create(const ReferenceModel &model, int64_t contextLength) {
  const TextConfig &t = model.config().text;
  if (contextLength <= 0 ||
      (t.maxPositionEmbeddings > 0 && contextLength > t.maxPositionEmbeddings))
    return makeError(llvm::formatv("context of {0} positions is outside [1, "
                                   "max_position_embeddings = {1}]",
                                   contextLength, t.maxPositionEmbeddings));
  std::unique_ptr<ReferenceSession> session(new ReferenceSession(model));
  session->contextLength = contextLength;
  session->caches.resize(model.config().layers.size());
  for (const LayerFacts &facts : model.config().layers) {
    if (!facts.ownsKv())
      continue;
    Cache &cache = session->caches[facts.index];
    cache.slots = facts.kind == AttentionKind::Sliding
                      ? std::min(t.slidingWindow, contextLength)
                      : contextLength;
    cache.width = model.kvWidth(facts.index);
    cache.keys.resize(size_t(cache.slots * cache.width));
    cache.values.resize(size_t(cache.slots * cache.width));
  }
  session->reset();
  return std::move(session);
}

void ReferenceSession::reset() {
  nextPosition = 0;
  for (Cache &cache : caches)
    cache.slotPosition.assign(size_t(cache.slots), -1);
}

llvm::Expected<std::vector<float>>
ReferenceSession::prefill(ArrayRef<int64_t> tokens) {
  const ModelConfig &config = model.config();
  const TextConfig &t = config.text;
  const int64_t n = int64_t(tokens.size());
  const int64_t d = t.hiddenSize, L = t.numHiddenLayers;
  const int64_t P = t.hiddenSizePerLayerInput;
  if (llvm::Error error = model.checkTokens(tokens))
    return std::move(error);
  if (nextPosition + n > contextLength)
    return makeError(llvm::formatv("{0} tokens at position {1} do not fit the "
                                   "context of {2} positions",
                                   n, nextPosition, contextLength));
  const int64_t start = nextPosition;

  std::vector<float> x(size_t(n * d)), ple(size_t(n * L * P));
  for (int64_t j = 0; j < n; ++j) {
    model.embed(tokens[j], &x[j * d]);
    if (P > 0)
      model.perLayerInputs(tokens[j], ArrayRef<float>(&x[j * d], d),
                           &ple[j * L * P]);
  }

  // The chunk's own K/V per owning layer, committed after the last layer.
  std::vector<std::vector<float>> chunkKeys(L), chunkValues(L);
  for (const LayerFacts &facts : config.layers) {
    const int64_t i = facts.index, owner = facts.kvOwner;
    const int64_t kv = model.kvWidth(i), qw = model.queryWidth(i);
    std::vector<float> a(static_cast<size_t>(n * d)),
        q(static_cast<size_t>(qw));
    std::vector<float> out(static_cast<size_t>(n * qw));
    for (int64_t j = 0; j < n; ++j)
      model.attentionInput(i, ArrayRef<float>(&x[j * d], d), &a[j * d]);
    if (facts.ownsKv()) {
      chunkKeys[i].resize(size_t(n * kv));
      chunkValues[i].resize(size_t(n * kv));
      for (int64_t j = 0; j < n; ++j)
        model.keyValue(i, ArrayRef<float>(&a[j * d], d), start + j,
                       &chunkKeys[i][j * kv], &chunkValues[i][j * kv]);
    }
    const Cache &cache = caches[owner];
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = start + j;
      model.query(i, ArrayRef<float>(&a[j * d], d), p, q.data());
      int64_t first = facts.kind == AttentionKind::Sliding
                          ? std::max<int64_t>(0, p - t.slidingWindow + 1)
                          : 0;
      std::vector<const float *> keys, values;
      for (int64_t kp = first; kp <= p; ++kp) {
        if (kp >= start) {
          keys.push_back(&chunkKeys[owner][(kp - start) * kv]);
          values.push_back(&chunkValues[owner][(kp - start) * kv]);
          continue;
        }
        int64_t slot = kp % cache.slots;
        if (cache.slotPosition[slot] != kp)
          return makeError(llvm::formatv("internal error: layer {0} needs "
                                         "position {1} but its cache slot "
                                         "holds {2}",
                                         owner, kp, cache.slotPosition[slot]));
        keys.push_back(&cache.keys[slot * kv]);
        values.push_back(&cache.values[slot * kv]);
      }
      model.attend(i, q, keys, values, &out[j * qw]);
    }
    for (int64_t j = 0; j < n; ++j)
      model.finishLayer(i, ArrayRef<float>(&out[j * qw], qw),
                        P > 0 ? ArrayRef<float>(&ple[(j * L + i) * P], P)
                              : ArrayRef<float>(),
                        &x[j * d]);
  }

  for (int64_t i = 0; i < L; ++i) {
    Cache &cache = caches[i];
    if (chunkKeys[i].empty()) // KV-shared layer: no cache of its own
      continue;
    for (int64_t j = 0; j < n; ++j) {
      int64_t slot = (start + j) % cache.slots; // ring for sliding layers
      std::copy_n(&chunkKeys[i][j * cache.width], cache.width,
                  &cache.keys[slot * cache.width]);
      std::copy_n(&chunkValues[i][j * cache.width], cache.width,
                  &cache.values[slot * cache.width]);
      cache.slotPosition[slot] = start + j;
    }
  }
  nextPosition += n;

  std::vector<float> result(size_t(n * t.vocabSize));
  for (int64_t j = 0; j < n; ++j)
    model.logits(ArrayRef<float>(&x[j * d], d), &result[j * t.vocabSize]);
  return std::move(result);
}

} // namespace g4c::reference
