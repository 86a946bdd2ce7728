//===- TokenizerTable.h - tokenizer.json to a .g4t table --------*- C++ -*-===//
//
// Part of g4c. Compiles a Hugging Face tokenizer.json of the kind Gemma
// ships (BPE with byte fallback, spaces normalised to "▁", added tokens
// matched on the raw text) into the binary table the runtime's encoder and
// decoder read in place (runtime/src/tokenizer_format.h). Anything outside
// that scheme is refused with the file and the setting named.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_COMPILER_TOKENIZER_TOKENIZERTABLE_H
#define G4C_COMPILER_TOKENIZER_TOKENIZERTABLE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace g4c {

/// A compiled table, 8-byte aligned storage.
struct TokenizerTable {
  std::vector<uint64_t> words;
  uint64_t size = 0; ///< bytes
  const uint8_t *data() const {
    return reinterpret_cast<const uint8_t *>(words.data());
  }
};

/// Compiles |json|, the contents of the tokenizer.json at |path| (|path|
/// only names the file in errors).
llvm::Expected<TokenizerTable> compileTokenizer(llvm::StringRef path,
                                                llvm::StringRef json);

/// Reads and compiles the tokenizer.json at |path|.
llvm::Expected<TokenizerTable> compileTokenizerFile(llvm::StringRef path);

} // namespace g4c

#endif // G4C_COMPILER_TOKENIZER_TOKENIZERTABLE_H
