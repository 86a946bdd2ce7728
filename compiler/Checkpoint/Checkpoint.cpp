//===- Checkpoint.cpp - a Hugging Face Gemma 4 checkpoint -----------------===//
//
// Part of g4c. This file implements opening a checkpoint directory (single
// file or sharded with an index) and cross-checking its tensors against the
// tensors the config implies.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/Checkpoint.h"
#include "compiler/Checkpoint/TensorManifest.h"
#include "compiler/Support/Error.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>

namespace g4c {

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

StringRef stripModelPrefix(StringRef name) {
  if (name.consume_front("model.language_model."))
    return name;
  name.consume_front("model.");
  return name;
}

Error Checkpoint::addFile(std::unique_ptr<SafeTensorsFile> file) {
  for (const TensorInfo &info : file->tensors()) {
    StringRef name = stripModelPrefix(info.name);
    auto [it, inserted] =
        tensorsByName.try_emplace(name, CheckpointTensor{&info, file.get()});
    if (!inserted)
      return makeError(llvm::formatv(
          "{0}: tensor '{1}' is also in {2} as '{3}'", file->path(), info.name,
          it->second.file->path(), it->second.info->name));
  }
  fileList.push_back(std::move(file));
  return Error::success();
}

/// Reads model.safetensors.index.json: shard file -> tensor names.
static Expected<std::map<std::string, std::vector<std::string>>>
readIndex(StringRef indexPath) {
  auto buffer = llvm::MemoryBuffer::getFile(indexPath, /*IsText=*/true);
  if (!buffer)
    return makeError(indexPath +
                     ": cannot read: " + buffer.getError().message());
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return makeError(indexPath +
                     ": not valid JSON: " + toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *weightMap =
      root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return makeError(indexPath + ": missing object 'weight_map'");
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto &entry : *weightMap) {
    std::optional<StringRef> shard = entry.second.getAsString();
    if (!shard)
      return makeError(indexPath + ": weight_map entry '" +
                       StringRef(entry.first) + "' is not a file name");
    if (shard->empty() || shard->contains('/') || shard->contains('\\') ||
        *shard == "." || *shard == "..")
      return makeError(indexPath + ": weight_map names shard '" + *shard +
                       "' outside the checkpoint directory");
    shards[shard->str()].push_back(entry.first.str());
  }
  if (shards.empty())
    return makeError(indexPath + ": weight_map is empty");
  return std::move(shards);
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef directory) {
  if (!llvm::sys::fs::is_directory(directory))
    return makeError(directory + ": not a checkpoint directory");
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->directoryPath = directory.str();
  auto path = [&](StringRef file) {
    llvm::SmallString<256> joined(directory);
    llvm::sys::path::append(joined, file);
    return std::string(joined);
  };

  std::string configPath = path("config.json");
  if (!llvm::sys::fs::exists(configPath))
    return makeError(configPath + ": missing (every checkpoint needs "
                                  "config.json)");
  Expected<ModelConfig> config = ModelConfig::load(configPath);
  if (!config)
    return config.takeError();
  checkpoint->modelConfig = std::move(*config);

  std::string indexPath = path("model.safetensors.index.json");
  std::string singlePath = path("model.safetensors");
  if (!llvm::sys::fs::exists(indexPath)) {
    if (!llvm::sys::fs::exists(singlePath))
      return makeError(directory + ": no model.safetensors and no "
                                   "model.safetensors.index.json");
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::open(singlePath);
    if (!file)
      return file.takeError();
    if (Error error = checkpoint->addFile(std::move(*file)))
      return std::move(error);
    return std::move(checkpoint);
  }

  auto shards = readIndex(indexPath);
  if (!shards)
    return shards.takeError();
  for (const auto &[shardName, names] : *shards) {
    std::string shardPath = path(shardName);
    if (!llvm::sys::fs::exists(shardPath))
      return makeError(llvm::formatv("{0}: shard '{1}' (holding '{2}' and "
                                     "{3} more) does not exist",
                                     indexPath, shardName, names.front(),
                                     names.size() - 1));
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::open(shardPath);
    if (!file)
      return file.takeError();
    llvm::StringSet<> listed;
    for (const std::string &name : names) {
      listed.insert(name);
      if (!(*file)->find(name))
        return makeError(llvm::formatv("{0}: tensor '{1}' is listed in "
                                       "shard '{2}' but absent from it",
                                       indexPath, name, shardName));
    }
    for (const TensorInfo &info : (*file)->tensors())
      if (!listed.contains(info.name))
        return makeError(llvm::formatv("{0}: holds tensor '{1}' which the "
                                       "index does not list for it",
                                       shardPath, info.name));
    if (Error error = checkpoint->addFile(std::move(*file)))
      return std::move(error);
  }
  return std::move(checkpoint);
}

Expected<std::unique_ptr<Checkpoint>>
Checkpoint::openValidated(StringRef directory) {
  Expected<std::unique_ptr<Checkpoint>> checkpoint = open(directory);
  if (!checkpoint)
    return checkpoint.takeError();
  if (Error error = (*checkpoint)->validateTensors())
    return std::move(error);
  return checkpoint;
}

std::optional<CheckpointTensor> Checkpoint::lookup(StringRef name) const {
  auto it = tensorsByName.find(name);
  if (it == tensorsByName.end())
    return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, CheckpointTensor>>
Checkpoint::allTensors() const {
  std::vector<std::pair<std::string, CheckpointTensor>> all;
  for (const auto &entry : tensorsByName)
    all.emplace_back(entry.first().str(), entry.second);
  llvm::sort(all,
             [](const auto &a, const auto &b) { return a.first < b.first; });
  return all;
}

Error Checkpoint::validateTensors() const {
  std::vector<std::string> problems;
  llvm::StringSet<> expected;
  for (const TensorSpec &spec : expectedTextTensors(modelConfig)) {
    expected.insert(spec.name);
    std::optional<CheckpointTensor> tensor = lookup(spec.name);
    if (!tensor) {
      if (!spec.unused)
        problems.push_back("missing tensor '" + spec.name + "' (expected " +
                           formatShape(spec.shape) + ")");
      continue;
    }
    if (llvm::ArrayRef<int64_t>(tensor->info->shape) !=
        llvm::ArrayRef<int64_t>(spec.shape))
      problems.push_back("tensor '" + tensor->info->name + "' has shape " +
                         formatShape(tensor->info->shape) + ", expected " +
                         formatShape(spec.shape));
    else if (!isFloatWeightDType(tensor->info->dtype))
      problems.push_back("tensor '" + tensor->info->name + "' has dtype " +
                         dtypeName(tensor->info->dtype).str() +
                         ", expected BF16, F16 or F32");
  }
  // Unknown decoder tensors mean the config and the weights disagree about
  // the architecture; multimodal towers are for later and are ignored.
  for (const auto &entry : tensorsByName) {
    StringRef name = entry.first();
    bool decoder = name.starts_with("layers.") || !name.contains('.') ||
                   name.starts_with("embed_tokens") ||
                   name.starts_with("norm.") || name.starts_with("per_layer_");
    if (decoder && !expected.contains(name))
      problems.push_back("unexpected tensor '" + entry.second.info->name +
                         "' (not part of the architecture config.json "
                         "describes)");
  }
  if (problems.empty())
    return Error::success();
  llvm::sort(problems);
  std::string message = llvm::formatv("{0}: the tensors do not match "
                                      "config.json ({1} problems):",
                                      directoryPath, problems.size());
  for (const std::string &problem : problems)
    message += "\n  " + problem;
  return makeError(message);
}

} // namespace g4c
