//===- ReferenceMath.cpp - scalar building blocks of Gemma 4 --------------===//
//
// Part of g4c. This file implements the reference executor's elementary
// operations, plainly: no blocking, no vectors, float64 sums.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceMath.h"

#include <cmath>

namespace g4c::reference {

float Matrix::at(int64_t row, int64_t col) const {
  int64_t index = row * cols + col;
  return owned ? owned[index] : loadFloat(data, dtype, uint64_t(index));
}

Matrix Matrix::block(int64_t index, int64_t count) const {
  Matrix part = *this;
  part.rows = rows / count;
  int64_t offset = index * part.rows * cols;
  if (owned)
    part.owned = owned + offset;
  else
    part.data = data + offset * dtypeSize(dtype);
  return part;
}

void linear(llvm::ArrayRef<float> x, const Matrix &weight, float *y) {
  for (int64_t o = 0; o < weight.rows; ++o) {
    double sum = 0;
    for (int64_t i = 0; i < weight.cols; ++i)
      sum += double(x[i]) * double(weight.at(o, i));
    y[o] = float(sum);
  }
}

void rmsNorm(float *x, int64_t size, const Matrix *weight, double epsilon) {
  double sumSquares = 0;
  for (int64_t i = 0; i < size; ++i)
    sumSquares += double(x[i]) * double(x[i]);
  double scale = 1.0 / std::sqrt(sumSquares / double(size) + epsilon);
  for (int64_t i = 0; i < size; ++i) {
    double value = double(x[i]) * scale;
    if (weight)
      value *= double(weight->at(0, i));
    x[i] = float(value);
  }
}

float geluTanh(float x) {
  double v = x;
  const double kSqrt2OverPi = 0.7978845608028654;
  return float(0.5 * v *
               (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v))));
}

float softcap(float x, double cap) { return float(cap * std::tanh(x / cap)); }

std::vector<double> ropeInverseFrequencies(int64_t headDim, int64_t rotaryDims,
                                           double theta, double factor) {
  std::vector<double> inverse(size_t(headDim / 2), 0.0);
  for (int64_t j = 0; j < rotaryDims / 2; ++j)
    inverse[j] = std::pow(theta, -double(2 * j) / double(headDim)) / factor;
  return inverse;
}

void applyRope(float *x, int64_t headDim, llvm::ArrayRef<double> inverseFreq,
               int64_t position) {
  int64_t half = headDim / 2;
  for (int64_t j = 0; j < half; ++j) {
    double angle = double(position) * inverseFreq[j];
    double c = std::cos(angle), s = std::sin(angle);
    double x1 = x[j], x2 = x[j + half];
    x[j] = float(x1 * c - x2 * s);
    x[j + half] = float(x2 * c + x1 * s);
  }
}

} // namespace g4c::reference
