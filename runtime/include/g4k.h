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
#ifdef G4K_PROFILE
#include <mutex>
#endif
#include <thread>
#include <type_traits>

// Kernels that a Halide kernel of the object backend (strict float: no
// fused multiply-adds) must match bit for bit round as written:
// G4K_NO_CONTRACT before the function for GCC, which decides per function
// (the code inlined into it included); G4K_NO_CONTRACT_BODY first in the
// body of it and of its callees for clang, which decides per expression.
// GCC inlines a function with the attribute only into one with it: a
// lambda on the way gets it too, after its parameters.
#if defined(__GNUC__) && !defined(__clang__)
#define G4K_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define G4K_NO_CONTRACT
#endif
// G4K_WIDE_VECTORS before a function whose vector-extension values are
// whole vectors of kLanes floats: clang otherwise splits them in two where
// the CPU prefers 256-bit vectors (x86-64 with AVX-512), and runs out of
// registers.
#if defined(__clang__)
#define G4K_WIDE_VECTORS __attribute__((min_vector_width(512)))
#else
#define G4K_WIDE_VECTORS
#endif
#if defined(__clang__)
#define G4K_NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#else
#define G4K_NO_CONTRACT_BODY
#endif

namespace g4k {

/// a * b rounded to float on its own: no compiler fuses it into the add
/// that follows. For GCC, fp-contract=off on the function is not enough
/// where it inlines the function into one without (it decides for the
/// function it inlines into); an empty asm that may change the product
/// ends its expression.
inline float unfused_product(float a, float b) {
  float product = a * b;
#if defined(__GNUC__) && !defined(__clang__)
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+x"(product));
#elif defined(__aarch64__)
  __asm__("" : "+w"(product));
#elif defined(__riscv) && defined(__riscv_flen)
  __asm__("" : "+f"(product));
#else
  __asm__("" : "+m"(product));
#endif
#endif
  return product;
}

/// A bf16 weight as stored in the .g4w file.
struct bf16 {
  uint16_t bits;
};

inline float widen(float value) { return value; }
inline float widen(int8_t value) { return float(value); } // int8 KV rows
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
// Profiling: built with G4K_PROFILE, every kernel the generated code calls
// adds its wall time and call count to a table by kernel name (outermost
// kernel only: the linears inside moe count as moe). Off by default, it
// costs nothing.
//===----------------------------------------------------------------------===//

#ifdef G4K_PROFILE
struct profile_entry {
  const char *name = nullptr;
  std::atomic<long long> nanoseconds{0}, calls{0};
};
constexpr int kProfileEntries = 32;
inline profile_entry *profile_table() {
  static profile_entry table[kProfileEntries];
  return table;
}
inline void profile_reset() {
  for (int i = 0; i < kProfileEntries; ++i) {
    profile_table()[i].nanoseconds = 0;
    profile_table()[i].calls = 0;
  }
}

/// The entry of kernel |name| (its string literal: there may be a copy
/// per translation unit, so entries are found by text).
inline profile_entry &profile_register(const char *name) {
  static std::mutex lock;
  static int used = 0;
  std::lock_guard<std::mutex> guard(lock);
  profile_entry *table = profile_table();
  for (int i = 0; i < used; ++i)
    if (std::strcmp(table[i].name, name) == 0)
      return table[i];
  if (used == kProfileEntries)
    return table[kProfileEntries - 1]; // more kernels than entries: lumped
  table[used].name = name;
  return table[used++];
}

class profile_scope {
public:
  explicit profile_scope(profile_entry &entry)
      : entry(entry), outermost(depth()++ == 0),
        start(std::chrono::steady_clock::now()) {}
  ~profile_scope() {
    --depth();
    if (!outermost)
      return;
    entry.nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    entry.calls += 1;
  }

private:
  static int &depth() {
    static thread_local int value = 0;
    return value;
  }
  profile_entry &entry;
  bool outermost;
  std::chrono::steady_clock::time_point start;
};
#define G4K_PROFILE_KERNEL(name)                                               \
  static ::g4k::profile_entry &g4k_profile_entry_ =                            \
      ::g4k::profile_register(name);                                           \
  ::g4k::profile_scope g4k_profile_scope_(g4k_profile_entry_)
#else
#define G4K_PROFILE_KERNEL(name) (void)0
#endif

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
    int expected = 0;
    if (!started.compare_exchange_strong(expected, 1))
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
    if (count == 1 || busy.exchange(1, std::memory_order_acquire)) {
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
    busy.store(0, std::memory_order_release);
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

  // Word-sized flags: byte atomics need libatomic on some targets (RISC-V).
  std::atomic<int> started{0}, busy{0};
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

#if defined(__GNUC__)
/// kLanes floats as one value of GCC's / clang's vector extension.
typedef float lane_vector __attribute__((vector_size(kLanes * sizeof(float))));

// Vectors go by reference: by value, their ABI would depend on the target
// (GCC's -Wpsabi).
G4K_WIDE_VECTORS inline void load_lanes(lane_vector &v, const float *p) {
  std::memcpy(&v, p, sizeof(v));
}
/// kLanes int8 values (an int8 KV cache's row), as floats.
G4K_WIDE_VECTORS inline void load_lanes(lane_vector &v, const int8_t *p) {
  typedef int8_t lane_bytes __attribute__((vector_size(kLanes)));
  lane_bytes bytes;
  std::memcpy(&bytes, p, sizeof(bytes));
  v = __builtin_convertvector(bytes, lane_vector);
}
#endif

/// sum_i a[i] * b[i] as dot's kLanes partial sums, then added pairwise
/// (lanes i and i + 8, then i + 4, ...) instead of dot's kLanes dependent
/// additions, whose latency was most of an attention score's time. GCC and
/// clang get the partial sums as one vector (their vector extension: the
/// loop vectoriser keeps dot's, but not this, in full-width registers);
/// other compilers the same values from an array. |b|: floats, or an int8
/// KV cache's levels (each widened to float).
template <int N, typename B>
G4K_NO_CONTRACT G4K_WIDE_VECTORS inline float
dot_pairwise(const float *__restrict a, const B *__restrict b) {
  G4K_NO_CONTRACT_BODY
  constexpr int kBody = N / kLanes * kLanes;
  float partial[kLanes] = {};
#if defined(__GNUC__)
  lane_vector sums = {};
  for (int i = 0; i < kBody; i += kLanes) {
    lane_vector x, y;
    load_lanes(x, a + i);
    load_lanes(y, b + i);
    sums += x * y;
  }
  std::memcpy(partial, &sums, sizeof(sums));
#else
  for (int i = 0; i < kBody; i += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      partial[lane] += a[i + lane] * widen(b[i + lane]);
#endif
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int lane = 0; lane < width; ++lane)
      partial[lane] += partial[lane + width];
  float sum = partial[0];
  for (int i = kBody; i < N; ++i)
    sum += a[i] * widen(b[i]);
  return sum;
}

/// sum_i x[i]^2 in dot's order, without fused multiply-adds: the object
/// backend's Halide RMSNorm (strict float) sums the same way, so the two
/// backends' norms agree bit for bit.
template <int N>
G4K_NO_CONTRACT inline float sum_squares(const float *__restrict x) {
  G4K_NO_CONTRACT_BODY
  float partial[kLanes] = {};
  constexpr int kBody = N / kLanes * kLanes;
  for (int i = 0; i < kBody; i += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      partial[lane] += x[i + lane] * x[i + lane];
  float sum = 0;
  for (int i = kBody; i < N; ++i)
    sum += x[i] * x[i];
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

/// Q8_0's rule for a block of |n| values: scale = absmax / 127, and the
/// factor that takes a value to its level (0 for an all-zero block).
struct q8_rule {
  float scale, inverse;
};
/// The rule of a block whose largest magnitude is |absmax|.
inline q8_rule q8_rule_for(float absmax) {
  return {absmax / 127.0f, absmax > 0 ? 127.0f / absmax : 0.0f};
}
inline q8_rule q8_rule_of(const float *x, int n) {
  float absmax = 0;
  for (int i = 0; i < n; ++i)
    absmax = std::fabs(x[i]) > absmax ? std::fabs(x[i]) : absmax;
  return q8_rule_for(absmax);
}
/// The level of |x| (round half to even).
inline int8_t q8_level(float x, float inverse) {
  return int8_t(std::nearbyint(x * inverse));
}

/// Activations quantised for integer dot products: per row of In values,
/// int8 values with one f32 scale per block of Block (Q8_0's rule: scale =
/// absmax / 127, q = round-half-even(x * 127 / absmax)), and the block sums
/// (int4 weights' offset correction). Blocks are 32 columns for int8
/// weights and the weight group for int4 ones (one scale product per group).
template <int T, int In, int Block> struct q8_activations {
  int8_t q[T][In];
  float scale[T][In / Block];
  float sum[T][In / Block]; ///< sum of q in the block
};

template <int T, int In, int Block>
inline void quantize_activations(const float *x,
                                 q8_activations<T, In, Block> &a, int first,
                                 int last) {
  for (int t = first; t < last; ++t)
    for (int b = 0; b < In / Block; ++b) {
      const float *block = x + t * In + b * Block;
      const q8_rule rule = q8_rule_of(block, Block);
      int sum = 0;
      for (int i = 0; i < Block; ++i) {
        const int8_t q = q8_level(block[i], rule.inverse);
        a.q[t][b * Block + i] = q;
        sum += q;
      }
      a.scale[t][b] = rule.scale;
      a.sum[t][b] = float(sum);
    }
}

/// f32 activations for the x86 f32 / bf16 kernels (g4k_x86.h).
template <int T, int In> struct float_rows { const float *x; };

/// The activation block of int8 weights.
constexpr int kActivationBlock = 32;

// The integer dot products come in two shapes: clang vectorises 16 lanes
// of products scaled into float lanes (no horizontal sum per block); g++
// vectorises a plain int32 reduction per block better.

/// x . w[row] with x quantised (int8 weights), times the row's scale. The
/// scaled sums are multiplies then adds, as the object backend's Halide
/// kernels compute them.
template <int T, int In>
inline float row_dot_q8(const q8_activations<T, In, kActivationBlock> &a, int t,
                        const q8 *w, size_t row) {
  G4K_NO_CONTRACT_BODY
  constexpr int kBlock = kActivationBlock;
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const int8_t *wq = reinterpret_cast<const int8_t *>(q);
  float sum = 0, scale;
#if defined(__clang__)
  float acc[16] = {};
  for (int b = 0; b < In / kBlock; ++b) {
    const int8_t *xb = a.q[t] + b * kBlock;
    const int8_t *wb = wq + b * kBlock;
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
  for (int b = 0; b < In / kBlock; ++b) {
    const int8_t *xb = a.q[t] + b * kBlock;
    const int8_t *wb = wq + b * kBlock;
    int32_t block = 0;
    for (int l = 0; l < kBlock; ++l)
      block += int32_t(wb[l]) * int32_t(xb[l]);
    sum += unfused_product(a.scale[t][b], float(block));
  }
#endif
  std::memcpy(&scale, q + In, sizeof(scale));
  return sum * scale;
}

/// x . w[row] with x quantised in blocks of the weight group (int4
/// weights): the stored nibbles n = q + 8 multiply the activations
/// directly; 8 * sum(x) comes off per group.
template <int T, int In, int Group>
inline float row_dot_q4(const q8_activations<T, In, Group> &a, int t,
                        const q4<Group> *w, size_t row) {
  G4K_NO_CONTRACT_BODY
  const uint8_t *q = bytes_of(skip_rows<In>(w, row));
  const uint8_t *scales = q + In / 2;
  constexpr int kHalf = Group / 2;
  float sum = 0;
#if defined(__clang__)
  float acc[16] = {};
#endif
  for (int g = 0; g < In / Group; ++g) {
    uint16_t bits;
    std::memcpy(&bits, scales + 2 * g, sizeof(bits));
    const float s = half_to_float(bits) * a.scale[t][g];
    const uint8_t *bytes = q + g * kHalf;
    const int8_t *xg = a.q[t] + g * Group;
#if defined(__clang__)
    for (int j0 = 0; j0 < kHalf; j0 += 16) {
      int32_t p[16];
      for (int l = 0; l < 16; ++l) {
        const int j = j0 + l;
        p[l] = int32_t(bytes[j] & 15) * xg[j] +
               int32_t(bytes[j] >> 4) * xg[j + kHalf];
      }
      for (int l = 0; l < 16; ++l)
        acc[l] += s * float(p[l]);
    }
    sum -= s * 8 * a.sum[t][g];
#else
    int32_t block = 0;
    for (int j = 0; j < kHalf; ++j)
      block += int32_t(bytes[j] & 15) * int32_t(xg[j]) +
               int32_t(bytes[j] >> 4) * int32_t(xg[j + kHalf]);
    sum += unfused_product(s, float(block) - 8 * a.sum[t][g]);
#endif
  }
#if defined(__clang__)
  for (int l = 0; l < 16; ++l)
    sum += acc[l];
#endif
  return sum;
}

/// y[t * Stride + o] = x[t] . w[o] for rows o in [begin, end) and T
/// tokens, on prepared activations (f32 rows, or quantised as below).
template <int T, int In, int Stride, typename W>
inline void dot_rows(const float *x, const W *w, int64_t begin, int64_t end,
                     float *y) {
  for (int64_t o = begin; o < end; ++o)
    for (int t = 0; t < T; ++t)
      y[t * Stride + o] = row_dot<In>(x + t * In, w, size_t(o));
}
template <int T, int In, int Stride>
inline void dot_rows(const q8_activations<T, In, kActivationBlock> &a,
                     const q8 *w, int64_t begin, int64_t end, float *y) {
  for (int64_t o = begin; o < end; ++o)
    for (int t = 0; t < T; ++t)
      y[t * Stride + o] = row_dot_q8<T, In>(a, t, w, size_t(o));
}
template <int T, int In, int Stride, int Group>
inline void dot_rows(const q8_activations<T, In, Group> &a, const q4<Group> *w,
                     int64_t begin, int64_t end, float *y) {
  for (int64_t o = begin; o < end; ++o)
    for (int t = 0; t < T; ++t)
      y[t * Stride + o] = row_dot_q4<T, In>(a, t, w, size_t(o));
}

} // namespace g4k

#if defined(__AVX512BW__) && defined(__AVX512VNNI__) &&                        \
    !defined(G4K_PORTABLE_ONLY)
#define G4K_AVX512 1
#include "g4k_avx512.h"
#elif defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) &&         \
    !defined(G4K_PORTABLE_ONLY)
#define G4K_AVX2 1
#include "g4k_avx2.h"
#endif

namespace g4k {

/// Whether the kernels were built with the AVX-512 VNNI integer products,
/// or with the AVX2 ones (targets with AVX2 but not AVX-512 VNNI).
#ifdef G4K_AVX512
namespace x86_kernels = avx512;
constexpr bool kAvx512Kernels = true;
#else
constexpr bool kAvx512Kernels = false;
#endif
#ifdef G4K_AVX2
namespace x86_kernels = avx2;
constexpr bool kAvx2Kernels = true;
#else
constexpr bool kAvx2Kernels = false;
#endif
#if defined(G4K_AVX512) || defined(G4K_AVX2)
#define G4K_X86_KERNELS 1
// One overload set: linear() picks the kernels by the activations' type.
using x86_kernels::dot_rows;
using x86_kernels::quantize_activations;
#endif

/// Whether linear<T, Out, In, W> quantises its activations to int8: for
/// int8 / int4 weights, whole activation blocks, unless compiled with
/// G4K_EXACT_ACTIVATIONS (f32 activations against dequantised weights).
template <typename W, int In> constexpr bool uses_int8_activations() {
#ifdef G4K_EXACT_ACTIVATIONS
  return false;
#else
  if constexpr (std::is_same<W, q8>::value)
    return In % kActivationBlock == 0;
  else if constexpr (is_q4<W>::value)
    return true; // groups are whole blocks
  else
    return false;
#endif
}

/// The activations linear() gives weights W: f32 rows (as float_rows for
/// the x86 f32 / bf16 kernels), or int8 quantised in the layout of the
/// best integer kernel compiled in.
template <typename W, int T, int In> struct prepared_activations {
#ifdef G4K_X86_KERNELS
  using type =
      std::conditional_t<(std::is_same<W, float>::value ||
                          std::is_same<W, bf16>::value) &&
                             In % x86_kernels::float_vector::kLanes == 0,
                         float_rows<T, In>, const float *>;
#else
  using type = const float *;
#endif
};
template <int T, int In> struct prepared_activations<q8, T, In> {
  using portable = q8_activations<T, In, kActivationBlock>;
#ifdef G4K_X86_KERNELS
  using simd = typename x86_kernels::activations<q8, T, In>::type;
  using type = std::conditional_t<std::is_void<simd>::value, portable, simd>;
#else
  using type = portable;
#endif
};
template <int Group, int T, int In>
struct prepared_activations<q4<Group>, T, In> {
  using portable = q8_activations<T, In, Group>;
#ifdef G4K_X86_KERNELS
  using simd = typename x86_kernels::activations<q4<Group>, T, In>::type;
  using type = std::conditional_t<std::is_void<simd>::value, portable, simd>;
#else
  using type = portable;
#endif
};

/// The order in which linear<T, Out, In, W> adds the scaled integer sums
/// of int8 activations (the object backend's Halide products follow it):
/// per output in block order (the AVX-512 and AVX2 kernels with tokens in
/// lanes, and the portable kernels as GCC builds them; clang's take 16 lanes
/// of 2 products per block), or in 16 lanes of 4 weight bytes per 64-byte
/// chunk, chunk after chunk, the lanes added as a tree at the end (the
/// AVX-512 and AVX2 chunked kernels).
enum class integer_sum_order { blocks, lanes };
template <typename W, int T, int In>
constexpr integer_sum_order integer_sum_order_of() {
#ifdef G4K_X86_KERNELS
  using chunks = typename x86_kernels::chunk_activations_for<W, T, In>::type;
  if constexpr (std::is_same<typename prepared_activations<W, T, In>::type,
                             chunks>::value)
    return integer_sum_order::lanes;
#endif
  return integer_sum_order::blocks;
}

/// Tokens per thread below which activations are quantised by one thread.
constexpr int64_t kQuantizeGrain = 4;

/// Runs body(activations) on |x| prepared for weights W. Quantised
/// activations live in static storage, one buffer per shape and calling
/// thread: no allocation at run time, sessions on different threads stay
/// apart; the pool's threads read the caller's buffer through the
/// reference passed on.
template <typename W, int T, int In, typename Body>
inline void with_activations(const float *x, Body body) {
  using A = typename prepared_activations<W, T, In>::type;
  if constexpr (uses_int8_activations<W, In>()) {
    static thread_local A buffer;
    A &a = buffer;
    parallel_for(T, kQuantizeGrain, [&](int64_t first, int64_t last) {
      quantize_activations(x, a, int(first), int(last));
    });
    body(static_cast<const A &>(a));
  } else if constexpr (std::is_same<A, float_rows<T, In>>::value) {
    body(A{x});
  } else {
    body(x);
  }
}

/// Elements per thread below which an elementwise kernel is not split.
constexpr int64_t kElementGrain = 2048;

/// Rows per thread below which a matrix is not split.
constexpr int64_t kRowGrain = 64;

/// y[t][o] = sum_i x[t][i] * w[o][i] for T rows (HF nn.Linear, weight
/// [Out][In]). Row-major over the weight: each row is read once for all T;
/// the rows are split across the thread pool.
template <int T, int Out, int In, typename W>
inline void linear(const float *__restrict x, const W *__restrict w,
                   float *__restrict y) {
  G4K_PROFILE_KERNEL("linear");
  with_activations<W, T, In>(x, [&](const auto &a) {
    parallel_for(Out, kRowGrain, [&](int64_t begin, int64_t end) {
      dot_rows<T, In, Out>(a, w, begin, end, y);
    });
  });
}

/// Rows [begin, end) of the whole stacked matrix, restricted to the part
/// [first, first + Out) that produces |y|.
template <int T, int In, int Out, typename A, typename W>
inline void stacked_part_rows(const A &a, const W *w, int64_t first,
                              int64_t begin, int64_t end, float *y) {
  const int64_t lo = begin > first ? begin : first;
  const int64_t hi = end < first + Out ? end : first + Out;
  if (lo >= hi)
    return;
  dot_rows<T, In, Out>(a, skip_rows<In>(w, size_t(first)), lo - first,
                       hi - first, y);
}

/// Several linears of one input through one stacked weight: the first
/// Outs[0] rows of |w| produce ys[0], the next Outs[1] rows ys[1], and so
/// on (fused q|k|v and gate|up projections stream one contiguous weight),
/// with one activation quantisation and one fork/join for all.
template <int T, int In, int... Outs, typename W, typename... Ys>
inline void fused_linear(const float *x, const W *w, Ys *...ys) {
  G4K_PROFILE_KERNEL("fused_linear");
  static_assert(sizeof...(Outs) == sizeof...(Ys), "one output per width");
  constexpr int64_t kRows = (int64_t(Outs) + ...);
  with_activations<W, T, In>(x, [&](const auto &a) {
    parallel_for(kRows, kRowGrain, [&](int64_t begin, int64_t end) {
      int64_t first = 0;
      ((stacked_part_rows<T, In, Outs>(a, w, first, begin, end, ys),
        first += Outs),
       ...);
    });
  });
}

/// Rows per thread below which a norm (or RoPE) of T rows is not split.
constexpr int64_t kNormRowGrain = 4;

/// Each of T rows of N: y = x * (mean(x^2) + eps)^-1/2 * w (plain weight).
template <int T, int N, typename W>
inline void rms_norm(const float *x, const W *__restrict w, float eps,
                     float *y) {
  G4K_PROFILE_KERNEL("rms_norm");
  parallel_for(T, kNormRowGrain, [&](int64_t first, int64_t last) {
    for (int64_t t = first; t < last; ++t) {
      const float *row = x + t * N;
      float scale = 1.0f / std::sqrt(sum_squares<N>(row) / float(N) + eps);
      for (int i = 0; i < N; ++i)
        y[t * N + i] = row[i] * scale * widen(w[i]);
    }
  });
}

/// rms_norm without a weight (Gemma 4's v_norm and router norm).
template <int T, int N>
inline void rms_norm_no_scale(const float *x, float eps, float *y) {
  G4K_PROFILE_KERNEL("rms_norm_no_scale");
  parallel_for(T, kNormRowGrain, [&](int64_t first, int64_t last) {
    for (int64_t t = first; t < last; ++t) {
      const float *row = x + t * N;
      float scale = 1.0f / std::sqrt(sum_squares<N>(row) / float(N) + eps);
      for (int i = 0; i < N; ++i)
        y[t * N + i] = row[i] * scale;
    }
  });
}

/// e^x for x in [-87, 87]: Cephes' expf (x = n ln2 + r, |r| <= ln2/2,
/// a degree-6 polynomial in r, times 2^n through the exponent bits), within
/// a few ulp. Plain arithmetic, so loops over it vectorise (std::exp and
/// std::tanh are libm calls, one value at a time).
inline float exp_approx(float x) {
  G4K_NO_CONTRACT_BODY
  const float n = float(int(x * 1.44269504f + (x >= 0 ? 0.5f : -0.5f)));
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, sizeof(bits));
  // Times 2^n through the exponent bits (a multiplication: shifting a
  // negative value is undefined).
  bits += int32_t(n) * (1 << 23);
  std::memcpy(&p, &bits, sizeof(p));
  return p;
}

inline float clamp_exponent(float x) {
  return x < -87.0f ? -87.0f : x > 87.0f ? 87.0f : x;
}

/// tanh(y) within ~1e-6 relative: an odd Taylor polynomial near 0, 1 -
/// 2 / (e^2|y| + 1) beyond (no cancellation there).
inline float tanh_approx(float y) {
  const float a = std::fabs(y), a2 = a * a;
  const float near_zero =
      a * (1.0f + a2 * (-1.0f / 3 + a2 * (2.0f / 15 + a2 * (-17.0f / 315))));
  const float beyond = 1.0f - 2.0f / (exp_approx(clamp_exponent(2 * a)) + 1.0f);
  const float t = a < 0.0625f ? near_zero : beyond;
  return y < 0 ? -t : t;
}

/// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
/// x / (1 + e^-2u) (the same value, without cancellation for x < 0).
inline float gelu_tanh(float x) {
  G4K_NO_CONTRACT_BODY
  const float kSqrt2OverPi = 0.7978845608028654f;
  const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  return x / (1.0f + exp_approx(clamp_exponent(-2 * u)));
}

/// out[i] = gelu_tanh(gate[i]) * up[i] for i in [begin, end), rounded as
/// written: the object backend's Halide gated GELU computes the same values.
G4K_NO_CONTRACT inline void gelu_gate_span(const float *gate, const float *up,
                                           float *out, int64_t begin,
                                           int64_t end) {
  int64_t i = begin;
#ifdef G4K_AVX512
  // Each vector is loaded before it is stored: out may be gate or up.
  for (; i + 16 <= end; i += 16)
    _mm512_storeu_ps(out + i, avx512::gelu_gate16(_mm512_loadu_ps(gate + i),
                                                  _mm512_loadu_ps(up + i)));
#endif
  for (; i < end; ++i)
    out[i] = gelu_tanh(gate[i]) * up[i];
}

/// out[i] = gelu_tanh(gate[i]) * up[i].
template <int N>
inline void gelu_gate(const float *gate, const float *up, float *out) {
  gelu_gate_span(gate, up, out, 0, N);
}

/// Rotate-half RoPE of one head by the rotations (cos, sin) of its first
/// Pairs frequencies: pairs (j, j + HeadDim/2) rotate, the rest
/// (proportional RoPE's zero frequencies) pass through.
template <int HeadDim, int Pairs>
inline void rope(float *head, const float *cos, const float *sin) {
  static_assert(Pairs <= HeadDim / 2, "more pairs than the head has");
  constexpr int kHalf = HeadDim / 2;
  for (int j = 0; j < Pairs; ++j) {
    float x1 = head[j], x2 = head[j + kHalf];
    head[j] = x1 * cos[j] - x2 * sin[j];
    head[j + kHalf] = x2 * cos[j] + x1 * sin[j];
  }
}

/// The rotations at |position|, angles in double: positions reach 1e5.
template <int Pairs>
inline void rope_rotations(const double *inverse_frequency, int64_t position,
                           float *cos, float *sin) {
  for (int j = 0; j < Pairs; ++j) {
    double angle = double(position) * inverse_frequency[j];
    cos[j] = float(std::cos(angle));
    sin[j] = float(std::sin(angle));
  }
}

/// cap * tanh(x / cap) over N values in place.
template <int N> inline void softcap(float *x, float cap) {
  G4K_PROFILE_KERNEL("softcap");
  parallel_for(N, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      x[i] = cap * tanh_approx(x[i] / cap);
  });
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
  return dot_pairwise<HeadDim>(q, cache.k + (slot * KvHeads + head) * HeadDim);
}
/// (q . the row's levels, in dot_pairwise's order) * the row's scale.
template <int HeadDim, int KvHeads>
G4K_NO_CONTRACT inline float key_dot(const q8_kv &cache, int64_t slot, int head,
                                     const float *q) {
  G4K_NO_CONTRACT_BODY
  const int64_t row = slot * KvHeads + head;
  return dot_pairwise<HeadDim>(q, cache.k + row * HeadDim) *
         cache.k_scales[row];
}

/// out += weight * V[slot][head]
template <int HeadDim, int KvHeads>
G4K_NO_CONTRACT inline void value_axpy(const f32_kv &cache, int64_t slot,
                                       int head, float weight, float *out) {
  G4K_NO_CONTRACT_BODY
  const float *v = cache.v + (slot * KvHeads + head) * HeadDim;
  for (int i = 0; i < HeadDim; ++i)
    out[i] += weight * v[i];
}
template <int HeadDim, int KvHeads>
G4K_NO_CONTRACT inline void value_axpy(const q8_kv &cache, int64_t slot,
                                       int head, float weight, float *out) {
  G4K_NO_CONTRACT_BODY
  const int64_t row = slot * KvHeads + head;
  const int8_t *v = cache.v + row * HeadDim;
  const float scaled = weight * cache.v_scales[row];
  for (int i = 0; i < HeadDim; ++i)
    out[i] += scaled * float(v[i]);
}

#if defined(__GNUC__)
//===----------------------------------------------------------------------===//
// Attention's inner loops on whole vectors (GCC / clang vector extension),
// with the values of the scalar loops: dot_pairwise's partial sums and
// pairwise order for the scores, the value rows' multiply-adds in position
// order. Scores of several query heads and positions share each key and
// query load, and their pairwise additions are done for 16 at once.
//===----------------------------------------------------------------------===//

/// One step of the pairwise additions for two vectors of items of 2 * Width
/// lanes each: the items of |x| then those of |y|, each item's lane l plus
/// its lane l + Width (Width lanes per item after).
template <int Width>
G4K_WIDE_VECTORS inline void
pairwise_step(const lane_vector &x, const lane_vector &y, lane_vector &out) {
  lane_vector sum;
  if constexpr (Width == 8)
    sum = __builtin_shufflevector(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19,
                                  20, 21, 22, 23) +
          __builtin_shufflevector(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25,
                                  26, 27, 28, 29, 30, 31);
  else if constexpr (Width == 4)
    sum = __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18,
                                  19, 24, 25, 26, 27) +
          __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22,
                                  23, 28, 29, 30, 31);
  else if constexpr (Width == 2)
    sum = __builtin_shufflevector(x, y, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20,
                                  21, 24, 25, 28, 29) +
          __builtin_shufflevector(x, y, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22,
                                  23, 26, 27, 30, 31);
  else
    sum = __builtin_shufflevector(x, y, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                  22, 24, 26, 28, 30) +
          __builtin_shufflevector(x, y, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                  23, 25, 27, 29, 31);
  out = sum;
}

/// out[m] = the pairwise sum of sums[m]'s lanes (dot_pairwise's order) for
/// M <= 16 vectors, M a power of two.
template <int M>
G4K_WIDE_VECTORS inline void pairwise_sums(lane_vector (&sums)[M], float *out) {
  static_assert(M >= 1 && M <= kLanes && (M & (M - 1)) == 0, "M: 1 .. 16");
  lane_vector step[M];
  int count = M;
  for (int m = 0; m < M; ++m)
    step[m] = sums[m];
  auto reduce = [&](auto width) {
    constexpr int kWidth = decltype(width)::value;
    // An odd vector out (only ever the last one left) pairs with itself.
    for (int m = 0; m < (count + 1) / 2; ++m)
      pairwise_step<kWidth>(
          step[2 * m], step[2 * m + 1 < count ? 2 * m + 1 : 2 * m], step[m]);
    count = (count + 1) / 2;
  };
  reduce(std::integral_constant<int, 8>());
  reduce(std::integral_constant<int, 4>());
  reduce(std::integral_constant<int, 2>());
  reduce(std::integral_constant<int, 1>());
  float lanes[kLanes];
  std::memcpy(lanes, &step[0], sizeof(lanes));
  for (int m = 0; m < M; ++m)
    out[m] = lanes[m];
}

/// scores[g * stride + j] = q_g . key j (dot_pairwise) for Heads query
/// heads (|q|: [Heads][HeadDim]) and P keys (floats, or int8 levels): each
/// key and query vector is loaded once for all of them.
template <int HeadDim, int Heads, int P, typename K>
G4K_NO_CONTRACT G4K_WIDE_VECTORS inline void
key_scores(const float *__restrict q, const K *const *keys, float *scores,
           int64_t stride) {
  G4K_NO_CONTRACT_BODY
  lane_vector sums[P * Heads] = {};
  for (int i = 0; i < HeadDim; i += kLanes) {
    lane_vector k[P];
    for (int j = 0; j < P; ++j)
      load_lanes(k[j], keys[j] + i);
    for (int g = 0; g < Heads; ++g) {
      lane_vector x;
      load_lanes(x, q + g * HeadDim + i);
      for (int j = 0; j < P; ++j)
        sums[j * Heads + g] += x * k[j];
    }
  }
  float result[P * Heads];
  pairwise_sums<P * Heads>(sums, result);
  for (int j = 0; j < P; ++j)
    for (int g = 0; g < Heads; ++g)
      scores[g * stride + j] = result[j * Heads + g];
}

/// out[g] += weight(weights[g * stride + n], n) * value row n, over n <
/// count in order, for Heads query heads: 2 vectors of every head's output
/// stay in registers while the rows (floats, or int8 levels) go by. |weight|
/// gives a position's weight as its row needs it (an int8 row: times the
/// row's scale, rounded, as value_axpy does).
template <int HeadDim, int Heads, typename Row, typename Weight>
G4K_NO_CONTRACT G4K_WIDE_VECTORS inline void
value_rows(const float *weights, int64_t stride, int64_t count, Row row,
           Weight weight, float *__restrict out) {
  G4K_NO_CONTRACT_BODY
  constexpr int kSlice = 2 * kLanes;
  static_assert(HeadDim % kSlice == 0, "whole slices");
  for (int i = 0; i < HeadDim; i += kSlice) {
    lane_vector acc[Heads][2];
    for (int g = 0; g < Heads; ++g)
      for (int h = 0; h < 2; ++h)
        load_lanes(acc[g][h], out + g * HeadDim + i + h * kLanes);
    for (int64_t n = 0; n < count; ++n) {
      const auto *v = row(n) + i;
      lane_vector v0, v1;
      load_lanes(v0, v);
      load_lanes(v1, v + kLanes);
      for (int g = 0; g < Heads; ++g) {
        const float w = weight(weights[g * stride + n], n);
        acc[g][0] += w * v0;
        acc[g][1] += w * v1;
      }
    }
    for (int g = 0; g < Heads; ++g)
      std::memcpy(out + g * HeadDim + i, acc[g], sizeof(acc[g]));
  }
}

/// Asks for the Bytes bytes at |row| to come into L2: decode's K and V
/// rows come from memory, and the loops above stalled on their loads.
template <int Bytes> inline void prefetch_bytes(const void *row) {
  for (int i = 0; i < Bytes; i += 64)
    __builtin_prefetch(static_cast<const char *>(row) + i, 0, 2);
}

/// How far ahead of its scores attend_heads asks for K rows.
constexpr int kKeyPrefetchBytes = 8192;

/// What the vector loops need of a KV cache's rows: their elements, and
/// what a row's scores and weights become (an f32 row: themselves).
template <typename Cache> struct kv_rows_of;
template <> struct kv_rows_of<f32_kv> {
  using element = float;
  static float score(const f32_kv &, int64_t, float sum) { return sum; }
  static float weight(const f32_kv &, int64_t, float w) { return w; }
};
/// An int8 row: its levels, and its scale applied as key_dot and
/// value_axpy apply it (after the sum; to the weight before the products).
template <> struct kv_rows_of<q8_kv> {
  using element = int8_t;
  static float score(const q8_kv &cache, int64_t row, float sum) {
    return sum * cache.k_scales[row];
  }
  static float weight(const q8_kv &cache, int64_t row, float w) {
    return w * cache.v_scales[row];
  }
};

/// The K and V rows of KV head |kv| that a query reads: position p <
/// fresh_start in slot p % Slots of the cache (f32 or int8), p >=
/// fresh_start in row p - fresh_start of the fresh rows (f32); and the
/// vector loops over them, the cached and the fresh positions of a block
/// apart (their rows differ in type).
template <int HeadDim, int KvHeads, int Slots, typename Cache = f32_kv>
struct cache_rows {
  using rows = kv_rows_of<Cache>;
  using element = typename rows::element;
  static constexpr int kRow = KvHeads * HeadDim;
  const Cache &cache;
  int kv;
  const float *fresh_keys, *fresh_values;
  int64_t fresh_start;

  /// The cache's row index of position p < fresh_start (scales: one a row).
  int64_t cached(int64_t p) const { return (p % Slots) * KvHeads + kv; }
  /// Position p's row (p < fresh_start) of the cache's K or V |rows|, and
  /// (p >= fresh_start) of the fresh ones.
  const element *cached_row(const element *rows, int64_t p) const {
    return rows + cached(p) * HeadDim;
  }
  const float *fresh(const float *rows, int64_t p) const {
    return rows + (p - fresh_start) * kRow + kv * HeadDim;
  }
  /// Position p's K or V row, of either kind (what the prefetches ask for).
  const void *any_row(const element *cached_rows, const float *fresh_rows,
                      int64_t p) const {
    return p < fresh_start
               ? static_cast<const void *>(cached_row(cached_rows, p))
               : fresh(fresh_rows, p);
  }
  /// Positions [block, block + count) as the cached part, then the fresh
  /// one: part(first, count, fresh) for each that is not empty.
  template <typename Part>
  void by_part(int64_t block, int64_t count, Part part) const {
    const int64_t end = block + count;
    const int64_t split = fresh_start < block ? block
                          : fresh_start < end ? fresh_start
                                              : end;
    if (split > block)
      part(block, split - block, std::false_type());
    if (end > split)
      part(split, end - split, std::true_type());
  }

  /// scores[g * stride + n] = q_g . K[block + n] for n < count, Heads query
  /// heads; K rows up to |last| asked for ahead, and the block's V rows.
  template <int Heads>
  G4K_NO_CONTRACT void key_scores(const float *q, int64_t block, int64_t count,
                                  int64_t last, float *scores,
                                  int64_t stride) const {
    by_part(block, count, [&](int64_t first, int64_t n_part, auto is_fresh) {
      constexpr bool kFresh = decltype(is_fresh)::value;
      using K = std::conditional_t<kFresh, float, element>;
      auto key = [&](int64_t p) -> const K * {
        if constexpr (kFresh)
          return fresh(fresh_keys, p);
        else
          return cached_row(cache.k, p);
      };
      float *part_scores = scores + (first - block);
      part_key_scores<Heads, K>(q, first, n_part, last, part_scores, stride,
                                key);
      if constexpr (!kFresh && !std::is_same<element, float>::value)
        for (int64_t n = 0; n < n_part; ++n)
          for (int g = 0; g < Heads; ++g) {
            float &score = part_scores[g * stride + n];
            score = rows::score(cache, cached(first + n), score);
          }
    });
  }

  /// key_scores over positions of one kind (rows of type K from key(p)).
  template <int Heads, typename K, typename Key>
  G4K_NO_CONTRACT void
  part_key_scores(const float *q, int64_t first, int64_t count, int64_t last,
                  float *scores, int64_t stride, Key key) const {
    constexpr int kPositions = kLanes / Heads; // one vector of scores
    constexpr int kKeyBytes = HeadDim * int(sizeof(element));
    constexpr int64_t kAhead =
        kKeyPrefetchBytes / kKeyBytes > 0 ? kKeyPrefetchBytes / kKeyBytes : 1;
    int64_t n = 0;
    for (; n + kPositions <= count; n += kPositions) {
      const K *keys[kPositions];
      for (int j = 0; j < kPositions; ++j) {
        const int64_t p = first + n + j, ahead = p + kAhead;
        keys[j] = key(p);
        // The K row kAhead positions on, and this V row, which value_rows
        // reads once the block's scores are done.
        prefetch_bytes<kKeyBytes>(
            any_row(cache.k, fresh_keys, ahead <= last ? ahead : last));
        prefetch_bytes<kKeyBytes>(any_row(cache.v, fresh_values, p));
      }
      g4k::key_scores<HeadDim, Heads, kPositions>(q, keys, scores + n, stride);
    }
    for (; n < count; ++n) {
      const K *one[1] = {key(first + n)};
      g4k::key_scores<HeadDim, Heads, 1>(q, one, scores + n, stride);
    }
  }

  /// out[g] += weights[g * stride + n] * V[block + n] for n < count.
  template <int Heads>
  void value_rows(const float *weights, int64_t stride, int64_t block,
                  int64_t count, float *out) const {
    by_part(block, count, [&](int64_t first, int64_t n_part, auto is_fresh) {
      const float *part_weights = weights + (first - block);
      if constexpr (decltype(is_fresh)::value) {
        g4k::value_rows<HeadDim, Heads>(
            part_weights, stride, n_part,
            [&](int64_t n) { return fresh(fresh_values, first + n); },
            [](float w, int64_t) { return w; }, out);
      } else {
        g4k::value_rows<HeadDim, Heads>(
            part_weights, stride, n_part,
            [&](int64_t n) { return cached_row(cache.v, first + n); },
            [&](float w, int64_t n) {
              return rows::weight(cache, cached(first + n), w);
            },
            out);
      }
    });
  }
};

/// Whether attend_heads takes the vector loops for this shape and cache.
template <int HeadDim, int Heads, typename Cache>
constexpr bool kVectorAttention =
    (std::is_same<Cache, f32_kv>::value || std::is_same<Cache, q8_kv>::value) &&
    (HeadDim % (2 * kLanes) == 0) && Heads <= kLanes && (kLanes % Heads == 0);
#else
template <int HeadDim, int Heads, typename Cache>
constexpr bool kVectorAttention = false;
#endif

/// The maximum of x[0 .. count), count > 0, in kLanes running maxima (a
/// loop that vectorises; the maximum of finite values in any order).
inline float lane_max(const float *x, int64_t count) {
  float lanes[kLanes];
  for (int lane = 0; lane < kLanes; ++lane)
    lanes[lane] = x[0];
  int64_t n = 0;
  for (; n + kLanes <= count; n += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      lanes[lane] = x[n + lane] > lanes[lane] ? x[n + lane] : lanes[lane];
  float max = lanes[0];
  for (int lane = 1; lane < kLanes; ++lane)
    max = lanes[lane] > max ? lanes[lane] : max;
  for (; n < count; ++n)
    max = x[n] > max ? x[n] : max;
  return max;
}

/// sum x[0 .. count) as kLanes partial sums (a loop that vectorises), added
/// in lane order, then the rest in order.
inline float lane_sum(const float *x, int64_t count) {
  float lanes[kLanes] = {};
  int64_t n = 0;
  for (; n + kLanes <= count; n += kLanes)
    for (int lane = 0; lane < kLanes; ++lane)
      lanes[lane] += x[n + lane];
  float sum = 0;
  for (int lane = 0; lane < kLanes; ++lane)
    sum += lanes[lane];
  for (; n < count; ++n)
    sum += x[n];
  return sum;
}

/// The running softmax of Heads query heads while blocks of positions go
/// by: the largest score so far and the sum of the weights, per head (the
/// weighted sums of value rows are the caller's |out|).
template <int Heads> struct softmax_sums {
  float max_score[Heads], total[Heads];
};

/// Starts |sums| and the weighted sums |out| ([Heads][HeadDim]) at nothing.
template <int HeadDim, int Heads>
inline void start_softmax(softmax_sums<Heads> &sums, float *__restrict out) {
  for (int g = 0; g < Heads; ++g) {
    sums.max_score[g] = -INFINITY;
    sums.total[g] = 0;
    for (int i = 0; i < HeadDim; ++i)
      out[g * HeadDim + i] = 0;
  }
}

/// Turns a block's scores (scores[g * stride + n], n < count) into its
/// weights: a larger maximum first rescales the sums so far (0 at first).
template <int HeadDim, int Heads>
G4K_NO_CONTRACT inline void
block_weights(softmax_sums<Heads> &sums, float *__restrict scores,
              int64_t stride, int64_t count, float *__restrict out) {
  G4K_NO_CONTRACT_BODY
  for (int g = 0; g < Heads; ++g) {
    float *weights = scores + g * stride;
    const float block_max = lane_max(weights, count);
    if (block_max > sums.max_score[g]) {
      const float rescale = std::exp(sums.max_score[g] - block_max);
      sums.total[g] *= rescale;
      for (int i = 0; i < HeadDim; ++i)
        out[g * HeadDim + i] *= rescale;
      sums.max_score[g] = block_max;
    }
    // The scores become the weights: in vector instructions (std::exp,
    // one libm call per score, was a fifth of prefill's attention).
    const float max = sums.max_score[g];
    for (int64_t n = 0; n < count; ++n)
      weights[n] = exp_approx(clamp_exponent(weights[n] - max));
    sums.total[g] += lane_sum(weights, count);
  }
}

/// Divides the weighted sums by the weights' total; with |lse|, lse[g] =
/// log(sum_n e^score) of head g (see attend_blocks).
template <int HeadDim, int Heads>
G4K_NO_CONTRACT inline void finish_softmax(const softmax_sums<Heads> &sums,
                                           float *__restrict out,
                                           float *__restrict lse) {
  G4K_NO_CONTRACT_BODY
  for (int g = 0; g < Heads; ++g) {
    const float inverse = 1 / sums.total[g];
    for (int i = 0; i < HeadDim; ++i)
      out[g * HeadDim + i] *= inverse;
    if (lse)
      lse[g] = sums.max_score[g] + std::log(sums.total[g]);
  }
}

/// The softmax-weighted sum of value rows for Heads query heads over the
/// positions [first, last], a block of positions at a time (as many as
/// |scores| has |room| for, room / Heads per head), with a running maximum:
/// any number of positions in fixed scratch space. The rows come through
///   block_scores(block, count, scores, stride): scores[g * stride + n] =
///     q_g . K[block + n] (dot_pairwise's sums), n < count;
///   block_values(block, count, weights, stride, out): out[g * HeadDim + i]
///     += weights[g * stride + n] * V[block + n][i], n in order;
/// (attend_heads' over a cache; the object backend's Halide kernels). The
/// maximum, the exponentials and the sums stay here, so both round alike.
/// With |lse|, lse[g] = log(sum_n e^score) of head g, for merging with the
/// attention of other positions (merge_attention).
template <int HeadDim, int Heads, typename Scores, typename Values>
G4K_NO_CONTRACT inline void
attend_blocks(int64_t first, int64_t last, float *__restrict scores,
              int64_t room, float *__restrict out, Scores block_scores,
              Values block_values, float *__restrict lse = nullptr) {
  const int64_t block_room = room / Heads; // scores of head g at g * this
  softmax_sums<Heads> sums;
  start_softmax<HeadDim>(sums, out);
  for (int64_t block = first; block <= last; block += block_room) {
    const int64_t count =
        last - block + 1 < block_room ? last - block + 1 : block_room;
    block_scores(block, count, scores, block_room);
    block_weights<HeadDim>(sums, scores, block_room, count, out);
    block_values(block, count, static_cast<const float *>(scores), block_room,
                 out);
  }
  finish_softmax<HeadDim>(sums, out, lse);
}

/// Attention of query heads [h0, h0 + Heads) that read KV head |kv| (see
/// attend): attend_blocks over the cache and the fresh rows, each
/// position's K and V rows read once for all of them. |room| >= Heads.
template <int HeadDim, int KvHeads, int Slots, int Heads, typename Cache>
G4K_NO_CONTRACT inline void attend_heads(
    const float *__restrict q, const Cache &cache, int kv,
    const float *__restrict fresh_keys, const float *__restrict fresh_values,
    int64_t fresh_start, int64_t first, int64_t last, float *__restrict scores,
    int64_t room, float *__restrict out, float *__restrict lse = nullptr) {
  G4K_NO_CONTRACT_BODY
  constexpr int kRow = KvHeads * HeadDim;
  // The K or V row of position p >= fresh_start.
  auto fresh_row = [&](const float *fresh, int64_t p) {
    return fresh + (p - fresh_start) * kRow + kv * HeadDim;
  };
  if constexpr (kVectorAttention<HeadDim, Heads, Cache>) {
    const cache_rows<HeadDim, KvHeads, Slots, Cache> kv_rows{
        cache, kv, fresh_keys, fresh_values, fresh_start};
    attend_blocks<HeadDim, Heads>(
        first, last, scores, room, out,
        [&](int64_t block, int64_t count, float *block_scores, int64_t stride) {
          kv_rows.template key_scores<Heads>(q, block, count, last,
                                             block_scores, stride);
        },
        [&](int64_t block, int64_t count, const float *weights, int64_t stride,
            float *sums) {
          kv_rows.template value_rows<Heads>(weights, stride, block, count,
                                             sums);
        },
        lse);
    return;
  }
  attend_blocks<HeadDim, Heads>(
      first, last, scores, room, out,
      [&](int64_t block, int64_t count, float *block_scores, int64_t stride)
          G4K_NO_CONTRACT {
            for (int64_t n = 0; n < count; ++n) {
              const int64_t p = block + n;
              for (int g = 0; g < Heads; ++g) {
                const float *qh = q + g * HeadDim;
                block_scores[g * stride + n] =
                    p < fresh_start
                        ? key_dot<HeadDim, KvHeads>(cache, p % Slots, kv, qh)
                        : dot_pairwise<HeadDim>(qh, fresh_row(fresh_keys, p));
              }
            }
          },
      [&](int64_t block, int64_t count, const float *weights, int64_t stride,
          float *sums) G4K_NO_CONTRACT {
        for (int64_t n = 0; n < count; ++n) {
          const int64_t p = block + n;
          for (int g = 0; g < Heads; ++g) {
            const float weight = weights[g * stride + n];
            float *sum = sums + g * HeadDim;
            if (p < fresh_start) {
              value_axpy<HeadDim, KvHeads>(cache, p % Slots, kv, weight, sum);
              continue;
            }
            const float *v = fresh_row(fresh_values, p);
            for (int i = 0; i < HeadDim; ++i)
              sum[i] += weight * v[i];
          }
        }
      },
      lse);
}

/// Attention of one query position over the positions [first, last]: a
/// position p < fresh_start lives in slot p % Slots of the KV cache (a ring
/// for sliding layers, the identity for a linear cache of the context),
/// p >= fresh_start in row p - fresh_start of the fresh keys / values
/// (the current tokens, not yet stored). Rows are [KvHeads * HeadDim];
/// GQA: query head h reads KV head h / (QHeads / KvHeads); scaling 1.0.
/// The positions are taken a block at a time, as many as |scores| has room
/// for (|room| floats), with a running maximum: softmax over any number of
/// positions in fixed scratch space. The query heads of one KV head go
/// together when there is room for a score of each.
///
/// |heads| computes the attention of some query heads of one KV head:
/// heads(std::integral_constant<int, Heads>, q, kv, fresh_start, first,
/// last, scores, room, out, lse), as attend_heads does (heads_of_cache; the
/// object backend's Halide kernels); |lse| may be null.
template <int HeadDim, int QHeads, int KvHeads, typename Heads>
inline void attend_with(const float *__restrict q, int64_t fresh_start,
                        int64_t first, int64_t last, float *__restrict scores,
                        int64_t room, float *__restrict out, Heads &heads) {
  static_assert(QHeads % KvHeads == 0, "query heads must group evenly");
  constexpr int kGroup = QHeads / KvHeads;
  for (int kv = 0; kv < KvHeads; ++kv) {
    const int h0 = kv * kGroup;
    if (room >= kGroup) {
      heads(std::integral_constant<int, kGroup>(), q + h0 * HeadDim, kv,
            fresh_start, first, last, scores, room, out + h0 * HeadDim,
            nullptr);
      continue;
    }
    for (int h = h0; h < h0 + kGroup; ++h)
      heads(std::integral_constant<int, 1>(), q + h * HeadDim, kv, fresh_start,
            first, last, scores, room, out + h * HeadDim, nullptr);
  }
}

/// attend_heads on |cache| and the fresh rows, as attend_with's |heads|.
template <int HeadDim, int KvHeads, int Slots, typename Cache>
inline auto heads_of_cache(const Cache &cache, const float *fresh_keys,
                           const float *fresh_values) {
  return [&cache, fresh_keys,
          fresh_values](auto heads, const float *q, int kv, int64_t fresh_start,
                        int64_t first, int64_t last, float *scores,
                        int64_t room, float *out, float *lse) {
    attend_heads<HeadDim, KvHeads, Slots, decltype(heads)::value>(
        q, cache, kv, fresh_keys, fresh_values, fresh_start, first, last,
        scores, room, out, lse);
  };
}

/// attend_with over |cache| and the fresh rows |fresh_keys|/|fresh_values|.
template <int HeadDim, int QHeads, int KvHeads, int Slots, typename Cache>
inline void attend(const float *__restrict q, const Cache &cache,
                   const float *__restrict fresh_keys,
                   const float *__restrict fresh_values, int64_t fresh_start,
                   int64_t first, int64_t last, float *__restrict scores,
                   int64_t room, float *__restrict out) {
  auto heads =
      heads_of_cache<HeadDim, KvHeads, Slots>(cache, fresh_keys, fresh_values);
  attend_with<HeadDim, QHeads, KvHeads>(q, fresh_start, first, last, scores,
                                        room, out, heads);
}

/// out = the attention over the positions of both parts, from |out| and
/// |other|, each over its own positions, and their log-sum-exps (see
/// attend_blocks): each weighted by e^(its lse - the larger one).
template <int HeadDim, int Heads>
G4K_NO_CONTRACT inline void merge_attention(float *__restrict out,
                                            const float *__restrict lse,
                                            const float *__restrict other,
                                            const float *__restrict other_lse) {
  G4K_NO_CONTRACT_BODY
  for (int g = 0; g < Heads; ++g) {
    const float max = lse[g] > other_lse[g] ? lse[g] : other_lse[g];
    const float mine = std::exp(lse[g] - max),
                theirs = std::exp(other_lse[g] - max);
    const float inverse = 1 / (mine + theirs);
    for (int i = 0; i < HeadDim; ++i) {
      float &x = out[g * HeadDim + i];
      x = (x * mine + other[g * HeadDim + i] * theirs) * inverse;
    }
  }
}

/// Positions of a decode step's attention below which they are not split.
constexpr int64_t kAttentionPartGrain = 64;

/// How attend_tokens splits its work across the pool: calls |heads| (see
/// attend_with) for every token and group of query heads, each with its share
/// of |scores| (Slots + T floats). |fresh|: whether the current tokens'
/// K/V come apart from the cache.
template <int T, int HeadDim, int QHeads, int KvHeads, int Slots, int Window,
          typename Heads>
inline void split_attention(const float *q, bool fresh, int64_t start,
                            float *scores, float *out, Heads heads) {
  constexpr int kQ = QHeads * HeadDim;
  // One token (decode): each KV head's query heads together, over the first
  // or the second half of the positions when the pool has threads to spare
  // (each half's K/V rows read by one thread only, not by every thread for
  // its heads); the halves' sums wait in |out| and on the stack, and are
  // merged by their log-sum-exps.
  constexpr int kGroup = QHeads / KvHeads;
  constexpr int64_t kRoomPerTask = (Slots + 1) / (2 * KvHeads);
  if constexpr (T == 1 && kRoomPerTask >= kGroup) {
    const int64_t first =
        Window > 0 && start >= Window ? start - Window + 1 : 0;
    const int64_t positions = start - first + 1;
    const int parts =
        threads().threads() > KvHeads && positions >= 2 * kAttentionPartGrain
            ? 2
            : 1;
    // Part 0: [first, middle), part 1: [middle, start].
    const int64_t middle = parts == 2 ? first + positions / 2 : start + 1;
    float second[kQ], lse[2][QHeads];
    parallel_for(parts * KvHeads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const int part = int(task / KvHeads), kv = int(task % KvHeads);
        const int h0 = kv * kGroup;
        heads(std::integral_constant<int, kGroup>(), q + h0 * HeadDim, kv,
              fresh ? start : start + 1, part == 0 ? first : middle,
              part == 0 ? middle - 1 : start, scores + task * kRoomPerTask,
              kRoomPerTask, (part == 0 ? out : second) + h0 * HeadDim,
              parts == 2 ? lse[part] + h0 : nullptr);
      }
    });
    if (parts == 2)
      merge_attention<HeadDim, QHeads>(out, lse[0], second, lse[1]);
    return;
  }
  // Tokens split across the pool; tokens [begin, end) own the floats of
  // |scores| from begin * kRoomPerToken on (at least one each).
  constexpr int64_t kRoomPerToken = (Slots + T) / T;
  parallel_for(T, 1, [&](int64_t begin, int64_t end) {
    const int64_t room = (end - begin) * kRoomPerToken;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t position = start + t;
      const int64_t first =
          Window > 0 && position >= Window ? position - Window + 1 : 0;
      attend_with<HeadDim, QHeads, KvHeads>(
          q + t * kQ, fresh ? start : position + 1, first, position,
          scores + begin * kRoomPerToken, room, out + t * kQ, heads);
    }
  });
}

/// Tokens that attend_tiles takes together, and the positions of its blocks.
constexpr int kAttentionTileTokens = 4, kAttentionTileBlock = 64;

/// The attention of T > 1 tokens (prefill; see attend_tokens): a tile of
/// kAttentionTileTokens tokens goes over its positions a block at a time,
/// and each token takes the block before the next one (its own running
/// softmax, as in attend_blocks), so that the block's K and V rows are
/// read from memory once for all of them (one token at a time, each one
/// went over the whole window and found nothing of it left in L2). The
/// blocks are those of the positions' own grid (multiples of
/// kAttentionTileBlock): a token's sums do not depend on its tile or on the
/// pool. Tiles go to the pool's threads in the order first, last, second,
/// ... so that each gets a like share of the causal work.
///
/// rows_of(kv, fresh_start) gives the loops over KV head kv's rows
/// (positions from fresh_start on are the fresh ones): .key_scores<Heads>(q,
/// block, count, last, scores, stride) and .value_rows<Heads>(weights,
/// stride, block, count, out), as attend_blocks' block_scores and
/// block_values, for the QHeads / KvHeads query heads of one KV head
/// (cache_rows; the object backend's Halide kernels).
template <int T, int HeadDim, int QHeads, int KvHeads, int Window,
          typename RowsOf>
inline void attend_tiles(const float *q, bool fresh, int64_t start, float *out,
                         RowsOf rows_of) {
  constexpr int kQ = QHeads * HeadDim, kGroup = QHeads / KvHeads;
  constexpr int kTokens = kAttentionTileTokens, kBlock = kAttentionTileBlock;
  constexpr int64_t kTiles = (T + kTokens - 1) / kTokens;
  // Without fresh rows the cache holds every position a token reads (all
  // before start + T).
  const int64_t fresh_start = fresh ? start : start + T;
  auto tile = [&](int t0, int tokens) {
    int64_t first[kTokens] = {}, last[kTokens] = {};
    for (int j = 0; j < tokens; ++j) {
      last[j] = start + t0 + j;
      first[j] = Window > 0 && last[j] >= Window ? last[j] - Window + 1 : 0;
    }
    for (int kv = 0; kv < KvHeads; ++kv) {
      const auto rows = rows_of(kv, fresh_start);
      // Token j's queries and outputs of this KV head's query heads.
      const int64_t heads = int64_t(kv) * kGroup * HeadDim;
      auto query = [&](int j) { return q + (t0 + j) * kQ + heads; };
      auto output = [&](int j) { return out + (t0 + j) * kQ + heads; };
      softmax_sums<kGroup> sums[kTokens];
      for (int j = 0; j < tokens; ++j)
        start_softmax<HeadDim>(sums[j], output(j));
      for (int64_t block = first[0] / kBlock * kBlock;
           block <= last[tokens - 1]; block += kBlock) {
        for (int j = 0; j < tokens; ++j) {
          const int64_t begin = block > first[j] ? block : first[j];
          const int64_t end =
              block + kBlock - 1 < last[j] ? block + kBlock - 1 : last[j];
          if (begin > end)
            continue;
          const int64_t count = end - begin + 1;
          float scores[kGroup * kBlock];
          rows.template key_scores<kGroup>(query(j), begin, count, last[j],
                                           scores, kBlock);
          block_weights<HeadDim>(sums[j], scores, kBlock, count, output(j));
          rows.template value_rows<kGroup>(scores, kBlock, begin, count,
                                           output(j));
        }
      }
      for (int j = 0; j < tokens; ++j)
        finish_softmax<HeadDim>(sums[j], output(j), nullptr);
    }
  };
  parallel_for(kTiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t index = i % 2 == 0 ? i / 2 : kTiles - 1 - i / 2;
      const int t0 = int(index) * kTokens;
      tile(t0, T - t0 < kTokens ? T - t0 : kTokens);
    }
  });
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
  G4K_PROFILE_KERNEL("attend_tokens");
#if defined(__GNUC__)
  if constexpr (T > 1 && kVectorAttention<HeadDim, QHeads / KvHeads, Cache>) {
    attend_tiles<T, HeadDim, QHeads, KvHeads, Window>(
        q, fresh_keys != nullptr, start, out, [&](int kv, int64_t fresh_start) {
          return cache_rows<HeadDim, KvHeads, Slots, Cache>{
              cache, kv, fresh_keys, fresh_values, fresh_start};
        });
    return;
  }
#endif
  split_attention<T, HeadDim, QHeads, KvHeads, Slots, Window>(
      q, fresh_keys != nullptr, start, scores, out,
      heads_of_cache<HeadDim, KvHeads, Slots>(cache, fresh_keys, fresh_values));
}

/// Writes K/V rows of positions start + t to slot (start + t) % Slots.
template <int T, int Row, int Slots>
inline void kv_store(const float *k, const float *v, int64_t start,
                     float *k_cache, float *v_cache) {
  G4K_PROFILE_KERNEL("kv_store");
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
  G4K_PROFILE_KERNEL("kv_store_q8");
  auto quantise = [](const float *x, int8_t *q, float *scale) {
    const q8_rule rule = q8_rule_of(x, HeadDim);
    *scale = rule.scale;
    for (int i = 0; i < HeadDim; ++i)
      q[i] = q8_level(x[i], rule.inverse);
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
  G4K_PROFILE_KERNEL("rope_rows");
  parallel_for(T, kNormRowGrain, [&](int64_t first, int64_t last) {
    for (int64_t t = first; t < last; ++t) {
      float cos[Pairs > 0 ? Pairs : 1],
          sin[Pairs > 0 ? Pairs : 1]; // once per position
      rope_rotations<Pairs>(inverse_frequency, start + t, cos, sin);
      for (int h = 0; h < Heads; ++h)
        rope<HeadDim, Pairs>(x + (t * Heads + h) * HeadDim, cos, sin);
    }
  });
}

/// theta^(-2j / head_dim) for j < Pairs (unspecialised attention only).
template <int Pairs>
inline void rope_frequencies(double theta, int head_dim, double *out) {
  for (int j = 0; j < Pairs; ++j)
    out[j] = std::pow(theta, -double(2 * j) / head_dim);
}

/// y = x over N values.
template <int N> inline void copy(const float *x, float *y) {
  G4K_PROFILE_KERNEL("copy");
  std::memcpy(y, x, sizeof(float) * N);
}

/// out[t][i] = gelu_tanh(gate[t][i]) * up[t][i]; gate and up rows are
/// GateStride and UpStride floats apart (halves of a fused product, a
/// layer's slice of the per-layer inputs). May run in place on |gate|.
template <int T, int N, int GateStride, int UpStride>
inline void gelu_gate_rows(const float *gate, const float *up, float *out) {
  G4K_PROFILE_KERNEL("gelu_gate_rows");
  // Split by columns across the pool (decode has one long row).
  parallel_for(N, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int t = 0; t < T; ++t)
      gelu_gate_span(gate + t * GateStride, up + t * UpStride, out + t * N,
                     begin, end);
  });
}

/// Per-Layer Embeddings, after the context projection, for the L layers
/// First.. of a table whose rows hold TableLayers * P values: out[t][l] =
/// (RMSNorm(context[t][l] * context_scale; norm) + table[row][First + l] *
/// table_scale) * 2^-1/2, row = tokens[t] (0 beyond the table: multimodal
/// placeholders read row 0).
/// Rounded as written: the object backend's Halide kernel computes the same.
template <int T, int L, int P, int TableRows, int TableLayers, int First,
          typename W, typename N>
G4K_NO_CONTRACT inline void ple_combine(const int32_t *tokens, const W *table,
                                        const float *context, const N *norm,
                                        float table_scale, float context_scale,
                                        float eps, float *out) {
  G4K_NO_CONTRACT_BODY
  G4K_PROFILE_KERNEL("ple_combine");
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
  G4K_PROFILE_KERNEL("embed");
  for (int t = 0; t < T; ++t) {
    row_load<D, D>(table, size_t(tokens[t]), 0, out + t * D);
    for (int i = 0; i < D; ++i)
      out[t * D + i] *= scale;
  }
}

/// out = a + b over N values.
template <int N> inline void add(const float *a, const float *b, float *out) {
  G4K_PROFILE_KERNEL("add");
  for (int i = 0; i < N; ++i)
    out[i] = a[i] + b[i];
}

/// out = x * scalar[0] over N values (the learned layer scalar).
template <int N, typename W>
inline void scale(const float *x, const W *scalar, float *out) {
  G4K_PROFILE_KERNEL("scale");
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
  G4K_PROFILE_KERNEL("moe");
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
