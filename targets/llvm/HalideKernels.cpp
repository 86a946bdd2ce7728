//===- HalideKernels.cpp - which kernels Halide generates -----------------===//
//
// Part of g4c. Implements the table of Halide-generated kernels and the
// step that runs their generators when a model is compiled.
//
//===----------------------------------------------------------------------===//

#include "targets/llvm/HalideKernels.h"

#include "compiler/Support/Error.h"

#include "llvm/ADT/StringExtras.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"

namespace g4c {

using Kind = KernelArgument::Kind;

namespace {

/// The Halide descriptor type of a C++ element type, if a kernel reads it.
std::optional<std::string> halideType(llvm::StringRef cppType) {
  if (cppType == "float")
    return std::string("g4k::halide::f32()");
  if (cppType == "g4k::bf16")
    return std::string("g4k::halide::bf16_bits()");
  return std::nullopt;
}

/// rms_norm<rows, width>(x, weight, eps, y): g4c_rms_norm.
std::optional<HalideKernel>
rmsNorm(const KernelCall &call,
        llvm::function_ref<std::string(mlir::Value)> nameOf,
        llvm::function_ref<std::string(mlir::Value)> elementTypeOf) {
  const KernelArgument &x = call.arguments[0], &weight = call.arguments[1],
                       &epsilon = call.arguments[2], &y = call.arguments[3];
  if (x.kind != Kind::Buffer || weight.kind != Kind::Buffer ||
      epsilon.kind != Kind::Literal || y.kind != Kind::Buffer ||
      elementTypeOf(x.buffer) != "float" || elementTypeOf(y.buffer) != "float")
    return std::nullopt;
  std::string weightType = elementTypeOf(weight.buffer);
  std::optional<std::string> weightDescriptor = halideType(weightType);
  if (!weightDescriptor)
    return std::nullopt;
  const int64_t rows = call.templateArguments[0];
  const int64_t width = call.templateArguments[1];
  HalideKernel kernel;
  HalideFunction &function = kernel.functions.emplace_back();
  function.generator = "g4c-rms-norm.generator";
  function.registeredName = "g4c_rms_norm";
  function.params = {llvm::formatv("rows={0}", rows).str(),
                     llvm::formatv("width={0}", width).str(),
                     weightType == "float" ? "bf16_weight=false"
                                           : "bf16_weight=true"};
  // IEEE float, no fused multiply-adds: it rounds as g4k::rms_norm does.
  function.targetFeatures = "strict_float";
  function.declaration =
      "extern \"C\" int @FUNCTION@(halide_buffer_t *input, halide_buffer_t "
      "*weight, float epsilon, halide_buffer_t *output);";
  kernel.body = llvm::formatv(
      "  G4K_PROFILE_KERNEL(\"rms_norm (halide)\");\n"
      "  g4k::halide::view<2> x({0}, g4k::halide::f32(), {{{3}, {4}});\n"
      "  g4k::halide::view<1> w({1}, {5}, {{{3}});\n"
      "  g4k::halide::view<2> y({2}, g4k::halide::f32(), {{{3}, {4}});\n"
      "  g4k::halide::check(@FUNCTION@(x.get(), w.get(), {6}, y.get()), "
      "\"@FUNCTION@\");\n",
      nameOf(x.buffer), nameOf(weight.buffer), nameOf(y.buffer), width, rows,
      *weightDescriptor, epsilon.literal);
  return kernel;
}

/// The operands of linear<T, Out, In>(x, w, y) that the Halide products
/// take: f32 x, y a float buffer or the entry point's logits (the LM head).
struct ProductOperands {
  int64_t tokens, rows, columns;
  std::string x, weight, y, weightType;
};
std::optional<ProductOperands>
productOperands(const KernelCall &call,
                llvm::function_ref<std::string(mlir::Value)> nameOf,
                llvm::function_ref<std::string(mlir::Value)> elementTypeOf) {
  if (call.kernel != "linear" || call.arguments.size() != 3)
    return std::nullopt;
  const KernelArgument &x = call.arguments[0], &weight = call.arguments[1],
                       &y = call.arguments[2];
  const bool logits = y.kind == Kind::Logits;
  if (x.kind != Kind::Buffer || weight.kind != Kind::Buffer ||
      elementTypeOf(x.buffer) != "float" ||
      (!logits &&
       (y.kind != Kind::Buffer || elementTypeOf(y.buffer) != "float")))
    return std::nullopt;
  return ProductOperands{call.templateArguments[0],
                         call.templateArguments[1],
                         call.templateArguments[2],
                         nameOf(x.buffer),
                         nameOf(weight.buffer),
                         logits ? std::string("logits") : nameOf(y.buffer),
                         elementTypeOf(weight.buffer)};
}

/// The wrapper's loop over the parts of the rows that the kernel library's
/// pool splits (as g4k::linear splits them): |views| describe part
/// [begin, end) of |rows| rows to @FUNCTION@ as |arguments|, y's token
/// rows Out apart.
std::string callOnRowParts(const ProductOperands &p, llvm::StringRef views,
                           llvm::StringRef arguments) {
  return llvm::formatv(
             "  g4k::parallel_for({0}, g4k::kRowGrain, [&](int64_t begin, "
             "int64_t end) {{\n"
             "    const int rows = int(end - begin);\n{1}"
             "    g4k::halide::view<2> y({2} + begin, g4k::halide::f32(), "
             "{{rows, {3}}, {{1, {0}});\n"
             "    g4k::halide::check(@FUNCTION@({4}, y.get()), "
             "\"@FUNCTION@\");\n"
             "  });\n",
             p.rows, views, p.y, p.tokens, arguments)
      .str();
}

/// The GeneratorParams of both product generators' shape.
std::vector<std::string> shapeParams(const ProductOperands &p) {
  return {llvm::formatv("tokens={0}", p.tokens).str(),
          llvm::formatv("columns={0}", p.columns).str(),
          llvm::formatv("output_stride={0}", p.rows).str()};
}

/// linear<T, Out, In>(x, w, y) on f32 or bf16 weights: g4c_linear.
std::optional<HalideKernel> linear(const ProductOperands &p) {
  std::optional<std::string> weightDescriptor = halideType(p.weightType);
  if (!weightDescriptor)
    return std::nullopt;
  const bool bf16 = p.weightType != "float";
  HalideKernel kernel;
  HalideFunction &function = kernel.functions.emplace_back();
  function.generator = "g4c-linear.generator";
  function.registeredName = "g4c_linear";
  function.params = shapeParams(p);
  function.params.push_back(bf16 ? "bf16_weight=true" : "bf16_weight=false");
  // Strict float: every row rounds alike wherever a thread's part of the
  // rows starts (with fused multiply-adds, a tile at the edge rounded
  // differently). Past 2^31 bytes (a 31B model's f32 LM head) Halide
  // indexes in 64 bits.
  function.targetFeatures = "strict_float";
  if (uint64_t(p.rows) * uint64_t(p.columns) * (bf16 ? 2 : 4) >= (1ull << 31))
    function.targetFeatures += "-large_buffers";
  function.declaration =
      "extern \"C\" int @FUNCTION@(halide_buffer_t *input, halide_buffer_t "
      "*weight, halide_buffer_t *output);";
  kernel.body =
      "  G4K_PROFILE_KERNEL(\"linear (halide)\");\n" +
      callOnRowParts(
          p,
          llvm::formatv(
              "    g4k::halide::view<2> x({0}, g4k::halide::f32(), {{{1}, "
              "{2}});\n"
              "    g4k::halide::view<2> w({3} + begin * {1}, {4}, {{{1}, "
              "rows});\n",
              p.x, p.columns, p.tokens, p.weight, *weightDescriptor)
              .str(),
          "x.get(), w.get()");
  return kernel;
}

/// linear<T, Out, In>(x, w, y) on int8 or int4 weights with int8
/// activations where the target's C++ runs g4k's x86 kernels for it (which
/// put tokens in lanes from |laneTokens| tokens): g4c_quantised_linear, its
/// scaled sums in their order (g4k::integer_sum_order_of, which the wrapper
/// asserts).
std::optional<HalideKernel> quantisedLinear(const ProductOperands &p,
                                            int laneTokens) {
  const bool int8 = p.weightType == "g4k::q8";
  int64_t group = 0;
  llvm::StringRef groupText = p.weightType;
  if (!int8 &&
      (!groupText.consume_front("g4k::q4<") || !groupText.consume_back(">") ||
       groupText.getAsInteger(10, group) || group % 8 != 0))
    return std::nullopt;
  // g4k::uses_int8_activations: int8 weights in whole activation blocks.
  const int64_t block = int8 ? 32 : group;
  if (p.columns % block != 0)
    return std::nullopt;
  // g4k's x86 kernels: tokens in lanes from laneTokens tokens, else chunks
  // of 64 weight bytes, where the shape allows (g4k_avx512*.h,
  // g4k_avx2.h). Elsewhere the portable kernels run, whose order of sums
  // depends on the C++ compiler that builds them (the generated project
  // prefers clang where there is one): they stay the kernel library's.
  const int64_t chunk = int8 ? 64 : 128;
  const bool tokenLanes = laneTokens > 0 && p.tokens >= laneTokens &&
                          p.columns % chunk == 0 && chunk % block == 0;
  const bool chunks = p.columns % chunk == 0 && (int8 || 128 % group == 0);
  if (laneTokens == 0 || !(tokenLanes || chunks))
    return std::nullopt;
  const bool lanes = !tokenLanes;
  HalideKernel kernel;
  HalideFunction &function = kernel.functions.emplace_back();
  function.generator = "g4c-quantised-linear.generator";
  function.registeredName = "g4c_quantised_linear";
  function.params = shapeParams(p);
  function.params.insert(function.params.end(),
                         {int8 ? "format=int8" : "format=int4",
                          llvm::formatv("group={0}", block).str(),
                          lanes ? "order=lanes" : "order=blocks"});
  function.targetFeatures = "strict_float";
  function.declaration =
      "extern \"C\" int @FUNCTION@(halide_buffer_t *levels, halide_buffer_t "
      "*scales, halide_buffer_t *weight, halide_buffer_t *output);";
  const std::string shape =
      llvm::formatv("{0}, {1}, {2}", p.weightType, p.tokens, p.columns).str();
  // The activations as g4k::linear quantises them, into one static buffer
  // per shape and calling thread (no allocation; the pool's threads read
  // the caller's through the reference).
  kernel.body =
      llvm::formatv(
          "  G4K_PROFILE_KERNEL(\"linear (halide)\");\n"
          "  static_assert(g4k::integer_sum_order_of<{0}>() == "
          "g4k::integer_sum_order::{1}, \"g4c generated this product for "
          "g4k's {1} order\");\n"
          "  static thread_local g4k::q8_activations<{2}, {3}, {4}> buffer;\n"
          "  auto &a = buffer;\n"
          "  g4k::parallel_for({2}, g4k::kQuantizeGrain, [&](int64_t first, "
          "int64_t last) {{\n"
          "    g4k::quantize_activations({5}, a, int(first), int(last));\n"
          "  });\n"
          "  constexpr size_t row = g4k::row_bytes<{3}>(static_cast<const "
          "{6} *>(nullptr));\n",
          shape, lanes ? "lanes" : "blocks", p.tokens, p.columns, block, p.x,
          p.weightType)
          .str() +
      callOnRowParts(
          p,
          llvm::formatv(
              "    g4k::halide::view<2> q(a.q, g4k::halide::i8(), {{{0}, "
              "{1}});\n"
              "    g4k::halide::view<2> s(a.scale, g4k::halide::f32(), "
              "{{{2}, {1}});\n"
              "    g4k::halide::view<2> w(g4k::bytes_of({3}) + begin * row, "
              "g4k::halide::bytes(), {{int(row), rows});\n",
              p.columns, p.tokens, p.columns / block, p.weight)
              .str(),
          "q.get(), s.get(), w.get()");
  return kernel;
}

/// gelu_gate_rows<tokens, width, gate stride, up stride>(gate, up, out):
/// g4c_gelu_gate.
std::optional<HalideKernel>
geluGate(const KernelCall &call,
         llvm::function_ref<std::string(mlir::Value)> nameOf,
         llvm::function_ref<std::string(mlir::Value)> elementTypeOf) {
  for (const KernelArgument &argument : call.arguments)
    if (argument.kind != Kind::Buffer ||
        elementTypeOf(argument.buffer) != "float")
      return std::nullopt;
  const int64_t tokens = call.templateArguments[0];
  const int64_t width = call.templateArguments[1];
  const int64_t gateStride = call.templateArguments[2];
  const int64_t upStride = call.templateArguments[3];
  HalideKernel kernel;
  HalideFunction &function = kernel.functions.emplace_back();
  function.generator = "g4c-gelu-gate.generator";
  function.registeredName = "g4c_gelu_gate";
  function.params = {llvm::formatv("tokens={0}", tokens).str(),
                     llvm::formatv("width={0}", width).str(),
                     llvm::formatv("gate_stride={0}", gateStride).str(),
                     llvm::formatv("up_stride={0}", upStride).str()};
  // g4k::gelu_gate_rows rounds as written (no fused multiply-adds).
  function.targetFeatures = "strict_float";
  function.declaration =
      "extern \"C\" int @FUNCTION@(halide_buffer_t *gate, halide_buffer_t "
      "*up, halide_buffer_t *out);";
  // gate and up are flat: rows |stride| apart, the last one |width| long.
  kernel.body = llvm::formatv(
      "  G4K_PROFILE_KERNEL(\"gelu_gate_rows (halide)\");\n"
      "  g4k::halide::view<1> gate({0}, g4k::halide::f32(), {{{3}});\n"
      "  g4k::halide::view<1> up({1}, g4k::halide::f32(), {{{4}});\n"
      "  g4k::halide::view<2> out({2}, g4k::halide::f32(), {{{5}, {6}});\n"
      "  g4k::halide::check(@FUNCTION@(gate.get(), up.get(), out.get()), "
      "\"@FUNCTION@\");\n",
      nameOf(call.arguments[0].buffer), nameOf(call.arguments[1].buffer),
      nameOf(call.arguments[2].buffer), (tokens - 1) * gateStride + width,
      (tokens - 1) * upStride + width, width, tokens);
  return kernel;
}

/// The table format a PLE table of C++ element type |type| has in the
/// generator's terms, and its int4 group.
std::optional<std::pair<weightfile::Format, int>>
tableFormat(llvm::StringRef type) {
  if (type == "float")
    return std::make_pair(weightfile::Format::F32, 0);
  if (type == "g4k::bf16")
    return std::make_pair(weightfile::Format::BF16, 0);
  if (type == "g4k::q8")
    return std::make_pair(weightfile::Format::Int8, 0);
  int group = 0;
  if (type.consume_front("g4k::q4<") && type.consume_back(">") &&
      !type.getAsInteger(10, group))
    return std::make_pair(weightfile::Format::Int4, group);
  return std::nullopt;
}

/// ple_combine<T, L, P, table rows, table layers, first>(tokens, table,
/// context, norm, table scale, context scale, eps, out): g4c_ple_combine.
std::optional<HalideKernel>
pleCombine(const KernelCall &call,
           llvm::function_ref<std::string(mlir::Value)> nameOf,
           llvm::function_ref<std::string(mlir::Value)> elementTypeOf) {
  const KernelArgument &table = call.arguments[1], &context = call.arguments[2],
                       &norm = call.arguments[3], &out = call.arguments[7];
  if (call.arguments[0].kind != Kind::Tokens || table.kind != Kind::Buffer ||
      context.kind != Kind::Buffer || norm.kind != Kind::Buffer ||
      out.kind != Kind::Buffer || elementTypeOf(context.buffer) != "float" ||
      elementTypeOf(out.buffer) != "float")
    return std::nullopt;
  for (int literal : {4, 5, 6})
    if (call.arguments[literal].kind != Kind::Literal)
      return std::nullopt;
  auto format = tableFormat(elementTypeOf(table.buffer));
  std::string normType = elementTypeOf(norm.buffer);
  std::optional<std::string> normDescriptor = halideType(normType);
  if (!format || !normDescriptor)
    return std::nullopt;
  const int64_t tokens = call.templateArguments[0];
  const int64_t layers = call.templateArguments[1];
  const int64_t width = call.templateArguments[2];
  const int64_t tableRows = call.templateArguments[3];
  const int64_t tableLayers = call.templateArguments[4];
  const int64_t first = call.templateArguments[5];
  const uint64_t values = uint64_t(tableLayers * width);
  static const char *const kFormatNames[] = {"f32", "bf16", "int8", "int4"};
  const bool quantised = weightfile::isQuantised(format->first);
  // A row in the table's elements: values, or bytes when quantised.
  const uint64_t rowExtent =
      quantised ? weightfile::rowBytes(format->first, values, format->second)
                : values;
  HalideKernel kernel;
  HalideFunction &function = kernel.functions.emplace_back();
  function.generator = "g4c-ple-combine.generator";
  function.registeredName = "g4c_ple_combine";
  function.params = {
      llvm::formatv("tokens={0}", tokens).str(),
      llvm::formatv("layers={0}", layers).str(),
      llvm::formatv("width={0}", width).str(),
      llvm::formatv("table_rows={0}", tableRows).str(),
      llvm::formatv("table_layers={0}", tableLayers).str(),
      llvm::formatv("first={0}", first).str(),
      llvm::formatv("table_format={0}",
                    kFormatNames[static_cast<int>(format->first)])
          .str(),
      llvm::formatv("group={0}", format->second ? format->second : 32).str(),
      normType == "float" ? "bf16_norm=false" : "bf16_norm=true"};
  // Rounds as g4k::ple_combine; the E2B table passes 2^31 bytes at bf16.
  function.targetFeatures = "strict_float-large_buffers";
  function.declaration =
      "extern \"C\" int @FUNCTION@(halide_buffer_t *tokens, halide_buffer_t "
      "*table, halide_buffer_t *context, halide_buffer_t *norm, float "
      "table_scale, float context_scale, float epsilon, halide_buffer_t "
      "*out);";
  const std::string tableDescriptor =
      quantised ? "g4k::halide::bytes()"
                : *halideType(elementTypeOf(table.buffer));
  kernel.body = llvm::formatv(
      "  G4K_PROFILE_KERNEL(\"ple_combine (halide)\");\n"
      "  g4k::halide::view<1> ids(tokens, g4k::halide::i32(), {{{0}});\n"
      "  g4k::halide::view<2> table({1}, {2}, {{{3}, {4}});\n"
      "  g4k::halide::view<3> context({5}, g4k::halide::f32(), "
      "{{{6}, {7}, {0}});\n"
      "  g4k::halide::view<1> norm({8}, {9}, {{{6}});\n"
      "  g4k::halide::view<3> out({10}, g4k::halide::f32(), "
      "{{{6}, {7}, {0}});\n"
      "  g4k::halide::check(@FUNCTION@(ids.get(), table.get(), "
      "context.get(), norm.get(), {11}, {12}, {13}, out.get()), "
      "\"@FUNCTION@\");\n",
      tokens, nameOf(table.buffer), tableDescriptor, rowExtent, tableRows,
      nameOf(context.buffer), width, layers, nameOf(norm.buffer),
      *normDescriptor, nameOf(out.buffer), call.arguments[4].literal,
      call.arguments[5].literal, call.arguments[6].literal);
  return kernel;
}

/// attend_tokens<T, HeadDim, QHeads, KvHeads, Slots, Window>(q, cache,
/// fresh K, fresh V, start, scores, out) over an f32 or an int8 cache:
/// g4k::halide::attend_tokens (the C++ backend's token tiles or split of the
/// pool, and attend_blocks' softmax) around g4c_attention_scores and
/// g4c_attention_values.
std::optional<HalideKernel>
attention(const KernelCall &call,
          llvm::function_ref<std::string(mlir::Value)> nameOf,
          llvm::function_ref<std::string(mlir::Value)> elementTypeOf) {
  const KernelArgument &q = call.arguments[0], &cache = call.arguments[1],
                       &freshKeys = call.arguments[2],
                       &freshValues = call.arguments[3],
                       &scores = call.arguments[5], &out = call.arguments[6];
  const bool int8Cache = cache.literal == "g4k::q8_kv";
  if (cache.kind != Kind::Cache ||
      !(int8Cache
            ? cache.parts.size() == 4
            : cache.literal == "g4k::f32_kv" && cache.parts.size() == 2) ||
      call.arguments[4].kind != Kind::Start)
    return std::nullopt;
  for (const KernelArgument *buffer :
       {&q, &freshKeys, &freshValues, &scores, &out})
    if (buffer->kind != Kind::Buffer ||
        (buffer->buffer && elementTypeOf(buffer->buffer) != "float"))
      return std::nullopt;
  const bool fresh = bool(freshKeys.buffer);
  if (!q.buffer || !scores.buffer || !out.buffer ||
      fresh != bool(freshValues.buffer))
    return std::nullopt;
  const int64_t tokens = call.templateArguments[0];
  const int64_t headDim = call.templateArguments[1];
  const int64_t queryHeads = call.templateArguments[2];
  const int64_t kvHeads = call.templateArguments[3];
  const int64_t slots = call.templateArguments[4];
  const int64_t window = call.templateArguments[5];
  // Positions are 32-bit in the kernels.
  if (headDim % 16 != 0 || queryHeads % kvHeads != 0 ||
      slots + tokens > (int64_t(1) << 31) - 1)
    return std::nullopt;
  const int64_t freshRows = fresh ? tokens : 0;
  // g4k::attend_tiles and split_attention give each call all of a KV head's
  // query heads (fewer only when decode's scratch has too little room,
  // where the wrapper takes g4k's attend_heads).
  const int64_t heads = queryHeads / kvHeads;
  HalideKernel kernel;
  for (llvm::StringRef pass : {"scores", "values"}) {
    HalideFunction &function = kernel.functions.emplace_back();
    function.generator = "g4c-attention.generator";
    function.registeredName = ("g4c_attention_" + pass).str();
    function.params = {llvm::formatv("head_dim={0}", headDim).str(),
                       llvm::formatv("kv_heads={0}", kvHeads).str(),
                       llvm::formatv("slots={0}", slots).str(),
                       llvm::formatv("fresh_rows={0}", freshRows).str(),
                       llvm::formatv("heads={0}", heads).str()};
    if (int8Cache)
      function.params.push_back("int8_cache=true");
    // The sums round as g4k's (no fused multiply-adds).
    function.targetFeatures = "strict_float";
    // An int8 cache's scales come after |block| (g4k::halide's
    // attention_*_fn).
    const char *scalesParameter = !int8Cache ? ""
                                  : pass == "scores"
                                      ? " halide_buffer_t *key_scales,"
                                      : " halide_buffer_t *value_scales,";
    function.declaration =
        pass == "scores"
            ? llvm::formatv("extern \"C\" int @FUNCTION@(halide_buffer_t *q, "
                            "halide_buffer_t *keys, halide_buffer_t *fresh, "
                            "int kv, int fresh_start, int block,{0} "
                            "halide_buffer_t *scores);",
                            scalesParameter)
                  .str()
            : llvm::formatv("extern \"C\" int @FUNCTION@(halide_buffer_t "
                            "*weights, halide_buffer_t *values, "
                            "halide_buffer_t *fresh, int kv, int fresh_start, "
                            "int block, halide_buffer_t *sums_in,{0} "
                            "halide_buffer_t *sums);",
                            scalesParameter)
                  .str();
  }
  const std::string cacheParts =
      llvm::join(llvm::map_range(cache.parts, nameOf), ", ");
  kernel.body = llvm::formatv(
      "  G4K_PROFILE_KERNEL(\"attend_tokens (halide)\");\n"
      "  const {0} cache{{{1}};\n"
      "  g4k::halide::attend_tokens<{2}, {3}, {4}, {5}, {6}, {7}, {8}>(\n"
      "      @FUNCTION@, @FUNCTION1@, {9}, cache, {10}, {11}, start, {12}, "
      "{13});\n",
      cache.literal, cacheParts, tokens, headDim, queryHeads, kvHeads, slots,
      window, freshRows, nameOf(q.buffer),
      fresh ? nameOf(freshKeys.buffer) : "nullptr",
      fresh ? nameOf(freshValues.buffer) : "nullptr", nameOf(scores.buffer),
      nameOf(out.buffer));
  return kernel;
}

/// Where the generator executables are: $G4C_HALIDE_GENERATOR_DIR, else
/// where this g4c's build put them.
std::string generatorDirectory() {
  if (std::optional<std::string> directory =
          llvm::sys::Process::GetEnv("G4C_HALIDE_GENERATOR_DIR"))
    return *directory;
  return G4C_HALIDE_GENERATOR_DIR;
}

/// A program run (a generator, or for g4c tune a compiler or a benchmark):
/// its process and the file its output goes to (a temporary one, removed
/// when it is done, unless given).
struct GeneratorRun {
  std::vector<std::string> arguments;
  std::string what = "Halide generator"; ///< for messages
  llvm::sys::ProcessInfo process;
  llvm::SmallString<128> log;
  bool keepLog = false;
};

/// Starts |run| (its first argument is the program).
llvm::Error start(GeneratorRun &run) {
  if (run.log.empty())
    if (std::error_code error =
            llvm::sys::fs::createTemporaryFile("g4c-halide", "log", run.log))
      return makeError("cannot create a temporary file: " + error.message());
  llvm::SmallVector<llvm::StringRef> argv(run.arguments.begin(),
                                          run.arguments.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, run.log.str(),
                                                run.log.str()};
  std::string message;
  run.process = llvm::sys::ExecuteNoWait(argv[0], argv, std::nullopt, redirects,
                                         0, &message);
  if (run.process.Pid == llvm::sys::ProcessInfo::InvalidPid)
    return makeError("cannot run " + run.what + " " + argv[0] + ": " + message);
  return llvm::Error::success();
}

/// Waits for |run|; on failure an error with what it printed.
llvm::Error finish(GeneratorRun &run) {
  std::string message;
  llvm::sys::ProcessInfo done =
      llvm::sys::Wait(run.process, std::nullopt, &message);
  std::string output;
  if (auto text = llvm::MemoryBuffer::getFile(run.log))
    output = (*text)->getBuffer().str();
  if (!run.keepLog)
    llvm::sys::fs::remove(run.log);
  if (done.ReturnCode == 0)
    return llvm::Error::success();
  return makeError(
      llvm::formatv(
          "{0} {1} failed ({2}): {3}", run.what, llvm::join(run.arguments, " "),
          message.empty() ? "exit status " + std::to_string(done.ReturnCode)
                          : message,
          output)
          .str());
}

/// Runs every generator of |runs|, as many at a time as there are
/// hardware threads.
llvm::Error runAll(std::vector<GeneratorRun> &runs) {
  const size_t width =
      std::max(1u, llvm::hardware_concurrency().compute_thread_count());
  llvm::Error failure = llvm::Error::success();
  for (size_t next = 0, done = 0; done < runs.size();) {
    if (!failure && next < runs.size() && next - done < width) {
      if (llvm::Error error = start(runs[next]))
        failure = llvm::joinErrors(std::move(failure), std::move(error));
      else
        ++next;
      continue;
    }
    if (done == next) // nothing started, nothing to wait for
      break;
    if (llvm::Error error = finish(runs[done++]))
      failure = llvm::joinErrors(std::move(failure), std::move(error));
  }
  return failure;
}

} // namespace

std::optional<HalideKernel>
halideKernelFor(const KernelCall &call,
                llvm::function_ref<std::string(mlir::Value)> nameOf,
                llvm::function_ref<std::string(mlir::Value)> elementTypeOf,
                const HalideKernelOptions &options) {
  if (options.products) {
    if (std::optional<ProductOperands> operands =
            productOperands(call, nameOf, elementTypeOf)) {
      if (std::optional<HalideKernel> kernel = linear(*operands))
        return kernel;
      if (options.exactActivations)
        return std::nullopt;
      return quantisedLinear(*operands, options.integerLaneTokens);
    }
  }
  if (call.kernel == "rms_norm" && call.arguments.size() == 4)
    return rmsNorm(call, nameOf, elementTypeOf);
  if (call.kernel == "gelu_gate_rows" && call.arguments.size() == 3)
    return geluGate(call, nameOf, elementTypeOf);
  if (call.kernel == "ple_combine" && call.arguments.size() == 8)
    return pleCombine(call, nameOf, elementTypeOf);
  if (call.kernel == "attend_tokens" && call.arguments.size() == 7)
    return attention(call, nameOf, elementTypeOf);
  return std::nullopt;
}

llvm::Error runProgram(llvm::ArrayRef<std::string> argv, llvm::StringRef log,
                       llvm::StringRef what) {
  GeneratorRun run{argv.vec(), what.str(), {}, log, /*keepLog=*/true};
  if (llvm::Error error = start(run))
    return error;
  return finish(run);
}

llvm::Error runPrograms(llvm::ArrayRef<std::vector<std::string>> argvs,
                        llvm::StringRef what) {
  std::vector<GeneratorRun> runs;
  for (const std::vector<std::string> &argv : argvs)
    runs.push_back({argv, what.str(), {}, {}, /*keepLog=*/false});
  return runAll(runs);
}

/// |name| in the generators' directory, if |exists| says it is there.
static llvm::Expected<std::string>
generatorDirectoryEntry(llvm::StringRef name, llvm::StringRef what,
                        llvm::function_ref<bool(const llvm::Twine &)> exists) {
  llvm::SmallString<256> path(generatorDirectory());
  llvm::sys::path::append(path, name);
  if (!exists(path))
    return makeError(what + " " + path +
                     " is missing (build g4c's generators, or set "
                     "G4C_HALIDE_GENERATOR_DIR)");
  return std::string(path);
}

llvm::Expected<std::string> halideGeneratorExecutable(llvm::StringRef name) {
  return generatorDirectoryEntry(
      name, "Halide generator",
      [](const llvm::Twine &path) { return llvm::sys::fs::can_execute(path); });
}

llvm::Expected<std::vector<std::string>>
halideGeneratorCommand(const HalideRequest &request, llvm::StringRef function,
                       llvm::StringRef target, llvm::StringRef directory,
                       llvm::StringRef outputs) {
  auto program = halideGeneratorExecutable(request.generator);
  if (!program)
    return program.takeError();
  std::vector<std::string> command{
      *program,
      "-g",
      request.registeredName,
      "-f",
      function.str(),
      "-o",
      directory.str(),
      "-e",
      outputs.str(),
      "target=" + target.str() + (request.targetFeatures.empty() ? "" : "-") +
          request.targetFeatures + "-no_runtime"};
  command.insert(command.end(), request.params.begin(), request.params.end());
  return command;
}

llvm::Expected<std::string> halideGeneratorFile(llvm::StringRef name) {
  return generatorDirectoryEntry(
      name, "g4c's build output",
      [](const llvm::Twine &path) { return llvm::sys::fs::exists(path); });
}

llvm::Expected<std::vector<std::string>>
generateHalideKernels(const std::vector<HalideRequest> &requests,
                      llvm::StringRef target, llvm::StringRef runtime,
                      llvm::StringRef directory, llvm::raw_ostream &progress) {
  std::vector<std::string> objects;
  if (requests.empty())
    return objects;
  auto objectPath = [&](llvm::StringRef name) {
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, name + ".o");
    return std::string(path);
  };
  progress << llvm::formatv("g4c: generating {0} Halide kernels for {1}\n",
                            requests.size(), target);
  auto program = halideGeneratorExecutable(requests.front().generator);
  if (!program)
    return program.takeError();
  // One runtime for all of them (any generator writes it).
  std::vector<GeneratorRun> runs(1);
  runs[0].arguments = {
      *program,        "-r", runtime.str(), "-o",
      directory.str(), "-e", "object",      ("target=" + target).str()};
  for (const HalideRequest &request : requests) {
    auto command = halideGeneratorCommand(request, request.function, target,
                                          directory, "object");
    if (!command)
      return command.takeError();
    runs.emplace_back();
    runs.back().arguments = std::move(*command);
    objects.push_back(objectPath(request.function));
  }
  objects.push_back(objectPath(runtime));
  if (llvm::Error error = runAll(runs))
    return std::move(error);
  return objects;
}

} // namespace g4c
