//===- RunCommand.cpp - g4c run -------------------------------------------===//
//
// Part of g4c. This file implements `g4c run CKPT --prompt TEXT`, the main
// job: compile the checkpoint (cached by a fingerprint of the checkpoint and
// the options), build the generated project, and run NAME-chat, which
// streams the generated text and reports prefill and decode speed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"
#include "compiler/tools/g4c/Commands.h"
#include "compiler/tools/g4c/CompileModel.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    runCommand("run",
               "Compile (cached), build and run a checkpoint on a prompt, "
               "streaming the generated text");
cl::OptionCategory runCategory("run options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(runCommand), cl::cat(runCategory));
cl::opt<std::string> prompt("prompt", cl::desc("The prompt"),
                            cl::value_desc("TEXT"), cl::sub(runCommand),
                            cl::cat(runCategory));
cl::opt<bool> chat("chat",
                   cl::desc("Wrap the prompt in the Gemma 4 chat turn format "
                            "and stop at the end of the model's turn"),
                   cl::sub(runCommand), cl::cat(runCategory));
cl::opt<bool> interactive(
    "interactive",
    cl::desc("Chat on: read further user turns from stdin, keeping the KV "
             "cache across turns"),
    cl::sub(runCommand), cl::cat(runCategory));
cl::opt<std::string> systemPrompt("system",
                                  cl::desc("A system turn (implies --chat)"),
                                  cl::value_desc("TEXT"), cl::sub(runCommand),
                                  cl::cat(runCategory));
cl::opt<bool> think("think",
                    cl::desc("Enable thinking (<|think|> in the system turn)"),
                    cl::sub(runCommand), cl::cat(runCategory));
cl::opt<int64_t> maxTokens("max-tokens", cl::init(128),
                           cl::desc("Tokens to generate at most"),
                           cl::value_desc("N"), cl::sub(runCommand),
                           cl::cat(runCategory));
cl::opt<uint64_t> seed("seed", cl::init(0),
                       cl::desc("Sampling seed (same seed, same text)"),
                       cl::value_desc("S"), cl::sub(runCommand),
                       cl::cat(runCategory));
cl::opt<bool> greedy("greedy", cl::desc("Always pick the likeliest token"),
                     cl::sub(runCommand), cl::cat(runCategory));
cl::opt<double> temperature(
    "temperature",
    cl::desc("Sampling temperature (default: generation_config.json, else "
             "1.0)"),
    cl::value_desc("T"), cl::sub(runCommand), cl::cat(runCategory));
cl::opt<int64_t> topK("top-k",
                      cl::desc("Keep the K likeliest tokens (default: "
                               "generation_config.json, else 64; 0: all)"),
                      cl::value_desc("K"), cl::sub(runCommand),
                      cl::cat(runCategory));
cl::opt<double> topP("top-p",
                     cl::desc("Nucleus sampling mass (default: "
                              "generation_config.json, else 0.95)"),
                     cl::value_desc("P"), cl::sub(runCommand),
                     cl::cat(runCategory));
cl::opt<double> minP("min-p",
                     cl::desc("Drop tokens below M times the top probability"),
                     cl::value_desc("M"), cl::sub(runCommand),
                     cl::cat(runCategory));
cl::opt<double> repeatPenalty("repeat-penalty",
                              cl::desc("Penalty for the last 64 tokens (1: "
                                       "none)"),
                              cl::value_desc("R"), cl::sub(runCommand),
                              cl::cat(runCategory));
cl::opt<bool> truncate("truncate",
                       cl::desc("Keep the end of a prompt longer than the "
                                "context instead of failing"),
                       cl::sub(runCommand), cl::cat(runCategory));
cl::opt<std::string>
    weightFormat("weights", cl::init("bf16"),
                 cl::desc("Format of the weight matrices: f32, bf16, int8 "
                          "(a scale per row) or int4 (a scale per group)"),
                 cl::sub(runCommand), cl::cat(runCategory));
cl::opt<uint32_t> groupSize("group-size", cl::init(32),
                            cl::desc("Columns per int4 scale: 32, 64 or 128"),
                            cl::value_desc("G"), cl::sub(runCommand),
                            cl::cat(runCategory));
cl::opt<std::string>
    kvCache("kv-cache", cl::init("f32"),
            cl::desc("KV cache elements: f32, or int8 with a scale per head "
                     "per position"),
            cl::sub(runCommand), cl::cat(runCategory));
cl::opt<std::string> recipePath(
    "recipe",
    cl::desc("JSON rules giving tensors other formats by name pattern "
             "(docs/weights.md)"),
    cl::value_desc("FILE"), cl::sub(runCommand), cl::cat(runCategory));
cl::opt<int64_t> contextLength(
    "context", cl::init(0),
    cl::desc("Context length (default: min(4096, max_position_embeddings))"),
    cl::value_desc("N"), cl::sub(runCommand), cl::cat(runCategory));
cl::opt<int64_t> prefillChunk("prefill-chunk", cl::init(8),
                              cl::desc("Tokens per prefill call"),
                              cl::value_desc("T"), cl::sub(runCommand),
                              cl::cat(runCategory));
cl::opt<std::string>
    cacheDirectory("cache-dir",
                   cl::desc("Where compiled models are kept (default: "
                            "$G4C_CACHE_DIR, else $XDG_CACHE_HOME/g4c, else "
                            "~/.cache/g4c)"),
                   cl::value_desc("DIR"), cl::sub(runCommand),
                   cl::cat(runCategory));

/// FNV-1a 64 of everything that decides the compiled model.
struct Fingerprint {
  uint64_t state = 0xcbf29ce484222325ull;
  void add(llvm::StringRef bytes) {
    for (char c : bytes)
      state = (state ^ uint8_t(c)) * 0x100000001b3ull;
    state = (state ^ 0xff) * 0x100000001b3ull; // separator
  }
};

llvm::Expected<std::string> cacheRoot() {
  if (!cacheDirectory.empty())
    return cacheDirectory.getValue();
  if (std::optional<std::string> dir =
          llvm::sys::Process::GetEnv("G4C_CACHE_DIR"))
    return *dir;
  llvm::SmallString<256> path;
  if (std::optional<std::string> xdg =
          llvm::sys::Process::GetEnv("XDG_CACHE_HOME"))
    path = *xdg;
  else if (llvm::sys::path::home_directory(path))
    llvm::sys::path::append(path, ".cache");
  else
    return makeError("no cache directory: set --cache-dir or G4C_CACHE_DIR");
  llvm::sys::path::append(path, "g4c");
  return std::string(path);
}

/// The cache key: g4c's format version, the checkpoint's files (names,
/// sizes, modification times; config.json by content), the options (the
/// recipe by content).
llvm::Expected<std::string> cacheKey(const Checkpoint &checkpoint) {
  Fingerprint key;
  key.add("g4c run cache v2");
  llvm::SmallString<256> real;
  if (llvm::sys::fs::real_path(checkpoint.directory(), real))
    real = checkpoint.directory();
  key.add(real);
  std::error_code error;
  std::vector<std::string> entries;
  for (llvm::sys::fs::directory_iterator it(checkpoint.directory(), error), end;
       it != end && !error; it.increment(error))
    entries.push_back(it->path());
  llvm::sort(entries);
  for (const std::string &entry : entries) {
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(entry, status) ||
        status.type() != llvm::sys::fs::file_type::regular_file)
      continue;
    key.add(llvm::sys::path::filename(entry));
    key.add(std::to_string(status.getSize()));
    key.add(std::to_string(
        status.getLastModificationTime().time_since_epoch().count()));
  }
  key.add(weightFormat);
  key.add(std::to_string(groupSize));
  key.add(kvCache);
  if (!recipePath.empty()) {
    auto recipe = llvm::MemoryBuffer::getFile(recipePath);
    if (!recipe)
      return makeError(recipePath +
                       ": cannot read: " + recipe.getError().message());
    key.add((*recipe)->getBuffer());
  }
  key.add(std::to_string(contextLength));
  key.add(std::to_string(prefillChunk));
  return llvm::formatv("model-{0:x-16}", key.state).str();
}

/// The partial cache entry being built; removed on Ctrl-C or failure.
std::string partialEntry;
/// Set by Ctrl-C: the build stops after the current step, which the signal
/// also reached (cmake and its children), and its entry is removed.
volatile std::sig_atomic_t interrupted = 0;

void removePartialEntry() {
  if (partialEntry.empty())
    return;
  // Processes the interrupt also reached (cmake, make, the compilers) may
  // still write into it for a moment: remove it until it stays gone.
  for (int attempt = 0; attempt < 30; ++attempt) {
    llvm::sys::fs::remove_directories(partialEntry);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!llvm::sys::fs::exists(partialEntry))
      return;
  }
}

/// Compiles and builds the model into |entry| unless it is there.
llvm::Error buildEntry(const Checkpoint &checkpoint, llvm::StringRef entry,
                       const CompileSettings &settings) {
  llvm::SmallString<256> chatProgram(entry);
  llvm::sys::path::append(chatProgram, "build", settings.name + "-chat");
  if (llvm::sys::fs::can_execute(chatProgram)) {
    llvm::errs() << "g4c: using the cached build in " << entry << "\n";
    return llvm::Error::success();
  }
  auto cmake = llvm::sys::findProgramByName("cmake");
  if (!cmake)
    return makeError("cmake is not on PATH (needed to build the model)");
  llvm::SmallString<256> partial;
  if (std::error_code error = createPartialDirectory(entry, partial))
    return makeError(entry + ": cannot create: " + error.message());
  partialEntry = std::string(partial);
  // Ctrl-C only sets a flag (and may come twice: `timeout` signals the
  // process and its group); the steps below stop and clean up.
  struct sigaction onInterrupt = {}, previous = {};
  onInterrupt.sa_handler = [](int) { interrupted = true; };
  sigemptyset(&onInterrupt.sa_mask);
  sigaction(SIGINT, &onInterrupt, &previous);
  auto stopped = [] {
    return interrupted ? makeError("interrupted") : llvm::Error::success();
  };
  llvm::SmallString<256> project(partial), build(partial), log(partial);
  llvm::sys::path::append(project, "project");
  llvm::sys::path::append(build, "project", "build");
  llvm::sys::path::append(log, "build.log");
  llvm::errs() << "g4c: compiling " << checkpoint.directory() << "\n";
  llvm::Error error = compileCheckpoint(checkpoint, project, settings);
  if (!error)
    error = stopped();
  if (!error) {
    llvm::errs() << "g4c: building the generated code (log: " << log << ")\n";
    error = executeProgram(
        *cmake,
        {*cmake, "-S", project, "-B", build, "-DCMAKE_BUILD_TYPE=Release"},
        log);
  }
  if (!error)
    error = stopped();
  if (!error)
    error = executeProgram(*cmake, {*cmake, "--build", build, "-j", "2"}, log);
  if (!error)
    error = stopped();
  if (!error) {
    // The project moves into place as a whole: the entry is complete or
    // absent.
    if (std::error_code renameError = llvm::sys::fs::rename(project, entry))
      error = makeError(entry + ": cannot move the build into place: " +
                        renameError.message());
  }
  removePartialEntry();
  partialEntry.clear();
  sigaction(SIGINT, &previous, nullptr);
  if (interrupted && !error)
    error = makeError("interrupted");
  return error;
}

/// generation_config.json's sampling defaults, when the checkpoint has one.
void applyGenerationConfig(const Checkpoint &checkpoint,
                           std::vector<std::string> &args) {
  llvm::SmallString<256> path(checkpoint.directory());
  llvm::sys::path::append(path, "generation_config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return;
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse((*buffer)->getBuffer());
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return;
  }
  const llvm::json::Object *config = parsed->getAsObject();
  if (!config)
    return;
  auto number = [&](const char *key, const char *flag, bool given) {
    if (std::optional<double> value = config->getNumber(key); value && !given)
      args.insert(args.end(), {flag, llvm::formatv("{0}", *value).str()});
  };
  number("temperature", "--temperature", temperature.getNumOccurrences());
  number("top_k", "--top-k", topK.getNumOccurrences());
  number("top_p", "--top-p", topP.getNumOccurrences());
  // Stop tokens: eos_token_id, a number or a list.
  std::string stops;
  if (const llvm::json::Value *eos = config->get("eos_token_id")) {
    if (std::optional<int64_t> id = eos->getAsInteger())
      stops = std::to_string(*id);
    else if (const llvm::json::Array *ids = eos->getAsArray())
      for (const llvm::json::Value &id : *ids)
        if (std::optional<int64_t> value = id.getAsInteger())
          stops += (stops.empty() ? "" : ",") + std::to_string(*value);
  }
  if (!stops.empty())
    args.insert(args.end(), {"--stop", stops});
}

llvm::Expected<int> run() {
  if (prompt.getNumOccurrences() == 0 && !interactive)
    return makeError("give --prompt TEXT (or --interactive)");
  auto recipe = makeWeightRecipe(weightFormat, groupSize, recipePath);
  if (!recipe)
    return recipe.takeError();
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return checkpoint.takeError();
  llvm::SmallString<256> tokenizer((*checkpoint)->directory());
  llvm::sys::path::append(tokenizer, "tokenizer.json");
  if (!llvm::sys::fs::exists(tokenizer))
    return makeError(checkpointPath + ": no tokenizer.json; g4c run needs "
                                      "one to turn text into tokens (g4c "
                                      "compile works without)");
  CompileSettings settings;
  settings.weights = std::move(*recipe);
  auto kvDType = parseKvCache(kvCache);
  if (!kvDType)
    return kvDType.takeError();
  settings.kvDType = *kvDType;
  settings.contextLength = contextLength;
  settings.prefillChunk = prefillChunk;
  settings.report = &llvm::errs(); // stdout is the generated text
  auto root = cacheRoot();
  if (!root)
    return root.takeError();
  if (std::error_code error = llvm::sys::fs::create_directories(*root))
    return makeError(*root + ": cannot create the cache: " + error.message());
  auto key = cacheKey(**checkpoint);
  if (!key)
    return key.takeError();
  llvm::SmallString<256> entry(*root);
  llvm::sys::path::append(entry, *key);
  if (llvm::Error error = buildEntry(**checkpoint, entry, settings))
    return std::move(error);

  auto path = [&](llvm::StringRef suffix) {
    llvm::SmallString<256> joined(entry);
    llvm::sys::path::append(joined, settings.name + suffix);
    return std::string(joined);
  };
  llvm::SmallString<256> program(entry);
  llvm::sys::path::append(program, "build", settings.name + "-chat");
  std::vector<std::string> args = {std::string(program),
                                   "--weights",
                                   path(".g4w"),
                                   "--tokenizer",
                                   path(".g4t"),
                                   "--max-tokens",
                                   std::to_string(maxTokens),
                                   "--seed",
                                   std::to_string(seed)};
  applyGenerationConfig(**checkpoint, args);
  if (prompt.getNumOccurrences())
    args.insert(args.end(), {"--prompt", prompt});
  for (auto [given, flag] :
       {std::pair<bool, const char *>{chat || !systemPrompt.empty(), "--chat"},
        {interactive, "--interactive"},
        {think, "--think"},
        {greedy, "--greedy"},
        {truncate, "--truncate"}})
    if (given)
      args.push_back(flag);
  if (!systemPrompt.empty())
    args.insert(args.end(), {"--system", systemPrompt});
  auto option = [&](auto &opt, const char *flag) {
    if (opt.getNumOccurrences())
      args.insert(args.end(),
                  {flag, llvm::formatv("{0}", opt.getValue()).str()});
  };
  option(temperature, "--temperature");
  option(topK, "--top-k");
  option(topP, "--top-p");
  option(minP, "--min-p");
  option(repeatPenalty, "--repeat-penalty");
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  int code = 0;
  if (llvm::Error error = executeProgram(program, argv, "", &code))
    return std::move(error);
  return code;
}

} // namespace

int runRun() {
  llvm::Expected<int> code = run();
  if (!code)
    return reportError(code.takeError());
  return *code;
}

} // namespace g4c
