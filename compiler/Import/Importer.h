//===- Importer.h - checkpoint to gemma dialect -----------------*- C++ -*-===//
//
// Part of g4c. Turns a Gemma 4 model (its config and the names, shapes and
// dtypes of its weights; never their data) into a module of the `gemma`
// dialect with three entry points: `prefill` over a chunk of T tokens,
// `prefill_last` (the same, with the last token's logits only) and `decode`
// of one token.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_IMPORT_IMPORTER_H
#define G4C_IMPORT_IMPORTER_H

#include "compiler/Checkpoint/Checkpoint.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <optional>

namespace g4c {

/// Where one weight lives: its name in the checkpoint, its file, its dtype
/// and shape.
struct WeightSource {
  std::string sourceName;
  std::string file;
  DType dtype;
  llvm::SmallVector<int64_t, 3> shape;
};

/// Resolves an unprefixed tensor name ("layers.0.self_attn.q_proj.weight").
using WeightResolver =
    std::function<std::optional<WeightSource>(llvm::StringRef name)>;

/// The weights of an opened checkpoint.
WeightResolver checkpointWeights(const Checkpoint &checkpoint);

/// Structure only: every tensor the config implies, in |dtype|, from no
/// file. Lets tests import real-size configs without their weights.
WeightResolver configOnlyWeights(const ModelConfig &config, DType dtype);

/// The context length when none is asked for: min(4096,
/// max_position_embeddings).
int64_t defaultContextLength(const ModelConfig &config);

struct ImportOptions {
  /// Tokens per prefill call (T of the `prefill` entry point).
  int64_t prefillChunk = 64;
  /// Positions the KV caches hold (<= max_position_embeddings).
  int64_t contextLength = 4096;
  /// Recorded in the module for the weight packer.
  std::string checkpointDirectory;
};

/// Builds and verifies the module; errors name the problem (a missing
/// weight, bad options) through |context|'s diagnostics and return failure.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importModel(mlir::MLIRContext &context, const ModelConfig &config,
            const WeightResolver &weights, const ImportOptions &options);

} // namespace g4c

#endif // G4C_IMPORT_IMPORTER_H
