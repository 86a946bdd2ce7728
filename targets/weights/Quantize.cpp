//===- Quantize.cpp - int8 / int4 row quantisers --------------------------===//
//
// Part of g4c. This file implements the row quantisers: per candidate
// scale, round every value to the nearest level in range (the best integer
// for that scale), measure the squared error, keep the best candidate.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/Quantize.h"
#include "compiler/Checkpoint/DType.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace g4c {

using weightfile::Format;

namespace {

/// Candidate scales as fractions of the absmax scale: shrinking it clips
/// the largest value a little and resolves the rest more finely.
constexpr float kShrink[] = {1.0f,  0.98f, 0.96f, 0.94f, 0.92f,
                             0.90f, 0.88f, 0.86f, 0.84f};

/// The nearest level to x / scale in [low, high] (ties away from zero:
/// any nearest level has the same error). Plain arithmetic so the loops
/// vectorise; std::nearbyint is a libm call on baseline x86-64.
int quantizeValue(float x, float inverse, int low, int high) {
  const float q = std::clamp(x * inverse, float(low), float(high));
  return int(q + (q >= 0 ? 0.5f : -0.5f));
}

/// Sum of (x - scale * level(x))^2 over |values|, level(x) = x * inverse
/// clamped to [low, high] and rounded to nearest by adding and subtracting
/// 1.5 * 2^23 (exact for |q| < 2^22; ties may go the other way than
/// quantizeValue's, at the same error). Written so that it vectorises on
/// baseline x86-64: independent partial sums, min/max, plain arithmetic.
#if defined(__GNUC__) && !defined(__clang__)
// Not specialised for constant bounds: GCC 12 turns min/max with constants
// into branches and the loop no longer vectorises.
[[gnu::noipa]]
#endif
float squaredError(const float *values, uint64_t count, float scale,
                   float inverse, float low, float high) {
  constexpr uint64_t kLanes = 8;
  constexpr float kRound = 12582912.0f;
  float partial[kLanes] = {};
  const uint64_t body = count / kLanes * kLanes;
  for (uint64_t i = 0; i < body; i += kLanes)
    for (uint64_t lane = 0; lane < kLanes; ++lane) {
      const float x = values[i + lane];
      const float q = std::min(std::max(x * inverse, low), high);
      const float delta = x - scale * ((q + kRound) - kRound);
      partial[lane] += delta * delta;
    }
  for (uint64_t i = body; i < count; ++i) {
    const float q = std::min(std::max(values[i] * inverse, low), high);
    const float delta = values[i] - scale * ((q + kRound) - kRound);
    partial[0] += delta * delta;
  }
  float error = 0;
  for (float sum : partial)
    error += sum;
  return error;
}

/// Among the shrinks of the |baseline| scale (levels low..high), the one
/// with the least squared error over |values| after rounding by |round| to
/// the stored precision; 0 for a zero group (or one no stored scale can
/// represent).
template <typename Round>
float searchScale(const float *values, uint64_t count, float baseline, int low,
                  int high, Round round) {
  if (baseline == 0)
    return 0;
  float bestScale = 0, bestError = INFINITY;
  for (float shrink : kShrink) {
    const float scale = round(baseline * shrink);
    if (scale == 0 || !std::isfinite(scale))
      continue;
    const float inverse = 1.0f / scale;
    const float error =
        squaredError(values, count, scale, inverse, float(low), float(high));
    if (error < bestError) {
      bestError = error;
      bestScale = scale;
    }
  }
  return bestScale;
}

float absMax(const float *values, uint64_t count) {
  float result = 0;
  for (uint64_t i = 0; i < count; ++i)
    result = std::max(result, std::fabs(values[i]));
  return result;
}

/// The value of largest magnitude, with its sign (first one on ties).
float signedExtreme(const float *values, uint64_t count) {
  float result = 0;
  for (uint64_t i = 0; i < count; ++i)
    if (std::fabs(values[i]) > std::fabs(result))
      result = values[i];
  return result;
}

} // namespace

bool canQuantize(Format format, uint64_t columns, uint64_t group) {
  if (format == Format::Int8)
    return columns > 0;
  if (format == Format::Int4)
    return isValidInt4Group(group) && columns % group == 0;
  return false;
}

void quantizeRow(Format format, uint64_t group, const float *row,
                 uint64_t columns, uint8_t *out) {
  std::memset(out, 0, weightfile::rowBytes(format, columns, group));
  if (format == Format::Int8) {
    float scale = searchScale(row, columns, absMax(row, columns) / 127.0f, -127,
                              127, [](float s) { return s; });
    const float inverse = scale == 0 ? 0 : 1.0f / scale;
    for (uint64_t i = 0; i < columns; ++i)
      out[i] = uint8_t(int8_t(quantizeValue(row[i], inverse, -127, 127)));
    std::memcpy(out + columns, &scale, sizeof(scale));
    return;
  }
  uint8_t *scales = out + columns / 2;
  for (uint64_t g = 0; g < columns / group; ++g) {
    const float *values = row + g * group;
    // Q4_0's rule: the signed extreme maps to level -8.
    float scale =
        searchScale(values, group, signedExtreme(values, group) / -8.0f, -8, 7,
                    [](float s) { return f16ToFloat(floatToF16(s)); });
    const float inverse = scale == 0 ? 0 : 1.0f / scale;
    uint8_t *bytes = out + g * group / 2;
    for (uint64_t j = 0; j < group / 2; ++j) {
      int low = quantizeValue(values[j], inverse, -8, 7) + 8;
      int high = quantizeValue(values[j + group / 2], inverse, -8, 7) + 8;
      bytes[j] = uint8_t(low | high << 4);
    }
    uint16_t bits = floatToF16(scale);
    std::memcpy(scales + 2 * g, &bits, sizeof(bits));
  }
}

void dequantizeRow(Format format, uint64_t group, const uint8_t *row,
                   uint64_t columns, float *out) {
  if (format == Format::Int8) {
    float scale;
    std::memcpy(&scale, row + columns, sizeof(scale));
    for (uint64_t i = 0; i < columns; ++i)
      out[i] = scale * float(int8_t(row[i]));
    return;
  }
  const uint8_t *scales = row + columns / 2;
  for (uint64_t g = 0; g < columns / group; ++g) {
    uint16_t bits;
    std::memcpy(&bits, scales + 2 * g, sizeof(bits));
    const float scale = f16ToFloat(bits);
    const uint8_t *bytes = row + g * group / 2;
    for (uint64_t j = 0; j < group / 2; ++j) {
      out[g * group + j] = scale * float(int(bytes[j] & 15) - 8);
      out[g * group + j + group / 2] = scale * float(int(bytes[j] >> 4) - 8);
    }
  }
}

} // namespace g4c
