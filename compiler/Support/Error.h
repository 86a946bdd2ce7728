//===- Error.h - g4c error helpers ------------------------------*- C++ -*-===//
//
// Part of g4c. The one way g4c's libraries make a plain llvm::Error with a
// message (callers put the file or object the message is about first).
//
//===----------------------------------------------------------------------===//

#ifndef G4C_SUPPORT_ERROR_H
#define G4C_SUPPORT_ERROR_H

#include "llvm/Support/Error.h"

namespace g4c {

/// An llvm::Error carrying |message|.
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

} // namespace g4c

#endif // G4C_SUPPORT_ERROR_H
