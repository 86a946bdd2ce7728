//===- HalideTuning.cpp - schedule parameters measured per kernel ---------===//
//
// Part of g4c. Implements the tuning file and the measurement behind
// `g4c tune`.
//
//===----------------------------------------------------------------------===//

#include "targets/llvm/HalideTuning.h"

#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

#include <limits>

namespace g4c {

namespace {

/// The tuning file format's version.
constexpr int64_t kTuningVersion = 1;

llvm::Error fileError(llvm::StringRef path, const llvm::Twine &problem) {
  return makeError(path + ": " + problem);
}

/// Runs a step of the measurement (see runProgram).
llvm::Error run(llvm::ArrayRef<std::string> argv, llvm::StringRef log) {
  return runProgram(argv, log, "g4c tune's step");
}

/// The C++ compiler that links the benchmark drivers: $CXX, else c++.
llvm::Expected<std::string> cxxCompiler() {
  std::string name = "c++";
  if (std::optional<std::string> cxx = llvm::sys::Process::GetEnv("CXX"))
    name = *cxx;
  auto path = llvm::sys::findProgramByName(name);
  if (!path)
    return makeError("g4c tune needs a C++ compiler to build its benchmark "
                     "drivers: '" +
                     name + "' not found (set CXX)");
  return *path;
}

/// The best time per call that RunGen's --parsable_output reports.
std::optional<double> bestMilliseconds(llvm::StringRef output) {
  llvm::SmallVector<llvm::StringRef> lines;
  output.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::SmallVector<llvm::StringRef> fields;
    line.split(fields, ' ', -1, /*KeepEmpty=*/false);
    double value;
    if (fields.size() == 3 && fields[1] == "BEST_TIME_MSEC_PER_ITER" &&
        !fields[2].getAsDouble(value))
      return value;
  }
  return std::nullopt;
}

/// The best time per call of the benchmark driver |driver| (RunGen), its
/// output kept in |output|.
llvm::Expected<double> timeDriver(const std::string &driver,
                                  const std::string &output,
                                  double minSeconds) {
  if (llvm::Error error =
          run({driver, "--benchmarks=all", "--estimate_all",
               llvm::formatv("--benchmark_min_time={0}", minSeconds).str(),
               "--parsable_output"},
              output))
    return std::move(error);
  auto text = llvm::MemoryBuffer::getFile(output);
  std::optional<double> time =
      text ? bestMilliseconds((*text)->getBuffer()) : std::nullopt;
  if (!time)
    return makeError("no time in the benchmark output " + output);
  return *time;
}

} // namespace

llvm::ArrayRef<ScheduleKnob> scheduleKnobs(llvm::StringRef registeredName) {
  // Vectors of 1, 2 or 4 times the target's natural width per step.
  static const std::vector<ScheduleKnob> vectors{{"vectors", {1, 2, 4}}};
  if (registeredName == "g4c_gelu_gate" || registeredName == "g4c_rms_norm")
    return vectors;
  // Rows of a register tile of partial sums (tokens stay at 4).
  static const std::vector<ScheduleKnob> rowTiles{{"row_tile", {4, 2, 8}}};
  if (registeredName == "g4c_linear")
    return rowTiles;
  // ... and how many tiles ahead the weight rows are prefetched.
  static const std::vector<ScheduleKnob> quantisedKnobs{
      {"row_tile", {4, 2, 8}}, {"prefetch_tiles", {2, 0, 4}}};
  if (registeredName == "g4c_quantised_linear")
    return quantisedKnobs;
  return {};
}

std::string tuningKey(const HalideRequest &request) {
  return request.registeredName + " " + llvm::join(request.params, " ");
}

llvm::Expected<HalideTuning> readTuning(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fileError(path, "cannot read: " + buffer.getError().message());
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return fileError(path, "not JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fileError(path, "expected a JSON object");
  std::optional<int64_t> version = root->getInteger("g4c_tuning");
  if (!version || *version != kTuningVersion)
    return fileError(path, llvm::formatv("not a g4c tuning file of version "
                                         "{0} (key \"g4c_tuning\")",
                                         kTuningVersion));
  HalideTuning tuning;
  std::optional<llvm::StringRef> target = root->getString("target");
  if (!target)
    return fileError(path, "missing \"target\"");
  tuning.target = target->str();
  const llvm::json::Array *kernels = root->getArray("kernels");
  if (!kernels)
    return fileError(path, "missing \"kernels\" (an array)");
  for (const llvm::json::Value &entry : *kernels) {
    const llvm::json::Object *kernel = entry.getAsObject();
    std::optional<llvm::StringRef> key =
        kernel ? kernel->getString("kernel") : std::nullopt;
    const llvm::json::Array *schedule =
        kernel ? kernel->getArray("schedule") : nullptr;
    if (!key || !schedule)
      return fileError(path, "each kernel needs \"kernel\" (a string) and "
                             "\"schedule\" (an array of \"knob=value\")");
    TunedKernel tuned{key->str(), {}, {}};
    llvm::ArrayRef<ScheduleKnob> knobs = scheduleKnobs(key->split(' ').first);
    for (const llvm::json::Value &item : *schedule) {
      std::optional<llvm::StringRef> text = item.getAsString();
      auto [name, value] =
          text ? text->split('=') : std::make_pair(llvm::StringRef(), "");
      int number;
      auto knob = llvm::find_if(
          knobs, [&](const ScheduleKnob &k) { return k.name == name; });
      if (!text || knob == knobs.end() || value.getAsInteger(10, number) ||
          !llvm::is_contained(knob->candidates, number))
        return fileError(path, "kernel '" + *key + "': '" +
                                   (text ? *text : "?") +
                                   "' is not a schedule parameter of its "
                                   "generator with a value g4c knows");
      tuned.schedule.push_back(text->str());
    }
    tuning.kernels.push_back(std::move(tuned));
  }
  return tuning;
}

llvm::Error writeTuning(llvm::StringRef path, const HalideTuning &tuning) {
  llvm::json::Array kernels;
  for (const TunedKernel &kernel : tuning.kernels) {
    llvm::json::Object milliseconds;
    for (const auto &[candidate, time] : kernel.millisecondsOf)
      milliseconds[candidate] = time;
    kernels.push_back(
        llvm::json::Object{{"kernel", kernel.key},
                           {"schedule", llvm::json::Array(kernel.schedule)},
                           {"milliseconds", std::move(milliseconds)}});
  }
  llvm::json::Value root = llvm::json::Object{{"g4c_tuning", kTuningVersion},
                                              {"target", tuning.target},
                                              {"kernels", std::move(kernels)}};
  return writeFileAtomically(path, [&](llvm::raw_fd_ostream &out) {
    out << llvm::formatv("{0:2}", root) << "\n";
    return llvm::Error::success();
  });
}

size_t applyTuning(const HalideTuning &tuning,
                   std::vector<HalideRequest> &requests) {
  size_t tuned = 0;
  for (HalideRequest &request : requests) {
    const std::string key = tuningKey(request);
    auto match = llvm::find_if(tuning.kernels, [&](const TunedKernel &kernel) {
      return kernel.key == key;
    });
    if (match == tuning.kernels.end())
      continue;
    request.params.insert(request.params.end(), match->schedule.begin(),
                          match->schedule.end());
    ++tuned;
  }
  return tuned;
}

llvm::Expected<std::vector<TunedKernel>>
measureSchedules(const std::vector<HalideRequest> &requests,
                 llvm::StringRef target, llvm::StringRef workDirectory,
                 double minSeconds, llvm::raw_ostream &progress) {
  // The distinct kernels that have something to tune.
  std::vector<const HalideRequest *> kernels;
  llvm::StringSet<> seen;
  for (const HalideRequest &request : requests)
    if (!scheduleKnobs(request.registeredName).empty() &&
        seen.insert(tuningKey(request)).second)
      kernels.push_back(&request);
  std::vector<TunedKernel> tuned;
  if (kernels.empty())
    return tuned;
  auto compiler = cxxCompiler();
  if (!compiler)
    return compiler.takeError();
  auto driverMain = halideGeneratorFile("g4c-rungen-main.o");
  if (!driverMain)
    return driverMain.takeError();
  auto path = [&](llvm::StringRef name) {
    llvm::SmallString<256> joined(workDirectory);
    llvm::sys::path::append(joined, name);
    return std::string(joined);
  };
  auto runtimeGenerator = halideGeneratorExecutable(kernels[0]->generator);
  if (!runtimeGenerator)
    return runtimeGenerator.takeError();
  if (llvm::Error error =
          run({*runtimeGenerator, "-r", "runtime", "-o", workDirectory.str(),
               "-e", "object", "target=" + target.str()},
              path("step.log")))
    return std::move(error);

  // Each kernel starts at its knobs' defaults.
  for (const HalideRequest *request : kernels) {
    TunedKernel result{tuningKey(*request), {}, {}};
    for (const ScheduleKnob &knob : scheduleKnobs(request->registeredName))
      result.schedule.push_back(knob.name + "=" +
                                std::to_string(knob.candidates[0]));
    tuned.push_back(std::move(result));
  }
  progress << llvm::formatv("g4c: tuning {0} Halide kernels for {1}\n",
                            kernels.size(), target);
  // Knob k of every kernel in round k, the others at their best so far. A
  // round builds its candidates side by side, then times them one at a
  // time with nothing else running.
  struct Candidate {
    size_t kernel;
    std::string setting; ///< "knob=value"
    std::string name;    ///< its files in |workDirectory|
  };
  int built = 0;
  for (size_t knob = 0;; ++knob) {
    std::vector<Candidate> candidates;
    std::vector<std::vector<std::string>> generate, link;
    for (size_t k = 0; k < kernels.size(); ++k) {
      llvm::ArrayRef<ScheduleKnob> knobs =
          scheduleKnobs(kernels[k]->registeredName);
      if (knob >= knobs.size())
        continue;
      for (int value : knobs[knob].candidates) {
        Candidate candidate{k, knobs[knob].name + "=" + std::to_string(value),
                            "kernel" + std::to_string(built++)};
        auto command =
            halideGeneratorCommand(*kernels[k], candidate.name, target,
                                   workDirectory, "object,registration");
        if (!command)
          return command.takeError();
        std::vector<std::string> schedule = tuned[k].schedule;
        schedule[knob] = candidate.setting;
        command->insert(command->end(), schedule.begin(), schedule.end());
        generate.push_back(std::move(*command));
        link.push_back({*compiler, *driverMain,
                        path(candidate.name + ".registration.cpp"),
                        path(candidate.name + ".o"), path("runtime.o"),
                        "-I" G4C_HALIDE_INCLUDE_DIR, "-ldl", "-lpthread", "-o",
                        path(candidate.name + ".rungen")});
        candidates.push_back(std::move(candidate));
      }
    }
    if (candidates.empty())
      break;
    progress << llvm::formatv("g4c: building {0} candidates\n",
                              candidates.size());
    if (llvm::Error error = runPrograms(generate, "Halide generator"))
      return std::move(error);
    if (llvm::Error error =
            runPrograms(link, "g4c tune's link of a benchmark driver"))
      return std::move(error);
    progress << llvm::formatv("g4c: timing {0} candidates\n",
                              candidates.size());
    std::vector<double> best(kernels.size(),
                             std::numeric_limits<double>::infinity());
    for (const Candidate &candidate : candidates) {
      auto time = timeDriver(path(candidate.name + ".rungen"),
                             path(candidate.name + ".txt"), minSeconds);
      if (!time)
        return time.takeError();
      TunedKernel &kernel = tuned[candidate.kernel];
      kernel.millisecondsOf[candidate.setting] = *time;
      if (*time < best[candidate.kernel]) {
        best[candidate.kernel] = *time;
        kernel.schedule[knob] = candidate.setting;
      }
    }
  }
  for (const TunedKernel &kernel : tuned)
    progress << llvm::formatv("  {0}: {1}\n", kernel.key,
                              llvm::join(kernel.schedule, " "));
  return tuned;
}

} // namespace g4c
