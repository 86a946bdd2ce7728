//===- CppEmitter.cpp - kernel-level module to C++ source -----------------===//
//
// Part of g4c. This file implements the C++ backend's emitter. Each
// kernel-level entry function becomes a straight-line C++ function: one
// g4k.h template call per g4k op with every shape a template argument, every
// arena view a named pointer at its offset, every weight a pointer at its
// .g4w offset, constant tables as arrays, a comment per layer. The C API
// wraps the two entry points: validation, chunking of longer prompts, the
// session position.
//
//===----------------------------------------------------------------------===//

#include "targets/cpp/CppEmitter.h"
#include "targets/cpp/KernelCall.h"
#include "targets/cpp/ProjectWriter.h"

#include "compiler/Dialect/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <map>

namespace g4c {

using namespace mlir;

namespace {

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

std::string shapeComment(Value value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleave(shapeOf(value), os, ", ");
  os << "]";
  return text;
}

/// Facts shared by both entry points.
struct ModuleLayout {
  llvm::StringMap<const PackedTensor *> weights;
};

/// Emits one kernel-level entry function.
class FunctionEmitter {
public:
  FunctionEmitter(func::FuncOp function, ModuleLayout &layout,
                  llvm::raw_ostream &os)
      : function(function), layout(layout), os(os) {}

  LogicalResult emit(llvm::StringRef cName);

private:
  LogicalResult emitOp(Operation &op);
  LogicalResult emitView(memref::ViewOp view);
  /// The C++ name of |value|, printing its declaration at the first use.
  const std::string &name(Value value) {
    auto declaration = pending.find(value);
    if (declaration != pending.end()) {
      os << declaration->second;
      // Every view of the same pointer is declared by now.
      for (auto &[other, text] : pending)
        if (text == declaration->second)
          text.clear();
      pending.erase(declaration);
    }
    return names[value];
  }

  func::FuncOp function;
  ModuleLayout &layout;
  llvm::raw_ostream &os;
  llvm::DenseMap<Value, std::string> names;
  /// Arena pointers declared so far, by (buffer name, byte offset, C type).
  std::map<std::tuple<std::string, int64_t, std::string>, std::string> declared;
  /// Declarations not printed yet: each is printed before its first use,
  /// so that it lands under the comment of the layer that uses it.
  llvm::DenseMap<Value, std::string> pending;
  llvm::StringSet<> usedNames;
  int counter = 0;
  std::string currentLayer;
};

/// The page-aligned tables as g4_weight_range initialisers, with the bytes
/// of each row (a token's row of the PLE table).
std::string gatheredTables(const PackedWeights &weights) {
  std::string list;
  for (const PackedTensor &tensor : weights.tensors)
    if (tensor.pageAligned) {
      const uint64_t rows = tensor.shape.empty() ? 0 : tensor.shape.front();
      const uint64_t rowBytes =
          rows && tensor.size % rows == 0 ? tensor.size / rows : 0;
      list += llvm::formatv("{0}{{\"{1}\", {2}ull, {3}ull, {4}ull}",
                            list.empty() ? "" : ", ", tensor.name,
                            tensor.offset, tensor.size, rowBytes)
                  .str();
    }
  return list.empty() ? "{\"\", 0ull, 0ull, 0ull}" : list;
}

LogicalResult FunctionEmitter::emitView(memref::ViewOp view) {
  auto offset = getConstantIntValue(view.getByteShift());
  if (!offset)
    return view.emitError("expected a constant arena offset");
  std::string type = bufferElementType(view.getType().getElementType());
  // One pointer per named buffer: reshaped views of it share the pointer;
  // another buffer reusing the same memory later gets its own name.
  auto nameAttr = view->getAttrOfType<StringAttr>("g4k.name");
  std::string value = nameAttr ? nameAttr.getValue().str() : "buffer";
  auto key = std::make_tuple(value, *offset, type);
  auto found = declared.find(key);
  if (found != declared.end()) {
    names[view.getResult()] = found->second;
    return success();
  }
  if (!usedNames.insert(value).second)
    value = llvm::formatv("{0}_{1}", value, counter++).str();
  declared[key] = value;
  names[view.getResult()] = value;
  pending[view.getResult()] =
      llvm::formatv("  {0} *{1} = reinterpret_cast<{0} *>(arena + {2}); "
                    "// {3}\n",
                    type, value, *offset, shapeComment(view.getResult()));
  return success();
}

LogicalResult FunctionEmitter::emitOp(Operation &op) {
  if (isa<kernel::G4kDialect>(op.getDialect()) && !isa<kernel::WeightOp>(op))
    if (auto loc = dyn_cast<NameLoc>(op.getLoc())) {
      std::string layer = loc.getName().str();
      if (layer != currentLayer) {
        os << "\n  // ---- " << layer << " ----\n";
        currentLayer = layer;
      }
    }
  if (isa<arith::ConstantOp, func::ReturnOp>(op))
    return success(); // offsets are read from the views
  if (auto view = dyn_cast<memref::ViewOp>(op))
    return emitView(view);
  if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
    names[global.getResult()] = global.getName().str();
    return success();
  }
  if (auto subview = dyn_cast<memref::SubViewOp>(op)) {
    FailureOr<int64_t> offset = staticElementOffset(subview);
    if (failed(offset))
      return failure();
    names[subview.getResult()] =
        llvm::formatv("({0} + {1})", name(subview.getSource()), *offset).str();
    return success();
  }
  if (auto ref = dyn_cast<kernel::WeightOp>(op)) {
    const PackedTensor *tensor = layout.weights.lookup(ref.getName());
    if (!tensor)
      return op.emitError("weight '") << ref.getName() << "' was not packed";
    std::string type = packedElementType(tensor->format, tensor->group);
    std::string value = llvm::formatv("w{0}", counter++).str();
    names[ref.getResult()] = value;
    pending[ref.getResult()] = llvm::formatv(
        "  const {0} *{1} = reinterpret_cast<const {0} *>(weights + {2}); "
        "// {3} {4}\n",
        type, value, tensor->offset, ref.getName(),
        shapeComment(ref.getResult()));
    return success();
  }
  FailureOr<KernelCall> call = describeKernelCall(op);
  if (failed(call))
    return failure();
  std::string text =
      renderKernelCall(*call, [&](Value value) { return name(value); });
  // Kernels that write the logits run only when someone reads them: a
  // prefill chunk without logits skips the LM head.
  os << (call->writesLogits() ? "  if (logits) " : "  ") << text << ";\n";
  return success();
}

LogicalResult FunctionEmitter::emit(llvm::StringRef cName) {
  Block &body = function.getBody().front();
  names[body.getArgument(2)] = "tokens";
  names[body.getArgument(3)] = "start";
  names[body.getArgument(4)] = "logits";
  os << llvm::formatv("/// The `{0}` entry point: {1} token(s) at positions "
                      "start.. .\n",
                      function.getName(), shapeOf(body.getArgument(2))[0]);
  os << llvm::formatv("void {0}(const uint8_t *weights, uint8_t *arena,\n"
                      "    const int32_t *tokens, int64_t start, float "
                      "*logits) {{\n",
                      cName);
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
  // Every page of the arena is touched now rather than by the first
  // prompt, whose time it was (E2B: the KV caches' first writes took 70 ms
  // of a 512-token prefill): no page faults after the session opens.
  std::memset(arena, 0, @UPPER@_ARENA_BYTES);
  g4k::threads().start(); // G4_THREADS, default: every hardware thread
  return G4_OK;
}
)cpp";

/// The entry points every kernel-level module has, in the order emitted.
constexpr const char *kEntryPoints[] = {"prefill", "prefill_last", "decode"};

/// The object backend's forward pass: entry point |entry| of NAME.o.
std::string objectForwardFunction(llvm::StringRef name, llvm::StringRef entry) {
  // Emitted inside the source's anonymous namespace, as the C++ backend's
  // own functions are.
  return llvm::formatv(R"cpp(} // namespace

extern "C" void {0}_forward_{1}(const uint8_t *weights, uint8_t *arena,
    const int32_t *tokens, int64_t start, float *logits);

namespace {{

void forward_{1}(const uint8_t *weights, uint8_t *arena,
                 const int32_t *tokens, int64_t start, float *logits) {{
  {0}_forward_{1}(weights, arena, tokens, start, logits);
}

)cpp",
                       name, entry)
      .str();
}

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

/// The C API around the two entry points.
void emitApi(llvm::raw_ostream &os, llvm::StringRef name) {
  os << instantiateTemplate(kCheckArena, name);
  os << instantiateTemplate(R"cpp(
/// The tables read a row per token (see @UPPER@_GATHERED_TABLES).
const g4_weight_range kGatheredTables[] = @UPPER@_GATHERED_TABLES;

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
  // The weights every step streams are copied into memory, the tables read
  // a row per token stay mapped (G4_MAP_WEIGHTS=1 maps everything: less
  // memory, slower where the kernel drops clean file pages eagerly).
  if (status == G4_OK && !std::getenv("G4_MAP_WEIGHTS")) {
    status = g4_weights_copy_streamed(&out_session->weights, weights_path,
                                      kGatheredTables,
                                      @UPPER@_GATHERED_TABLE_COUNT,
                                      out_error);
    if (status != G4_OK)
      g4_weights_release(&out_session->weights);
  }
  // Tables read a row per token: no read-ahead around those rows.
  for (int i = 0; status == G4_OK && i < @UPPER@_GATHERED_TABLE_COUNT; ++i)
    g4_weights_advise_gathered(&out_session->weights,
                               kGatheredTables[i].offset,
                               kGatheredTables[i].size);
  return start_session(status, arena, out_session);
}

namespace {

/// Runs |count| tokens: logits of every token into |out_logits|, or of
/// the last one into |out_last|, or none (both null: the LM head is
/// skipped; with |out_last| it runs for the final token only).
g4_status run_tokens(@NAME@_session *session, const int32_t *tokens,
                     int64_t count, float *out_logits, float *out_last,
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
  // A prompt's rows of the gathered tables start loading now, all at once
  // (one token's rows are read at once anyway).
  for (int i = 0; count > 1 && i < @UPPER@_GATHERED_TABLE_COUNT; ++i)
    g4_weights_will_gather(&session->weights, &kGatheredTables[i], tokens,
                           count);
  const uint8_t *weights = session->weights.data;
  int64_t done = 0;
  // Whole chunks through `prefill`, the rest one token at a time.
  float *chunk_logits = reinterpret_cast<float *>(session->arena + kLogitsOffset);
  auto last = [&](int64_t n) { return out_last && done + n == count; };
  auto wanted = [&](int64_t n) {
    return out_logits || last(n) ? chunk_logits : nullptr;
  };
  // `prefill_last` and `decode` write one row, `prefill` a row per token.
  auto deliver = [&](int64_t n) {
    if (out_logits)
      std::memcpy(out_logits + done * @UPPER@_VOCAB_SIZE, chunk_logits,
                  sizeof(float) * n * @UPPER@_VOCAB_SIZE);
    else if (last(n))
      std::memcpy(out_last, chunk_logits, sizeof(float) * @UPPER@_VOCAB_SIZE);
    session->position += n;
    done += n;
  };
  while (count - done >= @UPPER@_PREFILL_CHUNK) {
    // The final chunk of `out_last` runs the LM head over its last row.
    if (!out_logits && last(@UPPER@_PREFILL_CHUNK))
      forward_prefill_last(weights, session->arena, tokens + done,
                           session->position, chunk_logits);
    else
      forward_prefill(weights, session->arena, tokens + done,
                      session->position, wanted(@UPPER@_PREFILL_CHUNK));
    deliver(@UPPER@_PREFILL_CHUNK);
  }
  while (done < count) {
    forward_decode(weights, session->arena, tokens + done, session->position,
                   wanted(1));
    deliver(1);
  }
  return G4_OK;
}

} // namespace

extern "C" g4_status @NAME@_prefill(@NAME@_session *session, const int32_t *tokens,
                                 int64_t count, float *out_logits,
                                 g4_error *out_error) {
  return run_tokens(session, tokens, count, out_logits, nullptr, out_error);
}

extern "C" g4_status @NAME@_prefill_last(@NAME@_session *session,
                                      const int32_t *tokens, int64_t count,
                                      float *out_last_logits,
                                      g4_error *out_error) {
  return run_tokens(session, tokens, count, nullptr, out_last_logits,
                    out_error);
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
  auto isEntry = [&](const char *name) {
    auto function = module.lookupSymbol<func::FuncOp>(name);
    return function && function->hasAttr("g4k.entry");
  };
  if (!plan || !context || !chunk || !llvm::all_of(kEntryPoints, isEntry) ||
      !plan.getAs<IntegerAttr>("scratch_bytes"))
    return module.emitError("expected a kernel-level module with prefill, "
                            "prefill_last and decode (run g4c-pipeline "
                            "first)");
  auto decode = module.lookupSymbol<func::FuncOp>("decode");
  ModuleLayout layout;
  for (const PackedTensor &tensor : weights.tensors)
    layout.weights[tensor.name] = &tensor;
  const int64_t plannedBytes = plan.getAs<IntegerAttr>("arena_bytes").getInt();

  std::string functions;
  llvm::raw_string_ostream functionStream(functions);
  for (const char *entry : kEntryPoints) {
    if (options.objectKernels) {
      functionStream << objectForwardFunction(options.name, entry);
      continue;
    }
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (failed(FunctionEmitter(function, layout, functionStream)
                   .emit(("forward_" + llvm::Twine(entry)).str())))
      return failure();
  }

  const std::string NAME = llvm::StringRef(options.name).upper();
  const int64_t vocab = shapeOf(decode.getArgument(4))[1];
  const int64_t T = chunk.getInt();
  CppEmitResult result;
  result.scratchBytes =
      uint64_t(plan.getAs<IntegerAttr>("scratch_bytes").getInt());
  // The logits of a prefill chunk follow the plan.
  const int64_t logitsOffset = (plannedBytes + 63) / 64 * 64;
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
/* The tables read only one row per token, straight from the mapped weights
 * (g4_weight_range initialisers: name, offset, size, row bytes; the first
 * COUNT are real, a model without one lists an empty entry). */
#define {1}_GATHERED_TABLES {{{9}}
#define {1}_GATHERED_TABLE_COUNT {10}

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
/* Runs |count| tokens at the next positions; |out_logits| receives
 * [count, {1}_VOCAB_SIZE] floats; when it is null no logits are computed
 * (the LM head is skipped: pass null for all but the prompt's last part). */
g4_status {0}_prefill({0}_session *session, const int32_t *tokens,
                      int64_t count, float *out_logits, g4_error *out_error);
/* The same with the last token's logits only ({1}_VOCAB_SIZE floats; the
 * LM head runs for the final compiled chunk alone). */
g4_status {0}_prefill_last({0}_session *session, const int32_t *tokens,
                           int64_t count, float *out_last_logits,
                           g4_error *out_error);
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
          ? instantiateTemplate("/* The same over the weights linked into "
                                "the program (@NAME@_weights.cc). */\n"
                                "g4_status @NAME@_open_linked(void *arena, "
                                "size_t arena_bytes,\n"
                                "                          @NAME@_session "
                                "*out_session, g4_error *out_error);\n",
                                options.name)
          : std::string(),
      gatheredTables(weights),
      llvm::count_if(weights.tensors,
                     [](const PackedTensor &t) { return t.pageAligned; }));

  source << llvm::formatv("// {0}{3}.cc - generated by g4c. Do not edit.\n"
                          "// Arena: KV caches and activations {1} bytes "
                          "(planned), of which kernel scratch {2} bytes.\n\n",
                          options.name, plannedBytes, result.scratchBytes,
                          options.objectKernels ? "_kernels" : "");
  if (options.exactActivations)
    source << "// --exact-activations: f32 activations against dequantised\n"
              "// int8/int4 weights (no int8 dot products).\n"
              "#define G4K_EXACT_ACTIVATIONS 1\n";
  source << llvm::formatv("#include \"{0}.h\"\n\n#include \"g4k.h\"\n\n"
                          "#include <cstdlib>\n#include <cstring>\n\n",
                          options.name);
  if (options.objectKernels)
    source << "// The kernel instantiations " << options.name << ".o calls.\n"
           << *options.objectKernels << "\n";
  source << "namespace {\n\n";
  source << llvm::formatv("constexpr int64_t kLogitsOffset = {0};\n\n",
                          logitsOffset);
  // Constant tables (RoPE inverse frequencies; in NAME.o for the object
  // backend).
  for (auto global : module.getOps<memref::GlobalOp>()) {
    if (options.objectKernels)
      break;
    auto values =
        dyn_cast_or_null<DenseElementsAttr>(global.getInitialValueAttr());
    if (!values || !values.getElementType().isF64())
      return global.emitError("the C++ backend emits f64 tables only");
    if (values.getNumElements() == 0) {
      source << "const double *const " << global.getSymName()
             << " = nullptr;\n";
      continue;
    }
    source << llvm::formatv("const double {0}[{1}] = {{", global.getSymName(),
                            values.getNumElements());
    llvm::interleaveComma(values.getValues<double>(), source, [&](double v) {
      source << llvm::format("%.17g", v);
    });
    source << "};\n";
  }
  source << "\n" << functions;
  emitApi(source, options.name);
  if (options.linkWeights)
    source << instantiateTemplate(kOpenLinked, options.name);
  return result;
}

} // namespace g4c
