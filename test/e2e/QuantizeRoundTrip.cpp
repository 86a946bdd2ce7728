//===- QuantizeRoundTrip.cpp - a checkpoint of quantised values -----------===//
//
// Part of g4c. `g4c-quantize-roundtrip CKPT OUT --weights F [--group-size G]`
// writes a copy of CKPT whose tensors hold exactly the values g4c's packer
// stores for `g4c compile --weights F --group-size G`: every matrix
// quantised and dequantised row by row (stacking rows for fused projections
// commutes with that), as f32. The reference executor on OUT is then the
// exact model the quantised kernels compute, so the end-to-end tests can
// hold them to the f32 tolerance.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/Checkpoint.h"
#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "targets/weights/Quantize.h"
#include "targets/weights/WeightRecipe.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace g4c;
namespace cl = llvm::cl;

static cl::opt<std::string> input(cl::Positional, cl::Required,
                                  cl::desc("<checkpoint>"));
static cl::opt<std::string> output(cl::Positional, cl::Required,
                                   cl::desc("<output directory>"));
static cl::opt<std::string> weights("weights", cl::Required,
                                    cl::desc("f32, bf16, int8 or int4"));
static cl::opt<uint32_t> groupSize("group-size", cl::init(32),
                                   cl::desc("int4 group size"));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "g4c-quantize-roundtrip: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv);
  auto format = parseTensorFormat(weights, groupSize, "--weights");
  if (!format)
    return fail(llvm::toString(format.takeError()));
  WeightRecipe recipe(*format);
  auto checkpoint = Checkpoint::open(input);
  if (!checkpoint)
    return fail(llvm::toString(checkpoint.takeError()));
  if (std::error_code error = llvm::sys::fs::create_directories(output))
    return fail(output + ": " + error.message());

  std::vector<std::pair<std::string, CheckpointTensor>> tensors =
      (*checkpoint)->allTensors();
  std::vector<TensorToWrite> specs;
  for (const auto &[name, tensor] : tensors)
    specs.push_back({tensor.info->name, DType::F32,
                     llvm::SmallVector<int64_t, 3>(tensor.info->shape.begin(),
                                                   tensor.info->shape.end())});
  // The whole tensor's f32 values, as the packer would store them.
  auto packedValues = [&](size_t index) {
    const auto &[name, tensor] = tensors[index];
    const TensorInfo &info = *tensor.info;
    std::vector<float> values(info.numElements());
    for (uint64_t i = 0; i < values.size(); ++i)
      values[i] = loadFloat(tensor.data().data(), info.dtype, i);
    const uint64_t columns = info.shape.empty() ? 1 : info.shape.back();
    TensorFormat stored = recipe.formatFor(name, info.shape.size(), columns);
    if (stored.format == weightfile::Format::BF16)
      for (float &value : values)
        value = roundToDType(value, DType::BF16);
    if (weightfile::isQuantised(stored.format)) {
      std::vector<uint8_t> row(
          weightfile::rowBytes(stored.format, columns, stored.group));
      for (uint64_t r = 0; r < values.size() / columns; ++r) {
        quantizeRow(stored.format, stored.group, &values[r * columns], columns,
                    row.data());
        dequantizeRow(stored.format, stored.group, row.data(), columns,
                      &values[r * columns]);
      }
    }
    return values;
  };
  size_t current = ~size_t(0);
  std::vector<float> values;
  std::vector<uint64_t> cursor(tensors.size(), 0); // bytes written so far
  auto source = [&](size_t index, llvm::MutableArrayRef<uint8_t> bytes) {
    if (index != current) {
      current = index;
      values = packedValues(index);
    }
    std::memcpy(bytes.data(),
                reinterpret_cast<const uint8_t *>(values.data()) +
                    cursor[index],
                bytes.size());
    cursor[index] += bytes.size();
  };
  llvm::SmallString<256> path(output);
  llvm::sys::path::append(path, "model.safetensors");
  if (llvm::Error error = writeSafeTensors(path, specs, source))
    return fail(llvm::toString(std::move(error)));
  for (const char *file :
       {"config.json", "tokenizer.json", "generation_config.json"}) {
    llvm::SmallString<256> from(input), to(output);
    llvm::sys::path::append(from, file);
    llvm::sys::path::append(to, file);
    if (llvm::sys::fs::exists(from))
      if (std::error_code error = llvm::sys::fs::copy_file(from, to))
        return fail(from + ": " + error.message());
  }
  return 0;
}
