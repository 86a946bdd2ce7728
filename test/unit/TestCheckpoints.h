//===- TestCheckpoints.h - temporary random checkpoints for tests -*- C++
//-*-===//
//
// Part of g4c. Helpers shared by the unit tests: a self-deleting temporary
// directory and a one-call random checkpoint generator.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TEST_UNIT_TESTCHECKPOINTS_H
#define G4C_TEST_UNIT_TESTCHECKPOINTS_H

#include "compiler/Checkpoint/CheckpointGenerator.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <string>

namespace g4c::testing {

/// A fresh temporary directory, removed with everything in it at the end.
class TempDir {
public:
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("g4c-test", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> joined(path);
    llvm::sys::path::append(joined, name);
    return std::string(joined);
  }

private:
  llvm::SmallString<256> path;
};

/// Generates a checkpoint under |dir| (as DIR/ckpt); fails the test on error.
inline std::string generate(const TempDir &dir, GeneratorOptions options) {
  if (options.outputDirectory.empty())
    options.outputDirectory = dir.file("ckpt");
  std::string ignored;
  llvm::raw_string_ostream progress(ignored);
  llvm::Error error = generateCheckpoint(options, progress);
  EXPECT_FALSE(bool(error)) << llvm::toString(std::move(error));
  return options.outputDirectory;
}

inline std::string generate(const TempDir &dir, llvm::StringRef preset,
                            DType dtype, uint64_t shardBytes = 0,
                            bool textOnly = false, uint64_t seed = 7) {
  GeneratorOptions options;
  options.preset = preset.str();
  options.seed = seed;
  options.dtype = dtype;
  options.shardBytes = shardBytes;
  options.textOnly = textOnly;
  return generate(dir, options);
}

} // namespace g4c::testing

#endif // G4C_TEST_UNIT_TESTCHECKPOINTS_H
