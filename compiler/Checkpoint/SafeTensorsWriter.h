//===- SafeTensorsWriter.h - streaming safetensors writer -------*- C++ -*-===//
//
// Part of g4c. Writes a .safetensors file whose tensor data is produced in
// chunks by a callback, so arbitrarily large files need bounded memory.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_SAFETENSORSWRITER_H
#define G4C_CHECKPOINT_SAFETENSORSWRITER_H

#include "compiler/Checkpoint/DType.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace g4c {

/// A tensor to write: name, dtype and shape. Data comes from the callback.
struct TensorToWrite {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 3> shape;
  uint64_t numBytes() const;
};

/// Fills |bytes| with the next |bytes.size()| bytes of tensor |index|.
using TensorDataSource =
    std::function<void(size_t index, llvm::MutableArrayRef<uint8_t> bytes)>;

/// Writes |tensors| in order to |path| (header padded to 8 bytes, as the
/// reference library does). Called for each tensor's data in order, in
/// chunks of at most a few MB. |onBytesWritten| reports progress.
llvm::Error
writeSafeTensors(llvm::StringRef path, llvm::ArrayRef<TensorToWrite> tensors,
                 const TensorDataSource &source,
                 const std::function<void(uint64_t)> &onBytesWritten = nullptr);

} // namespace g4c

#endif // G4C_CHECKPOINT_SAFETENSORSWRITER_H
