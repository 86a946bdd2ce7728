//===- TokenizerEncodeFuzzer.cpp - fuzz the tokenizer encoder -------------===//
//
// Part of g4c. libFuzzer entry point: any bytes as text for the synthetic
// tokenizer of the tiny presets. Encoding never fails on valid buffers, and
// valid UTF-8 without "▁" decodes back to itself.
//
//===----------------------------------------------------------------------===//

#include "compiler/Checkpoint/SyntheticTokenizer.h"
#include "compiler/Tokenizer/TokenizerTable.h"

#include "g4tok.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace {

const g4_tokenizer &synthetic() {
  static g4c::TokenizerTable table;
  static g4_tokenizer tokenizer = [] {
    std::string json;
    llvm::raw_string_ostream os(json);
    if (llvm::Error error = g4c::writeSyntheticTokenizer(os, 512))
      abort();
    auto compiled = g4c::compileTokenizer("synthetic", json);
    if (!compiled)
      abort();
    table = std::move(*compiled);
    g4_tokenizer result;
    g4_error error;
    if (g4_tokenizer_init(table.data(), table.size, "synthetic", &result,
                          &error))
      abort();
    return result;
  }();
  return tokenizer;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const g4_tokenizer &tokenizer = synthetic();
  std::vector<uint64_t> work(g4_tokenizer_work_bytes(size) / 8 + 1);
  std::vector<int32_t> ids(3 * size + 1);
  size_t count = 0;
  g4_error error;
  if (g4_tokenizer_encode(&tokenizer, reinterpret_cast<const char *>(data),
                          size, ids.data(), ids.size(), work.data(),
                          work.size() * 8, &count, &error))
    abort(); // buffers of the documented sizes always suffice
  std::string decoded, out(g4_tokenizer_max_piece_bytes(&tokenizer) + 16, 0);
  g4_decoder decoder = {};
  for (size_t i = 0; i < count; ++i)
    decoded.append(out.data(),
                   g4_decoder_push(&tokenizer, &decoder, ids[i], out.data()));
  decoded.append(out.data(), g4_decoder_finish(&decoder, out.data()));
  std::string text(reinterpret_cast<const char *>(data), size);
  const auto *begin = reinterpret_cast<const llvm::UTF8 *>(text.data());
  if (llvm::isLegalUTF8String(&begin, begin + text.size()) &&
      text.find("\xe2\x96\x81") == std::string::npos && decoded != text)
    abort(); // the round trip must be exact
  return 0;
}
