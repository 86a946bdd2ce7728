//===- SafeTensors.cpp - validated, memory-mapped safetensors -------------===//
//
// Part of g4c. This file implements the safetensors reader. Layout: an 8-byte
// little-endian header length N, N bytes of JSON mapping tensor names to
// {dtype, shape, data_offsets}, then the data section. Every way the header
// can lie about the file is rejected with a message naming the file and the
// tensor: sizes, offsets, overlaps, holes, dtypes, encoding.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SafeTensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace g4c {

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

uint64_t TensorInfo::numElements() const {
  uint64_t count = 1;
  for (int64_t dim : shape)
    count *= uint64_t(dim);
  return count;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return text;
}

namespace {

/// Builds "PATH: message" errors.
struct ErrorReporter {
  StringRef path;
  Error operator()(const llvm::Twine &message) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (path + ": " + message).str());
  }
};

/// Reads a JSON number that must be a non-negative integer.
std::optional<uint64_t> getUnsigned(const llvm::json::Value &value) {
  if (std::optional<int64_t> asInt = value.getAsInteger())
    return *asInt >= 0 ? std::optional<uint64_t>(uint64_t(*asInt))
                       : std::nullopt;
  return value.getAsUINT64();
}

/// Parses one header entry into |info|.
Error parseTensorEntry(const ErrorReporter &fail, StringRef name,
                       const llvm::json::Value &value, TensorInfo &info) {
  auto where = ("tensor '" + name + "': ").str();
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return fail(where + "entry is not a JSON object");
  for (const auto &field : *entry)
    if (field.first != "dtype" && field.first != "shape" &&
        field.first != "data_offsets")
      return fail(where + "unknown field '" + StringRef(field.first) + "'");

  std::optional<StringRef> dtypeName = entry->getString("dtype");
  if (!dtypeName)
    return fail(where + "missing string field 'dtype'");
  std::optional<DType> dtype = parseDType(*dtypeName);
  if (!dtype)
    return fail(where + "unknown dtype '" + *dtypeName + "'");

  const llvm::json::Array *shape = entry->getArray("shape");
  if (!shape)
    return fail(where + "missing array field 'shape'");
  uint64_t numElements = 1;
  bool overflow = false;
  for (const llvm::json::Value &dim : *shape) {
    std::optional<uint64_t> size = getUnsigned(dim);
    if (!size || *size > uint64_t(INT64_MAX))
      return fail(where + "shape entries must be non-negative integers");
    info.shape.push_back(int64_t(*size));
    if (*size != 0 && numElements > UINT64_MAX / *size)
      overflow = true;
    numElements *= *size;
  }

  const llvm::json::Array *offsets = entry->getArray("data_offsets");
  if (!offsets || offsets->size() != 2)
    return fail(where + "'data_offsets' must be an array [begin, end]");
  std::optional<uint64_t> begin = getUnsigned((*offsets)[0]);
  std::optional<uint64_t> end = getUnsigned((*offsets)[1]);
  if (!begin || !end)
    return fail(where + "'data_offsets' must be non-negative integers");
  if (*begin > *end)
    return fail(where + llvm::formatv("data_offsets [{0}, {1}] end before "
                                      "they begin",
                                      *begin, *end));

  unsigned elementSize = dtypeSize(*dtype);
  if (overflow || numElements > UINT64_MAX / elementSize)
    return fail(where + "shape " + formatShape(info.shape) +
                " is too large to address");
  uint64_t expectedBytes = numElements * elementSize;
  if (expectedBytes != *end - *begin)
    return fail(where + llvm::formatv("shape {0} x {1} is {2} bytes but "
                                      "data_offsets [{3}, {4}] span {5}",
                                      formatShape(info.shape), *dtypeName,
                                      expectedBytes, *begin, *end,
                                      *end - *begin));
  info.name = name.str();
  info.dtype = *dtype;
  info.dataBegin = *begin;
  info.dataEnd = *end;
  return Error::success();
}

/// llvm::json keeps one of two equal keys silently; safetensors forbids
/// duplicate names. Returns the first top-level key of |header| (valid JSON)
/// that occurs twice, as written (escapes not decoded).
std::optional<std::string> findDuplicateTopLevelKey(StringRef header) {
  llvm::StringSet<> seen;
  int depth = 0;
  for (size_t i = 0; i < header.size(); ++i) {
    char c = header[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      size_t start = ++i;
      while (i < header.size() && header[i] != '"')
        i += header[i] == '\\' ? 2 : 1;
      StringRef text = header.slice(start, std::min(i, header.size()));
      size_t next = header.find_first_not_of(" \t\r\n", i + 1);
      bool isKey = next != StringRef::npos && header[next] == ':';
      if (depth == 1 && isKey && !seen.insert(text).second)
        return text.str();
    }
  }
  return std::nullopt;
}

} // namespace

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "%s: cannot open: %s",
                                   path.str().c_str(),
                                   buffer.getError().message().c_str());
  return parse(path, std::move(*buffer));
}

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::parse(StringRef path,
                       std::unique_ptr<llvm::MemoryBuffer> buffer) {
  ErrorReporter fail{path};
  StringRef bytes = buffer->getBuffer();
  if (bytes.size() < 8)
    return fail(llvm::formatv("file is {0} bytes, too short for the 8-byte "
                              "header length",
                              bytes.size()));
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | uint8_t(bytes[i]);
  if (headerLength > kMaxSafeTensorsHeaderBytes)
    return fail(llvm::formatv("header length {0} exceeds the limit of {1} "
                              "bytes",
                              headerLength, kMaxSafeTensorsHeaderBytes));
  if (headerLength > bytes.size() - 8)
    return fail(llvm::formatv("header length {0} runs past the end of the "
                              "file ({1} bytes); the file is truncated or "
                              "not safetensors",
                              headerLength, bytes.size()));
  StringRef header = bytes.substr(8, headerLength);
  size_t badOffset = 0;
  if (!llvm::json::isUTF8(header, &badOffset))
    return fail(
        llvm::formatv("header is not valid UTF-8 (byte {0})", badOffset));
  Expected<llvm::json::Value> json = llvm::json::parse(header);
  if (!json)
    return fail("header is not valid JSON: " + toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fail("header is not a JSON object");
  if (std::optional<std::string> duplicate = findDuplicateTopLevelKey(header))
    return fail("duplicate tensor name '" + *duplicate + "' in the header");

  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->filePath = path.str();
  for (const auto &entry : *root) {
    StringRef name = entry.first;
    if (name == "__metadata__") {
      const llvm::json::Object *metadata = entry.second.getAsObject();
      if (!metadata)
        return fail("'__metadata__' is not a JSON object");
      for (const auto &item : *metadata) {
        std::optional<StringRef> value = item.second.getAsString();
        if (!value)
          return fail("'__metadata__' value of '" + StringRef(item.first) +
                      "' is not a string");
        file->metadataMap[item.first] = value->str();
      }
      continue;
    }
    if (name.empty())
      return fail("a tensor has an empty name");
    TensorInfo info;
    if (Error error = parseTensorEntry(fail, name, entry.second, info))
      return std::move(error);
    file->tensorList.push_back(std::move(info));
  }

  // The data section must be covered exactly: sorted by offset, tensors
  // start at 0, abut each other, and end at the end of the file.
  uint64_t dataSize = bytes.size() - 8 - headerLength;
  auto &tensors = file->tensorList;
  llvm::sort(tensors, [](const TensorInfo &a, const TensorInfo &b) {
    return std::tie(a.dataBegin, a.dataEnd, a.name) <
           std::tie(b.dataBegin, b.dataEnd, b.name);
  });
  uint64_t cursor = 0;
  const TensorInfo *previous = nullptr;
  for (const TensorInfo &tensor : tensors) {
    if (tensor.dataEnd > dataSize)
      return fail(llvm::formatv("tensor '{0}': data_offsets [{1}, {2}] run "
                                "past the end of the data section ({3} "
                                "bytes); the file is truncated",
                                tensor.name, tensor.dataBegin, tensor.dataEnd,
                                dataSize));
    if (tensor.dataBegin < cursor)
      return fail(llvm::formatv("tensors '{0}' and '{1}' overlap (bytes "
                                "[{2}, {3}])",
                                previous->name, tensor.name, tensor.dataBegin,
                                cursor));
    if (tensor.dataBegin > cursor)
      return fail(llvm::formatv("{0} unused bytes before tensor '{1}' (data "
                                "offset {2})",
                                tensor.dataBegin - cursor, tensor.name,
                                cursor));
    cursor = tensor.dataEnd;
    previous = &tensor;
  }
  if (cursor != dataSize)
    return fail(llvm::formatv("{0} bytes after the last tensor are not "
                              "described by the header",
                              dataSize - cursor));

  for (size_t i = 0; i < tensors.size(); ++i)
    file->indexByName[tensors[i].name] = i;
  file->dataSection =
      reinterpret_cast<const uint8_t *>(bytes.data()) + 8 + headerLength;
  file->buffer = std::move(buffer);
  return std::move(file);
}

const TensorInfo *SafeTensorsFile::find(StringRef name) const {
  auto it = indexByName.find(name);
  return it == indexByName.end() ? nullptr : &tensorList[it->second];
}

void SafeTensorsFile::releasePages(const TensorInfo &tensor, uint64_t begin,
                                   uint64_t end) const {
#if defined(__unix__)
  // Heap-backed buffers (small files) must not be madvised: their contents
  // would be lost.
  if (begin >= end ||
      buffer->getBufferKind() != llvm::MemoryBuffer::MemoryBuffer_MMap)
    return;
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  end = std::min(end, tensor.numBytes());
  uintptr_t first =
      reinterpret_cast<uintptr_t>(dataSection + tensor.dataBegin + begin);
  uintptr_t last =
      reinterpret_cast<uintptr_t>(dataSection + tensor.dataBegin + end);
  first = (first + page - 1) / page * page; // whole pages inside the range
  last = last / page * page;
  if (first < last)
    madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
#endif
}

llvm::ArrayRef<uint8_t> SafeTensorsFile::data(const TensorInfo &tensor) const {
  return {dataSection + tensor.dataBegin, size_t(tensor.numBytes())};
}

} // namespace g4c
