//===- Checkpoint.h - a Hugging Face Gemma 4 checkpoint ---------*- C++ -*-===//
//
// Part of g4c. A checkpoint directory: config.json plus one safetensors file
// or shards listed in model.safetensors.index.json. Tensors are looked up by
// their text-decoder name without the model prefix ("norm.weight"), whether
// the file says "model.language_model.norm.weight" or "model.norm.weight".
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_CHECKPOINT_H
#define G4C_CHECKPOINT_CHECKPOINT_H

#include "compiler/Checkpoint/ModelConfig.h"
#include "compiler/Checkpoint/SafeTensors.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <vector>

namespace g4c {

/// A tensor found in the checkpoint: its header entry and owning file.
struct CheckpointTensor {
  const TensorInfo *info;
  const SafeTensorsFile *file;
  llvm::ArrayRef<uint8_t> data() const { return file->data(*info); }
};

/// An opened, validated checkpoint directory.
class Checkpoint {
public:
  /// Opens |directory|: parses config.json, maps every safetensors file and
  /// checks the index. Does not yet cross-check tensors against the config
  /// (see validateTensors).
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  open(llvm::StringRef directory);

  /// open() followed by validateTensors(): the checkpoint a compiler can use.
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  openValidated(llvm::StringRef directory);

  /// Checks that every tensor the config implies is present with its
  /// expected shape and a float dtype; lists every difference in one error.
  llvm::Error validateTensors() const;

  const ModelConfig &config() const { return modelConfig; }
  llvm::StringRef directory() const { return directoryPath; }
  /// Looks up a text-decoder tensor by its unprefixed name.
  std::optional<CheckpointTensor> lookup(llvm::StringRef name) const;
  /// Every tensor of every file, with its unprefixed name (sorted by name).
  std::vector<std::pair<std::string, CheckpointTensor>> allTensors() const;
  llvm::ArrayRef<std::unique_ptr<SafeTensorsFile>> files() const {
    return fileList;
  }

private:
  Checkpoint() = default;
  llvm::Error addFile(std::unique_ptr<SafeTensorsFile> file);

  std::string directoryPath;
  ModelConfig modelConfig;
  std::vector<std::unique_ptr<SafeTensorsFile>> fileList;
  llvm::StringMap<CheckpointTensor> tensorsByName;
};

/// Strips "model.language_model." or "model." from a checkpoint tensor name.
llvm::StringRef stripModelPrefix(llvm::StringRef name);

} // namespace g4c

#endif // G4C_CHECKPOINT_CHECKPOINT_H
