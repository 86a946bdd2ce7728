//===- WeightPackerTest.cpp - .g4w packing and runtime mapping ------------===//
//
// Part of g4c. Packs a tiny checkpoint's tensors (mixed f32 / bf16), maps the
// file with the runtime, and checks layout, values (against an independent
// conversion of the checkpoint's), fingerprint and every load-time refusal.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/WeightPacker.h"
#include "compiler/Checkpoint/SafeTensorsWriter.h"
#include "g4rt.h"
#include "targets/weights/Quantize.h"
#include "test/unit/TestCheckpoints.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cstring>

#include <unistd.h>

using namespace g4c;
using g4c::testing::generate;
using g4c::testing::TempDir;

namespace {

std::vector<PackedTensorRequest> requestsFor(const Checkpoint &checkpoint) {
  std::vector<PackedTensorRequest> requests;
  bool toF32 = true;
  for (const auto &[name, tensor] : checkpoint.allTensors()) {
    // Alternate formats so both conversions are exercised.
    requests.push_back(
        {name,
         {tensor},
         toF32 ? weightfile::Format::F32 : weightfile::Format::BF16});
    toF32 = !toF32;
  }
  return requests;
}

struct Packed {
  TempDir dir;
  std::unique_ptr<Checkpoint> checkpoint;
  std::vector<PackedTensorRequest> requests;
  PackedWeights result;
  std::string path;

  explicit Packed(uint64_t seed = 7) {
    auto opened = Checkpoint::open(
        generate(dir, "tiny-e2b", DType::BF16, 0, false, seed));
    EXPECT_TRUE(bool(opened));
    checkpoint = std::move(*opened);
    requests = requestsFor(*checkpoint);
    path = dir.file("model.g4w");
    auto packed = packWeights(path, requests);
    EXPECT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
    result = std::move(*packed);
  }
};

std::string mapError(const std::string &path, uint64_t fingerprint,
                     uint64_t size, g4_status expected) {
  g4_weights weights = {};
  g4_error error = {};
  EXPECT_EQ(g4_weights_map(path.c_str(), fingerprint, size, &weights, &error),
            expected);
  EXPECT_EQ(weights.data, nullptr);
  return error.message;
}

TEST(WeightPacker, LayoutAndValuesThroughTheRuntimeMapping) {
  Packed packed;
  ASSERT_EQ(packed.result.tensors.size(), packed.requests.size());
  g4_weights weights = {};
  g4_error error = {};
  ASSERT_EQ(g4_weights_map(packed.path.c_str(), packed.result.fingerprint,
                           packed.result.fileSize, &weights, &error),
            G4_OK)
      << error.message;
  EXPECT_EQ(weights.size, packed.result.fileSize);
  EXPECT_EQ(std::memcmp(weights.data, "G4CWEIGH", 8), 0);
  EXPECT_EQ(packed.result.tensors.front().offset % 4096, 0u);
  for (size_t i = 0; i < packed.requests.size(); ++i) {
    const PackedTensor &tensor = packed.result.tensors[i];
    const CheckpointTensor &source = packed.requests[i].rows.front();
    ASSERT_EQ(tensor.offset % 64, 0u) << tensor.name;
    ASSERT_LE(tensor.offset + tensor.size, weights.size);
    const uint64_t count = source.info->numElements();
    ASSERT_EQ(tensor.size,
              count * (tensor.format == weightfile::Format::F32 ? 4 : 2));
    for (uint64_t k : {uint64_t(0), count / 2, count - 1}) {
      uint16_t bits;
      std::memcpy(&bits, source.data().data() + 2 * k, 2); // source is bf16
      float expected = bf16ToFloat(bits); // exact in f32 and in bf16
      const uint8_t *at = weights.data + tensor.offset;
      float actual;
      if (tensor.format == weightfile::Format::F32) {
        std::memcpy(&actual, at + 4 * k, 4);
      } else {
        std::memcpy(&bits, at + 2 * k, 2);
        actual = bf16ToFloat(bits);
      }
      ASSERT_EQ(actual, expected) << tensor.name << "[" << k << "]";
    }
  }
  EXPECT_EQ(g4_weights_release(&weights), G4_OK);
  EXPECT_EQ(weights.data, nullptr);
}

TEST(WeightPacker, F32ToBf16RoundsToNearestEven) {
  TempDir dir;
  auto opened =
      Checkpoint::open(generate(dir, "tiny-31b", DType::F32, 0, false, 3));
  ASSERT_TRUE(bool(opened));
  auto norm = (*opened)->lookup("norm.weight");
  ASSERT_TRUE(norm);
  auto packed = packWeights(dir.file("w.g4w"),
                            {{"norm", {*norm}, weightfile::Format::BF16}});
  ASSERT_TRUE(bool(packed));
  auto file = llvm::MemoryBuffer::getFile(dir.file("w.g4w"));
  ASSERT_TRUE(bool(file));
  const uint8_t *data =
      reinterpret_cast<const uint8_t *>((*file)->getBufferStart());
  for (uint64_t k = 0; k < norm->info->numElements(); ++k) {
    float value;
    std::memcpy(&value, norm->data().data() + 4 * k, 4);
    uint16_t bits;
    std::memcpy(&bits, data + packed->tensors[0].offset + 2 * k, 2);
    ASSERT_EQ(bits, floatToBf16(value)) << k;
  }
}

// Quantised tables: each packed row is the quantiser's row of the source,
// the table starts on its own page, and only the rows a process touches
// enter its resident set.
TEST(WeightPacker, QuantisedTablesArePagedRowsTouchedOnlyOnUse) {
  TempDir dir;
  auto opened =
      Checkpoint::open(generate(dir, "tiny-e2b", DType::BF16, 0, false, 5));
  ASSERT_TRUE(bool(opened));
  auto embed = (*opened)->lookup("embed_tokens.weight");
  auto table = (*opened)->lookup("embed_tokens_per_layer.weight");
  ASSERT_TRUE(embed && table);
  PackedTensorRequest first{"embed", {*embed}, weightfile::Format::F32};
  PackedTensorRequest second{"table", {*table}, weightfile::Format::Int8};
  second.pageAligned = true;
  PackedTensorRequest third{"table4", {*table}, weightfile::Format::Int4};
  third.group = 32;
  third.pageAligned = true;
  const std::string path = dir.file("q.g4w");
  auto packed = packWeights(path, {first, second, third});
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  g4_weights weights = {};
  ASSERT_EQ(g4_weights_map(path.c_str(), packed->fingerprint, packed->fileSize,
                           &weights, nullptr),
            G4_OK);
  llvm::ArrayRef<PackedTensor> tables =
      llvm::ArrayRef<PackedTensor>(packed->tensors).drop_front();
  // Nothing read yet (the kernel maps pages in around a fault: check
  // every table before touching any).
  for (const PackedTensor &tensor : tables) {
    uint64_t resident = ~uint64_t(0);
    ASSERT_EQ(
        g4_weights_resident(&weights, tensor.offset, tensor.size, &resident),
        G4_OK);
    EXPECT_EQ(resident, 0u) << tensor.name << ": untouched";
  }
  for (const PackedTensor &tensor : tables) {
    ASSERT_EQ(tensor.offset % 4096, 0u) << tensor.name;
    const uint64_t rows = tensor.shape[0], columns = tensor.shape[1];
    const uint64_t rowSize =
        weightfile::rowBytes(tensor.format, columns, tensor.group);
    ASSERT_EQ(tensor.size, rows * rowSize);
    uint64_t resident = 0;
    // Row 300 through the mapping, byte for byte the quantiser's.
    const uint8_t *row = weights.data + tensor.offset + 300 * rowSize;
    std::vector<float> values(columns);
    for (uint64_t i = 0; i < columns; ++i)
      values[i] =
          loadFloat(table->data().data(), DType::BF16, 300 * columns + i);
    std::vector<uint8_t> expected(rowSize);
    quantizeRow(tensor.format, tensor.group, values.data(), columns,
                expected.data());
    ASSERT_EQ(std::memcmp(row, expected.data(), rowSize), 0) << tensor.name;
    ASSERT_EQ(
        g4_weights_resident(&weights, tensor.offset, tensor.size, &resident),
        G4_OK);
    // The row, and at most the kernel's fault-around window (64 KiB).
    uint64_t rowResident = 0;
    ASSERT_EQ(g4_weights_resident(&weights, tensor.offset + 300 * rowSize,
                                  rowSize, &rowResident),
              G4_OK);
    EXPECT_EQ(rowResident, rowSize) << tensor.name;
    EXPECT_LE(resident, rowSize + (64u << 10)) << tensor.name;
  }
  uint64_t ignored;
  EXPECT_EQ(g4_weights_resident(&weights, weights.size - 1, 2, &ignored),
            G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_weights_release(&weights), G4_OK);
}

TEST(WeightPacker, FingerprintIdentifiesTheContents) {
  Packed first, again, other(8);
  EXPECT_EQ(first.result.fingerprint, again.result.fingerprint);
  EXPECT_NE(first.result.fingerprint, other.result.fingerprint);
  EXPECT_EQ(first.result.fileSize, other.result.fileSize);
}

TEST(WeightPacker, RuntimeRefusesTheWrongFile) {
  Packed packed;
  const uint64_t fingerprint = packed.result.fingerprint;
  const uint64_t size = packed.result.fileSize;
  EXPECT_NE(mapError(packed.path, fingerprint + 1, size, G4_FORMAT_ERROR)
                .find("model.g4w: fingerprint differs"),
            std::string::npos);
  EXPECT_NE(mapError(packed.path, fingerprint, size + 1, G4_FORMAT_ERROR)
                .find("bytes, expected"),
            std::string::npos);
  EXPECT_NE(
      mapError(packed.dir.file("missing.g4w"), fingerprint, size, G4_IO_ERROR)
          .find("missing.g4w: cannot open"),
      std::string::npos);

  // Truncated: the size the code expects no longer matches.
  ASSERT_EQ(::truncate(packed.path.c_str(), off_t(size - 100)), 0);
  EXPECT_NE(mapError(packed.path, fingerprint, size, G4_FORMAT_ERROR)
                .find("truncated"),
            std::string::npos);

  // Right size, wrong magic.
  std::error_code ec;
  {
    llvm::raw_fd_ostream out(packed.path, ec);
    ASSERT_FALSE(ec);
    out << std::string(size, 'x');
  }
  EXPECT_NE(mapError(packed.path, fingerprint, size, G4_FORMAT_ERROR)
                .find("bad magic"),
            std::string::npos);
  g4_weights weights = {};
  EXPECT_EQ(g4_weights_map(nullptr, 0, 0, &weights, nullptr),
            G4_INVALID_ARGUMENT);
}

TEST(WeightPacker, RuntimeWrapsLinkedImages) {
  Packed packed;
  auto file = llvm::MemoryBuffer::getFile(packed.path);
  ASSERT_TRUE(bool(file));
  const size_t size = (*file)->getBufferSize();
  // A linked array is 4096-byte aligned; one byte off is refused.
  std::vector<uint8_t> storage(size + 8192);
  uint8_t *aligned = reinterpret_cast<uint8_t *>(
      (reinterpret_cast<uintptr_t>(storage.data()) + 4095) / 4096 * 4096);
  std::memcpy(aligned, (*file)->getBufferStart(), size);
  g4_weights weights = {};
  g4_error error = {};
  ASSERT_EQ(g4_weights_wrap(aligned, size, "linked", packed.result.fingerprint,
                            packed.result.fileSize, &weights, &error),
            G4_OK)
      << error.message;
  EXPECT_EQ(weights.data, aligned);
  EXPECT_EQ(weights.mapped, 0);
  EXPECT_EQ(g4_weights_release(&weights), G4_OK); // must not unmap
  EXPECT_EQ(g4_weights_wrap(aligned, size, "linked",
                            packed.result.fingerprint ^ 1,
                            packed.result.fileSize, &weights, &error),
            G4_FORMAT_ERROR);
  EXPECT_NE(std::string(error.message).find("linked: fingerprint differs"),
            std::string::npos);
  std::memmove(aligned + 1, aligned, size);
  EXPECT_EQ(g4_weights_wrap(aligned + 1, size, "linked",
                            packed.result.fingerprint, packed.result.fileSize,
                            &weights, &error),
            G4_FORMAT_ERROR);
  EXPECT_NE(std::string(error.message).find("misaligned"), std::string::npos);
}

TEST(WeightPacker, ConcatenatesRowsAndScalesColumns) {
  // A fused projection: layer 0's q (32 rows) and k (16 rows) of 64 columns,
  // each column times the input norm's weight.
  TempDir dir;
  auto checkpoint = Checkpoint::open(generate(dir, "tiny-e2b", DType::BF16));
  ASSERT_TRUE(bool(checkpoint));
  auto q = (*checkpoint)->lookup("layers.0.self_attn.q_proj.weight");
  auto k = (*checkpoint)->lookup("layers.0.self_attn.k_proj.weight");
  auto norm = (*checkpoint)->lookup("layers.0.input_layernorm.weight");
  ASSERT_TRUE(q && k && norm);
  std::string path = dir.file("fused.g4w");
  auto packed =
      packWeights(path, {{"qk", {*q, *k}, weightfile::Format::F32, *norm}});
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  const PackedTensor &tensor = packed->tensors.front();
  EXPECT_EQ(tensor.shape, (std::vector<uint64_t>{48, 64}));
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer));
  auto bf16At = [](const CheckpointTensor &t, uint64_t i) {
    uint16_t bits;
    std::memcpy(&bits, t.data().data() + 2 * i, 2);
    return bf16ToFloat(bits);
  };
  for (uint64_t row : {0, 31, 32, 47})
    for (uint64_t column : {0, 5, 63}) {
      float expected = (row < 32 ? bf16At(*q, row * 64 + column)
                                 : bf16At(*k, (row - 32) * 64 + column)) *
                       bf16At(*norm, column);
      float actual;
      std::memcpy(&actual,
                  (*buffer)->getBufferStart() + tensor.offset +
                      4 * (row * 64 + column),
                  4);
      EXPECT_EQ(actual, expected) << row << ", " << column;
    }

  // Parts must agree in their trailing dimensions; the scale must fit.
  auto o = (*checkpoint)->lookup("layers.0.self_attn.o_proj.weight");
  auto mismatched = packWeights(dir.file("bad.g4w"),
                                {{"qo", {*q, *o}, weightfile::Format::F32}});
  ASSERT_FALSE(bool(mismatched));
  EXPECT_NE(llvm::toString(mismatched.takeError())
                .find("tensor 'qo' concatenates parts that differ"),
            std::string::npos);
  auto qNorm = (*checkpoint)->lookup("layers.0.self_attn.q_norm.weight");
  auto badScale = packWeights(dir.file("bad.g4w"),
                              {{"q", {*q}, weightfile::Format::F32, *qNorm}});
  ASSERT_FALSE(bool(badScale));
  EXPECT_NE(llvm::toString(badScale.takeError())
                .find("tensor 'q' needs a column scale of 64 floats"),
            std::string::npos);
  EXPECT_FALSE(llvm::sys::fs::exists(dir.file("bad.g4w")));
}

TEST(WeightPacker, RejectsIntegerTensors) {
  TempDir dir;
  std::string path = dir.file("int.safetensors");
  ASSERT_FALSE(
      bool(writeSafeTensors(path, {{"ids", DType::I32, {4}}},
                            [](size_t, llvm::MutableArrayRef<uint8_t> bytes) {
                              std::fill(bytes.begin(), bytes.end(), 0);
                            })));
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file));
  CheckpointTensor tensor{&(*file)->tensors()[0], file->get()};
  auto packed = packWeights(dir.file("x.g4w"),
                            {{"ids", {tensor}, weightfile::Format::F32}});
  ASSERT_FALSE(bool(packed));
  EXPECT_NE(llvm::toString(packed.takeError())
                .find("tensor 'ids' has dtype I32; only F32, F16 and BF16"),
            std::string::npos);
  EXPECT_FALSE(llvm::sys::fs::exists(dir.file("x.g4w")));
  EXPECT_FALSE(llvm::sys::fs::exists(dir.file("x.g4w.partial")));
}

} // namespace
