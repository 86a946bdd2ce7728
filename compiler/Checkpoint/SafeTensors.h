//===- SafeTensors.h - validated, memory-mapped safetensors -----*- C++ -*-===//
//
// Part of g4c. Reads one .safetensors file: the header is parsed with
// llvm::json and validated strictly; tensor data stays in the file mapping
// and is handed out as zero-copy views.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_SAFETENSORS_H
#define G4C_CHECKPOINT_SAFETENSORS_H

#include "compiler/Checkpoint/DType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace g4c {

/// The largest header g4c accepts, as in the reference safetensors library.
constexpr uint64_t kMaxSafeTensorsHeaderBytes = 100'000'000;

/// One tensor of a safetensors file, as its header describes it.
struct TensorInfo {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;
  uint64_t dataBegin; ///< offset in the data section (after the header)
  uint64_t dataEnd;

  uint64_t numElements() const;
  uint64_t numBytes() const { return dataEnd - dataBegin; }
};

/// A parsed and validated safetensors file whose tensor data stays mapped.
class SafeTensorsFile {
public:
  /// Maps |path| and validates its header against the file's size.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  /// Validates |buffer| (the whole file's bytes); |path| names it in errors.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  parse(llvm::StringRef path, std::unique_ptr<llvm::MemoryBuffer> buffer);

  llvm::StringRef path() const { return filePath; }
  /// Tensors in data order.
  llvm::ArrayRef<TensorInfo> tensors() const { return tensorList; }
  /// The tensor named |name|, or null.
  const TensorInfo *find(llvm::StringRef name) const;
  /// The raw bytes of |tensor| (zero-copy view into the mapping).
  llvm::ArrayRef<uint8_t> data(const TensorInfo &tensor) const;
  /// Tells the OS that bytes [begin, end) of |tensor| will not be read again
  /// soon, so a streaming pass over a large file (the weight packer) does
  /// not keep it all resident. Only for mapped files; the data stays valid
  /// (it is read back from the file if touched again).
  void releasePages(const TensorInfo &tensor, uint64_t begin,
                    uint64_t end) const;

  /// The string-to-string `__metadata__` entries of the header.
  const llvm::StringMap<std::string> &metadata() const { return metadataMap; }

private:
  SafeTensorsFile() = default;

  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  const uint8_t *dataSection = nullptr;
  std::vector<TensorInfo> tensorList;
  llvm::StringMap<size_t> indexByName;
  llvm::StringMap<std::string> metadataMap;
};

/// Formats |shape| as "[2, 3]".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace g4c

#endif // G4C_CHECKPOINT_SAFETENSORS_H
