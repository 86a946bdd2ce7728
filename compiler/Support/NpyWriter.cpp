//===- NpyWriter.cpp - write float32 .npy files ---------------------------===//
//
// Part of g4c. This file implements the .npy encoder: magic, version 1.0,
// a little-endian header length, a Python-dict header padded with spaces so
// the data starts on a 64-byte boundary, then the raw little-endian floats.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/NpyWriter.h"
#include "compiler/Support/OutputFile.h"

#include <cstring>

namespace g4c {

std::string encodeNpyFloat32(llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<float> values) {
  std::string dims;
  for (int64_t dim : shape)
    dims += std::to_string(dim) + ", ";
  if (shape.size() != 1 && !dims.empty())
    dims.resize(dims.size() - 2); // "(2, 3)" but "(5,)" for one dimension
  else if (shape.size() == 1)
    dims.pop_back();
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t prefix = 10; // magic (6) + version (2) + length (2)
  size_t padded = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(padded - prefix - header.size() - 1, ' ');
  header += '\n';

  std::string bytes = "\x93NUMPY";
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  size_t offset = bytes.size();
  bytes.resize(offset + values.size() * sizeof(float));
  std::memcpy(&bytes[offset], values.data(), values.size() * sizeof(float));
  return bytes;
}

llvm::Error writeNpyFloat32(llvm::StringRef path, llvm::ArrayRef<int64_t> shape,
                            llvm::ArrayRef<float> values) {
  std::string bytes = encodeNpyFloat32(shape, values);
  return writeFileAtomically(path, [&](llvm::raw_fd_ostream &out) {
    out << bytes;
    return llvm::Error::success();
  });
}

} // namespace g4c
