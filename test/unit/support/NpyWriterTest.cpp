//===- NpyWriterTest.cpp - the .npy encoder -------------------------------===//
//
// Part of g4c. Checks the exact bytes NumPy's format 1.0 specifies.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/NpyWriter.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace g4c;

namespace {

TEST(NpyWriter, HeaderAndDataLayout) {
  std::string bytes = encodeNpyFloat32({2, 3}, {1, 2, 3, 4, 5, 6});
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  size_t headerLength = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  EXPECT_EQ((10 + headerLength) % 64, 0u); // data aligned to 64 bytes
  std::string header = bytes.substr(10, headerLength);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (2, 3), }",
                         0),
            0u);
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(bytes.size(), 10 + headerLength + 24);
  float last;
  std::memcpy(&last, bytes.data() + bytes.size() - 4, 4);
  EXPECT_EQ(last, 6.0f);
}

TEST(NpyWriter, OneDimensionalShapeHasTrailingComma) {
  std::string bytes = encodeNpyFloat32({5}, {0, 0, 0, 0, 0});
  EXPECT_NE(bytes.find("'shape': (5,), }"), std::string::npos);
}

TEST(NpyWriter, ReportsUnwritablePath) {
  llvm::Error error = writeNpyFloat32("/nonexistent/dir/x.npy", {1}, {1.0f});
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("/nonexistent/dir/x.npy"),
            std::string::npos);
}

} // namespace
