//===- g4k_halide.h - raw pointers as Halide buffers ------------*- C++ -*-===//
//
// Part of g4c. The object backend calls Halide-generated kernels through
// small C-ABI wrappers (NAME_kernels.cc). Each wraps the arena and weight
// pointers it gets in halide_buffer_t descriptors on the stack: row-major,
// dense or rows a given stride apart, shapes fixed by the compiler. No
// allocation.
//
//===----------------------------------------------------------------------===//

#ifndef G4K_HALIDE_H
#define G4K_HALIDE_H

#include "HalideRuntime.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace g4k {
namespace halide {

/// A buffer of |Dims| dimensions, the innermost first (Halide's order):
/// extents {width, rows} for a row-major [rows][width] array.
template <int Dims> class view {
public:
  view(const void *data, halide_type_t type, const int (&extents)[Dims]) {
    // 64-bit: a whole table's size (the last product) may pass 2^31.
    int64_t stride = 1;
    for (int d = 0; d < Dims; ++d) {
      dims_[d] = halide_dimension_t(0, extents[d], int32_t(stride));
      stride *= extents[d];
    }
    describe(data, type);
  }
  /// With explicit strides, in elements (part of a wider array).
  view(const void *data, halide_type_t type, const int (&extents)[Dims],
       const int (&strides)[Dims]) {
    for (int d = 0; d < Dims; ++d)
      dims_[d] = halide_dimension_t(0, extents[d], strides[d]);
    describe(data, type);
  }
  view(const view &) = delete;
  view &operator=(const view &) = delete;
  halide_buffer_t *get() { return &buffer_; }

private:
  void describe(const void *data, halide_type_t type) {
    buffer_.device = 0;
    buffer_.device_interface = nullptr;
    // Halide's descriptor has no const: inputs are only read.
    buffer_.host = static_cast<uint8_t *>(const_cast<void *>(data));
    buffer_.flags = 0;
    buffer_.type = type;
    buffer_.dimensions = Dims;
    buffer_.dim = dims_;
    buffer_.padding = nullptr;
  }

  halide_dimension_t dims_[Dims];
  halide_buffer_t buffer_;
};

inline halide_type_t f32() { return halide_type_t(halide_type_float, 32); }
/// bfloat16 values, read by the kernels as their bits.
inline halide_type_t bf16_bits() { return halide_type_t(halide_type_uint, 16); }
inline halide_type_t i32() { return halide_type_t(halide_type_int, 32); }
/// Quantised activations' int8 levels.
inline halide_type_t i8() { return halide_type_t(halide_type_int, 8); }
/// Packed int8 / int4 rows, read by the kernels as bytes.
inline halide_type_t bytes() { return halide_type_t(halide_type_uint, 8); }

/// A kernel's status: shapes are compile-time constants, so a failure is a
/// bug in the compiler, reported and fatal.
inline void check(int status, const char *kernel) {
  if (status != 0) {
    std::fprintf(stderr, "g4k: Halide kernel %s failed with status %d\n",
                 kernel, status);
    std::abort();
  }
}

} // namespace halide
} // namespace g4k

#endif // G4K_HALIDE_H
