//===- ProjectWriter.h - the build around emitted C++ -----------*- C++ -*-===//
//
// Part of g4c. The files `g4c compile` writes beside NAME.h / NAME.cc: the
// programs NAME-run (token ids) and NAME-chat (text) and a CMakeLists.txt
// that builds them against the g4c runtime with no further arguments.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_CPP_PROJECTWRITER_H
#define G4C_TARGETS_CPP_PROJECTWRITER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace g4c {

/// NAME-run.cc: `NAME-run [--weights F] --tokens IDS [--steps N]
/// [--prefill-chunk K] [--dump-logits F.npy]`.
std::string runnerSource(llvm::StringRef name);

/// NAME-chat.cc: text in, streamed text out (tokenizer, chat template,
/// sampler); the program `g4c run` runs.
std::string chatSource(llvm::StringRef name);

/// |text| with every @NAME@ replaced by |name| and @UPPER@ by its upper
/// case (the code templates of the C++ backend).
std::string instantiateTemplate(llvm::StringRef text, llvm::StringRef name);

/// How the model's code was emitted, for the build around it.
struct ProjectLayout {
  bool linkWeights = false; ///< NAME_weights.cc holds the weights
  /// The object backend: NAME.o + NAME_kernels.cc instead of NAME.cc, and
  /// the C++ built with the object's target flags (|archFlags|).
  bool objectFile = false;
  std::string archFlags = "-march=native";
  /// Halide-generated kernels and their runtime (file names in OUT), and
  /// where HalideRuntime.h is.
  std::vector<std::string> halideObjects;
  std::string halideIncludeDir;
};

/// CMakeLists.txt building NAME-run from the model's code (|layout|) and
/// the runtime at |runtimeDirectory| (default: the runtime of the g4c that
/// wrote it).
std::string projectCMake(llvm::StringRef name, const ProjectLayout &layout,
                         llvm::StringRef runtimeDirectory = "");

/// Writes NAME_weights.cc: the .g4w file at |g4wPath| as the 4096-byte
/// aligned array NAME_weights_data, for small models linked into one
/// self-contained binary.
llvm::Error writeLinkedWeights(llvm::StringRef g4wPath,
                               llvm::StringRef sourcePath,
                               llvm::StringRef name);

} // namespace g4c

#endif // G4C_TARGETS_CPP_PROJECTWRITER_H
