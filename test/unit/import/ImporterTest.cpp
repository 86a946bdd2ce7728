//===- ImporterTest.cpp - importing the real-size configurations ----------===//
//
// Part of g4c. Imports the real e2b and dense-31b configurations (structure
// only: no weights are read) and counts ops per layer type against the
// architecture document's tables.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/Importer.h"
#include "compiler/Checkpoint/Presets.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <map>

using namespace g4c;
using namespace mlir;

namespace {

ModelConfig realConfig(llvm::StringRef preset) {
  auto object = makePresetConfig(preset, {}, "bfloat16", false);
  EXPECT_TRUE(bool(object));
  auto config = ModelConfig::parse(
      "config.json",
      llvm::formatv("{0}", llvm::json::Value(std::move(*object))).str());
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return std::move(*config);
}

struct Counts {
  int weights = 0, sliding = 0, full = 0, kEqV = 0, withVProj = 0;
  int mlp = 0, moe = 0, perLayerInput = 0, perLayerInputs = 0, logits = 0;
  std::map<int64_t, int64_t> kvOwner; ///< layer -> owner
};

Counts countOps(ModuleOp module, llvm::StringRef function) {
  Counts counts;
  for (Operation &op : *module.getBody())
    counts.weights += isa<gemma::WeightOp>(op);
  auto entry = module.lookupSymbol<func::FuncOp>(function);
  EXPECT_TRUE(entry);
  entry.walk([&](Operation *op) {
    if (auto attention = dyn_cast<gemma::AttentionOp>(op)) {
      (attention.getKind() == gemma::AttentionKind::Sliding ? counts.sliding
                                                            : counts.full)++;
      counts.kEqV += attention.getKEqV();
      counts.withVProj += bool(attention.getVProj());
      counts.kvOwner[attention.getLayer()] = attention.getKvOwner();
    }
    counts.mlp += isa<gemma::MLPOp>(op);
    counts.moe += isa<gemma::MoEOp>(op);
    counts.perLayerInput += isa<gemma::PerLayerInputOp>(op);
    counts.perLayerInputs += isa<gemma::PerLayerInputsOp>(op);
    counts.logits += isa<gemma::LogitsOp>(op);
  });
  return counts;
}

TEST(Importer, RealE2BStructure) {
  ModelConfig config = realConfig("e2b");
  MLIRContext context;
  ImportOptions options;
  options.prefillChunk = 128;
  options.contextLength = 32768;
  auto module = importModel(context, config,
                            configOnlyWeights(config, DType::BF16), options);
  ASSERT_TRUE(succeeded(module));
  for (llvm::StringRef entry : {"prefill", "decode"}) {
    Counts counts = countOps(**module, entry);
    EXPECT_EQ(counts.weights,
              5 + 35 * 17); // §3.1 names, k/v of shared layers included
    EXPECT_EQ(counts.sliding, 28);
    EXPECT_EQ(counts.full, 7);
    EXPECT_EQ(counts.kEqV, 0);
    EXPECT_EQ(counts.withVProj, 35); // also the unused ones of shared layers
    EXPECT_EQ(counts.mlp, 35);
    EXPECT_EQ(counts.moe, 0);
    EXPECT_EQ(counts.perLayerInputs, 35); // one per layer until fused
    EXPECT_EQ(counts.perLayerInput, 35);
    EXPECT_EQ(counts.logits, 1);
    // §1.3: sliding 15..33 read layer 13, full 19, 24, 29, 34 read 14.
    for (int64_t layer = 15; layer < 35; ++layer)
      EXPECT_EQ(counts.kvOwner[layer], layer % 5 == 4 ? 14 : 13) << layer;
    EXPECT_EQ(counts.kvOwner[14], 14);
  }
}

TEST(Importer, RealDense31BStructure) {
  ModelConfig config = realConfig("dense-31b");
  MLIRContext context;
  auto module =
      importModel(context, config, configOnlyWeights(config, DType::BF16), {});
  ASSERT_TRUE(succeeded(module));
  Counts counts = countOps(**module, "prefill");
  EXPECT_EQ(counts.weights, 2 + 60 * 14 - 10); // no v_proj on 10 K=V layers
  EXPECT_EQ(counts.sliding, 50);
  EXPECT_EQ(counts.full, 10);
  EXPECT_EQ(counts.kEqV, 10);
  EXPECT_EQ(counts.withVProj, 50);
  EXPECT_EQ(counts.mlp, 60);
  EXPECT_EQ(counts.moe, 0);
  EXPECT_EQ(counts.perLayerInputs + counts.perLayerInput, 0);
  for (const auto &[layer, owner] : counts.kvOwner)
    EXPECT_EQ(owner, layer); // no KV sharing
}

TEST(Importer, MissingWeightIsAnError) {
  ModelConfig config = realConfig("dense-31b");
  MLIRContext context;
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  WeightResolver all = configOnlyWeights(config, DType::BF16);
  WeightResolver withoutNorm = [&](llvm::StringRef name) {
    return name == "norm.weight" ? std::nullopt : all(name);
  };
  EXPECT_TRUE(failed(importModel(context, config, withoutNorm, {})));
  EXPECT_EQ(message, "missing weight 'norm.weight'");
}

} // namespace
