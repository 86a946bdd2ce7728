//===- KernelCall.cpp - a g4k op as a call of the kernel library ----------===//
//
// Part of g4c. The one place that knows which g4k.h template implements
// each g4k op and in which order it takes its shapes and arguments.
//
//===----------------------------------------------------------------------===//

#include "targets/cpp/KernelCall.h"

#include "compiler/Dialect/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

namespace g4c {

using namespace mlir;
using Kind = KernelArgument::Kind;

namespace {

/// A C++ float literal that round-trips |value| ("8.0f", "1e-06f").
std::string floatLiteral(double value) {
  std::string text = llvm::formatv("{0}", llvm::format("%.9g", value)).str();
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text + "f";
}

int64_t numElements(Value value) {
  return cast<ShapedType>(value.getType()).getNumElements();
}

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

/// Elements between the rows of a [rows, N] buffer (N unless strided).
int64_t rowStride(Value value) {
  auto type = cast<MemRefType>(value.getType());
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.size() < 2)
    return type.getShape().back();
  return strides[strides.size() - 2];
}

KernelArgument buffer(Value value) { return {Kind::Buffer, value}; }
KernelArgument literal(std::string text) {
  return {Kind::Literal, {}, std::move(text)};
}
KernelArgument literal(FloatAttr attr) {
  return literal(floatLiteral(attr.getValueAsDouble()));
}
const KernelArgument kTokens{Kind::Tokens};
const KernelArgument kStart{Kind::Start};

/// The call of a g4k op other than g4k.weight.
std::optional<KernelCall> describe(Operation &op) {
  using Arguments = SmallVector<KernelArgument>;
  if (auto embed = dyn_cast<kernel::EmbedOp>(op)) {
    ArrayRef<int64_t> shape = shapeOf(embed.getOut());
    return KernelCall{"embed",
                      {shape[0], shape[1]},
                      {kTokens, buffer(embed.getTable()),
                       literal(embed.getScaleAttr()), buffer(embed.getOut())}};
  }
  if (auto linear = dyn_cast<kernel::LinearOp>(op)) {
    ArrayRef<int64_t> w = shapeOf(linear.getW());
    return KernelCall{
        "linear",
        {numElements(linear.getX()) / w[1], w[0], w[1]},
        {buffer(linear.getX()), buffer(linear.getW()), buffer(linear.getY())}};
  }
  if (auto stacked = dyn_cast<kernel::FusedLinearOp>(op)) {
    ArrayRef<int64_t> w = shapeOf(stacked.getW());
    KernelCall call{"fused_linear",
                    {numElements(stacked.getX()) / w[1], w[1]},
                    {buffer(stacked.getX()), buffer(stacked.getW())}};
    for (Value y : stacked.getYs()) {
      call.templateArguments.push_back(shapeOf(y)[1]);
      call.arguments.push_back(buffer(y));
    }
    return call;
  }
  if (auto norm = dyn_cast<kernel::RMSNormOp>(op)) {
    const int64_t width = shapeOf(norm.getX()).back();
    const int64_t rows = numElements(norm.getX()) / width;
    if (norm.getWeight())
      return KernelCall{"rms_norm",
                        {rows, width},
                        {buffer(norm.getX()), buffer(norm.getWeight()),
                         literal(norm.getEpsilonAttr()), buffer(norm.getY())}};
    return KernelCall{"rms_norm_no_scale",
                      {rows, width},
                      {buffer(norm.getX()), literal(norm.getEpsilonAttr()),
                       buffer(norm.getY())}};
  }
  if (auto frequencies = dyn_cast<kernel::RopeFrequenciesOp>(op))
    return KernelCall{
        "rope_frequencies",
        {shapeOf(frequencies.getOut())[0]},
        {literal(
             llvm::formatv(
                 "{0}", llvm::format("%.17g",
                                     frequencies.getTheta().convertToDouble()))
                 .str()),
         literal(std::to_string(int64_t(frequencies.getHeadDim()))),
         buffer(frequencies.getOut())}};
  if (auto rope = dyn_cast<kernel::RopeOp>(op)) {
    ArrayRef<int64_t> x = shapeOf(rope.getX());
    return KernelCall{
        "rope_rows",
        {x[0], x[1], x[2], shapeOf(rope.getFrequencies())[0]},
        {buffer(rope.getX()), buffer(rope.getFrequencies()), kStart}};
  }
  if (auto attend = dyn_cast<kernel::AttendOp>(op)) {
    ArrayRef<int64_t> q = shapeOf(attend.getQ());
    ArrayRef<int64_t> cache = shapeOf(attend.getKCache());
    KernelArgument caches{Kind::Cache,
                          {},
                          attend.getKScales() ? "g4k::q8_kv" : "g4k::f32_kv",
                          {attend.getKCache(), attend.getVCache()}};
    if (attend.getKScales())
      caches.parts.append({attend.getKScales(), attend.getVScales()});
    return KernelCall{
        "attend_tokens",
        {q[0], q[2], q[1], cache[1], cache[0], int64_t(attend.getWindow())},
        {buffer(attend.getQ()), caches, buffer(attend.getFreshK()),
         buffer(attend.getFreshV()), kStart, buffer(attend.getScores()),
         buffer(attend.getOut())}};
  }
  if (auto store = dyn_cast<kernel::KvStoreOp>(op)) {
    ArrayRef<int64_t> k = shapeOf(store.getK());
    const int64_t slots = shapeOf(store.getKCache())[0];
    Arguments arguments{buffer(store.getK()), buffer(store.getV()), kStart,
                        buffer(store.getKCache()), buffer(store.getVCache())};
    if (!store.getKScales())
      return KernelCall{"kv_store", {k[0], k[1] * k[2], slots}, arguments};
    arguments.append({buffer(store.getKScales()), buffer(store.getVScales())});
    return KernelCall{"kv_store_q8", {k[0], k[1], k[2], slots}, arguments};
  }
  if (auto copy = dyn_cast<kernel::CopyOp>(op))
    return KernelCall{"copy",
                      {numElements(copy.getX())},
                      {buffer(copy.getX()), buffer(copy.getY())}};
  if (auto gate = dyn_cast<kernel::GeluGateOp>(op)) {
    ArrayRef<int64_t> out = shapeOf(gate.getOut());
    return KernelCall{
        "gelu_gate_rows",
        {out[0], out[1], rowStride(gate.getGate()), rowStride(gate.getUp())},
        {buffer(gate.getGate()), buffer(gate.getUp()), buffer(gate.getOut())}};
  }
  if (auto add = dyn_cast<kernel::AddOp>(op))
    return KernelCall{
        "add",
        {numElements(add.getOut())},
        {buffer(add.getA()), buffer(add.getB()), buffer(add.getOut())}};
  if (auto scale = dyn_cast<kernel::ScaleOp>(op))
    return KernelCall{"scale",
                      {numElements(scale.getOut())},
                      {buffer(scale.getX()), buffer(scale.getScalar()),
                       buffer(scale.getOut())}};
  if (auto softcap = dyn_cast<kernel::SoftcapOp>(op))
    return KernelCall{"softcap",
                      {numElements(softcap.getX())},
                      {buffer(softcap.getX()), literal(softcap.getCapAttr())}};
  if (auto ple = dyn_cast<kernel::PleCombineOp>(op)) {
    ArrayRef<int64_t> out = shapeOf(ple.getOut());
    ArrayRef<int64_t> table = shapeOf(ple.getTable());
    return KernelCall{"ple_combine",
                      {out[0], out[1], out[2], table[0], table[1] / out[2],
                       int64_t(ple.getFirstLayer())},
                      {kTokens, buffer(ple.getTable()),
                       buffer(ple.getProjected()), buffer(ple.getNorm()),
                       literal(ple.getTableScaleAttr()),
                       literal(ple.getContextScaleAttr()),
                       literal(ple.getEpsilonAttr()), buffer(ple.getOut())}};
  }
  if (auto moe = dyn_cast<kernel::MoEOp>(op)) {
    ArrayRef<int64_t> x = shapeOf(moe.getX());
    return KernelCall{"moe",
                      {x[0], x[1], shapeOf(moe.getRouter())[0],
                       int64_t(moe.getTopK()), shapeOf(moe.getDown())[2]},
                      {buffer(moe.getX()), buffer(moe.getRouterInput()),
                       buffer(moe.getRouter()), buffer(moe.getRouterScale()),
                       buffer(moe.getPerExpertScale()), buffer(moe.getGateUp()),
                       buffer(moe.getDown()), literal(moe.getEpsilonAttr()),
                       buffer(moe.getScratch()), buffer(moe.getOut())}};
  }
  return std::nullopt;
}

} // namespace

bool KernelCall::writesLogits() const {
  return llvm::any_of(arguments, [](const KernelArgument &argument) {
    return argument.kind == Kind::Logits;
  });
}

FailureOr<KernelCall> describeKernelCall(Operation &op) {
  std::optional<KernelCall> call;
  if (isa<kernel::G4kDialect>(op.getDialect()) && !isa<kernel::WeightOp>(op))
    call = describe(op);
  if (!call)
    return op.emitError("the kernel library has no kernel for this op");
  // The entry point's logits argument: a buffer the caller may leave null.
  auto isLogits = [&](Value value) {
    auto argument = dyn_cast_or_null<BlockArgument>(value);
    return argument && argument.getArgNumber() == 4 &&
           isa<func::FuncOp>(argument.getOwner()->getParentOp());
  };
  for (KernelArgument &argument : call->arguments)
    if (argument.kind == Kind::Buffer && isLogits(argument.buffer))
      argument = {Kind::Logits};
  return *call;
}

std::string renderKernelCall(const KernelCall &call,
                             llvm::function_ref<std::string(Value)> nameOf) {
  auto spell = [&](Value value) {
    return value ? nameOf(value) : "static_cast<const float *>(nullptr)";
  };
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "g4k::" << call.kernel << "<";
  llvm::interleaveComma(call.templateArguments, os);
  os << ">(";
  llvm::interleaveComma(call.arguments, os, [&](const KernelArgument &arg) {
    switch (arg.kind) {
    case Kind::Buffer:
      os << spell(arg.buffer);
      break;
    case Kind::Tokens:
      os << "tokens";
      break;
    case Kind::Start:
      os << "start";
      break;
    case Kind::Logits:
      os << "logits";
      break;
    case Kind::Literal:
      os << arg.literal;
      break;
    case Kind::Cache:
      os << arg.literal << "{";
      llvm::interleaveComma(arg.parts, os,
                            [&](Value part) { os << spell(part); });
      os << "}";
      break;
    }
  });
  os << ")";
  return text;
}

FailureOr<int64_t> staticElementOffset(memref::SubViewOp subview) {
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (failed(subview.getType().getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset))
    return subview.emitError("expected a static strided view");
  return offset;
}

std::string packedElementType(weightfile::Format format, uint32_t group) {
  switch (format) {
  case weightfile::Format::F32:
    return "float";
  case weightfile::Format::BF16:
    return "g4k::bf16";
  case weightfile::Format::Int8:
    return "g4k::q8";
  case weightfile::Format::Int4:
    return llvm::formatv("g4k::q4<{0}>", group).str();
  }
  llvm_unreachable("unknown weight format");
}

std::string bufferElementType(Type type) {
  if (type.isF32())
    return "float";
  if (type.isF64())
    return "double";
  if (type.isInteger(32))
    return "int32_t";
  if (type.isInteger(8))
    return "int8_t";
  return "g4k::bf16";
}

} // namespace g4c
