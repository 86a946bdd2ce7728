//===- OutputFile.h - writing output files with checked errors --*- C++ -*-===//
//
// Part of g4c. The one way g4c writes a file: open, let the caller write,
// close, and turn every failure (open, content, I/O) into an llvm::Error
// that names the file. The atomic variant writes PATH.partial and renames it
// onto PATH only when everything succeeded, so a failure leaves nothing
// half-written.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_SUPPORT_OUTPUTFILE_H
#define G4C_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace g4c {

/// What writes a file's contents; an error it returns is passed on.
using FileWriter = llvm::function_ref<llvm::Error(llvm::raw_fd_ostream &)>;

/// Writes |path| through |write|. Errors read "PATH: cannot write: ...",
/// "PATH: write failed: ..." or the writer's own.
llvm::Error writeFile(llvm::StringRef path, FileWriter write);

/// writeFile into PATH.partial, renamed onto |path| on success and removed
/// on failure ("PATH: cannot rename into place: ...").
llvm::Error writeFileAtomically(llvm::StringRef path, FileWriter write);

/// Creates a new, uniquely named directory "|path|.partial-XXXXXX" beside
/// |path| (on its file system, so that it can be renamed to |path|) and
/// returns its absolute name in |result|.
std::error_code createPartialDirectory(llvm::StringRef path,
                                       llvm::SmallVectorImpl<char> &result);

} // namespace g4c

#endif // G4C_SUPPORT_OUTPUTFILE_H
