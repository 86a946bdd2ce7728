//===- NpyWriter.h - write float32 .npy files -------------------*- C++ -*-===//
//
// Part of g4c. Writes NumPy .npy (format 1.0) files of float32, atomically:
// a temporary file beside the target, renamed into place when complete.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_SUPPORT_NPYWRITER_H
#define G4C_SUPPORT_NPYWRITER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace g4c {

/// The .npy bytes of a C-order float32 array of |shape|.
std::string encodeNpyFloat32(llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<float> values);

/// Writes |values| with |shape| to |path| (replacing it only on success).
llvm::Error writeNpyFloat32(llvm::StringRef path, llvm::ArrayRef<int64_t> shape,
                            llvm::ArrayRef<float> values);

} // namespace g4c

#endif // G4C_SUPPORT_NPYWRITER_H
