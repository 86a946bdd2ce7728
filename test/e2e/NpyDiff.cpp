//===- NpyDiff.cpp - compare two float32 .npy files -----------------------===//
//
// Part of g4c. `g4c-npy-diff A.npy B.npy TOLERANCE` prints the shapes and
// the largest absolute difference and exits 1 if the shapes differ or the
// difference exceeds TOLERANCE (2 on unreadable input). The end-to-end tests
// compare compiled logits with the reference executor's through it.
//
//===----------------------------------------------------------------------===//

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace {

struct Npy {
  std::string shape;
  std::vector<float> values;
};

std::optional<Npy> readNpy(const char *path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return std::nullopt;
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return std::nullopt;
  size_t headerLength = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  if (bytes.size() < 10 + headerLength)
    return std::nullopt;
  llvm::StringRef header = bytes.substr(10, headerLength);
  if (!header.contains("'descr': '<f4'"))
    return std::nullopt;
  size_t open = header.find("'shape': (");
  size_t close = header.find(')', open);
  if (open == llvm::StringRef::npos || close == llvm::StringRef::npos)
    return std::nullopt;
  Npy npy;
  npy.shape = header.slice(open + 10, close).str();
  llvm::StringRef data = bytes.drop_front(10 + headerLength);
  npy.values.resize(data.size() / 4);
  std::memcpy(npy.values.data(), data.data(), npy.values.size() * 4);
  return npy;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    llvm::errs() << "usage: g4c-npy-diff A.npy B.npy TOLERANCE\n";
    return 2;
  }
  std::optional<Npy> a = readNpy(argv[1]), b = readNpy(argv[2]);
  if (!a || !b) {
    llvm::errs() << "g4c-npy-diff: cannot read " << (a ? argv[2] : argv[1])
                 << " as float32 .npy\n";
    return 2;
  }
  double tolerance = std::atof(argv[3]);
  if (a->shape != b->shape) {
    llvm::outs() << "shapes differ: (" << a->shape << ") vs (" << b->shape
                 << ")\n";
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
  llvm::outs() << "shape (" << a->shape << "), max |difference| " << worst
               << " at element " << at << ", tolerance " << tolerance << "\n";
  return worst <= tolerance ? 0 : 1;
}
