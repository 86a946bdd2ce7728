//===- weights.cc - g4rt packed weight mapping ----------------------------===//
//
// Part of g4c. This file implements g4_weights_map/release: map a .g4w file
// read-only and check its size, header and fingerprint against what the
// generated code expects. Weights are read from the mapping, never copied.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"
#include "weight_file_format.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" g4_status g4_weights_map(const char *path,
                                    uint64_t expected_fingerprint,
                                    uint64_t expected_size,
                                    g4_weights *out_weights,
                                    g4_error *out_error) {
  using namespace g4c::weightfile;
  if (!path || !out_weights)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null path or out_weights");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return g4_fail(out_error, G4_IO_ERROR, "%s: cannot open: %s", path,
                   strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0) {
    close(fd);
    return g4_fail(out_error, G4_IO_ERROR, "%s: cannot stat: %s", path,
                   strerror(errno));
  }
  uint64_t size = uint64_t(info.st_size);
  if (size != expected_size || size < kHeaderSize) {
    close(fd);
    return g4_fail(out_error, G4_FORMAT_ERROR,
                   "%s: is %llu bytes, expected %llu (truncated, or packed for "
                   "another build)",
                   path, (unsigned long long)size,
                   (unsigned long long)expected_size);
  }
  void *mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapping == MAP_FAILED)
    return g4_fail(out_error, G4_IO_ERROR, "%s: cannot map: %s", path,
                   strerror(errno));
  Header header;
  memcpy(&header, mapping, sizeof(header));
  const char *problem = nullptr;
  if (memcmp(header.magic, kMagic, sizeof(kMagic)) != 0)
    problem = "not a g4c weight file (bad magic)";
  else if (header.version != kVersion)
    problem = "unsupported weight file version";
  else if (header.fileSize != size || header.dataOffset > size)
    problem = "header does not match the file size";
  else if (header.fingerprint != expected_fingerprint)
    problem = "fingerprint differs: packed from other weights or for another "
              "build";
  if (problem) {
    munmap(mapping, size);
    return g4_fail(out_error, G4_FORMAT_ERROR, "%s: %s", path, problem);
  }
  out_weights->data = static_cast<const uint8_t *>(mapping);
  out_weights->size = size;
  return G4_OK;
}

extern "C" g4_status g4_weights_release(g4_weights *weights) {
  if (!weights)
    return G4_INVALID_ARGUMENT;
  if (weights->data)
    munmap(const_cast<uint8_t *>(weights->data), weights->size);
  weights->data = nullptr;
  weights->size = 0;
  return G4_OK;
}
