//===- DTypeTest.cpp - dtype names and float conversions ------------------===//
//
// Part of g4c. bf16/f16 conversions checked against values worked out by
// hand from the IEEE formats (not from the code under test).
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/DType.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace g4c;

namespace {

TEST(DType, NamesRoundTripAndSizes) {
  for (const char *name : {"BOOL", "U8", "I8", "U16", "I16", "F16", "BF16",
                           "U32", "I32", "F32", "U64", "I64", "F64"}) {
    std::optional<DType> dtype = parseDType(name);
    ASSERT_TRUE(dtype) << name;
    EXPECT_EQ(dtypeName(*dtype), name);
  }
  EXPECT_FALSE(parseDType("bf16")); // names are case-sensitive
  EXPECT_FALSE(parseDType("F8_E4M3"));
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_EQ(dtypeSize(DType::BOOL), 1u);
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xc000);
  // The architecture doc's embedding scales: bf16(sqrt(d)).
  EXPECT_EQ(bf16ToFloat(floatToBf16(std::sqrt(1536.0f))), 39.25f);
  EXPECT_EQ(bf16ToFloat(floatToBf16(std::sqrt(2560.0f))), 50.5f);
  EXPECT_EQ(bf16ToFloat(floatToBf16(std::sqrt(2816.0f))), 53.0f);
  EXPECT_EQ(bf16ToFloat(floatToBf16(std::sqrt(5376.0f))), 73.5f);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to even (1).
  EXPECT_EQ(floatToBf16(1.0f + 1.0f / 256), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up.
  EXPECT_EQ(floatToBf16(1.0f + 3.0f / 256), 0x3f82);
  EXPECT_TRUE(std::isnan(
      bf16ToFloat(floatToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, F16Conversions) {
  EXPECT_EQ(floatToF16(1.0f), 0x3c00);
  EXPECT_EQ(floatToF16(-0.5f), 0xb800);
  EXPECT_EQ(floatToF16(65504.0f), 0x7bff);              // largest finite half
  EXPECT_EQ(floatToF16(65519.0f), 0x7bff);              // still rounds down
  EXPECT_EQ(floatToF16(65520.0f), 0x7c00);              // rounds to infinity
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -25)), 0x0000); // tie to even: 0
  EXPECT_EQ(floatToF16(std::ldexp(3.0f, -25)), 0x0002); // tie to even: 2
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1).
  EXPECT_EQ(floatToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  for (uint32_t bits = 0; bits < 0x7c00; ++bits) // every finite half
    ASSERT_EQ(floatToF16(f16ToFloat(uint16_t(bits))), bits) << bits;
  EXPECT_EQ(f16ToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16ToFloat(0xfc00)));
  EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(NAN))));
}

TEST(DType, RoundToDType) {
  float value = 1.0f + 1.0f / 1024; // exact in f16 and f32, not in bf16
  EXPECT_EQ(roundToDType(value, DType::F32), value);
  EXPECT_EQ(roundToDType(value, DType::F16), value);
  EXPECT_EQ(roundToDType(value, DType::BF16), 1.0f);
}

} // namespace
