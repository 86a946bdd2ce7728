//===- LowerKernelsToCalls.cpp - entry functions on pointers + calls ------===//
//
// Part of g4c. Implements g4c-lower-kernels-to-calls (see Passes.td): the
// static addresses of a kernel-level module become pointer arithmetic on
// the entry point's arguments, and each g4k op a call of one C-ABI wrapper
// per distinct kernel instantiation.
//
//===----------------------------------------------------------------------===//

#include "targets/cpp/KernelCall.h"
#include "targets/llvm/HalideKernels.h"
#include "targets/llvm/Passes.h"

#include "compiler/Dialect/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

namespace g4c {

#define GEN_PASS_DEF_LOWERKERNELSTOCALLSPASS
#include "targets/llvm/Passes.h.inc"

using namespace mlir;

namespace {

/// Argument positions of a kernel-level entry function.
enum EntryArgument { kWeights, kArena, kTokens, kStart, kLogits };

/// The private declarations of the kernel wrappers, one per distinct C++
/// body, numbered per kernel.
class WrapperTable {
public:
  WrapperTable(ModuleOp module, llvm::StringRef prefix)
      : module(module), prefix(prefix) {}

  /// The wrapper of C++ |body| taking |params|; with |halide|, the body
  /// calls that generated kernel (one per distinct generator and params,
  /// named PREFIX_KERNEL_halide_N).
  func::FuncOp get(llvm::StringRef kernel, llvm::StringRef params,
                   llvm::StringRef body, const HalideKernel *halide,
                   TypeRange types, Location loc) {
    std::string key = (params + "\n" + body).str();
    if (func::FuncOp existing = byBody.lookup(key))
      return existing;
    std::string name =
        llvm::formatv("{0}_{1}_{2}", prefix, kernel, perKernel[kernel]++);
    OpBuilder builder(module.getBodyRegion());
    builder.setInsertionPointToEnd(module.getBody());
    auto declaration = func::FuncOp::create(builder, loc, name,
                                            builder.getFunctionType(types, {}));
    declaration.setPrivate();
    // The generated functions' names, in order.
    std::vector<std::string> generated;
    if (halide)
      for (const HalideFunction &function : halide->functions) {
        std::string key = function.generator + " " + function.registeredName +
                          " " + llvm::join(function.params, " ");
        generated.push_back(
            halideNames
                .try_emplace(key, llvm::formatv("{0}_{1}_halide_{2}", prefix,
                                                kernel, halideNames.size()))
                .first->second);
      }
    // The generated functions' names in C++: @FUNCTION@ is |self|'s,
    // @FUNCTIONn@ the nth one's.
    auto named = [&](llvm::StringRef text, size_t self) {
      std::string replaced = text.str();
      auto replace = [&](const std::string &placeholder,
                         const std::string &name) {
        for (size_t at; (at = replaced.find(placeholder)) != std::string::npos;)
          replaced.replace(at, placeholder.size(), name);
      };
      if (!generated.empty())
        replace("@FUNCTION@", generated[self]);
      for (size_t index = 1; index < generated.size(); ++index)
        replace(llvm::formatv("@FUNCTION{0}@", index).str(), generated[index]);
      return builder.getStringAttr(replaced);
    };
    declaration->setAttr("g4k.cpp_params", builder.getStringAttr(params));
    declaration->setAttr("g4k.cpp_body", named(body, 0));
    if (halide) {
      // [function, generator, registered name, target features, C
      // declaration, params...] per generated function.
      SmallVector<Attribute> functions;
      for (auto [index, function] : llvm::enumerate(halide->functions)) {
        SmallVector<Attribute> fields{
            builder.getStringAttr(generated[index]),
            builder.getStringAttr(function.generator),
            builder.getStringAttr(function.registeredName),
            builder.getStringAttr(function.targetFeatures),
            named(function.declaration, index)};
        for (const std::string &param : function.params)
          fields.push_back(builder.getStringAttr(param));
        functions.push_back(builder.getArrayAttr(fields));
      }
      declaration->setAttr("g4k.halide_functions",
                           builder.getArrayAttr(functions));
    }
    byBody[key] = declaration;
    return declaration;
  }

private:
  ModuleOp module;
  std::string prefix;
  llvm::StringMap<func::FuncOp> byBody;
  llvm::StringMap<int> perKernel;
  /// Generated kernels by generator and params.
  llvm::StringMap<std::string> halideNames;
};

class EntryLowering {
public:
  EntryLowering(func::FuncOp entry, DictionaryAttr packed,
                WrapperTable &wrappers,
                std::optional<HalideKernelOptions> halide)
      : entry(entry), packed(packed), wrappers(wrappers), halide(halide) {}

  LogicalResult lower(func::FuncOp target);

private:
  LogicalResult lowerOp(Operation &op, OpBuilder &builder);
  LogicalResult lowerKernel(Operation &op, OpBuilder &builder);
  Value offsetPointer(OpBuilder &builder, Location loc, Value base,
                      int64_t bytes) {
    if (bytes == 0)
      return base;
    // An i64 index: weight offsets pass 2 GiB on real models.
    Value index = LLVM::ConstantOp::create(builder, loc, builder.getI64Type(),
                                           builder.getI64IntegerAttr(bytes));
    return LLVM::GEPOp::create(builder, loc, base.getType(),
                               builder.getI8Type(), base,
                               ArrayRef<LLVM::GEPArg>{index});
  }
  /// The C++ element type of a buffer in a wrapper's parameter list.
  std::string cppElementType(Value buffer);

  bool isConstant(Value buffer) {
    return buffer.getDefiningOp<kernel::WeightOp>() ||
           buffer.getDefiningOp<memref::GetGlobalOp>();
  }

  func::FuncOp entry;
  DictionaryAttr packed;
  WrapperTable &wrappers;
  /// Call Halide kernels where a generator covers the op.
  std::optional<HalideKernelOptions> halide;
  /// The pointer each memref of the entry function became.
  llvm::DenseMap<Value, Value> pointers;
  /// The lowered entry point's arguments.
  SmallVector<Value> arguments;
};

std::string EntryLowering::cppElementType(Value buffer) {
  if (auto weight = buffer.getDefiningOp<kernel::WeightOp>())
    return cast<StringAttr>(
               cast<DictionaryAttr>(packed.get(weight.getName())).get("type"))
        .getValue()
        .str();
  return bufferElementType(cast<MemRefType>(buffer.getType()).getElementType());
}

LogicalResult EntryLowering::lowerKernel(Operation &op, OpBuilder &builder) {
  FailureOr<KernelCall> call = describeKernelCall(op);
  if (failed(call))
    return failure();
  Location loc = op.getLoc();
  // One parameter per distinct buffer, and tokens / start / logits as the
  // kernel takes them, in the call's order.
  SmallVector<std::string> params;
  SmallVector<Value> operands;
  llvm::DenseMap<Value, std::string> parameterNames;
  auto addParameter = [&](std::string declaration, Value operand) {
    params.push_back(std::move(declaration));
    operands.push_back(operand);
  };
  for (const KernelArgument &argument : call->arguments) {
    switch (argument.kind) {
    case KernelArgument::Kind::Tokens:
      addParameter("const int32_t *tokens", arguments[kTokens]);
      break;
    case KernelArgument::Kind::Start:
      addParameter("int64_t start", arguments[kStart]);
      break;
    case KernelArgument::Kind::Logits:
      addParameter("float *logits", arguments[kLogits]);
      break;
    default:
      break;
    }
    SmallVector<Value, 4> buffers;
    if (argument.kind == KernelArgument::Kind::Buffer && argument.buffer)
      buffers.push_back(argument.buffer);
    if (argument.kind == KernelArgument::Kind::Cache)
      buffers = argument.parts;
    for (Value buffer : buffers) {
      if (parameterNames.count(buffer))
        continue;
      Value pointer = pointers.lookup(buffer);
      if (!pointer)
        return op.emitError("operand has no static address");
      std::string parameter = "p" + std::to_string(parameterNames.size());
      parameterNames[buffer] = parameter;
      addParameter((isConstant(buffer) ? "const " : "") +
                       cppElementType(buffer) + " *" + parameter,
                   pointer);
    }
  }
  auto nameOf = [&](Value buffer) { return parameterNames.lookup(buffer); };
  std::optional<HalideKernel> generated;
  if (halide)
    generated = halideKernelFor(
        *call, nameOf, [&](Value buffer) { return cppElementType(buffer); },
        *halide);
  std::string body = generated ? generated->body
                               : "  " + renderKernelCall(*call, nameOf) + ";\n";
  SmallVector<Type> types;
  for (Value operand : operands)
    types.push_back(operand.getType());
  func::FuncOp callee =
      wrappers.get(call->kernel, llvm::join(params, ", "), body,
                   generated ? &*generated : nullptr, types, loc);
  if (!call->writesLogits()) {
    func::CallOp::create(builder, loc, callee, operands);
    return success();
  }
  // Only when the caller wants logits.
  Value null = LLVM::ZeroOp::create(builder, loc, arguments[kLogits].getType());
  Value wanted = LLVM::ICmpOp::create(builder, loc, LLVM::ICmpPredicate::ne,
                                      arguments[kLogits], null);
  auto ifWanted = scf::IfOp::create(builder, loc, wanted, /*else=*/false);
  OpBuilder inside = ifWanted.getThenBodyBuilder();
  func::CallOp::create(inside, loc, callee, operands);
  return success();
}

LogicalResult EntryLowering::lowerOp(Operation &op, OpBuilder &builder) {
  Location loc = op.getLoc();
  if (isa<arith::ConstantOp, func::ReturnOp>(op))
    return success(); // offsets are read from the views
  if (auto view = dyn_cast<memref::ViewOp>(op)) {
    auto shift = getConstantIntValue(view.getByteShift());
    if (!shift || !view.getSizes().empty())
      return view.emitError("expected a static view at a constant offset");
    pointers[view.getResult()] =
        offsetPointer(builder, loc, pointers.lookup(view.getSource()), *shift);
    return success();
  }
  if (auto subview = dyn_cast<memref::SubViewOp>(op)) {
    FailureOr<int64_t> offset = staticElementOffset(subview);
    if (failed(offset))
      return failure();
    const int64_t elementBytes = subview.getType().getElementTypeBitWidth() / 8;
    pointers[subview.getResult()] =
        offsetPointer(builder, loc, pointers.lookup(subview.getSource()),
                      *offset * elementBytes);
    return success();
  }
  if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
    auto type = LLVM::LLVMPointerType::get(op.getContext());
    if (global.getType().getNumElements() == 0)
      pointers[global.getResult()] = LLVM::ZeroOp::create(builder, loc, type);
    else
      pointers[global.getResult()] =
          LLVM::AddressOfOp::create(builder, loc, type, global.getName());
    return success();
  }
  if (auto weight = dyn_cast<kernel::WeightOp>(op)) {
    auto placement = dyn_cast_or_null<DictionaryAttr>(
        packed ? packed.get(weight.getName()) : Attribute());
    auto offset =
        placement ? placement.getAs<IntegerAttr>("offset") : IntegerAttr();
    if (!offset || !placement.getAs<StringAttr>("type"))
      return op.emitError("weight '")
             << weight.getName()
             << "' has no placement in the module's g4k.packed_weights";
    pointers[weight.getResult()] =
        offsetPointer(builder, loc, arguments[kWeights], offset.getInt());
    return success();
  }
  return lowerKernel(op, builder);
}

LogicalResult EntryLowering::lower(func::FuncOp target) {
  Block &body = entry.getBody().front();
  if (body.getNumArguments() != 5)
    return entry.emitError("expected an entry point (weights, arena, tokens, "
                           "start, logits)");
  Block *block = target.addEntryBlock();
  for (BlockArgument argument : block->getArguments())
    arguments.push_back(argument);
  pointers[body.getArgument(kWeights)] = arguments[kWeights];
  pointers[body.getArgument(kArena)] = arguments[kArena];
  pointers[body.getArgument(kTokens)] = arguments[kTokens];
  pointers[body.getArgument(kLogits)] = arguments[kLogits];
  OpBuilder builder = OpBuilder::atBlockEnd(block);
  for (Operation &op : body)
    if (failed(lowerOp(op, builder)))
      return failure();
  func::ReturnOp::create(builder, entry.getLoc());
  return success();
}

/// memref.global f64 tables as LLVM constants (empty ones vanish: their
/// users get a null pointer).
void lowerTables(ModuleOp module, OpBuilder &builder) {
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto values =
        dyn_cast_or_null<DenseElementsAttr>(global.getInitialValueAttr());
    if (!values || values.getNumElements() == 0)
      continue;
    auto type = LLVM::LLVMArrayType::get(values.getElementType(),
                                         values.getNumElements());
    LLVM::GlobalOp::create(
        builder, global.getLoc(), type, /*isConstant=*/true,
        LLVM::Linkage::Private, global.getSymName(),
        values.reshape(RankedTensorType::get({values.getNumElements()},
                                             values.getElementType())));
  }
}

struct LowerKernelsToCallsPass
    : impl::LowerKernelsToCallsPassBase<LowerKernelsToCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto packed = module->getAttrOfType<DictionaryAttr>("g4k.packed_weights");
    SmallVector<func::FuncOp> entries;
    for (auto function : module.getOps<func::FuncOp>())
      if (function->hasAttr("g4k.entry"))
        entries.push_back(function);
    if (entries.empty()) {
      module.emitError("expected g4k.entry functions (run g4c-pipeline first)");
      return signalPassFailure();
    }
    for (auto global : module.getOps<memref::GlobalOp>()) {
      auto values =
          dyn_cast_or_null<DenseElementsAttr>(global.getInitialValueAttr());
      if (!values || !values.getElementType().isF64()) {
        global.emitError("the object backend lowers f64 tables only");
        return signalPassFailure();
      }
    }
    // Everything the lowering produces goes into a fresh body; the old one
    // (entry functions, tables, weight symbols) is dropped at the end.
    SmallVector<Operation *> old;
    for (Operation &op : module.getBody()->getOperations())
      old.push_back(&op);
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    lowerTables(module, builder);
    WrapperTable wrappers(module, prefix);
    std::optional<HalideKernelOptions> halideOptions;
    if (halide)
      halideOptions = HalideKernelOptions{halideProducts, integerLaneTokens,
                                          exactActivations};
    auto ptr = LLVM::LLVMPointerType::get(&getContext());
    for (func::FuncOp entry : entries) {
      auto target = func::FuncOp::create(
          builder, entry.getLoc(),
          (prefix + "_forward_" + entry.getName()).str(),
          builder.getFunctionType({ptr, ptr, ptr, builder.getI64Type(), ptr},
                                  {}));
      if (failed(EntryLowering(entry, packed, wrappers, halideOptions)
                     .lower(target)))
        return signalPassFailure();
    }
    for (Operation *op : llvm::reverse(old))
      op->erase();
    for (NamedAttribute attribute : module->getDiscardableAttrs())
      module->removeAttr(attribute.getName());
  }
};

} // namespace

} // namespace g4c
