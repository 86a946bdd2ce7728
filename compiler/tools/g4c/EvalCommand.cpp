//===- EvalCommand.cpp - g4c eval -----------------------------------------===//
//
// Part of g4c. This file implements `g4c eval CKPT --compiled OUT`: runs a
// fixed token stream through a compiled model (building its NAME-run if
// needed) and through the reference executor, and reports how close the
// compiled logits are: max |delta|, mean KL divergence, top-1 agreement.
// Optional bounds turn it into a check (exit 1 when one is exceeded).
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/LogitMetrics.h"
#include "compiler/Reference/ReferenceModel.h"
#include "compiler/Support/Error.h"
#include "compiler/Support/NpyReader.h"
#include "compiler/tools/g4c/Commands.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <random>

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand evalCommand("eval", "Compare a compiled model's logits with the "
                                   "reference executor's on a token stream");
cl::OptionCategory evalCategory("eval options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(evalCommand),
                                    cl::cat(evalCategory));
cl::opt<std::string> compiledPath(
    "compiled", cl::Required,
    cl::desc("Output directory of `g4c compile` for this checkpoint"),
    cl::value_desc("OUT"), cl::sub(evalCommand), cl::cat(evalCategory));
cl::opt<std::string> tokenList("tokens",
                               cl::desc("Comma-separated input token ids"),
                               cl::value_desc("IDS"), cl::sub(evalCommand),
                               cl::cat(evalCategory));
cl::opt<int64_t> randomTokens(
    "random-tokens", cl::init(0),
    cl::desc("Instead of --tokens: N ids drawn uniformly from the vocabulary "
             "(fixed by --seed)"),
    cl::value_desc("N"), cl::sub(evalCommand), cl::cat(evalCategory));
cl::opt<uint64_t> seed("seed", cl::init(1), cl::desc("Seed of --random-tokens"),
                       cl::sub(evalCommand), cl::cat(evalCategory));
cl::opt<int64_t> prefillChunk("prefill-chunk", cl::init(0),
                              cl::desc("Tokens per prefill call of the "
                                       "compiled model (default: all)"),
                              cl::value_desc("K"), cl::sub(evalCommand),
                              cl::cat(evalCategory));
cl::opt<double> maxDelta("max-delta", cl::init(-1),
                         cl::desc("Fail if max |delta logit| exceeds this"),
                         cl::sub(evalCommand), cl::cat(evalCategory));
cl::opt<double> maxKl("max-kl", cl::init(-1),
                      cl::desc("Fail if the mean KL divergence exceeds this"),
                      cl::sub(evalCommand), cl::cat(evalCategory));
cl::opt<double> minTop1("min-top1", cl::init(-1),
                        cl::desc("Fail if top-1 agreement (0..1) is below "
                                 "this"),
                        cl::sub(evalCommand), cl::cat(evalCategory));

/// The compiled model's name: the one NAME.g4w in |directory|.
llvm::Expected<std::string> compiledName(llvm::StringRef directory) {
  std::error_code error;
  std::vector<std::string> names;
  for (llvm::sys::fs::directory_iterator it(directory, error), end;
       it != end && !error; it.increment(error))
    if (llvm::sys::path::extension(it->path()) == ".g4w")
      names.push_back(llvm::sys::path::stem(it->path()).str());
  if (error)
    return makeError(directory + ": cannot read: " + error.message());
  if (names.size() != 1)
    return makeError(directory +
                     ": expected the output of `g4c compile` "
                     "(one NAME.g4w), found " +
                     llvm::Twine(names.size()) + " .g4w files");
  return names.front();
}

/// OUT/build/NAME-run, built with cmake if it is not there yet.
llvm::Expected<std::string> runner(llvm::StringRef directory,
                                   llvm::StringRef name) {
  llvm::SmallString<256> build(directory), program;
  llvm::sys::path::append(build, "build");
  program = build;
  llvm::sys::path::append(program, name + "-run");
  if (llvm::sys::fs::can_execute(program))
    return std::string(program);
  auto cmake = llvm::sys::findProgramByName("cmake");
  if (!cmake)
    return makeError("cmake is not on PATH (needed to build " + program + ")");
  llvm::SmallString<256> log(build);
  llvm::sys::path::append(log, "g4c-eval-build.log");
  llvm::errs() << "g4c: building " << program << " (log: " << log << ")\n";
  if (std::error_code error = llvm::sys::fs::create_directories(build))
    return makeError(build + ": cannot create: " + error.message());
  if (llvm::Error error = executeProgram(
          *cmake,
          {*cmake, "-S", directory, "-B", build, "-DCMAKE_BUILD_TYPE=Release"},
          log))
    return std::move(error);
  const std::string target = (name + "-run").str();
  if (llvm::Error error = executeProgram(
          *cmake, {*cmake, "--build", build, "--target", target, "-j", "2"},
          log))
    return std::move(error);
  return std::string(program);
}

llvm::Expected<std::vector<int64_t>> tokenStream(int64_t vocab) {
  if (!tokenList.empty() == (randomTokens > 0))
    return makeError("give either --tokens IDS or --random-tokens N");
  if (!tokenList.empty())
    return parseTokenIds(tokenList);
  std::mt19937_64 generator(seed);
  std::vector<int64_t> tokens(randomTokens);
  for (int64_t &token : tokens)
    token = int64_t(generator() % uint64_t(vocab));
  return tokens;
}

/// The compiled model's logits [T, vocab] for |tokens|.
llvm::Expected<std::vector<float>>
compiledLogits(llvm::ArrayRef<int64_t> tokens, int64_t vocab) {
  auto name = compiledName(compiledPath);
  if (!name)
    return name.takeError();
  auto program = runner(compiledPath, *name);
  if (!program)
    return program.takeError();
  llvm::SmallString<128> dump;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("g4c-eval", "npy", dump))
    return makeError("cannot create a temporary file: " + error.message());
  llvm::FileRemover removeDump(dump);
  llvm::SmallString<256> weights(compiledPath);
  llvm::sys::path::append(weights, *name + ".g4w");
  std::string ids = llvm::join(
      llvm::map_range(tokens, [](int64_t id) { return std::to_string(id); }),
      ",");
  std::string chunk = std::to_string(prefillChunk > 0 ? prefillChunk.getValue()
                                                      : int64_t(tokens.size()));
  int code = 0;
  if (llvm::Error error =
          executeProgram(*program,
                         {*program, "--weights", weights, "--tokens", ids,
                          "--prefill-chunk", chunk, "--dump-logits", dump},
                         "", &code))
    return std::move(error);
  if (code != 0)
    return makeError(*program + " failed (exit code " + llvm::Twine(code) +
                     ")");
  auto array = readNpyFloat32(dump);
  if (!array)
    return array.takeError();
  if (array->shape != std::vector<int64_t>{int64_t(tokens.size()), vocab})
    return makeError(*program + " wrote logits of another shape than [" +
                     llvm::Twine(tokens.size()) + ", " + llvm::Twine(vocab) +
                     "]");
  return std::move(array->values);
}

} // namespace

int runEval() {
  if (prefillChunk < 0)
    return reportError(makeError("--prefill-chunk must be >= 0"));
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  auto model = reference::ReferenceModel::create(**checkpoint);
  if (!model)
    return reportError(model.takeError());
  const int64_t vocab = (*model)->config().text.vocabSize;
  auto tokens = tokenStream(vocab);
  if (!tokens)
    return reportError(tokens.takeError());
  auto compiled = compiledLogits(*tokens, vocab);
  if (!compiled)
    return reportError(compiled.takeError());
  auto reference = (*model)->forward(*tokens);
  if (!reference)
    return reportError(reference.takeError());
  reference::LogitMetrics metrics =
      reference::compareLogits(*reference, *compiled, vocab);
  llvm::outs() << llvm::formatv(
      "positions {0}: max |delta| {1:e3}, mean KL {2:e3}, top-1 agreement "
      "{3:F2}% ({4}/{0})\n",
      metrics.positions, metrics.maxAbsDelta, metrics.meanKl,
      100 * metrics.top1Fraction(), metrics.top1Agreements);
  bool failed = false;
  auto check = [&](bool exceeded, const llvm::Twine &what) {
    if (exceeded) {
      llvm::errs() << "g4c: eval: " << what << "\n";
      failed = true;
    }
  };
  check(maxDelta >= 0 && !(metrics.maxAbsDelta <= maxDelta),
        llvm::formatv("max |delta| {0:e3} exceeds --max-delta {1}",
                      metrics.maxAbsDelta, maxDelta.getValue()));
  check(maxKl >= 0 && !(metrics.meanKl <= maxKl),
        llvm::formatv("mean KL {0:e3} exceeds --max-kl {1}", metrics.meanKl,
                      maxKl.getValue()));
  check(minTop1 >= 0 && metrics.top1Fraction() < minTop1,
        llvm::formatv("top-1 agreement {0:F4} is below --min-top1 {1}",
                      metrics.top1Fraction(), minTop1.getValue()));
  return failed ? 1 : 0;
}

} // namespace g4c
