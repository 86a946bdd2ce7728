//===- CheckpointGenerator.h - random Gemma 4 checkpoints -------*- C++ -*-===//
//
// Part of g4c. Writes deterministic random-weights checkpoints in exactly the
// Hugging Face layout: config.json, safetensors (sharded with an index when
// asked), and a synthetic tokenizer.json.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_CHECKPOINTGENERATOR_H
#define G4C_CHECKPOINT_CHECKPOINTGENERATOR_H

#include "compiler/Checkpoint/DType.h"
#include "compiler/Checkpoint/Presets.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace g4c {

struct GeneratorOptions {
  std::string preset;
  PresetOverrides overrides;
  uint64_t seed = 0;
  DType dtype = DType::BF16;
  /// Largest shard in bytes; 0 writes one model.safetensors.
  uint64_t shardBytes = 0;
  /// Text-only export: "model." prefix and a gemma4_text config.
  bool textOnly = false;
  std::string outputDirectory;
};

/// Writes the checkpoint into a temporary directory beside the output and
/// renames it into place, so a failure leaves nothing half-written. The
/// output directory must not exist (or be empty). Progress goes to
/// |progress| for files over 64 MB.
llvm::Error generateCheckpoint(const GeneratorOptions &options,
                               llvm::raw_ostream &progress);

/// The value the generator writes at |index| of tensor |name| before
/// rounding to the checkpoint dtype (exposed for tests).
float generatedValue(uint64_t seed, llvm::StringRef name, uint64_t index);

} // namespace g4c

#endif // G4C_CHECKPOINT_CHECKPOINTGENERATOR_H
