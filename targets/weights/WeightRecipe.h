//===- WeightRecipe.h - which format each packed tensor gets ----*- C++ -*-===//
//
// Part of g4c. `--weights` names the default format of the weight matrices;
// a recipe file (`--recipe F`, JSON) overrides it by tensor name pattern:
//
//   {"rules": [
//     {"match": "embed_tokens.weight", "format": "int8"},
//     {"match": "layers.*.self_attn.*", "format": "int4", "group_size": 64},
//     {"match": "layers.*.mlp.*", "format": "int4"}
//   ]}
//
// The first rule whose glob matches a tensor's name decides; names are the
// checkpoint's without the "model.language_model." prefix (as `g4c import`
// prints them).
// Formats apply to matrices (rank >= 2); vectors (norm weights, scalars)
// stay in the float format: bf16, or f32 when the default is f32. A matrix
// whose columns are not a whole number of int4 groups is stored as int8.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_WEIGHTS_WEIGHTRECIPE_H
#define G4C_TARGETS_WEIGHTS_WEIGHTRECIPE_H

#include "runtime/src/weight_file_format.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace g4c {

/// A packed tensor's format; group is the int4 group size (else 0).
struct TensorFormat {
  weightfile::Format format = weightfile::Format::BF16;
  uint32_t group = 0;
  bool operator==(const TensorFormat &other) const {
    return format == other.format && group == other.group;
  }
};

/// "f32", "bf16", "int8", "int4/64".
std::string formatName(const TensorFormat &format);

/// Parses "f32", "bf16", "int8" or "int4" (int4 takes |group|, which must
/// be 32, 64 or 128); the error names |what| (the option or file).
llvm::Expected<TensorFormat>
parseTensorFormat(llvm::StringRef text, uint32_t group, llvm::StringRef what);

class WeightRecipe {
public:
  explicit WeightRecipe(TensorFormat matrices) : matrices(matrices) {}

  /// Adds the rules of the recipe file |path|.
  llvm::Error addRulesFromFile(llvm::StringRef path);
  /// Adds the rules of recipe JSON |text|; errors name |path|.
  llvm::Error addRules(llvm::StringRef text, llvm::StringRef path);

  /// The format of the tensor |name| of |rank| dimensions, the last one
  /// |columns|.
  TensorFormat formatFor(llvm::StringRef name, size_t rank,
                         uint64_t columns) const;

  /// The default format of matrices.
  TensorFormat defaultFormat() const { return matrices; }
  /// Whether every tensor is packed as f32.
  bool allF32() const;

private:
  struct Rule {
    std::string match; // a GlobPattern refers to its text: built on use
    TensorFormat format;
  };
  TensorFormat matrices;
  std::vector<Rule> rules;
};

} // namespace g4c

#endif // G4C_TARGETS_WEIGHTS_WEIGHTRECIPE_H
