//===- InspectCommand.cpp - g4c inspect -----------------------------------===//
//
// Part of g4c. This file implements `g4c inspect CKPT`: validates a
// checkpoint and prints its family, per-layer table, parameter counts and
// bytes by dtype.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/Checkpoint.h"
#include "compiler/Checkpoint/TensorManifest.h"
#include "compiler/tools/g4c/Commands.h"

#include <fmt/format.h>

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand inspectCommand(
    "inspect", "Validate a checkpoint and print its architecture, layers and "
               "parameter counts");
cl::OptionCategory inspectCategory("inspect options");

namespace {

cl::opt<std::string> checkpointPath(cl::Positional, cl::Required,
                                    cl::desc("<checkpoint directory>"),
                                    cl::sub(inspectCommand),
                                    cl::cat(inspectCategory));

/// Formats a count with thousands separators.
std::string withCommas(uint64_t value) {
  std::string digits = std::to_string(value), result;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      result += ',';
    result += digits[i];
  }
  return result;
}

void printLayerTable(llvm::raw_ostream &os, const ModelConfig &config) {
  os << fmt::format("{:>5}  {:<7}  {:>8}  {:>7}  {:>8}  {:>8}  {:>3}  {:>9}  "
                    "{:>4}  {}\n",
                    "layer", "type", "head_dim", "q_heads", "kv_heads",
                    "kv_owner", "k=v", "mlp_width", "moe", "rope");
  for (const LayerFacts &layer : config.layers) {
    std::string owner =
        layer.ownsKv() ? std::string("own") : fmt::format("{}", layer.kvOwner);
    os << fmt::format(
        "{:>5}  {:<7}  {:>8}  {:>7}  {:>8}  {:>8}  {:>3}  {:>9}  {:>4}  "
        "theta {:g}, {} of {} dims\n",
        layer.index, layer.kind == AttentionKind::Sliding ? "sliding" : "full",
        layer.headDim, layer.numQueryHeads, layer.numKvHeads, owner,
        layer.kEqV ? "yes" : "no", layer.mlpWidth, layer.hasMoe ? "yes" : "no",
        layer.ropeTheta, layer.rotaryDims, layer.headDim);
  }
}

} // namespace

int runInspect() {
  auto checkpoint = Checkpoint::openValidated(checkpointPath);
  if (!checkpoint)
    return reportError(checkpoint.takeError());
  const ModelConfig &config = (*checkpoint)->config();
  const TextConfig &t = config.text;
  llvm::raw_ostream &os = llvm::outs();

  os << fmt::format("checkpoint: {}\n", checkpointPath.getValue());
  os << fmt::format("family:     {}\n", config.familyName());
  os << fmt::format("files:      {} safetensors file(s)\n",
                    (*checkpoint)->files().size());
  os << fmt::format("decoder:    {} layers, hidden {}, vocab {}, {} query "
                    "heads, window {}, softcap {}\n",
                    t.numHiddenLayers, t.hiddenSize, t.vocabSize,
                    t.numAttentionHeads, t.slidingWindow,
                    t.finalLogitSoftcapping
                        ? fmt::format("{:g}", *t.finalLogitSoftcapping)
                        : std::string("none"));
  if (config.hasPerLayerInputs())
    os << fmt::format("PLE:        {} per layer, first KV-shared layer {}\n",
                      t.hiddenSizePerLayerInput, config.firstKvSharedLayer());
  if (t.enableMoeBlock)
    os << fmt::format("MoE:        {} experts, top {}, expert width {}\n",
                      t.numExperts, t.topKExperts, t.moeIntermediateSize);
  os << "\n";
  printLayerTable(os, config);

  std::map<TensorRole, uint64_t> parameters;
  uint64_t unusedParameters = 0, otherParameters = 0;
  llvm::StringSet<> known;
  for (const TensorSpec &spec : expectedTextTensors(config)) {
    known.insert(spec.name);
    if (!(*checkpoint)->lookup(spec.name))
      continue;
    parameters[spec.role] += spec.numElements();
    if (spec.unused)
      unusedParameters += spec.numElements();
  }
  std::map<std::string, std::pair<uint64_t, uint64_t>> bytesByDType;
  for (const auto &[name, tensor] : (*checkpoint)->allTensors()) {
    auto &entry = bytesByDType[dtypeName(tensor.info->dtype).str()];
    entry.first += tensor.info->numBytes();
    entry.second += 1;
    if (!known.contains(name))
      otherParameters += tensor.info->numElements();
  }
  uint64_t total = otherParameters;
  for (const auto &entry : parameters)
    total += entry.second;

  os << "\nparameters:\n";
  os << fmt::format("  PLE table        {:>18}\n",
                    withCommas(parameters[TensorRole::PerLayerEmbeddingTable]));
  os << fmt::format("  embeddings       {:>18}\n",
                    withCommas(parameters[TensorRole::Embedding]));
  os << fmt::format("  per-layer        {:>18}  (unused KV of shared layers: "
                    "{})\n",
                    withCommas(parameters[TensorRole::Layer]),
                    withCommas(unusedParameters));
  os << fmt::format("  other decoder    {:>18}\n",
                    withCommas(parameters[TensorRole::Global]));
  os << fmt::format("  non-decoder      {:>18}\n", withCommas(otherParameters));
  os << fmt::format("  total            {:>18}\n", withCommas(total));
  os << "\nbytes by dtype:\n";
  for (const auto &[name, entry] : bytesByDType)
    os << fmt::format("  {:<5} {:>18} bytes in {} tensors\n", name,
                      withCommas(entry.first), entry.second);
  return 0;
}

} // namespace g4c
