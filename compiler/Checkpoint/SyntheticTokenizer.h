//===- SyntheticTokenizer.h - small tokenizer.json for tests ----*- C++ -*-===//
//
// Part of g4c. Builds a tokenizer.json in the exact format of Gemma's (BPE,
// byte fallback, "▁" for spaces, no dummy prefix, special tokens, merges)
// with any vocabulary size, for random checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_CHECKPOINT_SYNTHETICTOKENIZER_H
#define G4C_CHECKPOINT_SYNTHETICTOKENIZER_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace g4c {

/// Streams a tokenizer.json with exactly |vocabSize| entries to |os|:
/// Gemma's special tokens at their real ids where they fit, the 256
/// byte-fallback pieces, the characters and BPE merges learned from a small
/// built-in English corpus, and <unusedN> fillers. Fails, writing nothing,
/// if |vocabSize| is too small to hold them. Memory stays proportional to
/// the vocabulary, not to a JSON tree of it.
llvm::Error writeSyntheticTokenizer(llvm::raw_ostream &os, int64_t vocabSize);

} // namespace g4c

#endif // G4C_CHECKPOINT_SYNTHETICTOKENIZER_H
