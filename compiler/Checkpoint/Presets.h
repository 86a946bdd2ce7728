//===- Presets.h - config.json presets of every Gemma 4 family --*- C++ -*-===//
//
// Part of g4c. Named configurations for the random-checkpoint generator: a
// tiny preset per family that still exercises each of its features, and the
// real-size shapes (§1.1 of the architecture doc) for benchmarks.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_PRESETS_H
#define G4C_CHECKPOINT_PRESETS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace g4c {

/// Changes to a preset's shape. Unset fields keep the preset's value.
struct PresetOverrides {
  std::optional<int64_t> numLayers;
  std::optional<int64_t> hiddenSize;
  std::optional<int64_t> vocabSize;
  std::optional<int64_t> slidingWindow;
  std::optional<int64_t> numKvSharedLayers;
  /// Attention types as a repeating string of 's' (sliding) and 'f' (full).
  std::optional<std::string> layerPattern;
};

/// The names of every preset, tiny ones first.
llvm::ArrayRef<llvm::StringRef> presetNames();

/// The config.json (HF Gemma4ForConditionalGeneration layout, or the
/// text-only Gemma4ForCausalLM layout when |textOnly|) of |preset| with
/// |overrides| applied. The result is not yet validated: parse it with
/// ModelConfig::parse.
llvm::Expected<llvm::json::Object>
makePresetConfig(llvm::StringRef preset, const PresetOverrides &overrides,
                 llvm::StringRef dtypeName, bool textOnly);

} // namespace g4c

#endif // G4C_CHECKPOINT_PRESETS_H
