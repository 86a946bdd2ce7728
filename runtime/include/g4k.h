//===- g4k.h - portable C++ kernels for compiled Gemma 4 models -*- C++ -*-===//
//
// Part of g4c. The kernel library the C++ backend's generated code calls:
// header-only templates whose shapes are template arguments, so every call
// in a compiled model is instantiated at its constant shape and the inner
// loops auto-vectorise (independent partial sums instead of one serial
// accumulator; no -ffast-math needed). Activations are float; weights are
// float or bf16 in the checkpoint's [out, in] layout. No allocation, no
// exceptions: scratch space comes from the caller's arena.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_H
#define G4K_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace g4k {

/// A bf16 weight as stored in the .g4w file.
struct bf16 {
  uint16_t bits;
};

inline float widen(float value) { return value; }
inline float widen(bf16 value) {
  uint32_t bits = uint32_t(value.bits) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

/// Lanes of independent partial sums in reductions (a multiple of every
/// target's float vector width up to AVX-512).
constexpr int kLanes = 16;

/// sum_i a[i] * widen(b[i]) with kLanes partial sums.
template <int N, typename W>
inline float dot(const float *__restrict a, const W *__restrict b) {
  float partial[kLanes] = {};
  constexpr int kBody = N / kLanes * kLanes;
  for (int i = 0; i < kBody; i += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      partial[lane] += a[i + lane] * widen(b[i + lane]);
  float sum = 0;
  for (int i = kBody; i < N; ++i)
    sum += a[i] * widen(b[i]);
  for (int lane = 0; lane < kLanes; ++lane)
    sum += partial[lane];
  return sum;
}

/// y[t][o] = sum_i x[t][i] * w[o][i] for T rows (HF nn.Linear, weight
/// [Out][In]).
template <int T, int Out, int In, typename W>
inline void linear(const float *__restrict x, const W *__restrict w,
                   float *__restrict y) {
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < Out; ++o)
      y[t * Out + o] = dot<In>(x + t * In, w + size_t(o) * In);
}

/// Several linears of one input through one stacked weight: the first
/// Outs[0] rows of |w| produce ys[0], the next Outs[1] rows ys[1], and so
/// on (fused q|k|v and gate|up projections stream one contiguous weight).
template <int T, int In, int... Outs, typename W, typename... Ys>
inline void fused_linear(const float *x, const W *w, Ys *...ys) {
  static_assert(sizeof...(Outs) == sizeof...(Ys), "one output per width");
  size_t row = 0;
  ((linear<T, Outs, In>(x, w + row * In, ys), row += Outs), ...);
}

/// Each of T rows of N: y = x * (mean(x^2) + eps)^-1/2 * w (plain weight).
template <int T, int N, typename W>
inline void rms_norm(const float *x, const W *__restrict w, float eps,
                     float *y) {
  for (int t = 0; t < T; ++t) {
    const float *row = x + t * N;
    float scale = 1.0f / std::sqrt(dot<N>(row, row) / float(N) + eps);
    for (int i = 0; i < N; ++i)
      y[t * N + i] = row[i] * scale * widen(w[i]);
  }
}

/// rms_norm without a weight (Gemma 4's v_norm and router norm).
template <int T, int N>
inline void rms_norm_no_scale(const float *x, float eps, float *y) {
  for (int t = 0; t < T; ++t) {
    const float *row = x + t * N;
    float scale = 1.0f / std::sqrt(dot<N>(row, row) / float(N) + eps);
    for (int i = 0; i < N; ++i)
      y[t * N + i] = row[i] * scale;
  }
}

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline float gelu_tanh(float x) {
  const float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x *
         (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

/// out[i] = gelu_tanh(gate[i]) * up[i].
template <int N>
inline void gelu_gate(const float *gate, const float *up, float *out) {
  for (int i = 0; i < N; ++i)
    out[i] = gelu_tanh(gate[i]) * up[i];
}

/// Rotate-half RoPE of one head at |position|: pairs (j, j + HeadDim/2) for
/// the first Pairs frequencies rotate, the rest (proportional RoPE's zero
/// frequencies) pass through. Angles in double: positions reach 1e5.
template <int HeadDim, int Pairs>
inline void rope(float *head, const double *inverse_frequency,
                 int64_t position) {
  static_assert(Pairs <= HeadDim / 2, "more pairs than the head has");
  constexpr int kHalf = HeadDim / 2;
  for (int j = 0; j < Pairs; ++j) {
    double angle = double(position) * inverse_frequency[j];
    float c = float(std::cos(angle)), s = float(std::sin(angle));
    float x1 = head[j], x2 = head[j + kHalf];
    head[j] = x1 * c - x2 * s;
    head[j + kHalf] = x2 * c + x1 * s;
  }
}

/// cap * tanh(x / cap) over N values in place.
template <int N> inline void softcap(float *x, float cap) {
  for (int i = 0; i < N; ++i)
    x[i] = cap * std::tanh(x[i] / cap);
}

/// Attention of one query position over the positions [first, last]: a
/// position p < fresh_start lives in slot p % Slots of the KV cache (a ring
/// for sliding layers, the identity for a linear cache of the context),
/// p >= fresh_start in row p - fresh_start of |fresh_keys|/|fresh_values|
/// (the current tokens, not yet stored). Rows are [KvHeads * HeadDim];
/// GQA: query head h reads KV head h / (QHeads / KvHeads); scaling 1.0.
/// |scores| has room for last - first + 1 floats.
template <int HeadDim, int QHeads, int KvHeads, int Slots>
inline void
attend(const float *__restrict q, const float *__restrict keys,
       const float *__restrict values, const float *__restrict fresh_keys,
       const float *__restrict fresh_values, int64_t fresh_start, int64_t first,
       int64_t last, float *__restrict scores, float *__restrict out) {
  static_assert(QHeads % KvHeads == 0, "query heads must group evenly");
  constexpr int kGroup = QHeads / KvHeads;
  constexpr int kRow = KvHeads * HeadDim;
  const int64_t count = last - first + 1;
  auto row = [&](const float *cache, const float *fresh, int64_t p) {
    return p < fresh_start ? cache + (p % Slots) * kRow
                           : fresh + (p - fresh_start) * kRow;
  };
  for (int h = 0; h < QHeads; ++h) {
    const float *qh = q + h * HeadDim;
    const int kv = (h / kGroup) * HeadDim;
    float max_score = -INFINITY;
    for (int64_t n = 0; n < count; ++n) {
      scores[n] = dot<HeadDim>(qh, row(keys, fresh_keys, first + n) + kv);
      max_score = scores[n] > max_score ? scores[n] : max_score;
    }
    float total = 0;
    for (int64_t n = 0; n < count; ++n)
      total += scores[n] = std::exp(scores[n] - max_score);
    float *oh = out + h * HeadDim;
    for (int i = 0; i < HeadDim; ++i)
      oh[i] = 0;
    for (int64_t n = 0; n < count; ++n) {
      const float *v = row(values, fresh_values, first + n) + kv;
      const float weight = scores[n] / total;
      for (int i = 0; i < HeadDim; ++i)
        oh[i] += weight * v[i];
    }
  }
}

//===----------------------------------------------------------------------===//
// Kernels the generated code calls: one per g4k op, all shapes constant.
//===----------------------------------------------------------------------===//

/// The causal (and, with Window > 0, sliding) attention of T queries at
/// positions start + t. With |fresh_keys|, the current tokens' K/V come from
/// there and the cache holds the earlier positions (it is written after
/// every reader: a sliding ring of exactly the window suffices); without,
/// the cache already holds every position. |scores|: Slots + T floats.
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window>
inline void attend_tokens(const float *q, const float *k_cache,
                          const float *v_cache, const float *fresh_keys,
                          const float *fresh_values, int64_t start,
                          float *scores, float *out) {
  constexpr int kQ = QHeads * HeadDim;
  for (int t = 0; t < T; ++t) {
    const int64_t position = start + t;
    const int64_t first =
        Window > 0 && position >= Window ? position - Window + 1 : 0;
    attend<HeadDim, QHeads, KvHeads, Slots>(
        q + t * kQ, k_cache, v_cache, fresh_keys, fresh_values,
        fresh_keys ? start : position + 1, first, position, scores,
        out + t * kQ);
  }
}

/// Writes K/V rows of positions start + t to slot (start + t) % Slots.
template <int T, int Row, int Slots>
inline void kv_store(const float *k, const float *v, int64_t start,
                     float *k_cache, float *v_cache) {
  for (int t = 0; t < T; ++t) {
    const int64_t slot = (start + t) % Slots;
    std::memcpy(k_cache + slot * Row, k + t * Row, sizeof(float) * Row);
    std::memcpy(v_cache + slot * Row, v + t * Row, sizeof(float) * Row);
  }
}

/// RoPE of T rows of Heads heads, row t at position start + t.
template <int T, int Heads, int HeadDim, int Pairs>
inline void rope_rows(float *x, const double *inverse_frequency,
                      int64_t start) {
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < Heads; ++h)
      rope<HeadDim, Pairs>(x + (t * Heads + h) * HeadDim, inverse_frequency,
                           start + t);
}

/// theta^(-2j / head_dim) for j < Pairs (unspecialised attention only).
template <int Pairs>
inline void rope_frequencies(double theta, int head_dim, double *out) {
  for (int j = 0; j < Pairs; ++j)
    out[j] = std::pow(theta, -double(2 * j) / head_dim);
}

/// y = x over N values.
template <int N> inline void copy(const float *x, float *y) {
  std::memcpy(y, x, sizeof(float) * N);
}

/// out[t][i] = gelu_tanh(gate[t][i]) * up[t][i]; gate and up rows are
/// GateStride and UpStride floats apart (halves of a fused product, a
/// layer's slice of the per-layer inputs). May run in place on |gate|.
template <int T, int N, int GateStride, int UpStride>
inline void gelu_gate_rows(const float *gate, const float *up, float *out) {
  for (int t = 0; t < T; ++t)
    gelu_gate<N>(gate + t * GateStride, up + t * UpStride, out + t * N);
}

/// Per-Layer Embeddings, after the context projection, for the L layers
/// First.. of a table whose rows hold TableLayers * P values: out[t][l] =
/// (RMSNorm(context[t][l] * context_scale; norm) + table[row][First + l] *
/// table_scale) * 2^-1/2, row = tokens[t] (0 beyond the table: multimodal
/// placeholders read row 0).
template <int T, int L, int P, int TableRows, int TableLayers, int First,
          typename W>
inline void ple_combine(const int32_t *tokens, const W *table,
                        const float *context, const W *norm, float table_scale,
                        float context_scale, float eps, float *out) {
  static_assert(First + L <= TableLayers, "layers beyond the table");
  const float combine = 0.70710678118654752f;
  float slice[P];
  for (int t = 0; t < T; ++t) {
    const int32_t row = tokens[t] < TableRows ? tokens[t] : 0;
    const W *token_row = table + size_t(row) * TableLayers * P + First * P;
    for (int l = 0; l < L; ++l) {
      const float *c = context + (t * L + l) * P;
      for (int j = 0; j < P; ++j)
        slice[j] = c[j] * context_scale;
      rms_norm<1, P>(slice, norm, eps, slice);
      for (int j = 0; j < P; ++j)
        out[(t * L + l) * P + j] =
            (slice[j] + widen(token_row[l * P + j]) * table_scale) * combine;
    }
  }
}

/// out[t] = table[tokens[t]] * scale (the dtype-rounded sqrt(d)).
template <int T, int D, typename W>
inline void embed(const int32_t *tokens, const W *table, float scale,
                  float *out) {
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < D; ++i)
      out[t * D + i] = widen(table[size_t(tokens[t]) * D + i]) * scale;
}

/// out = a + b over N values.
template <int N> inline void add(const float *a, const float *b, float *out) {
  for (int i = 0; i < N; ++i)
    out[i] = a[i] + b[i];
}

/// out = x * scalar[0] over N values (the learned layer scalar).
template <int N, typename W>
inline void scale(const float *x, const W *scalar, float *out) {
  const float s = widen(scalar[0]);
  for (int i = 0; i < N; ++i)
    out[i] = x[i] * s;
}

/// Mixture of experts (§2.6) on the normed |x| with the router reading the
/// un-normalised |router_input|. |scratch|: D + 2*E + 3*I + D floats.
template <int T, int D, int E, int K, int I, typename W>
inline void moe(const float *x, const float *router_input, const W *router,
                const W *router_scale, const W *per_expert_scale,
                const W *gate_up, const W *down, float eps, float *scratch,
                float *out) {
  float *r = scratch, *logits = r + D, *order = logits + E;
  float *gu = order + E, *hidden = gu + 2 * I, *expert_out = hidden + I;
  const float d_scale = 1.0f / std::sqrt(float(D));
  for (int t = 0; t < T; ++t) {
    rms_norm_no_scale<1, D>(router_input + t * D, eps, r);
    for (int i = 0; i < D; ++i)
      r[i] *= widen(router_scale[i]) * d_scale;
    linear<1, E, D>(r, router, logits);
    float max_logit = logits[0];
    for (int e = 1; e < E; ++e)
      max_logit = logits[e] > max_logit ? logits[e] : max_logit;
    // Unnormalised softmax: the renormalisation over the chosen experts
    // below cancels the full softmax denominator.
    for (int e = 0; e < E; ++e)
      logits[e] = std::exp(logits[e] - max_logit);
    // Top K by probability, ties to the lower index (selection by repeated
    // maximum; |order| marks the chosen experts).
    int chosen[K];
    float selected = 0;
    for (int e = 0; e < E; ++e)
      order[e] = 0;
    for (int k = 0; k < K; ++k) {
      int best = -1;
      for (int e = 0; e < E; ++e)
        if (order[e] == 0 && (best < 0 || logits[e] > logits[best]))
          best = e;
      chosen[k] = best;
      order[best] = 1;
      selected += logits[best];
    }
    float *y = out + t * D;
    for (int i = 0; i < D; ++i)
      y[i] = 0;
    for (int k = 0; k < K; ++k) {
      const int e = chosen[k];
      const float weight = logits[e] / selected * widen(per_expert_scale[e]);
      linear<1, 2 * I, D>(x + t * D, gate_up + size_t(e) * 2 * I * D, gu);
      gelu_gate<I>(gu, gu + I, hidden);
      linear<1, D, I>(hidden, down + size_t(e) * D * I, expert_out);
      for (int i = 0; i < D; ++i)
        y[i] += weight * expert_out[i];
    }
  }
}

} // namespace g4k

#endif // G4K_H
