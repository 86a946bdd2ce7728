//===- WeightPacker.h - stream checkpoint tensors into .g4w -----*- C++ -*-===//
//
// Part of g4c. Packs the tensors a compiled model reads into one .g4w file,
// converting each to the format its kernels want while streaming from the
// mapped checkpoint (bounded memory, atomic output).
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_WEIGHTS_WEIGHTPACKER_H
#define G4C_TARGETS_WEIGHTS_WEIGHTPACKER_H

#include "compiler/Checkpoint/Checkpoint.h"
#include "runtime/src/weight_file_format.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace g4c {

/// One tensor to pack: its name in the .g4w, its source, its format.
struct PackedTensorRequest {
  std::string name;
  /// The tensor's rows: one checkpoint tensor, or several (same trailing
  /// dimensions) concatenated along dimension 0 (fused projections).
  std::vector<CheckpointTensor> rows;
  weightfile::Format format;
  /// When set, every row is multiplied elementwise by this vector, as
  /// large as the innermost dimension (a folded RMSNorm weight).
  std::optional<CheckpointTensor> columnScale = std::nullopt;
  /// Columns per int4 scale (32, 64 or 128); unused by other formats.
  uint32_t group = 0;
  /// Start on a page of its own: a table read by row gathers, whose
  /// untouched rows then never share a page with other data.
  bool pageAligned = false;
};

/// Where a tensor landed in the .g4w (the generated code's constants).
struct PackedTensor {
  std::string name;
  weightfile::Format format;
  uint32_t group;
  bool pageAligned; ///< a table read by row gathers
  std::vector<uint64_t> shape;
  uint64_t offset, size;
};

/// The result of packing: the layout and the file's identity.
struct PackedWeights {
  std::vector<PackedTensor> tensors;
  uint64_t fingerprint = 0;
  uint64_t fileSize = 0;
};

/// Writes |requests| to |path| (through a temporary file renamed into place
/// at the end). Source tensors must be F32, F16 or BF16; the rows of one
/// request must agree in their trailing dimensions. Scaled values are
/// computed in f32, then stored (quantised) in the request's format. With
/// |progress|, a progress line goes there when the data is large.
llvm::Expected<PackedWeights>
packWeights(llvm::StringRef path,
            const std::vector<PackedTensorRequest> &requests,
            llvm::raw_ostream *progress = nullptr);

} // namespace g4c

#endif // G4C_TARGETS_WEIGHTS_WEIGHTPACKER_H
