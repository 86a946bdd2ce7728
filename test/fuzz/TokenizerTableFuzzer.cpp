//===- TokenizerTableFuzzer.cpp - fuzz the .g4t table loader --------------===//
//
// Part of g4c. libFuzzer entry point: any bytes as a compiled tokenizer
// table. A table g4_tokenizer_init accepts must then encode and decode
// without reading out of bounds or looping.
//
//===----------------------------------------------------------------------===//

#include "g4tok.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<uint64_t> aligned(size / 8 + 1);
  std::memcpy(aligned.data(), data, size);
  g4_tokenizer tokenizer;
  g4_error error;
  if (g4_tokenizer_init(aligned.data(), size, "fuzz.g4t", &tokenizer, &error))
    return 0;
  const std::string text =
      "Hello <bos> world\xe2\x96\x81  \xff\xfe \xe6\x97\xa5!";
  std::vector<uint64_t> work(g4_tokenizer_work_bytes(text.size()) / 8 + 1);
  std::vector<int32_t> ids(4 * text.size());
  size_t count = 0;
  g4_tokenizer_encode(&tokenizer, text.data(), text.size(), ids.data(),
                      ids.size(), work.data(), work.size() * 8, &count, &error);
  std::string out(g4_tokenizer_max_piece_bytes(&tokenizer) + 16, 0);
  g4_decoder decoder = {};
  for (uint32_t id = 0; id < tokenizer.vocab_size && id < 4096; ++id)
    g4_decoder_push(&tokenizer, &decoder, int32_t(id), out.data());
  g4_decoder_finish(&decoder, out.data());
  return 0;
}
