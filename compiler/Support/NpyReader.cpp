//===- NpyReader.cpp - read float32 .npy files ----------------------------===//
//
// Part of g4c. This file implements the .npy decoder: magic, version, the
// header dict's descr / fortran_order / shape, and a data size that matches
// the shape exactly.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/NpyReader.h"
#include "compiler/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

namespace g4c {

llvm::Expected<NpyArray> readNpyFloat32(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  auto fail = [&](const llvm::Twine &problem) {
    return makeError(path + ": not a float32 .npy file: " + problem);
  };
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY") || bytes[6] != 1)
    return fail("bad magic or version");
  const size_t headerLength = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  if (bytes.size() < 10 + headerLength)
    return fail("truncated header");
  llvm::StringRef header = bytes.substr(10, headerLength);
  if (!header.contains("'descr': '<f4'") ||
      !header.contains("'fortran_order': False"))
    return fail("expected descr '<f4' in C order");
  const size_t open = header.find("'shape': (");
  const size_t close = header.find(')', open);
  if (open == llvm::StringRef::npos || close == llvm::StringRef::npos)
    return fail("no shape");
  NpyArray array;
  uint64_t count = 1;
  llvm::SmallVector<llvm::StringRef> dims;
  header.slice(open + 10, close).split(dims, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef dim : dims) {
    int64_t value;
    if (dim.trim().getAsInteger(10, value) || value < 0)
      return fail("bad dimension '" + dim.trim() + "'");
    array.shape.push_back(value);
    count *= uint64_t(value);
  }
  llvm::StringRef data = bytes.drop_front(10 + headerLength);
  if (data.size() != count * 4)
    return fail("data is " + llvm::Twine(data.size()) + " bytes, the shape " +
                "needs " + llvm::Twine(count * 4));
  array.values.resize(count);
  std::memcpy(array.values.data(), data.data(), data.size());
  return array;
}

} // namespace g4c
