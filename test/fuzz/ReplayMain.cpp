//===- ReplayMain.cpp - run a fuzz target over corpus files ---------------===//
//
// Part of g4c. Links with a fuzz target when libFuzzer is not available (any
// compiler): runs LLVMFuzzerTestOneInput on every file under the given
// directories, so the seed corpus is a regular (sanitized) test.
//
//===----------------------------------------------------------------------===//

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code error;
    for (llvm::sys::fs::recursive_directory_iterator it(argv[i], error), end;
         it != end && !error; it.increment(error)) {
      if (llvm::sys::fs::is_directory(it->path()))
        continue;
      auto buffer = llvm::MemoryBuffer::getFile(it->path());
      if (!buffer) {
        llvm::errs() << it->path() << ": cannot read\n";
        return 1;
      }
      LLVMFuzzerTestOneInput(
          reinterpret_cast<const uint8_t *>((*buffer)->getBufferStart()),
          (*buffer)->getBufferSize());
      ++count;
    }
    if (error) {
      llvm::errs() << argv[i] << ": " << error.message() << "\n";
      return 1;
    }
  }
  llvm::outs() << "replayed " << count << " inputs\n";
  return count > 0 ? 0 : 1;
}
