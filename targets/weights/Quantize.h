//===- Quantize.h - int8 / int4 row quantisers ------------------*- C++ -*-===//
//
// Part of g4c. Symmetric quantisation of one matrix row into the .g4w row
// layout (runtime/src/weight_file_format.h), and the matching dequantiser.
// Each scale is chosen by a small search that always includes the plain
// absmax round-to-nearest scale (llama.cpp's Q8_0 / Q4_0 rule), keeping the
// candidate with the least squared error: never worse than that baseline.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_WEIGHTS_QUANTIZE_H
#define G4C_TARGETS_WEIGHTS_QUANTIZE_H

#include "runtime/src/weight_file_format.h"

#include <cstdint>

namespace g4c {

/// Group sizes int4 accepts.
constexpr bool isValidInt4Group(uint64_t group) {
  return group == 32 || group == 64 || group == 128;
}

/// Whether a row of |columns| can be stored as |format| with |group|.
bool canQuantize(weightfile::Format format, uint64_t columns, uint64_t group);

/// Writes weightfile::rowBytes(format, columns, group) bytes of |row|
/// quantised as |format| (Int8 or Int4; canQuantize must hold) to |out|.
void quantizeRow(weightfile::Format format, uint64_t group, const float *row,
                 uint64_t columns, uint8_t *out);

/// The values a quantised row stands for.
void dequantizeRow(weightfile::Format format, uint64_t group,
                   const uint8_t *row, uint64_t columns, float *out);

} // namespace g4c

#endif // G4C_TARGETS_WEIGHTS_QUANTIZE_H
