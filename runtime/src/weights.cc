//===- weights.cc - g4rt packed weight mapping ----------------------------===//
//
// Part of g4c. This file implements g4_weights_map/release: map a .g4w file
// read-only and check its size, header and fingerprint against what the
// generated code expects. Weights are read from the mapping, never copied.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"
#include "weight_file_format.h"

#include <algorithm>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

/// Why the .g4w image at |data| is not the expected one, or null.
const char *checkHeader(const void *data, uint64_t size,
                        uint64_t expected_fingerprint) {
  using namespace g4c::weightfile;
  if (size < kHeaderSize)
    return "too short for a weight file header";
  Header header;
  memcpy(&header, data, sizeof(header));
  if (memcmp(header.magic, kMagic, sizeof(kMagic)) != 0)
    return "not a g4c weight file (bad magic)";
  if (header.version != kVersion)
    return "unsupported weight file version";
  if (header.fileSize != size || header.dataOffset > size)
    return "header does not match the file size";
  if (header.fingerprint != expected_fingerprint)
    return "fingerprint differs: packed from other weights or for another "
           "build";
  return nullptr;
}

} // namespace

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
  if (const char *problem = checkHeader(mapping, size, expected_fingerprint)) {
    munmap(mapping, size);
    return g4_fail(out_error, G4_FORMAT_ERROR, "%s: %s", path, problem);
  }
  out_weights->data = static_cast<const uint8_t *>(mapping);
  out_weights->size = size;
  out_weights->mapped = 1;
  return G4_OK;
}

extern "C" g4_status
g4_weights_wrap(const void *data, size_t size, const char *label,
                uint64_t expected_fingerprint, uint64_t expected_size,
                g4_weights *out_weights, g4_error *out_error) {
  if (!data || !label || !out_weights)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null data or out_weights");
  if (uint64_t(size) != expected_size ||
      reinterpret_cast<uintptr_t>(data) % g4c::weightfile::kDataAlignment)
    return g4_fail(out_error, G4_FORMAT_ERROR,
                   "%s: %zu bytes at a %s address, expected %llu bytes "
                   "4096-byte aligned",
                   label, size,
                   reinterpret_cast<uintptr_t>(data) % 4096 ? "misaligned"
                                                            : "aligned",
                   (unsigned long long)expected_size);
  if (const char *problem = checkHeader(data, size, expected_fingerprint))
    return g4_fail(out_error, G4_FORMAT_ERROR, "%s: %s", label, problem);
  out_weights->data = static_cast<const uint8_t *>(data);
  out_weights->size = size;
  out_weights->mapped = 0;
  return G4_OK;
}

extern "C" g4_status g4_weights_release(g4_weights *weights) {
  if (!weights)
    return G4_INVALID_ARGUMENT;
  if (weights->data && weights->mapped)
    munmap(const_cast<uint8_t *>(weights->data), weights->size);
  weights->data = nullptr;
  weights->size = 0;
  return G4_OK;
}

extern "C" g4_status g4_weights_advise_gathered(const g4_weights *weights,
                                                uint64_t offset,
                                                uint64_t size) {
  if (!weights || !weights->data || offset > weights->size ||
      size > weights->size - offset)
    return G4_INVALID_ARGUMENT;
  if (!weights->mapped || size == 0)
    return G4_OK;
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  const uint64_t begin = (offset + page - 1) / page * page;
  const uint64_t end = (offset + size) / page * page;
  if (end > begin && madvise(const_cast<uint8_t *>(weights->data) + begin,
                             end - begin, MADV_RANDOM) != 0)
    return G4_IO_ERROR;
  return G4_OK;
}

extern "C" g4_status g4_weights_will_gather(const g4_weights *weights,
                                            const g4_weight_range *table,
                                            const int32_t *indices,
                                            int64_t count) {
  if (!weights || !weights->data || !table || (!indices && count > 0) ||
      table->offset > weights->size ||
      table->size > weights->size - table->offset)
    return G4_INVALID_ARGUMENT;
  if (!weights->mapped || table->row_bytes == 0)
    return G4_OK;
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  const uint64_t rows = table->size / table->row_bytes;
  for (int64_t i = 0; i < count; ++i) {
    if (indices[i] < 0 || uint64_t(indices[i]) >= rows)
      continue;
    const uint64_t first =
        table->offset + uint64_t(indices[i]) * table->row_bytes;
    const uint64_t begin = first / page * page;
    // Best effort: a failure only loses the read-ahead.
    madvise(const_cast<uint8_t *>(weights->data) + begin,
            first + table->row_bytes - begin, MADV_WILLNEED);
  }
  return G4_OK;
}

extern "C" g4_status g4_weights_copy_streamed(g4_weights *weights,
                                              const char *path,
                                              const g4_weight_range *keep,
                                              int keep_count,
                                              g4_error *out_error) {
  if (!weights || !weights->data || !path || keep_count < 0 ||
      (keep_count > 0 && !keep))
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  if (!weights->mapped)
    return G4_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return g4_fail(out_error, G4_IO_ERROR, "%s: cannot open: %s", path,
                   strerror(errno));
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  uint8_t *base = const_cast<uint8_t *>(weights->data);
  // Copy [begin, end) over its mapping: fresh anonymous pages, filled from
  // the file, then read-only again.
  auto copy = [&](uint64_t begin, uint64_t end) -> g4_status {
    if (end <= begin)
      return G4_OK;
    const uint64_t length = end - begin;
    if (mmap(base + begin, length, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      return g4_fail(out_error, G4_OUT_OF_MEMORY,
                     "%s: cannot allocate %llu bytes for the weights", path,
                     (unsigned long long)length);
    // Transparent huge pages where the kernel has them (best effort: the
    // copy works without): a 2 MiB page per fault instead of 4 KiB ones,
    // and one TLB entry where each step's streaming needed 512.
    madvise(base + begin, length, MADV_HUGEPAGE);
    for (uint64_t done = 0; done < length;) {
      const ssize_t got =
          pread(fd, base + begin + done, length - done, off_t(begin + done));
      if (got <= 0)
        return g4_fail(out_error, G4_IO_ERROR, "%s: cannot read: %s", path,
                       got < 0 ? strerror(errno) : "unexpected end of file");
      done += uint64_t(got);
    }
    mprotect(base + begin, length, PROT_READ);
    return G4_OK;
  };
  g4_status status = G4_OK;
  uint64_t from = 0;
  for (int i = 0; i <= keep_count && status == G4_OK; ++i) {
    // Ranges kept mapped start on pages (the packer aligns them); the copy
    // resumes at the page after one.
    const uint64_t until =
        i < keep_count ? keep[i].offset / page * page : weights->size;
    status = copy(from, until > from ? until : from);
    if (i < keep_count)
      from = (keep[i].offset + keep[i].size + page - 1) / page * page;
  }
  close(fd);
  return status;
}

extern "C" g4_status g4_weights_resident(const g4_weights *weights,
                                         uint64_t offset, uint64_t size,
                                         uint64_t *out_bytes) {
  if (!weights || !weights->data || !out_bytes || offset > weights->size ||
      size > weights->size - offset)
    return G4_INVALID_ARGUMENT;
  *out_bytes = 0;
  if (size == 0)
    return G4_OK;
  // Pages this process has mapped in (its resident set), from the
  // "present" bit of /proc/self/pagemap; mincore would also count pages
  // that are only in the page cache (a file the packer just wrote).
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0)
    return G4_IO_ERROR;
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  const uint64_t base = reinterpret_cast<uintptr_t>(weights->data);
  const uint64_t first = (base + offset) / page,
                 last = (base + offset + size - 1) / page;
  uint64_t entries[512];
  g4_status status = G4_OK;
  for (uint64_t at = first; at <= last && status == G4_OK;) {
    const uint64_t count = std::min<uint64_t>(512, last - at + 1);
    const ssize_t got = pread(pagemap, entries, count * sizeof(uint64_t),
                              off_t(at * sizeof(uint64_t)));
    if (got != ssize_t(count * sizeof(uint64_t))) {
      status = G4_IO_ERROR;
      break;
    }
    for (uint64_t p = 0; p < count; ++p)
      if (entries[p] >> 63) {
        // Count only the part of the page inside the range.
        const uint64_t begin = std::max((at + p) * page, base + offset);
        const uint64_t end =
            std::min((at + p + 1) * page, base + offset + size);
        *out_bytes += end - begin;
      }
    at += count;
  }
  close(pagemap);
  return status;
}
