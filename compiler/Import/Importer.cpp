//===- Importer.cpp - checkpoint to gemma dialect -------------------------===//
//
// Part of g4c. This file implements the importer: one `gemma.weight` per
// checkpoint tensor the config implies (k/v of KV-shared layers included,
// as checkpoints have them; passes drop them), then `prefill`,
// `prefill_last` and `decode` written op by op from §2 of the architecture
// document.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/Importer.h"
#include "compiler/Checkpoint/TensorManifest.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SaveAndRestore.h"

#include <cmath>

namespace g4c {

using namespace mlir;

WeightResolver checkpointWeights(const Checkpoint &checkpoint) {
  return [&checkpoint](llvm::StringRef name) -> std::optional<WeightSource> {
    std::optional<CheckpointTensor> tensor = checkpoint.lookup(name);
    if (!tensor)
      return std::nullopt;
    WeightSource source;
    source.sourceName = tensor->info->name;
    source.file = llvm::sys::path::filename(tensor->file->path()).str();
    source.dtype = tensor->info->dtype;
    source.shape.assign(tensor->info->shape.begin(), tensor->info->shape.end());
    return source;
  };
}

WeightResolver configOnlyWeights(const ModelConfig &config, DType dtype) {
  auto shapes =
      std::make_shared<llvm::StringMap<llvm::SmallVector<int64_t, 3>>>();
  for (const TensorSpec &spec : expectedTextTensors(config))
    (*shapes)[spec.name] = spec.shape;
  return [shapes, dtype](llvm::StringRef name) -> std::optional<WeightSource> {
    auto it = shapes->find(name);
    if (it == shapes->end())
      return std::nullopt;
    return WeightSource{("model.language_model." + name).str(), "(config only)",
                        dtype, it->second};
  };
}

namespace {

Type elementType(MLIRContext &context, DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return BFloat16Type::get(&context);
  case DType::F16:
    return Float16Type::get(&context);
  default:
    return Float32Type::get(&context);
  }
}

/// The checkpoint dtype a weight's element type stands for.
DType dtypeOf(Type type) {
  Type element = cast<RankedTensorType>(type).getElementType();
  return element.isBF16()  ? DType::BF16
         : element.isF16() ? DType::F16
                           : DType::F32;
}

/// sqrt(n) as a Python float, rounded to the dtype of the table it scales
/// (HF: "Gemma4 downcasts the below to bfloat16").
double roundedSqrt(int64_t n, Type tableType) {
  return roundToDType(float(std::sqrt(double(n))), dtypeOf(tableType));
}

/// Builds one module: the weight table, then the entry points.
class ModuleBuilder {
public:
  ModuleBuilder(MLIRContext &context, const ModelConfig &config,
                const WeightResolver &weights, const ImportOptions &options)
      : context(context), config(config), weights(weights), options(options),
        builder(&context) {}

  FailureOr<OwningOpRef<ModuleOp>> build();

private:
  /// Declares every expected weight; fails if one cannot be resolved.
  LogicalResult declareWeights(ModuleOp module);
  /// `name(tokens: tensor<T x i32>, start: index) -> tensor<T x V x f32>`.
  /// An entry point over |T| tokens returning the logits of all of them,
  /// or of the last one only (|lastOnly|).
  void buildEntryPoint(ModuleOp module, llvm::StringRef name, int64_t T,
                       bool lastOnly = false);
  /// The decoder layer |facts| on residual |x|.
  /// What every layer's gemma.per_layer_inputs reads (E2B/E4B).
  struct PleInputs {
    Value tokens, embeddings, table, projection, norm;
    double scale = 0;
  };
  Value buildLayer(const LayerFacts &facts, Value x, Value start,
                   const PleInputs &ple);
  /// A gemma.weight_ref of |name|, one per function.
  Value weight(const llvm::Twine &name);
  Value rmsNorm(Value x, Value weightValue);
  FloatAttr epsilonAttr() {
    return builder.getF64FloatAttr(config.text.rmsNormEps);
  }
  llvm::APFloat epsilon() { return llvm::APFloat(config.text.rmsNormEps); }

  MLIRContext &context;
  const ModelConfig &config;
  const WeightResolver &weights;
  const ImportOptions &options;
  OpBuilder builder;
  Location loc = UnknownLoc::get(&context);
  llvm::StringMap<Type> weightTypes;
  llvm::StringMap<Value> weightRefs; ///< of the function being built
};

LogicalResult ModuleBuilder::declareWeights(ModuleOp module) {
  builder.setInsertionPointToEnd(module.getBody());
  for (const TensorSpec &spec : expectedTextTensors(config)) {
    std::optional<WeightSource> source = weights(spec.name);
    if (!source) {
      if (spec.unused)
        continue;
      return emitError(loc) << "missing weight '" << spec.name << "'";
    }
    auto type = RankedTensorType::get(source->shape,
                                      elementType(context, source->dtype));
    weightTypes[spec.name] = type;
    gemma::WeightOp::create(builder, loc, spec.name, type, source->sourceName,
                            source->file);
  }
  return success();
}

Value ModuleBuilder::weight(const llvm::Twine &name) {
  std::string key = name.str();
  auto it = weightRefs.find(key);
  if (it != weightRefs.end())
    return it->second;
  auto type = cast<RankedTensorType>(weightTypes.lookup(key));
  Value ref = gemma::WeightRefOp::create(builder, loc, type, key);
  weightRefs[key] = ref;
  return ref;
}

Value ModuleBuilder::rmsNorm(Value x, Value weightValue) {
  return gemma::RMSNormOp::create(builder, loc, x.getType(), x, weightValue,
                                  epsilonAttr());
}

Value ModuleBuilder::buildLayer(const LayerFacts &facts, Value x, Value start,
                                const PleInputs &ple) {
  const int64_t i = facts.index;
  auto w = [&](llvm::StringRef suffix) {
    return weight(llvm::formatv("layers.{0}.{1}", i, suffix));
  };
  auto optionalWeight = [&](llvm::StringRef suffix) -> Value {
    std::string name = llvm::formatv("layers.{0}.{1}", i, suffix);
    return weightTypes.count(name) ? weight(name) : Value();
  };
  Location layerLoc = NameLoc::get(builder.getStringAttr(
      llvm::formatv("layer {0} ({1})", i, attentionKindName(facts.kind))));
  llvm::SaveAndRestore<Location> restore(loc, layerLoc);
  const bool full = facts.kind == AttentionKind::Full;

  // Weight refs are created in statement order (never as call arguments,
  // whose evaluation order differs between compilers): the output must not
  // depend on the compiler that built g4c.

  // ---- attention block ----
  Value inputNorm = w("input_layernorm.weight");
  Value a = rmsNorm(x, inputNorm);
  Value qProj = w("self_attn.q_proj.weight");
  Value oProj = w("self_attn.o_proj.weight");
  Value qNorm = w("self_attn.q_norm.weight");
  Value kProj = optionalWeight("self_attn.k_proj.weight");
  Value vProj = optionalWeight("self_attn.v_proj.weight");
  Value kNorm = optionalWeight("self_attn.k_norm.weight");
  Value attention = gemma::AttentionOp::create(
      builder, loc, x.getType(), a, start, qProj, oProj, qNorm, kProj, vProj,
      kNorm, i,
      full ? gemma::AttentionKind::Full : gemma::AttentionKind::Sliding,
      facts.headDim, facts.numQueryHeads, facts.numKvHeads,
      full ? 0 : config.text.slidingWindow, llvm::APFloat(facts.ropeTheta),
      facts.rotaryDims, facts.kvOwner, facts.kEqV, epsilon());
  Value postAttentionNorm = w("post_attention_layernorm.weight");
  attention = rmsNorm(attention, postAttentionNorm);
  x = arith::AddFOp::create(builder, loc, x, attention);

  // ---- feed-forward block ----
  Value preFeedforwardNorm = w("pre_feedforward_layernorm.weight");
  Value dense = rmsNorm(x, preFeedforwardNorm);
  Value gate = w("mlp.gate_proj.weight");
  Value up = w("mlp.up_proj.weight");
  Value down = w("mlp.down_proj.weight");
  dense = gemma::MLPOp::create(builder, loc, dense, gate, up, down);
  Value feedForward;
  if (!facts.hasMoe) {
    Value postFeedforwardNorm = w("post_feedforward_layernorm.weight");
    feedForward = rmsNorm(dense, postFeedforwardNorm);
  } else {
    Value postDenseNorm = w("post_feedforward_layernorm_1.weight");
    dense = rmsNorm(dense, postDenseNorm);
    Value preExpertsNorm = w("pre_feedforward_layernorm_2.weight");
    Value experts = rmsNorm(x, preExpertsNorm);
    Value router = w("router.proj.weight");
    Value routerScale = w("router.scale");
    Value perExpertScale = w("router.per_expert_scale");
    Value gateUp = w("experts.gate_up_proj");
    Value expertsDown = w("experts.down_proj");
    experts = gemma::MoEOp::create(
        builder, loc, experts, x, router, routerScale, perExpertScale, gateUp,
        expertsDown, config.text.topKExperts, epsilon());
    Value postExpertsNorm = w("post_feedforward_layernorm_2.weight");
    experts = rmsNorm(experts, postExpertsNorm);
    Value sum = arith::AddFOp::create(builder, loc, dense, experts);
    Value postFeedforwardNorm = w("post_feedforward_layernorm.weight");
    feedForward = rmsNorm(sum, postFeedforwardNorm);
  }
  x = arith::AddFOp::create(builder, loc, x, feedForward);

  // ---- per-layer input injection, layer scalar ----
  if (ple.tokens) {
    const int64_t T = cast<RankedTensorType>(x.getType()).getShape()[0];
    const int64_t P = config.text.hiddenSizePerLayerInput;
    Value inputs = gemma::PerLayerInputsOp::create(
        builder, loc, RankedTensorType::get({T, 1, P}, builder.getF32Type()),
        ple.tokens, ple.embeddings, ple.table, ple.projection, ple.norm,
        llvm::APFloat(ple.scale), epsilon(), i);
    Value pleGate = w("per_layer_input_gate.weight");
    Value pleProjection = w("per_layer_projection.weight");
    Value pleNorm = w("post_per_layer_input_norm.weight");
    x = gemma::PerLayerInputOp::create(builder, loc, x, inputs, pleGate,
                                       pleProjection, pleNorm, /*index=*/0,
                                       epsilon());
  }
  Value scalar = w("layer_scalar");
  return gemma::LayerScaleOp::create(builder, loc, x, scalar);
}

void ModuleBuilder::buildEntryPoint(ModuleOp module, llvm::StringRef name,
                                    int64_t T, bool lastOnly) {
  const TextConfig &t = config.text;
  auto f32 = builder.getF32Type();
  auto tokensType = RankedTensorType::get({T}, builder.getI32Type());
  auto logitsType = RankedTensorType::get({lastOnly ? 1 : T, t.vocabSize}, f32);
  builder.setInsertionPointToEnd(module.getBody());
  auto function = func::FuncOp::create(
      builder, loc, name,
      builder.getFunctionType({tokensType, builder.getIndexType()},
                              {logitsType}));
  function.setArgAttr(0, "gemma.name", builder.getStringAttr("tokens"));
  function.setArgAttr(1, "gemma.name", builder.getStringAttr("start"));
  Block *body = function.addEntryBlock();
  builder.setInsertionPointToStart(body);
  weightRefs.clear();
  Value tokens = body->getArgument(0), start = body->getArgument(1);

  auto embedTable =
      cast<RankedTensorType>(weightTypes.lookup("embed_tokens.weight"));
  // HF: sqrt(d) as a Python float, rounded to the table's dtype.
  DType tableDType = embedTable.getElementType().isBF16()  ? DType::BF16
                     : embedTable.getElementType().isF16() ? DType::F16
                                                           : DType::F32;
  double scale =
      roundToDType(float(std::sqrt(double(t.hiddenSize))), tableDType);
  Value embedTokens = weight("embed_tokens.weight");
  Value x = gemma::EmbedOp::create(
      builder, loc, RankedTensorType::get({T, t.hiddenSize}, f32), tokens,
      embedTokens, llvm::APFloat(scale));

  // The per-layer embeddings' inputs, written per layer below (one
  // gemma.per_layer_inputs per layer; g4c-fuse-per-layer-inputs merges them).
  PleInputs ple;
  if (config.hasPerLayerInputs()) {
    ple.scale =
        roundedSqrt(t.hiddenSizePerLayerInput,
                    weightTypes.lookup("embed_tokens_per_layer.weight"));
    ple.tokens = tokens;
    ple.embeddings = x;
    ple.table = weight("embed_tokens_per_layer.weight");
    ple.projection = weight("per_layer_model_projection.weight");
    ple.norm = weight("per_layer_projection_norm.weight");
  }
  for (const LayerFacts &facts : config.layers)
    x = buildLayer(facts, x, start, ple);

  FloatAttr softcap;
  if (t.finalLogitSoftcapping)
    softcap = builder.getF64FloatAttr(*t.finalLogitSoftcapping);
  Value finalNorm = weight("norm.weight");
  Value logits = gemma::LogitsOp::create(builder, loc, logitsType, x, finalNorm,
                                         embedTokens, softcap, epsilonAttr());
  func::ReturnOp::create(builder, loc, logits);
}

FailureOr<OwningOpRef<ModuleOp>> ModuleBuilder::build() {
  const TextConfig &t = config.text;
  if (options.prefillChunk <= 0)
    return emitError(loc) << "expected a prefill chunk > 0, got "
                          << options.prefillChunk;
  if (options.contextLength <= 0 ||
      (t.maxPositionEmbeddings > 0 &&
       options.contextLength > t.maxPositionEmbeddings))
    return emitError(loc) << "expected a context length in [1, "
                          << t.maxPositionEmbeddings << "], got "
                          << options.contextLength;
  // gemma.attention carries theta and the rotated dims; a RoPE `factor`
  // (absent from every released config) has no place there yet.
  for (const RopeParameters *rope : {&t.slidingRope, &t.fullRope})
    if (rope->factor != 1.0)
      return emitError(loc) << "rope_parameters with factor " << rope->factor
                            << " are not supported yet";
  context.loadDialect<gemma::GemmaDialect, func::FuncDialect,
                      arith::ArithDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  module->getOperation()->setAttr(
      "gemma.context_length", builder.getI64IntegerAttr(options.contextLength));
  module->getOperation()->setAttr(
      "gemma.prefill_chunk", builder.getI64IntegerAttr(options.prefillChunk));
  module->getOperation()->setAttr(
      "gemma.checkpoint", builder.getStringAttr(options.checkpointDirectory));
  if (failed(declareWeights(*module)))
    return failure();
  buildEntryPoint(*module, "prefill", options.prefillChunk);
  // What generation reads after a prompt: the LM head over one row.
  buildEntryPoint(*module, "prefill_last", options.prefillChunk,
                  /*lastOnly=*/true);
  buildEntryPoint(*module, "decode", 1);
  if (failed(verify(*module)))
    return failure();
  return module;
}

} // namespace

int64_t defaultContextLength(const ModelConfig &config) {
  int64_t maxPositions = config.text.maxPositionEmbeddings;
  return maxPositions > 0 ? std::min<int64_t>(4096, maxPositions) : 4096;
}

FailureOr<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                             const ModelConfig &config,
                                             const WeightResolver &weights,
                                             const ImportOptions &options) {
  return ModuleBuilder(context, config, weights, options).build();
}

} // namespace g4c
