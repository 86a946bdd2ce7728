//===- sampler.cc - seeded sampling from logits ---------------------------===//
//
// Part of g4c. The runtime's sampler: the filters in Hugging Face's order
// (repetition penalty, temperature, top-k, top-p, min-p) over (logit, id)
// candidates in caller memory, and a splitmix64 generator so that a seed
// reproduces a run.
//
//===----------------------------------------------------------------------===//

#include "g4gen.h"

#include <algorithm>
#include <cmath>

namespace {

struct Candidate {
  float value; ///< logit, then probability
  int32_t id;
};

/// Larger first; equal values by smaller id, so the order is total.
bool ahead(const Candidate &a, const Candidate &b) {
  return a.value != b.value ? a.value > b.value : a.id < b.id;
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

extern "C" {

g4_sampling g4_sampling_defaults(void) {
  g4_sampling sampling;
  sampling.temperature = 1.0f;
  sampling.top_k = 64;
  sampling.top_p = 0.95f;
  sampling.min_p = 0.0f;
  sampling.repetition_penalty = 1.0f;
  sampling.seed = 0;
  return sampling;
}

g4_status g4_sampler_init(const g4_sampling *config, g4_sampler *out_sampler,
                          g4_error *out_error) {
  if (!config || !out_sampler)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  const g4_sampling &c = *config;
  if (!(c.temperature >= 0) || !std::isfinite(c.temperature))
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                   "temperature must be >= 0, got %g", double(c.temperature));
  if (c.top_k < 0)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "top-k must be >= 0, got %d",
                   c.top_k);
  if (!(c.top_p > 0 && c.top_p <= 1))
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                   "top-p must be in (0, 1], got %g", double(c.top_p));
  if (!(c.min_p >= 0 && c.min_p <= 1))
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                   "min-p must be in [0, 1], got %g", double(c.min_p));
  if (!(c.repetition_penalty > 0) || !std::isfinite(c.repetition_penalty))
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                   "repetition penalty must be > 0, got %g",
                   double(c.repetition_penalty));
  out_sampler->config = c;
  out_sampler->state = c.seed;
  return G4_OK;
}

size_t g4_sampler_work_bytes(int32_t vocab_size) {
  return size_t(vocab_size > 0 ? vocab_size : 0) * sizeof(Candidate);
}

int32_t g4_sample(g4_sampler *sampler, float *logits, int32_t vocab_size,
                  const int32_t *recent, size_t recent_count, void *work) {
  const g4_sampling &c = sampler->config;
  if (c.repetition_penalty != 1.0f)
    for (size_t i = 0; i < recent_count; ++i) {
      int32_t id = recent[i];
      if (id < 0 || id >= vocab_size)
        continue;
      // Each distinct id once: a second visit would penalise it again.
      bool seen = false;
      for (size_t j = 0; j < i && !seen; ++j)
        seen = recent[j] == id;
      if (seen)
        continue;
      logits[id] = logits[id] > 0 ? logits[id] / c.repetition_penalty
                                  : logits[id] * c.repetition_penalty;
    }
  if (c.temperature == 0) {
    int32_t best = 0;
    for (int32_t i = 1; i < vocab_size; ++i)
      if (logits[i] > logits[best])
        best = i;
    return best;
  }
  auto *candidates = static_cast<Candidate *>(work);
  int32_t count = vocab_size;
  for (int32_t i = 0; i < vocab_size; ++i)
    candidates[i] = {logits[i] / c.temperature, i};
  if (c.top_k > 0 && c.top_k < count) {
    std::nth_element(candidates, candidates + c.top_k, candidates + count,
                     ahead);
    count = c.top_k;
  }
  std::sort(candidates, candidates + count, ahead);
  // Softmax over what is left (the largest first, so no overflow).
  const float largest = candidates[0].value;
  double total = 0;
  for (int32_t i = 0; i < count; ++i)
    total += candidates[i].value = std::exp(candidates[i].value - largest);
  for (int32_t i = 0; i < count; ++i)
    candidates[i].value = float(candidates[i].value / total);
  if (c.top_p < 1.0f) {
    double cumulative = 0;
    for (int32_t i = 0; i < count; ++i) {
      cumulative += candidates[i].value;
      if (cumulative >= c.top_p) {
        count = i + 1;
        break;
      }
    }
  }
  if (c.min_p > 0) {
    const float floor = c.min_p * candidates[0].value;
    int32_t kept = 1;
    while (kept < count && candidates[kept].value >= floor)
      ++kept;
    count = kept;
  }
  double mass = 0;
  for (int32_t i = 0; i < count; ++i)
    mass += candidates[i].value;
  // A uniform draw in [0, mass) from the top 53 bits.
  double draw = double(splitmix64(sampler->state) >> 11) *
                (1.0 / 9007199254740992.0) * mass;
  for (int32_t i = 0; i < count; ++i) {
    draw -= candidates[i].value;
    if (draw < 0)
      return candidates[i].id;
  }
  return candidates[count - 1].id;
}

} // extern "C"
