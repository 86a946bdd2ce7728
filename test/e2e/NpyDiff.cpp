//===- NpyDiff.cpp - compare two float32 .npy files -----------------------===//
//
// Part of g4c. `g4c-npy-diff [--last-row] A.npy B.npy TOLERANCE` prints the
// shapes and the largest absolute difference and exits 1 if the shapes
// differ or the difference exceeds TOLERANCE (2 on unreadable input). With
// --last-row, A is one row, compared with B's last row. The end-to-end tests
// compare compiled logits with the reference executor's through it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/NpyReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>

namespace {

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os);
  return text;
}

} // namespace

int main(int argc, char **argv) {
  const bool lastRow = argc == 5 && llvm::StringRef(argv[1]) == "--last-row";
  if (argc != 4 && !lastRow) {
    llvm::errs() << "usage: g4c-npy-diff [--last-row] A.npy B.npy TOLERANCE\n";
    return 2;
  }
  argv += lastRow;
  auto read = [](const char *path) -> std::optional<g4c::NpyArray> {
    auto array = g4c::readNpyFloat32(path);
    if (array)
      return std::move(*array);
    llvm::errs() << "g4c-npy-diff: " << llvm::toString(array.takeError())
                 << "\n";
    return std::nullopt;
  };
  std::optional<g4c::NpyArray> a = read(argv[1]);
  std::optional<g4c::NpyArray> b = a ? read(argv[2]) : std::nullopt;
  if (!a || !b)
    return 2;
  double tolerance = std::atof(argv[3]);
  // B's last row alone, when A is one row as wide.
  if (lastRow && a->shape.size() == 2 && a->shape[0] == 1 &&
      b->shape.size() == 2 && b->shape[1] == a->shape[1] && b->shape[0] > 0) {
    b->values.erase(b->values.begin(), b->values.end() - b->shape[1]);
    b->shape[0] = 1;
  }
  if (a->shape != b->shape) {
    llvm::outs() << "shapes differ: (" << shapeText(a->shape) << ") vs ("
                 << shapeText(b->shape) << ")\n";
    return 1;
  }
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a->values.size(); ++i) {
    double difference = std::fabs(double(a->values[i]) - b->values[i]);
    if (!(difference <= worst)) { // also catches NaN
      worst = std::isnan(difference) ? INFINITY : difference;
      at = i;
    }
  }
  llvm::outs() << "shape (" << shapeText(a->shape) << "), max |difference| "
               << worst << " at element " << at << ", tolerance " << tolerance
               << "\n";
  return worst <= tolerance ? 0 : 1;
}
