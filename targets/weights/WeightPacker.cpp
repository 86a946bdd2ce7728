//===- WeightPacker.cpp - stream checkpoint tensors into .g4w -------------===//
//
// Part of g4c. This file implements packWeights: lay out the directory and
// the aligned data region, stream every tensor through a fixed-size buffer
// converting to its target format, hash as it goes, and write the header
// last (its fingerprint covers the directory and the data).
//
//===----------------------------------------------------------------------===//

#include "targets/weights/WeightPacker.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

namespace g4c {

using namespace weightfile;

namespace {

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

template <typename T> void append(std::string &bytes, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T)); // the targets are little-endian
  bytes.append(raw, sizeof(T));
}

DType dtypeOf(Format format) {
  return format == Format::F32 ? DType::F32 : DType::BF16;
}

/// Streams |request|'s elements, converted (and scaled), to |out| and
/// |fingerprint|.
void writeTensor(const PackedTensorRequest &request, llvm::raw_ostream &out,
                 Fingerprint &fingerprint) {
  const uint64_t elementSize = formatSize(request.format);
  std::vector<float> scale;
  if (request.columnScale) {
    const TensorInfo &info = *request.columnScale->info;
    for (uint64_t i = 0; i < info.numElements(); ++i)
      scale.push_back(
          loadFloat(request.columnScale->data().data(), info.dtype, i));
  }
  constexpr uint64_t kChunk = 1 << 20;
  std::vector<uint8_t> buffer(kChunk * elementSize);
  for (const CheckpointTensor &part : request.rows) {
    const TensorInfo &info = *part.info;
    const uint8_t *source = part.data().data();
    const uint64_t count = info.numElements();
    for (uint64_t begin = 0; begin < count; begin += kChunk) {
      uint64_t n = std::min(kChunk, count - begin);
      for (uint64_t i = 0; i < n; ++i) {
        float value = loadFloat(source, info.dtype, begin + i);
        if (!scale.empty())
          value *= scale[(begin + i) % scale.size()];
        storeFloat(value, dtypeOf(request.format), &buffer[i * elementSize]);
      }
      out.write(reinterpret_cast<const char *>(buffer.data()), n * elementSize);
      fingerprint.add(buffer.data(), n * elementSize);
      // Done with these source bytes: the packer's footprint stays one
      // chunk, not the checkpoint (E2B's PLE table alone is 4.7 GB).
      const uint64_t sourceSize = dtypeSize(info.dtype);
      part.file->releasePages(info, begin * sourceSize,
                              (begin + n) * sourceSize);
    }
  }
}

/// The shape of |request|'s packed tensor, or an error naming what does
/// not fit.
llvm::Expected<std::vector<uint64_t>>
shapeOf(llvm::StringRef path, const PackedTensorRequest &request) {
  auto fail = [&](const llvm::Twine &problem) {
    return makeError(path + ": tensor '" + request.name + "' " + problem);
  };
  if (request.rows.empty())
    return fail("has no source tensors");
  std::vector<uint64_t> shape;
  for (const CheckpointTensor &part : request.rows) {
    const TensorInfo &info = *part.info;
    if (!isFloatWeightDType(info.dtype))
      return fail(llvm::formatv("has dtype {0}; only F32, F16 and BF16 can "
                                "be packed",
                                dtypeName(info.dtype)));
    if (info.shape.empty())
      return fail("has a scalar part");
    if (shape.empty()) {
      shape.assign(info.shape.begin(), info.shape.end());
      continue;
    }
    if (!std::equal(shape.begin() + 1, shape.end(), info.shape.begin() + 1,
                    info.shape.end()))
      return fail("concatenates parts that differ in their trailing "
                  "dimensions");
    shape[0] += info.shape[0];
  }
  if (request.columnScale) {
    const TensorInfo &info = *request.columnScale->info;
    if (!isFloatWeightDType(info.dtype) || info.numElements() != shape.back())
      return fail(
          llvm::formatv("needs a column scale of {0} floats", shape.back()));
  }
  return shape;
}

} // namespace

llvm::Expected<PackedWeights>
packWeights(llvm::StringRef path,
            const std::vector<PackedTensorRequest> &requests) {
  PackedWeights packed;
  // Directory size does not depend on the offsets it records.
  uint64_t directorySize = 0;
  std::vector<std::vector<uint64_t>> shapes;
  for (const PackedTensorRequest &request : requests) {
    auto shape = shapeOf(path, request);
    if (!shape)
      return shape.takeError();
    directorySize +=
        4 + request.name.size() + 4 + 4 + 8 * shape->size() + 8 + 8;
    shapes.push_back(std::move(*shape));
  }
  uint64_t offset = alignUp(kHeaderSize + directorySize, kDataAlignment);
  const uint64_t dataOffset = offset;
  std::string directory;
  for (size_t i = 0; i < requests.size(); ++i) {
    const PackedTensorRequest &request = requests[i];
    PackedTensor tensor;
    tensor.name = request.name;
    tensor.format = request.format;
    tensor.shape = shapes[i];
    uint64_t count = 1;
    for (uint64_t dim : tensor.shape)
      count *= dim;
    tensor.offset = offset;
    tensor.size = count * formatSize(request.format);
    offset = alignUp(offset + tensor.size, kTensorAlignment);

    append<uint32_t>(directory, uint32_t(tensor.name.size()));
    directory += tensor.name;
    append<uint32_t>(directory, uint32_t(tensor.format));
    append<uint32_t>(directory, uint32_t(tensor.shape.size()));
    for (uint64_t dim : tensor.shape)
      append<uint64_t>(directory, dim);
    append<uint64_t>(directory, tensor.offset);
    append<uint64_t>(directory, tensor.size);
    packed.tensors.push_back(std::move(tensor));
  }
  packed.fileSize = packed.tensors.empty() ? dataOffset
                                           : packed.tensors.back().offset +
                                                 packed.tensors.back().size;

  llvm::Error written =
      writeFileAtomically(path, [&](llvm::raw_fd_ostream &out) {
        Fingerprint fingerprint;
        fingerprint.add(directory.data(), directory.size());
        out.write_zeros(kHeaderSize);
        out << directory;
        out.write_zeros(dataOffset - kHeaderSize - directory.size());
        for (size_t i = 0; i < requests.size(); ++i) {
          out.write_zeros(packed.tensors[i].offset - out.tell());
          writeTensor(requests[i], out, fingerprint);
        }
        packed.fingerprint = fingerprint.state;

        // The header goes last: its fingerprint covers everything after it.
        Header header = {};
        std::memcpy(header.magic, kMagic, sizeof(kMagic));
        header.version = kVersion;
        header.tensorCount = uint32_t(requests.size());
        header.directorySize = directorySize;
        header.fingerprint = packed.fingerprint;
        header.dataOffset = dataOffset;
        header.fileSize = packed.fileSize;
        out.seek(0);
        out.write(reinterpret_cast<const char *>(&header), sizeof(header));
        return llvm::Error::success();
      });
  if (written)
    return std::move(written);
  return packed;
}

} // namespace g4c
