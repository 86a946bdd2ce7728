//===- SafeTensorsWriter.cpp - streaming safetensors writer ---------------===//
//
// Part of g4c. This file implements writeSafeTensors: the header (llvm::json,
// padded with spaces to a multiple of 8 bytes) followed by each tensor's
// bytes streamed from the caller through a fixed-size buffer.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "compiler/Support/OutputFile.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace g4c {

uint64_t TensorToWrite::numBytes() const {
  uint64_t count = dtypeSize(dtype);
  for (int64_t dim : shape)
    count *= uint64_t(dim);
  return count;
}

llvm::Error
writeSafeTensors(llvm::StringRef path, llvm::ArrayRef<TensorToWrite> tensors,
                 const TensorDataSource &source,
                 const std::function<void(uint64_t)> &onBytesWritten) {
  llvm::json::Object header{
      {"__metadata__", llvm::json::Object{{"format", "pt"}}}};
  uint64_t offset = 0;
  for (const TensorToWrite &tensor : tensors) {
    llvm::json::Array shape;
    for (int64_t dim : tensor.shape)
      shape.push_back(dim);
    uint64_t end = offset + tensor.numBytes();
    header[tensor.name] =
        llvm::json::Object{{"dtype", dtypeName(tensor.dtype)},
                           {"shape", std::move(shape)},
                           {"data_offsets", llvm::json::Array{offset, end}}};
    offset = end;
  }
  std::string headerText;
  llvm::raw_string_ostream(headerText) << llvm::json::Value(std::move(header));
  headerText.append((8 - headerText.size() % 8) % 8, ' ');

  return writeFile(path, [&](llvm::raw_fd_ostream &out) {
    uint64_t headerLength = headerText.size();
    for (int i = 0; i < 8; ++i)
      out << char((headerLength >> (8 * i)) & 0xff);
    out << headerText;

    std::vector<uint8_t> chunk(4 << 20);
    for (size_t index = 0; index < tensors.size(); ++index) {
      uint64_t remaining = tensors[index].numBytes();
      while (remaining > 0) {
        size_t size = size_t(std::min<uint64_t>(remaining, chunk.size()));
        llvm::MutableArrayRef<uint8_t> bytes(chunk.data(), size);
        source(index, bytes);
        out.write(reinterpret_cast<const char *>(bytes.data()), size);
        remaining -= size;
        if (onBytesWritten)
          onBytesWritten(size);
      }
    }
    return llvm::Error::success();
  });
}

} // namespace g4c
