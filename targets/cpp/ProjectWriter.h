//===- ProjectWriter.h - the build around emitted C++ -----------*- C++ -*-===//
//
// Part of g4c. The files `g4c compile` writes beside NAME.h / NAME.cc: a
// command-line runner NAME-run and a CMakeLists.txt that builds it against
// the g4c runtime with no further arguments.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_CPP_PROJECTWRITER_H
#define G4C_TARGETS_CPP_PROJECTWRITER_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace g4c {

/// NAME-run.cc: `NAME-run [--weights F] --tokens IDS [--steps N]
/// [--prefill-chunk K] [--dump-logits F.npy]`.
std::string runnerSource(llvm::StringRef name);

/// CMakeLists.txt building NAME-run from NAME.cc and the runtime at
/// |runtimeDirectory| (default: the runtime of the g4c that wrote it).
std::string projectCMake(llvm::StringRef name,
                         llvm::StringRef runtimeDirectory = "");

} // namespace g4c

#endif // G4C_TARGETS_CPP_PROJECTWRITER_H
