//===- NpyReader.h - read float32 .npy files --------------------*- C++ -*-===//
//
// Part of g4c. Reads the NumPy .npy files g4c and the generated programs
// write (format 1.0, little-endian float32, C order), refusing anything
// else with an error naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_SUPPORT_NPYREADER_H
#define G4C_SUPPORT_NPYREADER_H

#include "llvm/Support/Error.h"

#include <vector>

namespace g4c {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// The float32 array in the .npy file |path|.
llvm::Expected<NpyArray> readNpyFloat32(llvm::StringRef path);

} // namespace g4c

#endif // G4C_SUPPORT_NPYREADER_H
