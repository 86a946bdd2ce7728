//===- TuneCommand.cpp - g4c tune -----------------------------------------===//
//
// Part of g4c. This file implements `g4c tune CKPT --target host -o FILE`:
// compiles the checkpoint for the object backend into a scratch directory
// (the options that decide the kernels' shapes are compile's), measures
// each Halide kernel's schedule candidates on this machine
// (HalideTuning.h) and writes the tuning file that `g4c compile --tuning`
// reads. Nothing of the scratch directory stays. Its options live with
// compile's (CompileCommand.cpp), which it shares.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/Error.h"
#include "compiler/tools/g4c/Commands.h"
#include "compiler/tools/g4c/CompileModel.h"
#include "targets/llvm/HalideTuning.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

namespace g4c {

namespace {

/// A scratch directory removed when it goes out of scope.
class ScratchDirectory {
public:
  llvm::Error create() {
    if (std::error_code error =
            llvm::sys::fs::createUniqueDirectory("g4c-tune", path))
      return makeError("cannot create a scratch directory: " + error.message());
    return llvm::Error::success();
  }
  ~ScratchDirectory() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  std::string join(llvm::StringRef name) const {
    llvm::SmallString<256> joined(path);
    llvm::sys::path::append(joined, name);
    return std::string(joined);
  }

private:
  llvm::SmallString<256> path;
};

llvm::Error tune() {
  if (tuneMinSecondsOption() <= 0)
    return makeError("--min-seconds must be positive");
  auto settings = compileSettingsFromOptions();
  if (!settings)
    return settings.takeError();
  if (settings->objectTarget->name != "host")
    return makeError("g4c tune measures on this machine: --target host, not " +
                     settings->objectTarget->name);
  auto checkpoint = Checkpoint::openValidated(checkpointOption());
  if (!checkpoint)
    return checkpoint.takeError();
  ScratchDirectory scratch;
  if (llvm::Error error = scratch.create())
    return error;
  std::vector<HalideRequest> requests;
  settings->name = "tuned";
  settings->halideRequests = &requests;
  settings->report = &llvm::nulls();
  if (llvm::Error error =
          compileCheckpoint(**checkpoint, scratch.join("model"), *settings))
    return error;
  auto kernels = measureSchedules(
      requests, settings->objectTarget->halideTarget, scratch.join("model"),
      tuneMinSecondsOption(), llvm::errs());
  if (!kernels)
    return kernels.takeError();
  HalideTuning tuning{settings->objectTarget->name, std::move(*kernels)};
  if (llvm::Error error = writeTuning(tuneOutputOption(), tuning))
    return error;
  llvm::outs() << llvm::formatv("wrote {0} ({1} kernels tuned)\n",
                                tuneOutputOption(), tuning.kernels.size());
  return llvm::Error::success();
}

} // namespace

int runTune() {
  if (llvm::Error error = tune())
    return reportError(std::move(error));
  return 0;
}

} // namespace g4c
