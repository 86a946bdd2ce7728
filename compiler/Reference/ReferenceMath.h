//===- ReferenceMath.h - scalar building blocks of Gemma 4 ------*- C++ -*-===//
//
// Part of g4c. The reference executor's elementary operations, written from
// §2 of the architecture document: RMSNorm (plain weight), GELU (tanh),
// rotate-half RoPE with per-layer frequencies, softcap, and a linear layer
// over a checkpoint matrix. float32 values, float64 accumulation.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_REFERENCE_REFERENCEMATH_H
#define G4C_REFERENCE_REFERENCEMATH_H

#include "compiler/Checkpoint/DType.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace g4c::reference {

/// A row-major [rows, cols] matrix in checkpoint storage (converted to f32
/// element by element) or in owned f32 memory (test overrides).
struct Matrix {
  const uint8_t *data = nullptr;
  DType dtype = DType::F32;
  const float *owned = nullptr;
  int64_t rows = 0, cols = 0;

  float at(int64_t row, int64_t col) const;
  /// The [rows / count, cols] block |index| of a matrix that stacks |count|
  /// equal blocks (e.g. expert |index| of [E * n, d]).
  Matrix block(int64_t index, int64_t count) const;
};

/// y[o] = sum_i x[i] * W[o, i] (HF nn.Linear, weight [out, in]).
void linear(llvm::ArrayRef<float> x, const Matrix &weight, float *y);

/// In place over |x|: x * (mean(x^2) + eps)^-1/2 [* w]. |weight| may be
/// null (RMSNormNoScale).
void rmsNorm(float *x, int64_t size, const Matrix *weight, double epsilon);

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float geluTanh(float x);

/// cap * tanh(x / cap).
float softcap(float x, double cap);

/// RoPE inverse frequencies for one layer kind: theta^(-2j/headDim) for
/// j < rotaryDims / 2, zero above (proportional RoPE keeps the full head
/// dim as denominator), each divided by |factor|. Length headDim / 2.
std::vector<double> ropeInverseFrequencies(int64_t headDim, int64_t rotaryDims,
                                           double theta, double factor);

/// Rotate-half (NeoX) RoPE of one head vector |x| [headDim] at |position|.
void applyRope(float *x, int64_t headDim, llvm::ArrayRef<double> inverseFreq,
               int64_t position);

} // namespace g4c::reference

#endif // G4C_REFERENCE_REFERENCEMATH_H
