//===- ObjectEmitter.cpp - kernel-level module to an object file ----------===//
//
// Part of g4c. Implements the object backend's steps after the g4c
// pipeline: placing the packed weights on the module, lowering it to the
// LLVM dialect, and LLVM IR to an object file through a TargetMachine.
//
//===----------------------------------------------------------------------===//

#include "targets/llvm/ObjectEmitter.h"
#include "targets/cpp/KernelCall.h"
#include "targets/llvm/Passes.h"

#include "compiler/Support/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <map>

namespace g4c {

using namespace mlir;

llvm::ArrayRef<llvm::StringRef> objectTargetNames() {
  static const llvm::StringRef names[] = {"host", "x86-64-v3", "x86-64-v4",
                                          "aarch64", "riscv64"};
  return names;
}

llvm::Expected<ObjectTarget> parseObjectTarget(llvm::StringRef name) {
  ObjectTarget target;
  target.name = name.str();
  if (name == "host") {
    target.triple =
        llvm::Triple::normalize(llvm::sys::getDefaultTargetTriple());
    target.cpu = llvm::sys::getHostCPUName().str();
    // Sorted, so that the object does not depend on hash order.
    std::map<std::string, bool> features;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features[feature.getKey().str()] = feature.getValue();
    std::vector<std::string> list;
    for (const auto &[feature, enabled] : features)
      list.push_back((enabled ? "+" : "-") + feature);
    target.features = llvm::join(list, ",");
    // g4k.h's conditions (GCC -march=native defines the same macros).
    if (features["avx512bw"] && features["avx512vnni"])
      target.integerLaneTokens = 16;
    else if (features["avx2"] && features["f16c"])
      target.integerLaneTokens = 8;
    target.cxxFlags = "-march=native";
    target.halideTarget = "host";
  } else if (name == "x86-64-v3" || name == "x86-64-v4") {
    target.triple = "x86_64-unknown-linux-gnu";
    target.cpu = name.str();
    target.cxxFlags = ("-march=" + name).str();
    target.halideTarget = "x86-64-linux-sse41-avx-avx2-f16c-fma";
    // Neither level has VNNI: g4k's AVX2 kernels.
    target.integerLaneTokens = 8;
    if (name == "x86-64-v4")
      target.halideTarget += "-avx512-avx512_skylake";
  } else if (name == "aarch64") {
    target.triple = "aarch64-unknown-linux-gnu";
    target.cpu = "generic";
    target.features = "+v8.2a,+neon,+dotprod";
    target.cxxFlags = "-march=armv8.2-a+dotprod";
    target.halideTarget = "arm-64-linux-arm_dot_prod";
  } else if (name == "riscv64") {
    target.triple = "riscv64-unknown-linux-gnu";
    target.cpu = "generic-rv64";
    target.features = "+m,+a,+f,+d,+c,+v";
    target.abi = "lp64d"; // hard float, as the Debian cross toolchain
    // The kernels stay scalar/auto-vectorised RV64GC C++ until generated
    // RVV kernels replace them.
    target.cxxFlags = "-march=rv64gc";
    target.halideTarget = "riscv-64-linux";
  } else {
    return makeError("--target: unknown target '" + name + "' (known: " +
                     llvm::join(objectTargetNames(), ", ") + ")");
  }
  return target;
}

llvm::StringRef halideIncludeDirectory() { return G4C_HALIDE_INCLUDE_DIR; }

void annotatePackedWeights(ModuleOp module, const PackedWeights &weights) {
  Builder builder(module.getContext());
  SmallVector<NamedAttribute> placements;
  for (const PackedTensor &tensor : weights.tensors)
    placements.push_back(builder.getNamedAttr(
        tensor.name,
        builder.getDictionaryAttr(
            {builder.getNamedAttr("offset",
                                  builder.getI64IntegerAttr(tensor.offset)),
             builder.getNamedAttr("type",
                                  builder.getStringAttr(packedElementType(
                                      tensor.format, tensor.group)))})));
  module->setAttr("g4k.packed_weights", builder.getDictionaryAttr(placements));
}

FailureOr<ObjectKernels> lowerToLLVMDialect(ModuleOp module,
                                            llvm::StringRef prefix,
                                            const HalideKernelOptions *halide) {
  PassManager toCalls(module.getContext());
  LowerKernelsToCallsPassOptions options;
  options.prefix = prefix.str();
  options.halide = halide != nullptr;
  if (halide) {
    options.halideProducts = halide->products;
    options.integerLaneTokens = halide->integerLaneTokens;
    options.exactActivations = halide->exactActivations;
  }
  toCalls.addPass(createLowerKernelsToCallsPass(options));
  if (failed(toCalls.run(module)))
    return failure();
  // The wrappers' C++ and the generators to run leave the IR here: LLVM
  // has no use for them.
  ObjectKernels kernels;
  std::string declarations, wrappers;
  for (auto function : module.getOps<func::FuncOp>()) {
    auto params = function->getAttrOfType<StringAttr>("g4k.cpp_params");
    auto body = function->getAttrOfType<StringAttr>("g4k.cpp_body");
    if (!params || !body)
      continue;
    wrappers +=
        llvm::formatv("extern \"C\" void {0}({1}) {{\n{2}}\n",
                      function.getName(), params.getValue(), body.getValue());
    if (auto generated =
            function->getAttrOfType<ArrayAttr>("g4k.halide_functions")) {
      // [function, generator, registered name, target features, C
      // declaration, params...] each: several wrappers may call one.
      for (auto fields : generated.getAsRange<ArrayAttr>()) {
        auto strings = fields.getAsValueRange<StringAttr>();
        std::vector<std::string> values(strings.begin(), strings.end());
        if (llvm::any_of(kernels.halide, [&](const HalideRequest &request) {
              return request.function == values[0];
            }))
          continue;
        kernels.halide.push_back(
            {values[0], values[1], values[2], values[3],
             std::vector<std::string>(values.begin() + 5, values.end())});
        declarations += values[4] + "\n";
      }
    }
    for (llvm::StringRef name :
         {"g4k.cpp_params", "g4k.cpp_body", "g4k.halide_functions"})
      function->removeAttr(name);
  }
  kernels.source = (kernels.halide.empty() ? std::string()
                                           : "#include \"g4k_halide.h\"\n\n" +
                                                 declarations + "\n") +
                   wrappers;
  PassManager toLLVM(module.getContext());
  buildLLVMConversionPipeline(toLLVM);
  if (failed(toLLVM.run(module)))
    return failure();
  return kernels;
}

llvm::Error emitObjectFile(ModuleOp module, const ObjectTarget &target,
                           llvm::StringRef moduleName,
                           llvm::raw_pwrite_stream &out) {
  static const bool initialised = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)initialised;
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, moduleName);
  if (!llvmModule)
    return makeError("the object backend could not translate the module to "
                     "LLVM IR");
  llvm::Triple triple(target.triple);
  std::string error;
  const llvm::Target *backend =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!backend)
    return makeError("--target " + target.name + ": " + error);
  llvm::TargetOptions options;
  options.MCOptions.ABIName = target.abi;
  std::unique_ptr<llvm::TargetMachine> machine(backend->createTargetMachine(
      triple, target.cpu, target.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Default));
  if (!machine)
    return makeError("--target " + target.name +
                     ": LLVM cannot generate code for " + target.triple);
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setSourceFileName(moduleName);
  if (!target.abi.empty())
    llvmModule->addModuleFlag(llvm::Module::Error, "target-abi",
                              llvm::MDString::get(llvmContext, target.abi));
  // The kernels are C++ built without exceptions; nothing unwinds.
  for (llvm::Function &function : *llvmModule) {
    function.addFnAttr(llvm::Attribute::NoUnwind);
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty())
      function.addFnAttr("target-features", target.features);
  }
  if (llvm::verifyModule(*llvmModule, &llvm::errs()))
    return makeError("the object backend produced invalid LLVM IR");
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, out, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return makeError("--target " + target.name +
                     ": LLVM cannot emit an object file");
  codegen.run(*llvmModule);
  return llvm::Error::success();
}

} // namespace g4c
