//===- OutputFile.cpp - writing output files with checked errors ----------===//
//
// Part of g4c. This file implements writeFile and writeFileAtomically.
//
//===----------------------------------------------------------------------===//

#include "compiler/Support/OutputFile.h"
#include "compiler/Support/Error.h"

#include "llvm/Support/FileSystem.h"

namespace g4c {

/// writeFile to |actual| with messages naming |shown| (the final path).
static llvm::Error writeNamed(llvm::StringRef actual, llvm::StringRef shown,
                              FileWriter write) {
  std::error_code error;
  llvm::raw_fd_ostream out(actual, error);
  if (error)
    return makeError(shown + ": cannot write: " + error.message());
  if (llvm::Error contentError = write(out))
    return contentError;
  out.close();
  if (out.has_error()) {
    std::error_code writeError = out.error();
    out.clear_error();
    return makeError(shown + ": write failed: " + writeError.message());
  }
  return llvm::Error::success();
}

llvm::Error writeFile(llvm::StringRef path, FileWriter write) {
  return writeNamed(path, path, write);
}

llvm::Error writeFileAtomically(llvm::StringRef path, FileWriter write) {
  std::string temporary = (path + ".partial").str();
  llvm::Error error = writeNamed(temporary, path, write);
  if (!error)
    if (std::error_code renameError = llvm::sys::fs::rename(temporary, path))
      error = makeError(path +
                        ": cannot rename into place: " + renameError.message());
  if (error)
    llvm::sys::fs::remove(temporary);
  return error;
}

std::error_code createPartialDirectory(llvm::StringRef path,
                                       llvm::SmallVectorImpl<char> &result) {
  // A relative model would be placed in the temporary directory.
  llvm::SmallString<256> model(path);
  model += ".partial";
  if (std::error_code error = llvm::sys::fs::make_absolute(model))
    return error;
  return llvm::sys::fs::createUniqueDirectory(model, result);
}

} // namespace g4c
