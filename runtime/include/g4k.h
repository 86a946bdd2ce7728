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

/// Attention of one query position over the positions [first, last] of a
/// KV cache of Slots slots (position p lives in slot p % Slots: a ring for
/// sliding layers, the identity for a full cache of the whole context).
/// Cache rows are [KvHeads * HeadDim]; GQA: query head h reads KV head
/// h / (QHeads / KvHeads); scaling 1.0. |scores| has room for
/// last - first + 1 floats.
template <int HeadDim, int QHeads, int KvHeads, int Slots>
inline void attend(const float *__restrict q, const float *__restrict keys,
                   const float *__restrict values, int64_t first, int64_t last,
                   float *__restrict scores, float *__restrict out) {
  static_assert(QHeads % KvHeads == 0, "query heads must group evenly");
  constexpr int kGroup = QHeads / KvHeads;
  constexpr int kRow = KvHeads * HeadDim;
  const int64_t count = last - first + 1;
  for (int h = 0; h < QHeads; ++h) {
    const float *qh = q + h * HeadDim;
    const int kv = (h / kGroup) * HeadDim;
    float max_score = -INFINITY;
    for (int64_t n = 0; n < count; ++n) {
      const float *k = keys + ((first + n) % Slots) * kRow + kv;
      scores[n] = dot<HeadDim>(qh, k);
      max_score = scores[n] > max_score ? scores[n] : max_score;
    }
    float total = 0;
    for (int64_t n = 0; n < count; ++n)
      total += scores[n] = std::exp(scores[n] - max_score);
    float *oh = out + h * HeadDim;
    for (int i = 0; i < HeadDim; ++i)
      oh[i] = 0;
    for (int64_t n = 0; n < count; ++n) {
      const float *v = values + ((first + n) % Slots) * kRow + kv;
      const float weight = scores[n] / total;
      for (int i = 0; i < HeadDim; ++i)
        oh[i] += weight * v[i];
    }
  }
}

//===----------------------------------------------------------------------===//
// Model-level kernels: one call per gemma op, all shapes constant.
//===----------------------------------------------------------------------===//

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

/// Per-Layer Embeddings: out[t][l][:] = (RMSNorm(h0[t] @ proj^T * d^-1/2,
/// slice l; norm) + table[token][l*P:(l+1)*P] * table_scale) * 2^-1/2.
/// Tokens beyond the table read row 0 (multimodal placeholders).
/// |scratch|: L * P floats.
template <int T, int D, int L, int P, int TableRows, typename W>
inline void per_layer_inputs(const int32_t *tokens, const float *h0,
                             const W *table, const W *projection, const W *norm,
                             float table_scale, float eps, float *scratch,
                             float *out) {
  const float projection_scale = 1.0f / std::sqrt(float(D));
  const float combine = 0.70710678118654752f;
  for (int t = 0; t < T; ++t) {
    linear<1, L * P, D>(h0 + t * D, projection, scratch);
    const int32_t row = tokens[t] < TableRows ? tokens[t] : 0;
    for (int l = 0; l < L; ++l) {
      float *slice = scratch + l * P;
      for (int j = 0; j < P; ++j)
        slice[j] *= projection_scale;
      rms_norm<1, P>(slice, norm, eps, slice);
      for (int j = 0; j < P; ++j)
        out[(t * L + l) * P + j] =
            (slice[j] +
             widen(table[size_t(row) * L * P + l * P + j]) * table_scale) *
            combine;
    }
  }
}

/// One layer's attention (§2.4) for T positions start..start+T-1 of the
/// normed input |a| [T, D] to |out| [T, D]. A KV-owning layer writes its
/// K/V for the T positions into its cache first (slot = position % Slots;
/// a sliding cache has W + T - 1 slots so that the chunk never overwrites
/// a position a query of the same chunk still sees), then every query
/// attends over its visible positions of the owner's cache.
/// |scratch|: QHeads*HeadDim * (T + 1) + max(Slots, 1) floats.
template <int T, int D, int HeadDim, int QHeads, int KvHeads, int Slots,
          int Window, int Pairs, bool OwnsKv, bool KEqV, typename W>
inline void
attention(const float *a, int64_t start, const W *q_proj, const W *o_proj,
          const W *q_norm, const W *k_proj, const W *v_proj, const W *k_norm,
          const double *inverse_frequency, float eps, float *k_cache,
          float *v_cache, float *scratch, float *out) {
  constexpr int kQ = QHeads * HeadDim, kKv = KvHeads * HeadDim;
  float *q = scratch;          // [T, kQ]
  float *o = scratch + T * kQ; // [kQ]
  float *scores = o + kQ;      // [Slots]
  linear<T, kQ, D>(a, q_proj, q);
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < QHeads; ++h) {
      float *head = q + t * kQ + h * HeadDim;
      rms_norm<1, HeadDim>(head, q_norm, eps, head);
      rope<HeadDim, Pairs>(head, inverse_frequency, start + t);
    }
  if constexpr (OwnsKv) {
    for (int t = 0; t < T; ++t) {
      const int64_t slot = (start + t) % Slots;
      float *k = k_cache + slot * kKv;
      float *v = v_cache + slot * kKv;
      linear<1, kKv, D>(a + t * D, k_proj, k);
      if constexpr (KEqV)
        std::memcpy(v, k, sizeof(float) * kKv);
      else
        linear<1, kKv, D>(a + t * D, v_proj, v);
      for (int h = 0; h < KvHeads; ++h) {
        rms_norm<1, HeadDim>(k + h * HeadDim, k_norm, eps, k + h * HeadDim);
        rope<HeadDim, Pairs>(k + h * HeadDim, inverse_frequency, start + t);
        rms_norm_no_scale<1, HeadDim>(v + h * HeadDim, eps, v + h * HeadDim);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    const int64_t position = start + t;
    const int64_t first =
        Window > 0 && position >= Window ? position - Window + 1 : 0;
    attend<HeadDim, QHeads, KvHeads, Slots>(q + t * kQ, k_cache, v_cache, first,
                                            position, scores, o);
    linear<1, D, kQ>(o, o_proj, out + t * D);
  }
}

/// Gated GELU MLP: out = (gelu(x W_gate^T) * (x W_up^T)) W_down^T.
/// |scratch|: 2 * I floats.
template <int T, int D, int I, typename W>
inline void mlp(const float *x, const W *gate, const W *up, const W *down,
                float *scratch, float *out) {
  float *g = scratch, *u = scratch + I;
  for (int t = 0; t < T; ++t) {
    linear<1, I, D>(x + t * D, gate, g);
    linear<1, I, D>(x + t * D, up, u);
    gelu_gate<I>(g, u, g);
    linear<1, D, I>(g, down, out + t * D);
  }
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

/// Per-layer input injection: out = x + RMSNorm((gelu(x gate^T) *
/// ple[t][layer]) projection^T; norm). |scratch|: P + D floats.
template <int T, int D, int L, int P, typename W>
inline void per_layer_input(const float *x, const float *ple, int layer,
                            const W *gate, const W *projection, const W *norm,
                            float eps, float *scratch, float *out) {
  float *g = scratch, *injected = scratch + P;
  for (int t = 0; t < T; ++t) {
    linear<1, P, D>(x + t * D, gate, g);
    const float *slice = ple + (t * L + layer) * P;
    for (int j = 0; j < P; ++j)
      g[j] = gelu_tanh(g[j]) * slice[j];
    linear<1, D, P>(g, projection, injected);
    rms_norm<1, D>(injected, norm, eps, injected);
    add<D>(x + t * D, injected, out + t * D);
  }
}

/// Final norm, tied LM head, soft cap (cap <= 0: none). |scratch|: D floats.
template <int T, int D, int V, typename W>
inline void logits(const float *x, const W *norm, const W *embedding, float eps,
                   float cap, float *scratch, float *out) {
  for (int t = 0; t < T; ++t) {
    rms_norm<1, D>(x + t * D, norm, eps, scratch);
    linear<1, V, D>(scratch, embedding, out + size_t(t) * V);
    if (cap > 0)
      softcap<V>(out + size_t(t) * V, cap);
  }
}

} // namespace g4k

#endif // G4K_H
