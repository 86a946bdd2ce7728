//===- SafeTensorsFuzzer.cpp - fuzz the safetensors reader ----------------===//
//
// Part of g4c. libFuzzer entry point: any bytes as a .safetensors file. A
// file that parses must hand out views that lie inside the input.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SafeTensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  auto file =
      g4c::SafeTensorsFile::parse("fuzz.safetensors", std::move(buffer));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  // Touch every byte of every view: ASan catches a view outside the input.
  volatile uint8_t sink = 0;
  for (const g4c::TensorInfo &tensor : (*file)->tensors())
    for (uint8_t byte : (*file)->data(tensor))
      sink = sink ^ byte;
  (void)sink;
  return 0;
}
