//===- CppEmitter.cpp - gemma module to C++ source ------------------------===//
//
// Part of g4c. This file implements the C++ backend's emitter. Each entry
// function becomes a straight-line C++ function: one g4k kernel call per
// gemma op with every shape a template argument, every buffer a named
// pointer at its planned arena offset, every weight a pointer at its .g4w
// offset, a comment per layer. The C API wraps the two entry points:
// validation, chunking of longer prompts, the session position.
//
//===----------------------------------------------------------------------===//

#include "targets/cpp/CppEmitter.h"
#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace g4c {

using namespace mlir;

namespace {

/// A C++ float literal that round-trips |value| ("8.0f", "1e-06f").
std::string floatLiteral(double value) {
  std::string text = llvm::formatv("{0}", llvm::format("%.9g", value)).str();
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text + "f";
}

int64_t numElements(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

std::string shapeComment(Value value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleave(shapeOf(value), os, ", ");
  os << "]";
  return text;
}

/// The planned cache of one KV-owning layer.
struct CacheLayout {
  int64_t offset = 0, slots = 0;
};

/// Facts shared by both entry points.
struct ModuleLayout {
  llvm::StringMap<const PackedTensor *> weights;
  llvm::DenseMap<int64_t, CacheLayout> caches;
  int64_t plannedBytes = 0;
  int64_t scratchOffset = 0; ///< bytes; scratch follows the plan
  int64_t scratchFloats = 0; ///< the most any kernel call needs
};

/// Emits one entry function.
class FunctionEmitter {
public:
  FunctionEmitter(func::FuncOp function, ModuleLayout &layout,
                  llvm::raw_ostream &os)
      : function(function), layout(layout), os(os) {}

  LogicalResult emit(llvm::StringRef cName);

private:
  LogicalResult emitOp(Operation &op);
  /// Declares the pointer of |op|'s result at its planned offset.
  LogicalResult declareResult(Operation &op);
  const std::string &name(Value value) { return names[value]; }
  std::string weightType(Value weight);
  void useScratch(int64_t floats) {
    layout.scratchFloats = std::max(layout.scratchFloats, floats);
  }

  func::FuncOp function;
  ModuleLayout &layout;
  llvm::raw_ostream &os;
  llvm::DenseMap<Value, std::string> names;
  llvm::DenseMap<Value, std::string> weightTypes;
  int counter = 0;
  std::string currentLayer;
};

std::string FunctionEmitter::weightType(Value weight) {
  return weightTypes.lookup(weight);
}

LogicalResult FunctionEmitter::declareResult(Operation &op) {
  auto offset = op.getAttrOfType<IntegerAttr>("gemma.arena_offset");
  if (!offset)
    return op.emitError("has no gemma.arena_offset; run g4c-plan-memory "
                        "before emitting C++");
  // Named after what computes it: "attention_12", "rms_norm_13", "addf_14".
  llvm::StringRef stem = op.getName().stripDialect();
  std::string value = llvm::formatv("{0}_{1}", stem, counter++).str();
  names[op.getResult(0)] = value;
  os << llvm::formatv("  float *{0} = reinterpret_cast<float *>(arena + {1}); "
                      "// {2}\n",
                      value, offset.getInt(), shapeComment(op.getResult(0)));
  return success();
}

LogicalResult FunctionEmitter::emitOp(Operation &op) {
  if (auto loc = dyn_cast<NameLoc>(op.getLoc())) {
    std::string layer = loc.getName().str();
    if (layer != currentLayer) {
      os << "\n  // ---- " << layer << " ----\n";
      currentLayer = layer;
    }
  }
  if (auto ref = dyn_cast<gemma::WeightRefOp>(op)) {
    const PackedTensor *tensor = layout.weights.lookup(ref.getName());
    if (!tensor)
      return op.emitError("weight '") << ref.getName() << "' was not packed";
    std::string type =
        tensor->format == weightfile::Format::F32 ? "float" : "g4k::bf16";
    std::string value = llvm::formatv("w{0}", counter++).str();
    names[ref.getResult()] = value;
    weightTypes[ref.getResult()] = type;
    os << llvm::formatv("  const {0} *{1} = reinterpret_cast<const {0} *>("
                        "weights + {2}); // {3} {4}\n",
                        type, value, tensor->offset, ref.getName(),
                        shapeComment(ref.getResult()));
    return success();
  }
  if (isa<func::ReturnOp>(op)) {
    Value result = op.getOperand(0);
    os << llvm::formatv("  std::memcpy(logits, {0}, sizeof(float) * {1});\n",
                        name(result), numElements(result));
    return success();
  }
  if (failed(declareResult(op)))
    return failure();
  const std::string &out = name(op.getResult(0));

  if (auto embed = dyn_cast<gemma::EmbedOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(embed.getResult());
    os << llvm::formatv("  g4k::embed<{0}, {1}>(tokens, {2}, {3}, {4});\n",
                        shape[0], shape[1], name(embed.getTable()),
                        floatLiteral(embed.getScale().convertToDouble()), out);
    return success();
  }
  if (auto ple = dyn_cast<gemma::PerLayerInputsOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(ple.getResult());
    const int64_t T = shape[0], L = shape[1], P = shape[2];
    useScratch(L * P);
    os << llvm::formatv(
        "  g4k::per_layer_inputs<{0}, {1}, {2}, {3}, {4}>(tokens, {5}, {6}, "
        "{7}, {8}, {9}, {10}, scratch, {11});\n",
        T, shapeOf(ple.getEmbeddings())[1], L, P, shapeOf(ple.getTable())[0],
        name(ple.getEmbeddings()), name(ple.getTable()),
        name(ple.getProjection()), name(ple.getNorm()),
        floatLiteral(ple.getTableScale().convertToDouble()),
        floatLiteral(ple.getEpsilon().convertToDouble()), out);
    return success();
  }
  if (auto norm = dyn_cast<gemma::RMSNormOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(norm.getInput());
    const int64_t width = shape.back();
    const int64_t rows = numElements(norm.getInput()) / width;
    std::string eps = floatLiteral(norm.getEpsilon().convertToDouble());
    if (norm.getWeight())
      os << llvm::formatv("  g4k::rms_norm<{0}, {1}>({2}, {3}, {4}, {5});\n",
                          rows, width, name(norm.getInput()),
                          name(norm.getWeight()), eps, out);
    else
      os << llvm::formatv(
          "  g4k::rms_norm_no_scale<{0}, {1}>({2}, {3}, {4});\n", rows, width,
          name(norm.getInput()), eps, out);
    return success();
  }
  if (auto attention = dyn_cast<gemma::AttentionOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(attention.getInput());
    const int64_t T = shape[0], D = shape[1];
    const int64_t owner = int64_t(attention.getKvOwner());
    auto cache = layout.caches.find(owner);
    if (cache == layout.caches.end())
      return op.emitError("no planned KV cache for layer ") << owner;
    const int64_t hd = int64_t(attention.getHeadDim());
    const int64_t qHeads = int64_t(attention.getNumHeads());
    const int64_t kvHeads = int64_t(attention.getNumKvHeads());
    const int64_t slots = cache->second.slots;
    useScratch(qHeads * hd * (T + 1) + slots);
    std::string w = weightType(attention.getQProj());
    auto optional = [&](Value value) {
      return value
                 ? name(value)
                 : llvm::formatv("static_cast<const {0} *>(nullptr)", w).str();
    };
    os << llvm::formatv(
        "  g4k::attention<{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}>(\n"
        "      {10}, start, {11}, {12}, {13}, {14}, {15}, {16}, "
        "kRopeLayer{17},\n"
        "      {18}, kv_cache(arena, {19}), kv_cache(arena, {19}) + {20}, "
        "scratch, {21});\n",
        T, D, hd, qHeads, kvHeads, slots,
        attention.getKind() == gemma::AttentionKind::Sliding
            ? int64_t(attention.getWindow())
            : int64_t(0),
        int64_t(attention.getRotaryDims()) / 2,
        attention.ownsKv() ? "true" : "false",
        attention.getKEqV() ? "true" : "false", name(attention.getInput()),
        name(attention.getQProj()), name(attention.getOProj()),
        name(attention.getQNorm()), optional(attention.getKProj()),
        optional(attention.getVProj()), optional(attention.getKNorm()),
        int64_t(attention.getLayer()),
        floatLiteral(attention.getEpsilon().convertToDouble()),
        cache->second.offset, slots * kvHeads * hd, out);
    return success();
  }
  if (auto add = dyn_cast<arith::AddFOp>(op)) {
    os << llvm::formatv("  g4k::add<{0}>({1}, {2}, {3});\n",
                        numElements(add.getResult()), name(add.getLhs()),
                        name(add.getRhs()), out);
    return success();
  }
  if (auto mlp = dyn_cast<gemma::MLPOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(mlp.getInput());
    const int64_t width = shapeOf(mlp.getGate())[0];
    useScratch(2 * width);
    os << llvm::formatv("  g4k::mlp<{0}, {1}, {2}>({3}, {4}, {5}, {6}, "
                        "scratch, {7});\n",
                        shape[0], shape[1], width, name(mlp.getInput()),
                        name(mlp.getGate()), name(mlp.getUp()),
                        name(mlp.getDown()), out);
    return success();
  }
  if (auto moe = dyn_cast<gemma::MoEOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(moe.getInput());
    const int64_t D = shape[1], E = shapeOf(moe.getRouter())[0];
    const int64_t I = shapeOf(moe.getDown())[2];
    useScratch(2 * D + 2 * E + 3 * I);
    os << llvm::formatv(
        "  g4k::moe<{0}, {1}, {2}, {3}, {4}>({5}, {6}, {7}, {8}, {9}, {10}, "
        "{11}, {12}, scratch, {13});\n",
        shape[0], D, E, int64_t(moe.getTopK()), I, name(moe.getInput()),
        name(moe.getRouterInput()), name(moe.getRouter()),
        name(moe.getRouterScale()), name(moe.getPerExpertScale()),
        name(moe.getGateUp()), name(moe.getDown()),
        floatLiteral(moe.getEpsilon().convertToDouble()), out);
    return success();
  }
  if (auto inject = dyn_cast<gemma::PerLayerInputOp>(op)) {
    ArrayRef<int64_t> ple = shapeOf(inject.getPerLayerInputs());
    const int64_t D = shapeOf(inject.getInput())[1];
    useScratch(ple[2] + D);
    os << llvm::formatv(
        "  g4k::per_layer_input<{0}, {1}, {2}, {3}>({4}, {5}, {6}, {7}, {8}, "
        "{9}, {10}, scratch, {11});\n",
        ple[0], D, ple[1], ple[2], name(inject.getInput()),
        name(inject.getPerLayerInputs()), int64_t(inject.getLayer()),
        name(inject.getGate()), name(inject.getProjection()),
        name(inject.getNorm()),
        floatLiteral(inject.getEpsilon().convertToDouble()), out);
    return success();
  }
  if (auto scale = dyn_cast<gemma::LayerScaleOp>(op)) {
    os << llvm::formatv("  g4k::scale<{0}>({1}, {2}, {3});\n",
                        numElements(scale.getInput()), name(scale.getInput()),
                        name(scale.getScalar()), out);
    return success();
  }
  if (auto logits = dyn_cast<gemma::LogitsOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(logits.getResult());
    const int64_t D = shapeOf(logits.getInput())[1];
    useScratch(D);
    double cap =
        logits.getSoftcap() ? logits.getSoftcap()->convertToDouble() : 0.0;
    os << llvm::formatv("  g4k::logits<{0}, {1}, {2}>({3}, {4}, {5}, {6}, {7}, "
                        "scratch, {8});\n",
                        shape[0], D, shape[1], name(logits.getInput()),
                        name(logits.getNorm()), name(logits.getEmbedding()),
                        floatLiteral(logits.getEpsilon().convertToDouble()),
                        floatLiteral(cap), out);
    return success();
  }
  return op.emitError("the C++ backend cannot emit this op yet");
}

LogicalResult FunctionEmitter::emit(llvm::StringRef cName) {
  Block &body = function.getBody().front();
  names[body.getArgument(0)] = "tokens";
  names[body.getArgument(1)] = "start";
  os << llvm::formatv("/// The `{0}` entry point: {1} token(s) at positions "
                      "start.. .\n",
                      function.getName(), shapeOf(body.getArgument(0))[0]);
  os << llvm::formatv("void {0}(const uint8_t *weights, uint8_t *arena,\n"
                      "    const int32_t *tokens, int64_t start, float "
                      "*logits) {{\n",
                      cName);
  os << "  float *scratch = reinterpret_cast<float *>(arena + "
        "kScratchOffset);\n";
  for (Operation &op : body)
    if (failed(emitOp(op)))
      return failure();
  os << "}\n\n";
  return success();
}

/// The arena check and session start shared by the open functions (inside the
/// anonymous namespace of the generated source).
constexpr const char *kCheckArena = R"cpp(
g4_status check_arena(void *arena, size_t arena_bytes, g4_error *out_error) {
  if (!arena || arena_bytes < @UPPER@_ARENA_BYTES ||
      reinterpret_cast<uintptr_t>(arena) % 64)
    return g4_fail(out_error, G4_OUT_OF_MEMORY,
                   "the arena must be 64-byte aligned and hold %llu bytes",
                   (unsigned long long)@UPPER@_ARENA_BYTES);
  return G4_OK;
}

/// The end of both open functions: on success the session starts at 0.
g4_status start_session(g4_status status, void *arena,
                        @NAME@_session *out_session) {
  if (status != G4_OK)
    return status;
  out_session->arena = static_cast<uint8_t *>(arena);
  out_session->position = 0;
  return G4_OK;
}
)cpp";

/// NAME_open_linked, for weights linked into the program.
constexpr const char *kOpenLinked = R"cpp(
extern "C" const unsigned char @NAME@_weights_data[];

extern "C" g4_status @NAME@_open_linked(void *arena, size_t arena_bytes,
                                        @NAME@_session *out_session,
                                        g4_error *out_error) {
  if (!out_session)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  g4_status status = check_arena(arena, arena_bytes, out_error);
  if (status == G4_OK)
    status = g4_weights_wrap(@NAME@_weights_data, @UPPER@_WEIGHTS_BYTES,
                             "@NAME@ linked weights",
                             @UPPER@_WEIGHTS_FINGERPRINT,
                             @UPPER@_WEIGHTS_BYTES, &out_session->weights,
                             out_error);
  return start_session(status, arena, out_session);
}
)cpp";

/// Replaces @NAME@ and @UPPER@ in a code template.
std::string instantiate(llvm::StringRef text, llvm::StringRef name) {
  std::string result;
  std::string upper = name.upper();
  while (!text.empty()) {
    size_t at = text.find('@');
    result += text.take_front(at).str();
    if (at == llvm::StringRef::npos)
      break;
    text = text.drop_front(at);
    if (text.consume_front("@NAME@"))
      result += name.str();
    else if (text.consume_front("@UPPER@"))
      result += upper;
    else {
      result += '@';
      text = text.drop_front(1);
    }
  }
  return result;
}

/// The C API around the two entry points.
void emitApi(llvm::raw_ostream &os, llvm::StringRef name) {
  os << instantiate(kCheckArena, name);
  os << instantiate(R"cpp(
} // namespace

extern "C" g4_status @NAME@_open(const char *weights_path, void *arena,
                                 size_t arena_bytes, @NAME@_session *out_session,
                                 g4_error *out_error) {
  if (!weights_path || !out_session)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  g4_status status = check_arena(arena, arena_bytes, out_error);
  if (status == G4_OK)
    status = g4_weights_map(weights_path, @UPPER@_WEIGHTS_FINGERPRINT,
                            @UPPER@_WEIGHTS_BYTES, &out_session->weights,
                            out_error);
  return start_session(status, arena, out_session);
}

extern "C" g4_status @NAME@_prefill(@NAME@_session *session, const int32_t *tokens,
                                 int64_t count, float *out_logits,
                                 g4_error *out_error) {
  if (!session || !session->arena || (!tokens && count > 0) || count < 0)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null or closed session");
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= @UPPER@_VOCAB_SIZE)
      return g4_fail(out_error, G4_INVALID_ARGUMENT,
                  "token %d at index %lld is outside the vocabulary [0, %d)",
                  tokens[i], (long long)i, @UPPER@_VOCAB_SIZE);
  if (session->position + count > @UPPER@_CONTEXT)
    return g4_fail(out_error, G4_INVALID_ARGUMENT,
                "%lld tokens at position %lld run past the context of %d",
                (long long)count, (long long)session->position, @UPPER@_CONTEXT);
  const uint8_t *weights = session->weights.data;
  int64_t done = 0;
  // Whole chunks through `prefill`, the rest one token at a time.
  float *chunk_logits = reinterpret_cast<float *>(session->arena + kLogitsOffset);
  while (count - done >= @UPPER@_PREFILL_CHUNK) {
    forward_prefill(weights, session->arena, tokens + done, session->position,
                    chunk_logits);
    if (out_logits)
      std::memcpy(out_logits + done * @UPPER@_VOCAB_SIZE, chunk_logits,
                  sizeof(float) * @UPPER@_PREFILL_CHUNK * @UPPER@_VOCAB_SIZE);
    session->position += @UPPER@_PREFILL_CHUNK;
    done += @UPPER@_PREFILL_CHUNK;
  }
  for (; done < count; ++done) {
    forward_decode(weights, session->arena, tokens + done, session->position,
                   chunk_logits);
    if (out_logits)
      std::memcpy(out_logits + done * @UPPER@_VOCAB_SIZE, chunk_logits,
                  sizeof(float) * @UPPER@_VOCAB_SIZE);
    session->position += 1;
  }
  return G4_OK;
}

extern "C" g4_status @NAME@_decode(@NAME@_session *session, int32_t token,
                                float *out_logits, g4_error *out_error) {
  return @NAME@_prefill(session, &token, 1, out_logits, out_error);
}

extern "C" g4_status @NAME@_reset(@NAME@_session *session) {
  if (!session)
    return G4_INVALID_ARGUMENT;
  session->position = 0; // caches are rewritten before they are read
  return G4_OK;
}

extern "C" g4_status @NAME@_close(@NAME@_session *session) {
  if (!session)
    return G4_INVALID_ARGUMENT;
  g4_status status = g4_weights_release(&session->weights);
  session->arena = nullptr;
  return status;
}
)cpp",
                    name);
}

} // namespace

FailureOr<CppEmitResult> emitCpp(ModuleOp module, const PackedWeights &weights,
                                 const CppEmitOptions &options,
                                 llvm::raw_ostream &header,
                                 llvm::raw_ostream &source) {
  auto plan = module->getAttrOfType<DictionaryAttr>("gemma.memory_plan");
  auto context = module->getAttrOfType<IntegerAttr>("gemma.context_length");
  auto chunk = module->getAttrOfType<IntegerAttr>("gemma.prefill_chunk");
  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  auto decode = module.lookupSymbol<func::FuncOp>("decode");
  if (!plan || !context || !chunk || !prefill || !decode)
    return module.emitError("expected a planned module with prefill and "
                            "decode (run g4c-pipeline first)");
  ModuleLayout layout;
  for (const PackedTensor &tensor : weights.tensors)
    layout.weights[tensor.name] = &tensor;
  auto offsets = plan.getAs<DictionaryAttr>("kv_offset_per_layer");
  auto slots = plan.getAs<DictionaryAttr>("kv_slots_per_layer");
  for (NamedAttribute entry : offsets) {
    int64_t layer = 0;
    entry.getName().strref().drop_front(5).getAsInteger(10, layer);
    layout.caches[layer] = {cast<IntegerAttr>(entry.getValue()).getInt(),
                            slots.getAs<IntegerAttr>(entry.getName()).getInt()};
  }
  layout.plannedBytes = plan.getAs<IntegerAttr>("arena_bytes").getInt();
  layout.scratchOffset = (layout.plannedBytes + 63) / 64 * 64;

  // Functions first (they size the scratch), then the file around them.
  std::string functions;
  llvm::raw_string_ostream functionStream(functions);
  if (failed(FunctionEmitter(prefill, layout, functionStream)
                 .emit("forward_prefill")) ||
      failed(FunctionEmitter(decode, layout, functionStream)
                 .emit("forward_decode")))
    return failure();

  const std::string NAME = llvm::StringRef(options.name).upper();
  const int64_t vocab =
      cast<RankedTensorType>(decode.getResultTypes()[0]).getShape()[1];
  const int64_t T = chunk.getInt();
  CppEmitResult result;
  result.scratchBytes = uint64_t(layout.scratchFloats) * 4;
  const int64_t logitsOffset =
      (layout.scratchOffset + int64_t(result.scratchBytes) + 63) / 64 * 64;
  result.arenaBytes = uint64_t(logitsOffset + T * vocab * 4);

  header << llvm::formatv(
      R"c(/* {0}.h - generated by g4c. Do not edit.
 *
 * A compiled Gemma 4 model: open a session over the packed weights and a
 * caller-provided arena, then prefill/decode token ids. Logits are
 * [count, {0}_VOCAB_SIZE] floats.
 */
#ifndef {1}_H
#define {1}_H

#include "g4rt.h"

#define {1}_VOCAB_SIZE {2}
#define {1}_CONTEXT {3}
#define {1}_PREFILL_CHUNK {4}
#define {1}_ARENA_BYTES {5}ull
#define {1}_WEIGHTS_BYTES {6}ull
#define {1}_WEIGHTS_FINGERPRINT {7}ull

#ifdef __cplusplus
extern "C" {{
#endif

typedef struct {0}_session {{
  g4_weights weights;
  uint8_t *arena;
  int64_t position; /* of the next token */
} {0}_session;

/* Maps the weights (checked against this build) over |arena| of at least
 * {1}_ARENA_BYTES bytes, 64-byte aligned. */
g4_status {0}_open(const char *weights_path, void *arena, size_t arena_bytes,
                   {0}_session *out_session, g4_error *out_error);
/* Runs |count| tokens at the next positions; |out_logits| (may be null)
 * receives [count, {1}_VOCAB_SIZE] floats. */
g4_status {0}_prefill({0}_session *session, const int32_t *tokens,
                      int64_t count, float *out_logits, g4_error *out_error);
g4_status {0}_decode({0}_session *session, int32_t token, float *out_logits,
                     g4_error *out_error);
{8}/* Back to position 0. */
g4_status {0}_reset({0}_session *session);
g4_status {0}_close({0}_session *session);

#ifdef __cplusplus
}
#endif

#endif /* {1}_H */
)c",
      options.name, NAME, vocab, context.getInt(), T, result.arenaBytes,
      weights.fileSize, llvm::format_hex(weights.fingerprint, 18),
      options.linkWeights
          ? instantiate("/* The same over the weights linked into "
                        "the program (@NAME@_weights.cc). */\n"
                        "g4_status @NAME@_open_linked(void *arena, "
                        "size_t arena_bytes,\n"
                        "                          @NAME@_session "
                        "*out_session, g4_error *out_error);\n",
                        options.name)
          : std::string());

  source << llvm::formatv("// {0}.cc - generated by g4c. Do not edit.\n"
                          "// Arena: KV caches and activations {1} bytes "
                          "(planned), kernel scratch {2} bytes.\n\n",
                          options.name, layout.plannedBytes,
                          result.scratchBytes);
  source << llvm::formatv("#include \"{0}.h\"\n\n#include \"g4k.h\"\n\n"
                          "#include <cstring>\n\nnamespace {{\n\n",
                          options.name);
  source << llvm::formatv("constexpr int64_t kScratchOffset = {0};\n"
                          "constexpr int64_t kLogitsOffset = {1};\n\n",
                          layout.scratchOffset, logitsOffset);
  source << "/// The K cache of a layer; its V cache follows it.\n"
            "inline float *kv_cache(uint8_t *arena, int64_t offset) {\n"
            "  return reinterpret_cast<float *>(arena + offset);\n}\n\n";
  // RoPE inverse frequencies per layer: theta^(-2j / head_dim).
  for (gemma::AttentionOp attention : prefill.getOps<gemma::AttentionOp>()) {
    const int64_t pairs =
        std::max<int64_t>(1, int64_t(attention.getRotaryDims()) / 2);
    const double hd = double(attention.getHeadDim());
    const double theta = attention.getRopeTheta().convertToDouble();
    source << llvm::formatv("const double kRopeLayer{0}[{1}] = {{",
                            int64_t(attention.getLayer()), pairs);
    for (int64_t j = 0; j < pairs; ++j)
      source << (j ? ", " : "")
             << llvm::format("%.17g", std::pow(theta, -double(2 * j) / hd));
    source << "};\n";
  }
  source << "\n" << functions;
  emitApi(source, options.name);
  if (options.linkWeights)
    source << instantiate(kOpenLinked, options.name);
  return result;
}

} // namespace g4c
