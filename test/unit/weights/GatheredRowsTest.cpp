//===- GatheredRowsTest.cpp - read-ahead of a prompt's table rows ---------===//
//
// Part of g4c. g4_weights_will_gather asks the kernel to read a prompt's
// rows of a gathered table (the PLE table) in the background: the pages of
// the rows named, and not the table's others, enter the page cache without
// the process touching them. Arguments outside the file are refused;
// indices outside the table and caller memory are left alone.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"
#include "targets/weights/WeightPacker.h"
#include "test/unit/TestCheckpoints.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace g4c;
using g4c::testing::generate;
using g4c::testing::TempDir;

namespace {

/// How many of the pages under [offset, offset + size) of |weights| are in
/// the page cache (mincore: cached, touched by this process or not).
size_t cachedPages(const g4_weights &weights, uint64_t offset, uint64_t size) {
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  const uint64_t begin = offset / page * page;
  const uint64_t end = (offset + size + page - 1) / page * page;
  std::vector<unsigned char> cached((end - begin) / page);
  if (mincore(const_cast<uint8_t *>(weights.data) + begin, end - begin,
              cached.data()) != 0)
    return ~size_t(0);
  size_t count = 0;
  for (unsigned char bits : cached)
    count += bits & 1;
  return count;
}

size_t pagesUnder(uint64_t offset, uint64_t size) {
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  return (offset + size + page - 1) / page - offset / page;
}

/// Drops |path| from the page cache (its pages are clean once synced).
bool evict(const std::string &path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return false;
  const bool done =
      fdatasync(fd) == 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  close(fd);
  return done;
}

TEST(GatheredRows, WillGatherReadsOnlyTheNamedRows) {
  TempDir dir;
  auto opened =
      Checkpoint::open(generate(dir, "tiny-e2b", DType::BF16, 0, false, 5));
  ASSERT_TRUE(bool(opened));
  auto embed = (*opened)->lookup("embed_tokens.weight");
  auto table = (*opened)->lookup("embed_tokens_per_layer.weight");
  ASSERT_TRUE(embed && table);
  // The table after f32 copies of both, past the pages that reading the
  // header brings in (the kernel's read-ahead around that first fault).
  PackedTensorRequest request{"table", {*table}, weightfile::Format::BF16};
  request.pageAligned = true;
  const std::string path = dir.file("table.g4w");
  auto packed = packWeights(path, {{"embed", {*embed}, weightfile::Format::F32},
                                   {"copy", {*table}, weightfile::Format::F32},
                                   request});
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  const PackedTensor &tensor = packed->tensors[2];
  ASSERT_GE(tensor.offset, uint64_t(256) << 10);
  const uint64_t rows = tensor.shape[0], rowBytes = tensor.size / rows;
  const g4_weight_range range = {"table", tensor.offset, tensor.size, rowBytes};
  g4_weights weights = {};
  ASSERT_TRUE(evict(path));
  ASSERT_EQ(g4_weights_map(path.c_str(), packed->fingerprint, packed->fileSize,
                           &weights, nullptr),
            G4_OK);
  ASSERT_TRUE(evict(path));
  ASSERT_EQ(cachedPages(weights, tensor.offset, tensor.size), 0u)
      << "the file's pages stayed cached after POSIX_FADV_DONTNEED";

  // Rows 7 and rows - 1, with indices outside the table in between.
  const int32_t indices[] = {7, -1, int32_t(rows), int32_t(rows - 1)};
  ASSERT_EQ(g4_weights_will_gather(&weights, &range, indices, 4), G4_OK);
  auto rowPages = [&](uint64_t row) {
    return cachedPages(weights, tensor.offset + row * rowBytes, rowBytes);
  };
  // The reads complete in the background.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((rowPages(7) < pagesUnder(7 * rowBytes, rowBytes) ||
          rowPages(rows - 1) < pagesUnder((rows - 1) * rowBytes, rowBytes)) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rowPages(7), pagesUnder(7 * rowBytes, rowBytes));
  EXPECT_EQ(rowPages(rows - 1), pagesUnder((rows - 1) * rowBytes, rowBytes));
  // A row in the middle, pages away from both, was not read.
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  ASSERT_GT(tensor.size, 8 * page);
  EXPECT_EQ(rowPages(rows / 2), 0u);
  // Nothing was mapped into the process: the rows are only cached.
  uint64_t resident = ~uint64_t(0);
  ASSERT_EQ(
      g4_weights_resident(&weights, tensor.offset, tensor.size, &resident),
      G4_OK);
  EXPECT_EQ(resident, 0u);

  // Refused: no table, a table past the file, no indices.
  EXPECT_EQ(g4_weights_will_gather(&weights, nullptr, indices, 1),
            G4_INVALID_ARGUMENT);
  const g4_weight_range past = {"past", weights.size - page, 2 * page, 64};
  EXPECT_EQ(g4_weights_will_gather(&weights, &past, indices, 1),
            G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_weights_will_gather(&weights, &range, nullptr, 1),
            G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_weights_release(&weights), G4_OK);
}

} // namespace
