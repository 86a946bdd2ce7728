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

#include "targets/weights/Quantize.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
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

/// A one-line progress report on large packs, redrawn every percent.
class Progress {
public:
  Progress(llvm::raw_ostream *out, uint64_t total)
      : out(total >= kReportAbove ? out : nullptr), total(total) {}
  ~Progress() {
    if (out && lastPercent >= 0)
      *out << "\n";
  }
  void advance(uint64_t bytes) {
    done += bytes;
    int percent = int(done * 100 / std::max<uint64_t>(total, 1));
    if (!out || percent == lastPercent)
      return;
    lastPercent = percent;
    *out << llvm::formatv("\rg4c: packing weights {0,3}% ({1:F1} of {2:F1} "
                          "GB)",
                          percent, double(done) / 1e9, double(total) / 1e9);
    out->flush();
  }

private:
  static constexpr uint64_t kReportAbove = uint64_t(256) << 20;
  llvm::raw_ostream *out;
  uint64_t total, done = 0;
  int lastPercent = -1;
};

/// Streams |request|'s rows of |columns| values, converted (scaled,
/// quantised), to |out| and |fingerprint|.
void writeTensor(const PackedTensorRequest &request, uint64_t columns,
                 llvm::raw_ostream &out, Fingerprint &fingerprint,
                 Progress &progress) {
  const uint64_t rowSize = rowBytes(request.format, columns, request.group);
  std::vector<float> scale;
  if (request.columnScale) {
    const TensorInfo &info = *request.columnScale->info;
    for (uint64_t i = 0; i < info.numElements(); ++i)
      scale.push_back(
          loadFloat(request.columnScale->data().data(), info.dtype, i));
  }
  // About 1M values a batch, whole rows; rows quantise in parallel. A
  // smaller tensor gets buffers of its own size (zeroing 8 MB for each of a
  // tiny model's tensors took most of its compile time).
  uint64_t tensorRows = 0;
  for (const CheckpointTensor &part : request.rows)
    tensorRows += part.info->numElements() / columns;
  const uint64_t batchRows = std::clamp<uint64_t>(
      tensorRows, 1, std::max<uint64_t>(1, (1 << 20) / columns));
  std::vector<uint8_t> buffer(batchRows * rowSize);
  std::vector<float> values(batchRows * columns);
  for (const CheckpointTensor &part : request.rows) {
    const TensorInfo &info = *part.info;
    const uint8_t *source = part.data().data();
    const uint64_t rows = info.numElements() / columns;
    for (uint64_t begin = 0; begin < rows; begin += batchRows) {
      const uint64_t n = std::min(batchRows, rows - begin);
      llvm::parallelFor(0, n, [&](size_t row) {
        float *converted = &values[row * columns];
        const uint64_t first = (begin + row) * columns;
        for (uint64_t i = 0; i < columns; ++i) {
          converted[i] = loadFloat(source, info.dtype, first + i);
          if (!scale.empty())
            converted[i] *= scale[i];
        }
        uint8_t *packed = &buffer[row * rowSize];
        if (isQuantised(request.format)) {
          quantizeRow(request.format, request.group, converted, columns,
                      packed);
          return;
        }
        const uint64_t elementSize = rowSize / columns;
        for (uint64_t i = 0; i < columns; ++i)
          storeFloat(converted[i], dtypeOf(request.format),
                     packed + i * elementSize);
      });
      out.write(reinterpret_cast<const char *>(buffer.data()), n * rowSize);
      fingerprint.add(buffer.data(), n * rowSize);
      progress.advance(n * rowSize);
      // Done with these source bytes: the packer's footprint stays one
      // batch, not the checkpoint (E2B's PLE table alone is 4.7 GB).
      const uint64_t sourceRow = columns * dtypeSize(info.dtype);
      part.file->releasePages(info, begin * sourceRow, (begin + n) * sourceRow);
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
  if (isQuantised(request.format) &&
      !canQuantize(request.format, shape.back(), request.group))
    return fail(llvm::formatv(
        "cannot be stored as {0}: {1} columns{2}",
        request.format == Format::Int8 ? "int8" : "int4", shape.back(),
        request.format == Format::Int4
            ? llvm::formatv(" in groups of {0} (group must be 32, 64 or 128 "
                            "and divide the columns)",
                            request.group)
                  .str()
            : std::string()));
  return shape;
}

} // namespace

llvm::Expected<PackedWeights>
packWeights(llvm::StringRef path,
            const std::vector<PackedTensorRequest> &requests,
            llvm::raw_ostream *progressStream) {
  PackedWeights packed;
  // Directory size does not depend on the offsets it records.
  uint64_t directorySize = 0;
  std::vector<std::vector<uint64_t>> shapes;
  for (const PackedTensorRequest &request : requests) {
    auto shape = shapeOf(path, request);
    if (!shape)
      return shape.takeError();
    directorySize +=
        4 + request.name.size() + 4 + 4 + 4 + 8 * shape->size() + 8 + 8;
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
    tensor.group = request.format == Format::Int4 ? request.group : 0;
    tensor.pageAligned = request.pageAligned;
    tensor.shape = shapes[i];
    uint64_t count = 1;
    for (uint64_t dim : tensor.shape)
      count *= dim;
    const uint64_t columns = tensor.shape.back();
    if (request.pageAligned)
      offset = alignUp(offset, kDataAlignment);
    tensor.offset = offset;
    tensor.size =
        count / columns * rowBytes(request.format, columns, tensor.group);
    offset = alignUp(offset + tensor.size, kTensorAlignment);

    append<uint32_t>(directory, uint32_t(tensor.name.size()));
    directory += tensor.name;
    append<uint32_t>(directory, uint32_t(tensor.format));
    append<uint32_t>(directory, tensor.group);
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
        uint64_t total = 0;
        for (const PackedTensor &tensor : packed.tensors)
          total += tensor.size;
        Progress progress(progressStream, total);
        for (size_t i = 0; i < requests.size(); ++i) {
          // Padding is data too: hash it like every other byte.
          std::string padding(packed.tensors[i].offset - out.tell(), '\0');
          out << padding;
          fingerprint.add(padding.data(), padding.size());
          writeTensor(requests[i], packed.tensors[i].shape.back(), out,
                      fingerprint, progress);
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
