//===- DType.cpp - safetensors element types ------------------------------===//
//
// Part of g4c. This file implements dtype names/sizes and the bit-exact
// bf16/f16 conversions used by the reader, the generator and the reference.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/DType.h"

#include "llvm/ADT/StringSwitch.h"

#include <cstring>

namespace g4c {

std::optional<DType> parseDType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("BOOL", DType::BOOL)
      .Case("U8", DType::U8)
      .Case("I8", DType::I8)
      .Case("U16", DType::U16)
      .Case("I16", DType::I16)
      .Case("F16", DType::F16)
      .Case("BF16", DType::BF16)
      .Case("U32", DType::U32)
      .Case("I32", DType::I32)
      .Case("F32", DType::F32)
      .Case("U64", DType::U64)
      .Case("I64", DType::I64)
      .Case("F64", DType::F64)
      .Default(std::nullopt);
}

llvm::StringRef dtypeName(DType dtype) {
  switch (dtype) {
  case DType::BOOL:
    return "BOOL";
  case DType::U8:
    return "U8";
  case DType::I8:
    return "I8";
  case DType::U16:
    return "U16";
  case DType::I16:
    return "I16";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::U32:
    return "U32";
  case DType::I32:
    return "I32";
  case DType::F32:
    return "F32";
  case DType::U64:
    return "U64";
  case DType::I64:
    return "I64";
  case DType::F64:
    return "F64";
  }
  return "?";
}

unsigned dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::BOOL:
  case DType::U8:
  case DType::I8:
    return 1;
  case DType::U16:
  case DType::I16:
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::U32:
  case DType::I32:
  case DType::F32:
    return 4;
  case DType::U64:
  case DType::I64:
  case DType::F64:
    return 8;
  }
  return 0;
}

bool isFloatWeightDType(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

static uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

static float bitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

float bf16ToFloat(uint16_t bits) { return bitsFloat(uint32_t(bits) << 16); }

uint16_t floatToBf16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet and a NaN
    return uint16_t((bits >> 16) | 0x40);
  uint32_t roundingBias = 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t((bits + roundingBias) >> 16);
}

float f16ToFloat(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) // inf or NaN
    return bitsFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return bitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24.
  float magnitude = float(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;
}

uint16_t floatToF16(float value) {
  uint32_t bits = floatBits(value);
  uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) // NaN
    return uint16_t(sign | 0x7e00u);
  if (magnitude >= 0x477ff000u) // rounds to >= 65520: overflow to inf
    return uint16_t(sign | 0x7c00u);
  if (magnitude < 0x38800000u) {
    // Subnormal or zero in f16: round magnitude / 2^-24 to nearest even.
    float scaled = bitsFloat(magnitude) * 16777216.0f; // exact: power of two
    uint32_t integer = uint32_t(scaled);
    float fraction = scaled - float(integer);
    if (fraction > 0.5f || (fraction == 0.5f && (integer & 1u)))
      ++integer;
    return uint16_t(sign | integer);
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits.
  uint32_t rebiased = magnitude - (112u << 23);
  uint32_t roundingBias = 0xfffu + ((rebiased >> 13) & 1u);
  return uint16_t(sign | ((rebiased + roundingBias) >> 13));
}

float roundToDType(float value, DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return bf16ToFloat(floatToBf16(value));
  case DType::F16:
    return f16ToFloat(floatToF16(value));
  default:
    return value;
  }
}

float loadFloat(const uint8_t *data, DType dtype, uint64_t index) {
  switch (dtype) {
  case DType::BF16:
  case DType::F16: {
    uint16_t bits;
    std::memcpy(&bits, data + 2 * index, 2);
    return dtype == DType::BF16 ? bf16ToFloat(bits) : f16ToFloat(bits);
  }
  default: {
    float value;
    std::memcpy(&value, data + 4 * index, 4);
    return value;
  }
  }
}

void storeFloat(float value, DType dtype, uint8_t *out) {
  switch (dtype) {
  case DType::BF16:
  case DType::F16: {
    uint16_t bits =
        dtype == DType::BF16 ? floatToBf16(value) : floatToF16(value);
    std::memcpy(out, &bits, 2);
    return;
  }
  default:
    std::memcpy(out, &value, 4);
    return;
  }
}

} // namespace g4c
