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

} // namespace g4k

#endif // G4K_H
