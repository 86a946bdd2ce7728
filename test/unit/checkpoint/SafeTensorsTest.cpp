//===- SafeTensorsTest.cpp - the safetensors reader, good and bad files ---===//
//
// Part of g4c. Reads hand-built safetensors files: one valid file checked
// byte for byte, then a corpus of malformed ones, each of which must be
// rejected with its specific message (and nothing may crash under ASan).
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SafeTensors.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace g4c;

namespace {

/// The bytes of a safetensors file with |header| and |data|; the 8-byte
/// length prefix says |declaredLength| (default: the real header length).
std::string makeFile(const std::string &header, const std::string &data,
                     std::optional<uint64_t> declaredLength = std::nullopt) {
  uint64_t length = declaredLength.value_or(header.size());
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = char((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

llvm::Expected<std::unique_ptr<SafeTensorsFile>>
parseBytes(const std::string &bytes) {
  return SafeTensorsFile::parse(
      "bad.safetensors", llvm::MemoryBuffer::getMemBufferCopy(bytes, "bad"));
}

TEST(SafeTensors, ReadsValidFileZeroCopy) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("e":{"dtype":"I64","shape":[0,3],"data_offsets":[12,12]}})";
  float values[2] = {1.5f, -2.0f};
  std::string data(reinterpret_cast<const char *>(values), 8);
  data += std::string("\x80\x3f\x00\x40", 4);            // bf16 1.0, 2.0
  auto file = parseBytes(makeFile(header + "  ", data)); // padded header
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 3u);
  EXPECT_EQ((*file)->tensors()[0].name, "a"); // sorted by offset
  EXPECT_EQ((*file)->metadata().lookup("format"), "pt");
  const TensorInfo *a = (*file)->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, DType::F32);
  llvm::ArrayRef<uint8_t> bytes = (*file)->data(*a);
  ASSERT_EQ(bytes.size(), 8u);
  float read[2];
  std::memcpy(read, bytes.data(), 8);
  EXPECT_EQ(read[0], 1.5f);
  EXPECT_EQ(read[1], -2.0f);
  const TensorInfo *b = (*file)->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, (llvm::SmallVector<int64_t, 4>{2}));
  EXPECT_EQ((*file)->data(*b)[1], 0x3f);
  EXPECT_EQ((*file)->find("e")->numElements(), 0u);
  EXPECT_EQ((*file)->find("missing"), nullptr);
}

struct MalformedCase {
  const char *name;
  std::string bytes;
  const char *expectedError;
};

std::string entry(const std::string &name, const std::string &dtype,
                  const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

std::vector<MalformedCase> malformedCases() {
  const std::string eight(8, '\x01');
  return {
      {"empty_file", "", "file is 0 bytes, too short for the 8-byte header"},
      {"five_bytes", "abcde", "file is 5 bytes, too short"},
      {"absurd_header_length", makeFile("{}", "", 200'000'000),
       "header length 200000000 exceeds the limit of 100000000 bytes"},
      {"header_past_end", makeFile("{}", "", 64),
       "header length 64 runs past the end of the file (10 bytes)"},
      {"header_not_utf8", makeFile("{\"\xff\":1}", ""),
       "header is not valid UTF-8 (byte 2)"},
      {"header_not_json", makeFile("{\"a\":", ""), "header is not valid JSON"},
      {"header_is_array", makeFile("[1,2]", ""), "header is not a JSON object"},
      {"entry_not_object", makeFile("{\"a\":3}", ""),
       "tensor 'a': entry is not a JSON object"},
      {"missing_dtype",
       makeFile("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
       "tensor 'a': missing string field 'dtype'"},
      {"unknown_dtype",
       makeFile("{" + entry("a", "Q4", "[2]", "[0,8]") + "}", eight),
       "tensor 'a': unknown dtype 'Q4'"},
      {"missing_shape",
       makeFile("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight),
       "tensor 'a': missing array field 'shape'"},
      {"negative_dim",
       makeFile("{" + entry("a", "F32", "[-2]", "[0,8]") + "}", eight),
       "tensor 'a': shape entries must be non-negative integers"},
      {"fractional_dim",
       makeFile("{" + entry("a", "F32", "[2.5]", "[0,8]") + "}", eight),
       "tensor 'a': shape entries must be non-negative integers"},
      {"offsets_one_number",
       makeFile("{" + entry("a", "F32", "[2]", "[8]") + "}", eight),
       "tensor 'a': 'data_offsets' must be an array [begin, end]"},
      {"offsets_negative",
       makeFile("{" + entry("a", "F32", "[2]", "[-8,0]") + "}", eight),
       "tensor 'a': 'data_offsets' must be non-negative integers"},
      {"offsets_reversed",
       makeFile("{" + entry("a", "U8", "[0]", "[8,0]") + "}", eight),
       "tensor 'a': data_offsets [8, 0] end before they begin"},
      {"size_mismatch",
       makeFile("{" + entry("a", "F32", "[2,3]", "[0,8]") + "}", eight),
       "tensor 'a': shape [2, 3] x F32 is 24 bytes but data_offsets [0, 8] "
       "span 8"},
      {"truncated_data",
       makeFile("{" + entry("a", "F32", "[4]", "[0,16]") + "}", eight),
       "tensor 'a': data_offsets [0, 16] run past the end of the data section "
       "(8 bytes); the file is truncated"},
      {"overlap",
       makeFile("{" + entry("a", "F32", "[2]", "[0,8]") + "," +
                    entry("b", "F32", "[1]", "[4,8]") + "}",
                eight),
       "tensors 'a' and 'b' overlap"},
      {"hole",
       makeFile("{" + entry("a", "F32", "[1]", "[0,4]") + "," +
                    entry("b", "U8", "[2]", "[6,8]") + "}",
                eight),
       "2 unused bytes before tensor 'b' (data offset 4)"},
      {"trailing_bytes",
       makeFile("{" + entry("a", "F32", "[1]", "[0,4]") + "}", eight),
       "4 bytes after the last tensor are not described by the header"},
      {"duplicate_name",
       makeFile("{" + entry("a", "F32", "[1]", "[0,4]") + "," +
                    entry("a", "F32", "[1]", "[4,8]") + "}",
                eight),
       "duplicate tensor name 'a' in the header"},
      {"metadata_not_object", makeFile("{\"__metadata__\":[1]}", ""),
       "'__metadata__' is not a JSON object"},
      {"metadata_not_string", makeFile("{\"__metadata__\":{\"k\":1}}", ""),
       "'__metadata__' value of 'k' is not a string"},
      {"shape_overflows",
       makeFile("{" + entry("a", "F64", "[4294967296,4294967296]", "[0,8]") +
                    "}",
                eight),
       "tensor 'a': shape [4294967296, 4294967296] is too large to address"},
      {"unknown_field",
       makeFile("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],"
                "\"extra\":1}}",
                eight),
       "tensor 'a': unknown field 'extra'"},
      {"empty_name",
       makeFile("{" + entry("", "U8", "[8]", "[0,8]") + "}", eight),
       "a tensor has an empty name"},
  };
}

TEST(SafeTensors, MalformedFilesAreRejectedWithTheirMessage) {
  for (const MalformedCase &bad : malformedCases()) {
    SCOPED_TRACE(bad.name);
    auto file = parseBytes(bad.bytes);
    ASSERT_FALSE(bool(file));
    std::string message = llvm::toString(file.takeError());
    EXPECT_EQ(message.rfind("bad.safetensors: ", 0), 0u) << message;
    EXPECT_NE(message.find(bad.expectedError), std::string::npos)
        << "got: " << message;
  }
}

TEST(SafeTensors, EveryTruncationOfAValidFileIsRejected) {
  std::string valid = makeFile("{" + entry("a", "F32", "[3]", "[0,12]") + "}",
                               std::string(12, 'x'));
  ASSERT_TRUE(bool(parseBytes(valid)));
  for (size_t length = 0; length < valid.size(); ++length) {
    auto file = parseBytes(valid.substr(0, length));
    ASSERT_FALSE(bool(file)) << length;
    llvm::consumeError(file.takeError());
  }
}

TEST(SafeTensors, OpenReportsMissingFile) {
  auto file = SafeTensorsFile::open("/nonexistent/model.safetensors");
  ASSERT_FALSE(bool(file));
  EXPECT_NE(llvm::toString(file.takeError())
                .find("/nonexistent/model.safetensors: cannot open"),
            std::string::npos);
}

} // namespace
