//===- NpyReaderTest.cpp - the .npy decoder -------------------------------===//
//
// Part of g4c. Reads back what the writer writes; truncated data and a bad
// magic are refused with the file named.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/NpyReader.h"
#include "compiler/Support/NpyWriter.h"
#include "test/unit/TestCheckpoints.h"

#include <gtest/gtest.h>

#include <cstdio>

TEST(NpyReader, ReadsWhatTheWriterWritesAndRefusesTheRest) {
  g4c::testing::TempDir dir;
  const std::string path = dir.file("a.npy");
  std::vector<float> values = {1.5f, -2, 3, 4, 5, 6};
  ASSERT_FALSE(bool(g4c::writeNpyFloat32(path, {2, 3}, values)));
  auto array = g4c::readNpyFloat32(path);
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_EQ(array->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array->values, values);

  // Truncated data and a lying shape are refused with the file named.
  for (auto [truncate, why] : {std::pair<size_t, const char *>{4, "data is"},
                               {std::string::npos, "bad magic"}}) {
    std::string bytes = g4c::encodeNpyFloat32({2, 3}, values);
    if (truncate == std::string::npos)
      bytes[0] = 'X';
    else
      bytes.resize(bytes.size() - truncate);
    const std::string bad = dir.file("bad.npy");
    std::FILE *file = std::fopen(bad.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), file);
    std::fclose(file);
    auto refused = g4c::readNpyFloat32(bad);
    ASSERT_FALSE(bool(refused));
    std::string message = llvm::toString(refused.takeError());
    EXPECT_NE(message.find(bad), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }
}
