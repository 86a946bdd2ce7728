//===- DType.h - safetensors element types ----------------------*- C++ -*-===//
//
// Part of g4c. The element types a safetensors file can hold, their names and
// sizes, and the float conversions g4c needs (bf16/f16 <-> f32).
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_DTYPE_H
#define G4C_CHECKPOINT_DTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace g4c {

/// A safetensors dtype. Floating types are the ones Gemma checkpoints use;
/// the integer types are accepted and read as raw data.
enum class DType {
  BOOL,
  U8,
  I8,
  U16,
  I16,
  F16,
  BF16,
  U32,
  I32,
  F32,
  U64,
  I64,
  F64,
};

/// Parses a safetensors dtype name ("BF16", "F32", ...).
std::optional<DType> parseDType(llvm::StringRef name);

/// The safetensors name of |dtype|.
llvm::StringRef dtypeName(DType dtype);

/// Bytes per element.
unsigned dtypeSize(DType dtype);

/// Whether g4c can use |dtype| as model weights (F32, F16, BF16).
bool isFloatWeightDType(DType dtype);

/// bf16 <-> f32; f32 -> bf16 rounds to nearest even (NaN stays NaN).
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

/// IEEE half <-> f32; f32 -> f16 rounds to nearest even, saturating to inf.
float f16ToFloat(uint16_t bits);
uint16_t floatToF16(float value);

/// Rounds |value| to the precision of |dtype| (F32, F16 or BF16) and back.
float roundToDType(float value, DType dtype);

/// Element |index| of little-endian |data| of |dtype| (F32, F16 or BF16).
float loadFloat(const uint8_t *data, DType dtype, uint64_t index);

/// Stores |value| as one element of |dtype| (F32, F16 or BF16) at |out|.
void storeFloat(float value, DType dtype, uint8_t *out);

} // namespace g4c

#endif // G4C_CHECKPOINT_DTYPE_H
