//===- TokenizeCommand.cpp - g4c tokenize ---------------------------------===//
//
// Part of g4c. This file implements `g4c tokenize TOKENIZER [--text S |
// --file F] [--decode IDS] [--table-out F]`: compiles a tokenizer.json (or
// reads a compiled .g4t) and encodes text to comma-separated ids, or decodes
// ids to text, through the runtime's encoder and decoder — the same code a
// compiled model runs.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/Error.h"
#include "compiler/Support/OutputFile.h"
#include "compiler/Tokenizer/TokenizerTable.h"
#include "compiler/tools/g4c/Commands.h"
#include "runtime/src/tokenizer_format.h"

#include "g4tok.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <memory>

namespace cl = llvm::cl;

namespace g4c {

cl::SubCommand
    tokenizeCommand("tokenize",
                    "Encode text to token ids or decode ids to text with a "
                    "tokenizer.json or a compiled .g4t table");
cl::OptionCategory tokenizeCategory("tokenize options");

namespace {

cl::opt<std::string> tokenizerPath(cl::Positional, cl::Required,
                                   cl::desc("<tokenizer.json or .g4t>"),
                                   cl::sub(tokenizeCommand),
                                   cl::cat(tokenizeCategory));
cl::opt<std::string> text("text", cl::desc("Text to encode"),
                          cl::value_desc("S"), cl::sub(tokenizeCommand),
                          cl::cat(tokenizeCategory));
cl::opt<std::string> file("file", cl::desc("Encode the contents of this file"),
                          cl::value_desc("F"), cl::sub(tokenizeCommand),
                          cl::cat(tokenizeCategory));
cl::opt<std::string>
    decode("decode", cl::desc("Decode these comma-separated ids instead"),
           cl::value_desc("IDS"), cl::sub(tokenizeCommand),
           cl::cat(tokenizeCategory));
cl::opt<std::string> tableOut(
    "table-out", cl::desc("Also write the compiled table (.g4t) to this file"),
    cl::value_desc("F"), cl::sub(tokenizeCommand), cl::cat(tokenizeCategory));

/// The table of |path|: compiled from JSON, or read as a .g4t.
llvm::Expected<TokenizerTable> loadTable(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  llvm::StringRef contents = (*buffer)->getBuffer();
  if (!contents.starts_with(llvm::StringRef(tokenizerfile::kMagic, 8)))
    return compileTokenizer(path, contents);
  TokenizerTable table;
  table.size = contents.size();
  table.words.resize((contents.size() + 7) / 8);
  std::memcpy(table.words.data(), contents.data(), contents.size());
  return table;
}

llvm::Error run() {
  // --text "" is a valid (empty) text: count the options given.
  if (text.getNumOccurrences() + file.getNumOccurrences() +
          decode.getNumOccurrences() !=
      1)
    return makeError("give exactly one of --text, --file and --decode");
  auto table = loadTable(tokenizerPath);
  if (!table)
    return table.takeError();
  if (!tableOut.empty())
    if (llvm::Error error =
            writeFileAtomically(tableOut, [&](llvm::raw_fd_ostream &out) {
              out.write(reinterpret_cast<const char *>(table->data()),
                        table->size);
              return llvm::Error::success();
            }))
      return error;
  g4_tokenizer tokenizer;
  g4_error error;
  if (g4_tokenizer_init(table->data(), table->size, tokenizerPath.c_str(),
                        &tokenizer, &error))
    return makeError(error.message);

  if (!decode.empty()) {
    llvm::SmallVector<llvm::StringRef> fields;
    llvm::StringRef(decode).split(fields, ',', -1, /*KeepEmpty=*/false);
    std::string out(g4_tokenizer_max_piece_bytes(&tokenizer) + 16, '\0');
    g4_decoder decoder = {};
    for (llvm::StringRef field : fields) {
      int64_t id = 0;
      if (field.trim().getAsInteger(10, id) || id < 0 ||
          id >= int64_t(tokenizer.vocab_size))
        return makeError("--decode: '" + field.trim() +
                         "' is not a token id of this vocabulary (0.." +
                         llvm::Twine(tokenizer.vocab_size - 1) + ")");
      llvm::outs().write(out.data(), g4_decoder_push(&tokenizer, &decoder,
                                                     int32_t(id), out.data()));
    }
    llvm::outs().write(out.data(), g4_decoder_finish(&decoder, out.data()));
    return llvm::Error::success();
  }

  std::string input = text;
  if (!file.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false);
    if (!buffer)
      return makeError(file + ": cannot read: " + buffer.getError().message());
    input = (*buffer)->getBuffer().str();
  }
  // Uninitialised: the encoder touches only what the longest stretch
  // between added tokens needs.
  const size_t workWords = g4_tokenizer_work_bytes(input.size()) / 8 + 1;
  std::unique_ptr<uint64_t[]> work(new uint64_t[workWords]);
  const size_t capacity = 3 * input.size() + 1;
  std::unique_ptr<int32_t[]> ids(new int32_t[capacity]);
  size_t count = 0;
  if (g4_tokenizer_encode(&tokenizer, input.data(), input.size(), ids.get(),
                          capacity, work.get(), workWords * 8, &count, &error))
    return makeError(error.message);
  for (size_t i = 0; i < count; ++i)
    llvm::outs() << (i ? "," : "") << ids[i];
  llvm::outs() << "\n";
  return llvm::Error::success();
}

} // namespace

int runTokenize() {
  if (llvm::Error error = run())
    return reportError(std::move(error));
  return 0;
}

} // namespace g4c
