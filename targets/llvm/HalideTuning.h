//===- HalideTuning.h - schedule parameters measured per kernel -*- C++ -*-===//
//
// Part of g4c. `g4c tune` measures, on the machine it runs on, which value
// of each schedule parameter a Halide generator exposes (vector width,
// ...) makes each of a model's kernels fastest, and writes them to a
// tuning file; `g4c compile --tuning FILE` passes them to the generators.
// Without a file, the generators' defaults apply. Schedules never change
// what a kernel computes, only how fast.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_LLVM_HALIDETUNING_H
#define G4C_TARGETS_LLVM_HALIDETUNING_H

#include "targets/llvm/HalideKernels.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

namespace g4c {

/// A schedule parameter of a generator and the values g4c tune tries (the
/// first is the generator's default).
struct ScheduleKnob {
  std::string name;
  std::vector<int> candidates;
};

/// The schedule parameters of the generator registered as |registeredName|.
llvm::ArrayRef<ScheduleKnob> scheduleKnobs(llvm::StringRef registeredName);

/// A kernel's identity in a tuning file: its generator and the
/// GeneratorParams that fix its shape and formats.
std::string tuningKey(const HalideRequest &request);

/// One tuned kernel: the schedule chosen and the time each value took.
struct TunedKernel {
  std::string key;
  std::vector<std::string> schedule;            ///< "knob=value"
  std::map<std::string, double> millisecondsOf; ///< per "knob=value"
};

/// A tuning file's contents.
struct HalideTuning {
  std::string target; ///< the --target it was measured for ("host")
  std::vector<TunedKernel> kernels;
};

/// Reads a tuning file; errors name the file and the problem.
llvm::Expected<HalideTuning> readTuning(llvm::StringRef path);

/// Writes |tuning| to |path| (atomically).
llvm::Error writeTuning(llvm::StringRef path, const HalideTuning &tuning);

/// Appends each tuned kernel's schedule to its request's GeneratorParams;
/// returns how many requests it tuned.
size_t applyTuning(const HalideTuning &tuning,
                   std::vector<HalideRequest> &requests);

/// Measures every schedule candidate of the distinct kernels of |requests|
/// that have schedule parameters, on this machine for Halide target
/// |target|: each candidate generated into |workDirectory|, linked into
/// Halide's RunGen benchmark driver (compiled by g4c's build) with the C++
/// compiler and timed there (best of its samples over |minSeconds| each).
/// One knob at a time, the others at their best so far: a round builds the
/// candidates of every kernel side by side, then times them one by one.
/// Progress goes to |progress|.
llvm::Expected<std::vector<TunedKernel>>
measureSchedules(const std::vector<HalideRequest> &requests,
                 llvm::StringRef target, llvm::StringRef workDirectory,
                 double minSeconds, llvm::raw_ostream &progress);

} // namespace g4c

#endif // G4C_TARGETS_LLVM_HALIDETUNING_H
