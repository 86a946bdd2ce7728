//===- CompileModel.h - checkpoint to a compiled model directory -*- C++
//-*-===//
//
// Part of g4c. The compilation `g4c compile` and `g4c run` share: a
// validated checkpoint in, a directory with NAME.h / NAME.cc / NAME.g4w /
// NAME.g4t and the programs' sources and CMakeLists.txt out.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TOOLS_G4C_COMPILEMODEL_H
#define G4C_TOOLS_G4C_COMPILEMODEL_H

#include "compiler/Checkpoint/Checkpoint.h"
#include "targets/llvm/HalideTuning.h"
#include "targets/llvm/ObjectEmitter.h"
#include "targets/weights/WeightRecipe.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace g4c {

struct CompileSettings {
  std::string name = "model"; ///< a C identifier
  /// The format of every packed tensor.
  WeightRecipe weights{TensorFormat{weightfile::Format::BF16, 0}};
  int64_t contextLength = 0; ///< 0: min(4096, max_position_embeddings)
  int64_t prefillChunk = 8;
  /// KV cache elements: "f32" or "i8" (a f32 scale per head per slot).
  std::string kvDType = "f32";
  /// f32 activations in int8/int4 products (default: int8, Q8_0 blocks).
  bool exactActivations = false;
  bool linkWeights = false;
  /// The object backend's target; unset: the C++ backend.
  std::optional<ObjectTarget> objectTarget;
  /// The object backend's f32 / bf16 matrix products from Halide too.
  bool halideProducts = false;
  std::vector<std::string> disabledPasses;
  /// The Halide kernels' schedule parameters (`g4c tune`); unset: defaults.
  std::optional<HalideTuning> tuning;
  /// If set, receives the Halide kernels the object backend generated.
  std::vector<HalideRequest> *halideRequests = nullptr;
  /// Where the memory plan is reported (null: stdout).
  llvm::raw_ostream *report = nullptr;
};

/// Whether |text| is a C identifier.
bool isIdentifier(llvm::StringRef text);

/// The recipe of --weights F [--group-size G] [--recipe FILE].
llvm::Expected<WeightRecipe> makeWeightRecipe(llvm::StringRef weights,
                                              uint32_t groupSize,
                                              llvm::StringRef recipePath);

/// The plan's KV dtype for --kv-cache f32|int8, or an error naming it.
llvm::Expected<std::string> parseKvCache(llvm::StringRef text);

/// Compiles |checkpoint| into |out|, which must not exist or be empty:
/// built in a temporary directory beside it and renamed into place, so a
/// failure leaves nothing behind. Prints progress and the memory plan.
llvm::Error compileCheckpoint(const Checkpoint &checkpoint, llvm::StringRef out,
                              const CompileSettings &settings);

} // namespace g4c

#endif // G4C_TOOLS_G4C_COMPILEMODEL_H
