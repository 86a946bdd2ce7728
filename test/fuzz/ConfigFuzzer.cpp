//===- ConfigFuzzer.cpp - fuzz the config.json parser ---------------------===//
//
// Part of g4c. libFuzzer entry point: any bytes as config.json. A config
// that parses must also yield its tensor manifest without overflow.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/ModelConfig.h"
#include "compiler/Checkpoint/TensorManifest.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto config = g4c::ModelConfig::parse(
      "fuzz/config.json",
      llvm::StringRef(reinterpret_cast<const char *>(data), size));
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const g4c::TensorSpec &spec : g4c::expectedTextTensors(*config))
    sink = sink + spec.numElements();
  (void)sink;
  return 0;
}
