//===- QuantisedLinearKernelTest.cpp - Halide int8 / int4 products --------===//
//
// Part of g4c. The generated int8 / int4 matrix products, fed the
// activations g4k::quantize_activations makes (as the object backend's
// wrappers feed them), must match double sums over the same levels and the
// packer's dequantised weights, and g4k::linear bit for bit wherever g4k
// adds the scaled sums in the instance's order (g4k::integer_sum_order_of):
// both backends must round alike. Rows are passed as the wrappers pass
// them: a thread's part of the rows, the output's token rows a whole matrix
// apart.
//
//===----------------------------------------------------------------------===//

#include "g4c_quantised_linear_int4_blocks_host.h"
#include "g4c_quantised_linear_int4_lanes_host.h"
#include "g4c_quantised_linear_int8_blocks_host.h"
#include "g4c_quantised_linear_int8_lanes_host.h"

#include "targets/weights/Quantize.h"

#include "HalideBuffer.h"
#include "g4k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using g4c::weightfile::Format;
using Halide::Runtime::Buffer;

using Kernel = int (*)(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *,
                       halide_buffer_t *);

std::vector<float> randomValues(size_t count, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> value(0.0f, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = value(rng);
  return values;
}

/// One instance: T tokens of In columns against Rows rows of W weights,
/// the scaled sums in |order|.
template <typename W, int T, int Rows, int In, int Block> struct Instance {
  Format format;
  int group;
  g4k::integer_sum_order order;
  Kernel kernel;

  void check() const {
    const size_t rowSize = g4k::row_bytes<In>(static_cast<const W *>(nullptr));
    ASSERT_EQ(rowSize, g4c::weightfile::rowBytes(format, In, group));
    // Gaussian activations with a few large ones, as real layers have.
    std::vector<float> x = randomValues(size_t(T) * In, 1, 1.0f);
    x[3] = 9.0f;
    const std::vector<float> values = randomValues(size_t(Rows) * In, 2, 0.02f);
    std::vector<uint8_t> packed(Rows * rowSize);
    std::vector<float> dequantised(values.size());
    for (int r = 0; r < Rows; ++r) {
      g4c::quantizeRow(format, group, &values[size_t(r) * In], In,
                       &packed[r * rowSize]);
      g4c::dequantizeRow(format, group, &packed[r * rowSize], In,
                         &dequantised[size_t(r) * In]);
    }

    static g4k::q8_activations<T, In, Block> a;
    g4k::quantize_activations(x.data(), a, 0, T);
    // All rows in one call, then in parts of 6 and the rest (a whole row
    // tile, a partial one), as two threads would take them.
    std::vector<float> y(T * Rows, NAN), parts(T * Rows, NAN),
        library(T * Rows, NAN);
    auto run = [&](int first, int count, std::vector<float> &out) {
      Buffer<int8_t, 2> levels(&a.q[0][0], In, T);
      Buffer<float, 2> scales(&a.scale[0][0], In / Block, T);
      Buffer<uint8_t, 2> weight(packed.data() + first * rowSize, int(rowSize),
                                count);
      halide_dimension_t outputDims[] = {{0, count, 1}, {0, T, Rows}};
      Buffer<float, 2> output(out.data() + first, 2, outputDims);
      return kernel(levels, scales, weight, output);
    };
    ASSERT_EQ(run(0, Rows, y), 0);
    ASSERT_EQ(run(0, 6, parts), 0);
    ASSERT_EQ(run(6, Rows - 6, parts), 0);
    g4k::linear<T, Rows, In>(
        x.data(), reinterpret_cast<const W *>(packed.data()), library.data());
    const bool sameOrder = g4k::integer_sum_order_of<W, T, In>() == order;
    if (!sameOrder)
      std::printf("g4k adds these scaled sums in its other order here: "
                  "checking against double sums only\n");
    for (int t = 0; t < T; ++t)
      for (int o = 0; o < Rows; ++o) {
        double exact = 0, magnitude = 0;
        for (int i = 0; i < In; ++i) {
          const double level = a.q[t][i], scale = a.scale[t][i / Block];
          const double term = level * scale * dequantised[size_t(o) * In + i];
          exact += term;
          magnitude += std::fabs(term);
        }
        const size_t k = size_t(t) * Rows + o;
        ASSERT_NEAR(y[k], exact, 1e-6 * magnitude + 1e-7)
            << "token " << t << " row " << o;
        ASSERT_EQ(y[k], parts[k]) << "token " << t << " row " << o;
        if (sameOrder) {
          ASSERT_EQ(y[k], library[k]) << "token " << t << " row " << o;
        }
      }
  }
};

// The shapes of targets/halide/CMakeLists.txt's instances.
TEST(QuantisedLinearKernel, Int8ChunkLanes) {
  Instance<g4k::q8, 3, 11, 128, 32>{Format::Int8, 32,
                                    g4k::integer_sum_order::lanes,
                                    g4c_quantised_linear_int8_lanes_host}
      .check();
}

// The blocks' instances are wider than g4k's passes of columns
// (avx512::kLaneColumnBlock): its partial sums wait in the output between
// passes, and must still round alike.
TEST(QuantisedLinearKernel, Int8BlocksOfManyTokens) {
  Instance<g4k::q8, 17, 11, 2304, 32>{Format::Int8, 32,
                                      g4k::integer_sum_order::blocks,
                                      g4c_quantised_linear_int8_blocks_host}
      .check();
}

TEST(QuantisedLinearKernel, Int4ChunkLanes) {
  Instance<g4k::q4<32>, 1, 9, 256, 32>{Format::Int4, 32,
                                       g4k::integer_sum_order::lanes,
                                       g4c_quantised_linear_int4_lanes_host}
      .check();
}

TEST(QuantisedLinearKernel, Int4BlocksOfManyTokens) {
  Instance<g4k::q4<64>, 17, 9, 2304, 64>{Format::Int4, 64,
                                         g4k::integer_sum_order::blocks,
                                         g4c_quantised_linear_int4_blocks_host}
      .check();
}

// Where g4k has its x86 kernels (AVX-512 VNNI or AVX2), both orders are
// checked bit for bit.
TEST(QuantisedLinearKernel, InstancesCoverBothOrdersOnX86) {
  if (!g4k::kAvx512Kernels && !g4k::kAvx2Kernels)
    GTEST_SKIP() << "no AVX-512 VNNI or AVX2 kernels in g4k here";
  EXPECT_EQ((g4k::integer_sum_order_of<g4k::q8, 3, 128>()),
            g4k::integer_sum_order::lanes);
  EXPECT_EQ((g4k::integer_sum_order_of<g4k::q8, 17, 2304>()),
            g4k::integer_sum_order::blocks);
  EXPECT_EQ((g4k::integer_sum_order_of<g4k::q4<32>, 1, 256>()),
            g4k::integer_sum_order::lanes);
  EXPECT_EQ((g4k::integer_sum_order_of<g4k::q4<64>, 17, 2304>()),
            g4k::integer_sum_order::blocks);
}

} // namespace
