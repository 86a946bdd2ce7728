//===- g4k.h - portable C++ kernels for compiled Gemma 4 models -*- C++ -*-===//
//
// Part of g4c. The kernel library the C++ backend's generated code calls:
// header-only templates whose shapes are template arguments, so every call
// in a compiled model is instantiated at its constant shape and the inner
// loops auto-vectorise (independent partial sums instead of one serial
// accumulator; no -ffast-math needed). Activations are float; weights are
// float, bf16, int8 or int4 (runtime/src/weight_file_format.h) in the
// checkpoint's [out, in] layout, read through the row accessors below. No
// allocation, no exceptions: scratch space comes from the caller's arena.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_H
#define G4K_H

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>

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

//===----------------------------------------------------------------------===//
// Threads: a fixed pool started when a session opens (G4_THREADS, default
// the hardware's), used by the matrix kernels to split their rows. Workers
// spin (yielding) between jobs: a fork/join costs microseconds, decode
// steps run hundreds of them; idle longer, they sleep.
//===----------------------------------------------------------------------===//

class thread_pool {
public:
  static constexpr int kMaxThreads = 64;
  static constexpr long kSpinsBeforeSleeping = 100000;

  /// Starts the workers once (no effect later).
  void start() {
    bool expected = false;
    if (!started.compare_exchange_strong(expected, true))
      return;
    int wanted = int(std::thread::hardware_concurrency());
    if (const char *env = std::getenv("G4_THREADS"))
      wanted = std::atoi(env);
    count = wanted < 1 ? 1 : wanted > kMaxThreads ? kMaxThreads : wanted;
    for (int t = 1; t < count; ++t)
      std::thread([this, t] { work(t); }).detach();
  }
  int threads() const { return count; }

  /// Runs body(context, part, parts) for part < parts = threads(), part 0
  /// on the calling thread; returns when all are done.
  void run(void (*body)(void *, int, int), void *context) {
    // One job at a time: a second caller (another session's thread) runs
    // its job alone.
    if (count == 1 || busy.exchange(true, std::memory_order_acquire)) {
      body(context, 0, 1);
      return;
    }
    job = body;
    job_context = context;
    pending.store(count - 1, std::memory_order_relaxed);
    generation.fetch_add(1, std::memory_order_release);
    body(context, 0, count);
    while (pending.load(std::memory_order_acquire) != 0)
      std::this_thread::yield();
    busy.store(false, std::memory_order_release);
  }

private:
  void work(int part) {
    unsigned seen = 0;
    for (;;) {
      unsigned now;
      // Yield while jobs come often; once idle for a while (a closed
      // session, a user typing), sleep so the pool costs no CPU.
      for (long idle = 0;
           (now = generation.load(std::memory_order_acquire)) == seen; ++idle) {
        if (idle < kSpinsBeforeSleeping)
          std::this_thread::yield();
        else
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      seen = now;
      job(job_context, part, count);
      pending.fetch_sub(1, std::memory_order_release);
    }
  }

  std::atomic<bool> started{false}, busy{false};
  int count = 1;
  void (*job)(void *, int, int) = nullptr;
  void *job_context = nullptr;
  std::atomic<int> pending{0};
  std::atomic<unsigned> generation{0};
};

inline thread_pool &threads() {
  static thread_pool pool;
  return pool;
}

/// fn(begin, end) over [0, n) split in equal parts across the pool (one
/// part when n is below |grain|).
template <typename F> inline void parallel_for(int64_t n, int64_t grain, F fn) {
  if (n < grain * 2 || threads().threads() == 1) {
    fn(int64_t(0), n);
    return;
  }
  struct Context {
    F *fn;
    int64_t n;
  } context{&fn, n};
  threads().run(
      [](void *raw, int part, int parts) {
        auto *c = static_cast<Context *>(raw);
        (*c->fn)(c->n * part / parts, c->n * (part + 1) / parts);
      },
      &context);
}

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

//===----------------------------------------------------------------------===//
// Weight matrices: rows of In values, read through row_dot / row_load /
// skip_rows whatever their format.
//===----------------------------------------------------------------------===//

/// An int8 matrix: per row In int8 values, then the row's f32 scale, the
/// row padded to 16 bytes. A pointer to q8 is the matrix's first byte.
struct q8 {
  uint8_t byte;
};
/// An int4 matrix in groups of Group columns: per row In/2 bytes (group g's
/// byte j: column g*Group + j low nibble, + Group/2 high nibble, as q + 8),
/// then In/Group f16 scales, the row padded to 16 bytes.
template <int Group> struct q4 { uint8_t byte; };

template <typename W> struct is_q4 : std::false_type {};
template <int Group> struct is_q4<q4<Group>> : std::true_type {};

constexpr size_t pad_row(size_t bytes) { return (bytes + 15) / 16 * 16; }
template <int In> constexpr size_t row_bytes(const q8 *) {
  return pad_row(In + 4);
}
template <int In, int Group> constexpr size_t row_bytes(const q4<Group> *) {
  return pad_row(In / 2 + In / Group * 2);
}

inline float half_to_float(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  uint32_t result;
  if (exponent == 31) { // inf / NaN
    result = sign | 0x7f800000u | mantissa << 13;
  } else if (exponent != 0) {
    result = sign | (exponent + 112) << 23 | mantissa << 13;
  } else if (mantissa == 0) {
    result = sign;
  } else { // subnormal: normalise
    exponent = 113;
    while (!(mantissa & 1024)) {
      mantissa <<= 1;
      --exponent;
    }
    result = sign | exponent << 23 | (mantissa & 1023) << 13;
  }
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

template <typename Q> inline const uint8_t *bytes_of(const Q *w) {
  return reinterpret_cast<const uint8_t *>(w);
}

/// The matrix starting |rows| rows further on.
template <int In> inline const float *skip_rows(const float *w, size_t rows) {
  return w + rows * In;
}
template <int In> inline const bf16 *skip_rows(const bf16 *w, size_t rows) {
  return w + rows * In;
}
template <int In> inline const q8 *skip_rows(const q8 *w, size_t rows) {
  return reinterpret_cast<const q8 *>(bytes_of(w) + rows * row_bytes<In>(w));
}
template <int In, int Group>
inline const q4<Group> *skip_rows(const q4<Group> *w, size_t rows) {
  return reinterpret_cast<const q4<Group> *>(bytes_of(w) +
                                             rows * row_bytes<In>(w));
}

/// x . w[row]
template <int In, typename W>
inline float row_dot(const float *__restrict x, const W *__restrict w,
                     size_t row) {
  return dot<In>(x, skip_rows<In>(w, row));
}
template <int In>
inline float row_dot(const float *__restrict x, const q8 *__restrict w,
                     size_t row) {
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  float partial[kLanes] = {};
  constexpr int kBody = In / kLanes * kLanes;
  for (int i = 0; i < kBody; i += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      partial[lane] += x[i + lane] * float(int8_t(q[i + lane]));
  float sum = 0, scale;
  for (int i = kBody; i < In; ++i)
    sum += x[i] * float(int8_t(q[i]));
  for (int lane = 0; lane < kLanes; ++lane)
    sum += partial[lane];
  std::memcpy(&scale, q + In, sizeof(scale));
  return sum * scale;
}
template <int In, int Group>
inline float row_dot(const float *__restrict x, const q4<Group> *__restrict w,
                     size_t row) {
  static_assert(In % Group == 0 && Group % (2 * kLanes) == 0,
                "int4 rows are whole groups");
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const uint8_t *scales = q + In / 2;
  float sum = 0;
  for (int g = 0; g < In / Group; ++g) {
    const uint8_t *bytes = q + g * Group / 2;
    const float *xg = x + g * Group;
    float partial[kLanes] = {};
    for (int j = 0; j < Group / 2; j += kLanes)
      for (int lane = 0; lane < kLanes; ++lane) {
        const int b = bytes[j + lane];
        partial[lane] += xg[j + lane] * float((b & 15) - 8) +
                         xg[j + lane + Group / 2] * float((b >> 4) - 8);
      }
    float group_sum = 0;
    for (int lane = 0; lane < kLanes; ++lane)
      group_sum += partial[lane];
    uint16_t bits;
    std::memcpy(&bits, scales + 2 * g, sizeof(bits));
    sum += group_sum * half_to_float(bits);
  }
  return sum;
}

/// out[j] = w[row][first + j] for j < Count.
template <int In, int Count, typename W>
inline void row_load(const W *w, size_t row, int first, float *out) {
  const W *r = skip_rows<In>(w, row);
  for (int j = 0; j < Count; ++j)
    out[j] = widen(r[first + j]);
}
template <int In, int Count>
inline void row_load(const q8 *w, size_t row, int first, float *out) {
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  float scale;
  std::memcpy(&scale, q + In, sizeof(scale));
  for (int j = 0; j < Count; ++j)
    out[j] = float(int8_t(q[first + j])) * scale;
}
template <int In, int Count, int Group>
inline void row_load(const q4<Group> *w, size_t row, int first, float *out) {
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const uint8_t *scales = q + In / 2;
  for (int j = 0; j < Count; ++j) {
    const int column = first + j, g = column / Group, k = column % Group;
    const int b = q[g * Group / 2 + k % (Group / 2)];
    uint16_t bits;
    std::memcpy(&bits, scales + 2 * g, sizeof(bits));
    out[j] = float((k < Group / 2 ? b & 15 : b >> 4) - 8) * half_to_float(bits);
  }
}

/// Activations quantised for integer dot products: per row of In values,
/// int8 values with one f32 scale per block of 32 (absmax / 127; Q8_0's
/// rule), and the block sums (int4 weights' offset correction).
constexpr int kActivationBlock = 32;
template <int T, int In> struct q8_activations {
  int8_t q[T][In];
  float scale[T][In / kActivationBlock];
  float sum[T][In / kActivationBlock]; ///< sum of q in the block
};

template <int T, int In>
inline void quantize_activations(const float *x, q8_activations<T, In> &a) {
  for (int t = 0; t < T; ++t)
    for (int b = 0; b < In / kActivationBlock; ++b) {
      const float *block = x + t * In + b * kActivationBlock;
      float absmax = 0;
      for (int i = 0; i < kActivationBlock; ++i)
        absmax = std::fabs(block[i]) > absmax ? std::fabs(block[i]) : absmax;
      const float inverse = absmax > 0 ? 127.0f / absmax : 0.0f;
      int sum = 0;
      for (int i = 0; i < kActivationBlock; ++i) {
        const int8_t q = int8_t(std::nearbyint(block[i] * inverse));
        a.q[t][b * kActivationBlock + i] = q;
        sum += q;
      }
      a.scale[t][b] = absmax / 127.0f;
      a.sum[t][b] = float(sum);
    }
}

// The integer dot products come in two shapes: clang vectorises 16 lanes
// of products scaled into float lanes (no horizontal sum per block); g++
// vectorises a plain int32 reduction per block better.

/// x . w[row] with x quantised (int8 weights), times the row's scale.
template <int T, int In>
inline float row_dot_q8(const q8_activations<T, In> &a, int t, const q8 *w,
                        size_t row) {
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const int8_t *wq = reinterpret_cast<const int8_t *>(q);
  float sum = 0, scale;
#if defined(__clang__)
  float acc[16] = {};
  for (int b = 0; b < In / kActivationBlock; ++b) {
    const int8_t *xb = a.q[t] + b * kActivationBlock;
    const int8_t *wb = wq + b * kActivationBlock;
    int32_t p[16];
    for (int l = 0; l < 16; ++l)
      p[l] = int32_t(wb[l]) * xb[l] + int32_t(wb[l + 16]) * xb[l + 16];
    const float s = a.scale[t][b];
    for (int l = 0; l < 16; ++l)
      acc[l] += s * float(p[l]);
  }
  for (int l = 0; l < 16; ++l)
    sum += acc[l];
#else
  for (int b = 0; b < In / kActivationBlock; ++b) {
    const int8_t *xb = a.q[t] + b * kActivationBlock;
    const int8_t *wb = wq + b * kActivationBlock;
    int32_t block = 0;
    for (int l = 0; l < kActivationBlock; ++l)
      block += int32_t(wb[l]) * int32_t(xb[l]);
    sum += a.scale[t][b] * float(block);
  }
#endif
  std::memcpy(&scale, q + In, sizeof(scale));
  return sum * scale;
}

/// x . w[row] with x quantised (int4 weights, groups of Group): the stored
/// nibbles n = q + 8 multiply the activations directly; 8 * sum(x) comes
/// off per block.
template <int T, int In, int Group>
inline float row_dot_q4(const q8_activations<T, In> &a, int t,
                        const q4<Group> *w, size_t row) {
  static_assert(Group % kActivationBlock == 0, "groups are whole blocks");
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const uint8_t *scales = q + In / 2;
  constexpr int kHalf = Group / 2;
  // Bytes per step: each step's low and high nibbles lie in one
  // activation block each.
  constexpr int kStep = kHalf < kActivationBlock ? kHalf : kActivationBlock;
  const int8_t *x = a.q[t];
  float sum = 0, offset = 0;
#if defined(__clang__)
  float acc[16] = {};
#endif
  for (int g = 0; g < In / Group; ++g) {
    uint16_t bits;
    std::memcpy(&bits, scales + 2 * g, sizeof(bits));
    const float wscale = half_to_float(bits);
    const uint8_t *bytes = q + g * kHalf;
    const int8_t *xg = x + g * Group;
    for (int j0 = 0; j0 < kHalf; j0 += kStep) {
      const int lowBlock = (g * Group + j0) / kActivationBlock;
      const int highBlock = (g * Group + j0 + kHalf) / kActivationBlock;
      const float sl = wscale * a.scale[t][lowBlock];
      const float sh = wscale * a.scale[t][highBlock];
#if defined(__clang__)
      for (int l0 = 0; l0 < kStep; l0 += 16) {
        int32_t low[16], high[16];
        for (int l = 0; l < 16; ++l) {
          const int j = j0 + l0 + l;
          low[l] = int32_t(bytes[j] & 15) * xg[j];
          high[l] = int32_t(bytes[j] >> 4) * xg[j + kHalf];
        }
        for (int l = 0; l < 16; ++l)
          acc[l] += sl * float(low[l]) + sh * float(high[l]);
      }
#else
      int32_t low = 0, high = 0;
      for (int l = 0; l < kStep; ++l) {
        low += int32_t(bytes[j0 + l] & 15) * int32_t(xg[j0 + l]);
        high += int32_t(bytes[j0 + l] >> 4) * int32_t(xg[j0 + l + kHalf]);
      }
      sum += sl * float(low) + sh * float(high);
#endif
    }
    for (int b = 0; b < Group / kActivationBlock; ++b) {
      const int block = g * (Group / kActivationBlock) + b;
      offset += wscale * a.scale[t][block] * a.sum[t][block];
    }
  }
#if defined(__clang__)
  for (int l = 0; l < 16; ++l)
    sum += acc[l];
#endif
  return sum - 8 * offset;
}

/// Whether linear<T, Out, In, W> quantises its activations to int8: for
/// int8 / int4 weights, whole activation blocks, unless compiled with
/// G4K_EXACT_ACTIVATIONS (f32 activations against dequantised weights).
template <typename W, int In> constexpr bool uses_int8_activations() {
#ifdef G4K_EXACT_ACTIVATIONS
  return false;
#else
  return In % kActivationBlock == 0 &&
         (std::is_same<W, q8>::value || is_q4<W>::value);
#endif
}

/// y[t][o] = sum_i x[t][i] * w[o][i] for T rows (HF nn.Linear, weight
/// [Out][In]). Row-major over the weight: each row is read once for all T;
/// the rows are split across the thread pool.
template <int T, int Out, int In, typename W>
inline void linear(const float *__restrict x, const W *__restrict w,
                   float *__restrict y) {
  if constexpr (uses_int8_activations<W, In>()) {
    // Static storage, one buffer per shape and calling thread: no
    // allocation at run time, sessions on different threads stay apart.
    static thread_local q8_activations<T, In> buffer;
    // The pool's threads read the caller's buffer (a static is not
    // captured: naming it in the lambda would mean each thread's own).
    q8_activations<T, In> &a = buffer;
    quantize_activations<T, In>(x, a);
    parallel_for(Out, 64, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        for (int t = 0; t < T; ++t) {
          if constexpr (std::is_same<W, q8>::value)
            y[t * Out + o] = row_dot_q8<T, In>(a, t, w, size_t(o));
          else
            y[t * Out + o] = row_dot_q4<T, In>(a, t, w, size_t(o));
        }
    });
  } else {
    parallel_for(Out, 64, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        for (int t = 0; t < T; ++t)
          y[t * Out + o] = row_dot<In>(x + t * In, w, size_t(o));
    });
  }
}

/// Several linears of one input through one stacked weight: the first
/// Outs[0] rows of |w| produce ys[0], the next Outs[1] rows ys[1], and so
/// on (fused q|k|v and gate|up projections stream one contiguous weight).
template <int T, int In, int... Outs, typename W, typename... Ys>
inline void fused_linear(const float *x, const W *w, Ys *...ys) {
  static_assert(sizeof...(Outs) == sizeof...(Ys), "one output per width");
  size_t row = 0;
  ((linear<T, Outs, In>(x, skip_rows<In>(w, row), ys), row += Outs), ...);
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

/// A float KV cache: K and V rows [Slots][KvHeads * HeadDim].
struct f32_kv {
  const float *k, *v;
};
/// An int8 KV cache: the same rows as int8, with one f32 scale per slot per
/// KV head ([Slots][KvHeads]) for K and for V.
struct q8_kv {
  const int8_t *k, *v;
  const float *k_scales, *v_scales;
};

/// q . K[slot][head]
template <int HeadDim, int KvHeads>
inline float key_dot(const f32_kv &cache, int64_t slot, int head,
                     const float *q) {
  return dot<HeadDim>(q, cache.k + (slot * KvHeads + head) * HeadDim);
}
template <int HeadDim, int KvHeads>
inline float key_dot(const q8_kv &cache, int64_t slot, int head,
                     const float *q) {
  const int64_t row = slot * KvHeads + head;
  const int8_t *k = cache.k + row * HeadDim;
  float sum = 0;
  for (int i = 0; i < HeadDim; ++i)
    sum += q[i] * float(k[i]);
  return sum * cache.k_scales[row];
}

/// out += weight * V[slot][head]
template <int HeadDim, int KvHeads>
inline void value_axpy(const f32_kv &cache, int64_t slot, int head,
                       float weight, float *out) {
  const float *v = cache.v + (slot * KvHeads + head) * HeadDim;
  for (int i = 0; i < HeadDim; ++i)
    out[i] += weight * v[i];
}
template <int HeadDim, int KvHeads>
inline void value_axpy(const q8_kv &cache, int64_t slot, int head, float weight,
                       float *out) {
  const int64_t row = slot * KvHeads + head;
  const int8_t *v = cache.v + row * HeadDim;
  const float scaled = weight * cache.v_scales[row];
  for (int i = 0; i < HeadDim; ++i)
    out[i] += scaled * float(v[i]);
}

/// Attention of one query position over the positions [first, last]: a
/// position p < fresh_start lives in slot p % Slots of the KV cache (a ring
/// for sliding layers, the identity for a linear cache of the context),
/// p >= fresh_start in row p - fresh_start of |fresh_keys|/|fresh_values|
/// (the current tokens, not yet stored). Rows are [KvHeads * HeadDim];
/// GQA: query head h reads KV head h / (QHeads / KvHeads); scaling 1.0.
/// |scores| has room for last - first + 1 floats.
template <int HeadDim, int QHeads, int KvHeads, int Slots, typename Cache>
inline void attend(const float *__restrict q, const Cache &cache,
                   const float *__restrict fresh_keys,
                   const float *__restrict fresh_values, int64_t fresh_start,
                   int64_t first, int64_t last, float *__restrict scores,
                   float *__restrict out) {
  static_assert(QHeads % KvHeads == 0, "query heads must group evenly");
  constexpr int kGroup = QHeads / KvHeads;
  constexpr int kRow = KvHeads * HeadDim;
  const int64_t count = last - first + 1;
  for (int h = 0; h < QHeads; ++h) {
    const float *qh = q + h * HeadDim;
    const int kv = h / kGroup;
    float max_score = -INFINITY;
    for (int64_t n = 0; n < count; ++n) {
      const int64_t p = first + n;
      scores[n] = p < fresh_start
                      ? key_dot<HeadDim, KvHeads>(cache, p % Slots, kv, qh)
                      : dot<HeadDim>(qh, fresh_keys + (p - fresh_start) * kRow +
                                             kv * HeadDim);
      max_score = scores[n] > max_score ? scores[n] : max_score;
    }
    float total = 0;
    for (int64_t n = 0; n < count; ++n)
      total += scores[n] = std::exp(scores[n] - max_score);
    float *oh = out + h * HeadDim;
    for (int i = 0; i < HeadDim; ++i)
      oh[i] = 0;
    for (int64_t n = 0; n < count; ++n) {
      const int64_t p = first + n;
      const float weight = scores[n] / total;
      if (p < fresh_start) {
        value_axpy<HeadDim, KvHeads>(cache, p % Slots, kv, weight, oh);
        continue;
      }
      const float *v = fresh_values + (p - fresh_start) * kRow + kv * HeadDim;
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
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window,
          typename Cache>
inline void attend_tokens(const float *q, const Cache &cache,
                          const float *fresh_keys, const float *fresh_values,
                          int64_t start, float *scores, float *out) {
  constexpr int kQ = QHeads * HeadDim;
  for (int t = 0; t < T; ++t) {
    const int64_t position = start + t;
    const int64_t first =
        Window > 0 && position >= Window ? position - Window + 1 : 0;
    attend<HeadDim, QHeads, KvHeads, Slots>(
        q + t * kQ, cache, fresh_keys, fresh_values,
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

/// kv_store into an int8 cache: each head's row quantised symmetrically
/// with its own scale (absmax / 127, round to nearest).
template <int T, int KvHeads, int HeadDim, int Slots>
inline void kv_store_q8(const float *k, const float *v, int64_t start,
                        int8_t *k_cache, int8_t *v_cache, float *k_scales,
                        float *v_scales) {
  auto quantise = [](const float *x, int8_t *q, float *scale) {
    float absmax = 0;
    for (int i = 0; i < HeadDim; ++i)
      absmax = std::fabs(x[i]) > absmax ? std::fabs(x[i]) : absmax;
    *scale = absmax / 127.0f;
    const float inverse = absmax > 0 ? 127.0f / absmax : 0.0f;
    for (int i = 0; i < HeadDim; ++i)
      q[i] = int8_t(std::nearbyint(x[i] * inverse));
  };
  for (int t = 0; t < T; ++t) {
    const int64_t slot = (start + t) % Slots;
    for (int h = 0; h < KvHeads; ++h) {
      const int64_t row = slot * KvHeads + h, in = (t * KvHeads + h) * HeadDim;
      quantise(k + in, k_cache + row * HeadDim, k_scales + row);
      quantise(v + in, v_cache + row * HeadDim, v_scales + row);
    }
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
          typename W, typename N>
inline void ple_combine(const int32_t *tokens, const W *table,
                        const float *context, const N *norm, float table_scale,
                        float context_scale, float eps, float *out) {
  static_assert(First + L <= TableLayers, "layers beyond the table");
  const float combine = 0.70710678118654752f;
  float slice[P], token_row[L * P];
  for (int t = 0; t < T; ++t) {
    // One gather of the token's row, straight from the mapped table.
    const int32_t row = tokens[t] < TableRows ? tokens[t] : 0;
    row_load<TableLayers * P, L * P>(table, size_t(row), First * P, token_row);
    for (int l = 0; l < L; ++l) {
      const float *c = context + (t * L + l) * P;
      for (int j = 0; j < P; ++j)
        slice[j] = c[j] * context_scale;
      rms_norm<1, P>(slice, norm, eps, slice);
      for (int j = 0; j < P; ++j)
        out[(t * L + l) * P + j] =
            (slice[j] + token_row[l * P + j] * table_scale) * combine;
    }
  }
}

/// out[t] = table[tokens[t]] * scale (the dtype-rounded sqrt(d)).
template <int T, int D, typename W>
inline void embed(const int32_t *tokens, const W *table, float scale,
                  float *out) {
  for (int t = 0; t < T; ++t) {
    row_load<D, D>(table, size_t(tokens[t]), 0, out + t * D);
    for (int i = 0; i < D; ++i)
      out[t * D + i] *= scale;
  }
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
template <int T, int D, int E, int K, int I, typename R, typename V, typename G,
          typename W>
inline void moe(const float *x, const float *router_input, const R *router,
                const V *router_scale, const V *per_expert_scale,
                const G *gate_up, const W *down, float eps, float *scratch,
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
      linear<1, 2 * I, D>(x + t * D, skip_rows<D>(gate_up, size_t(e) * 2 * I),
                          gu);
      gelu_gate<I>(gu, gu + I, hidden);
      linear<1, D, I>(hidden, skip_rows<I>(down, size_t(e) * D), expert_out);
      for (int i = 0; i < D; ++i)
        y[i] += weight * expert_out[i];
    }
  }
}

} // namespace g4k

#endif // G4K_H
