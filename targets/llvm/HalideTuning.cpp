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
  auto path = [&](llvm::StringRef name) {
    llvm::SmallString<256> joined(workDirectory);
    llvm::sys::path::append(joined, name);
    return std::string(joined);
  };
  const std::string log = path("step.log");
  const std::string include = "-I" G4C_HALIDE_INCLUDE_DIR;
  progress << "g4c: building Halide's benchmark driver\n";
  if (llvm::Error error =
          run({*compiler, "-O2", "-std=c++17", "-DHALIDE_NO_PNG",
               "-DHALIDE_NO_JPEG", include, "-c", G4C_HALIDE_RUNGEN_MAIN, "-o",
               path("RunGenMain.o")},
              log))
    return std::move(error);
  auto runtimeGenerator = halideGeneratorExecutable(kernels[0]->generator);
  if (!runtimeGenerator)
    return runtimeGenerator.takeError();
  if (llvm::Error error =
          run({*runtimeGenerator, "-r", "runtime", "-o", workDirectory.str(),
               "-e", "object", "target=" + target.str()},
              log))
    return std::move(error);

  // Generates, links and times |request| with |schedule| added.
  int built = 0;
  auto measure =
      [&](const HalideRequest &request,
          const std::vector<std::string> &schedule) -> llvm::Expected<double> {
    auto generator = halideGeneratorExecutable(request.generator);
    if (!generator)
      return generator.takeError();
    const std::string name = "kernel" + std::to_string(built++);
    std::vector<std::string> argv{
        *generator,
        "-g",
        request.registeredName,
        "-f",
        name,
        "-o",
        workDirectory.str(),
        "-e",
        "object,registration",
        "target=" + target.str() + (request.targetFeatures.empty() ? "" : "-") +
            request.targetFeatures + "-no_runtime"};
    argv.insert(argv.end(), request.params.begin(), request.params.end());
    argv.insert(argv.end(), schedule.begin(), schedule.end());
    if (llvm::Error error = run(argv, log))
      return std::move(error);
    const std::string driver = path(name + ".rungen");
    if (llvm::Error error =
            run({*compiler, path("RunGenMain.o"),
                 path(name + ".registration.cpp"), path(name + ".o"),
                 path("runtime.o"), include, "-ldl", "-lpthread", "-o", driver},
                log))
      return std::move(error);
    const std::string output = path(name + ".txt");
    if (llvm::Error error =
            run({driver, "--benchmarks=all", "--estimate_all",
                 llvm::formatv("--benchmark_min_time={0}", minSeconds).str(),
                 "--parsable_output"},
                output))
      return std::move(error);
    auto text = llvm::MemoryBuffer::getFile(output);
    std::optional<double> best =
        text ? bestMilliseconds((*text)->getBuffer()) : std::nullopt;
    if (!best)
      return makeError("no time in the benchmark output " + output);
    return *best;
  };

  progress << llvm::formatv("g4c: tuning {0} Halide kernels for {1}\n",
                            kernels.size(), target);
  for (const HalideRequest *request : kernels) {
    TunedKernel result{tuningKey(*request), {}, {}};
    llvm::ArrayRef<ScheduleKnob> knobs = scheduleKnobs(request->registeredName);
    for (const ScheduleKnob &knob : knobs)
      result.schedule.push_back(knob.name + "=" +
                                std::to_string(knob.candidates[0]));
    for (size_t k = 0; k < knobs.size(); ++k) {
      double best = std::numeric_limits<double>::infinity();
      std::string bestValue = result.schedule[k];
      for (int value : knobs[k].candidates) {
        std::vector<std::string> schedule = result.schedule;
        schedule[k] = knobs[k].name + "=" + std::to_string(value);
        auto time = measure(*request, schedule);
        if (!time)
          return time.takeError();
        result.millisecondsOf[schedule[k]] = *time;
        if (*time < best) {
          best = *time;
          bestValue = schedule[k];
        }
      }
      result.schedule[k] = bestValue;
    }
    progress << llvm::formatv("  {0}: {1}\n", result.key,
                              llvm::join(result.schedule, " "));
    tuned.push_back(std::move(result));
  }
  return tuned;
}

} // namespace g4c
