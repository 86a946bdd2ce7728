/*===- g4rt.h - g4c runtime C API -------------------------------*- C -*-===*\
|*                                                                          *|
|* Part of g4c. The C ABI of the tiny runtime that compiled Gemma 4 models   *|
|* link against. Conventions: every name starts with g4_; calls return a    *|
|* g4_status; out_ parameters come last; the caller supplies memory; nothing *|
|* allocates after initialisation.                                          *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef G4RT_H
#define G4RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Status codes
 *===----------------------------------------------------------------------===*/

/** Result of every runtime call. G4_OK is zero, so `if (status)` tests
 *  for failure. */
typedef enum g4_status {
  G4_OK = 0,
  G4_INVALID_ARGUMENT = 1, /**< a parameter is null, zero or out of range */
  G4_OUT_OF_MEMORY = 2,    /**< the caller-provided memory is too small */
  G4_IO_ERROR = 3,         /**< a file could not be opened, mapped or read */
  G4_FORMAT_ERROR = 4,     /**< a file's contents are not what was expected */
} g4_status;

/** Returns a static, human-readable name for |status| ("ok",
 *  "invalid argument", ...); "unknown status" for values outside the enum. */
const char *g4_status_string(g4_status status);

/** Where a failing call that takes one describes what went wrong (the
 *  file and the problem). Caller-owned; no allocation. */
typedef struct g4_error {
  char message[256];
} g4_error;

/** Formats a message (printf-style) into |out_error| when it is not null and
 *  returns |status|: the one way runtime and generated code report failure. */
g4_status g4_fail(g4_error *out_error, g4_status status, const char *format,
                  ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*===----------------------------------------------------------------------===*
 * Arena: static bump allocation over caller-provided memory
 *===----------------------------------------------------------------------===*/

/** A bump allocator over one caller-owned block. The compiler plans every
 *  buffer's offset statically; the arena hands out the blocks it planned
 *  (KV caches, activations) once at session creation. Plain data: it can
 *  live on the stack or in static storage and needs no release. */
typedef struct g4_arena {
  uint8_t *base;   /**< start of the caller's block */
  size_t capacity; /**< size of the block in bytes */
  size_t used;     /**< bytes handed out so far, including padding */
} g4_arena;

/** Initialises |out_arena| over the |capacity| bytes at |buffer|. The
 *  memory stays owned by the caller and must outlive the arena. */
g4_status g4_arena_init(void *buffer, size_t capacity, g4_arena *out_arena);

/** Hands out |size| bytes aligned to |alignment| (a power of two) from
 *  |arena|. Fails with G4_OUT_OF_MEMORY, leaving |arena| unchanged, when
 *  the block has no room. */
g4_status g4_arena_allocate(g4_arena *arena, size_t size, size_t alignment,
                            void **out_pointer);

/** Forgets every allocation of |arena|; its memory is handed out again. */
g4_status g4_arena_reset(g4_arena *arena);

/*===----------------------------------------------------------------------===*
 * Packed weights (.g4w)
 *===----------------------------------------------------------------------===*/

/** A read-only mapping of a .g4w file. Tensors live at the offsets the
 *  compiler recorded in the generated code. */
typedef struct g4_weights {
  const uint8_t *data; /**< the whole file */
  size_t size;         /**< its size in bytes */
  int mapped;          /**< 1: g4_weights_map mapped it; 0: caller memory */
} g4_weights;

/** Maps the .g4w file at |path| read-only and checks that it is the one the
 *  generated code was compiled against: |expected_size| bytes, a valid
 *  header, fingerprint |expected_fingerprint|. Fails with G4_IO_ERROR (cannot
 *  open or map) or G4_FORMAT_ERROR (wrong size, magic, version or
 *  fingerprint); |out_error| (may be null) then names the file and the
 *  problem. */
g4_status g4_weights_map(const char *path, uint64_t expected_fingerprint,
                         uint64_t expected_size, g4_weights *out_weights,
                         g4_error *out_error);

/** Uses the .g4w image at |data| (|size| bytes, 4096-byte aligned, e.g.
 *  linked into the program as a const array) with the same checks as
 *  g4_weights_map; |label| names it in errors. Nothing is copied. */
g4_status g4_weights_wrap(const void *data, size_t size, const char *label,
                          uint64_t expected_fingerprint, uint64_t expected_size,
                          g4_weights *out_weights, g4_error *out_error);

/** Unmaps |weights| (if g4_weights_map mapped them); they may then be mapped
 *  or wrapped again. */
g4_status g4_weights_release(g4_weights *weights);

/** A named byte range of a .g4w file (generated headers list the tables
 *  read by row gathers this way, with their row size). */
typedef struct g4_weight_range {
  const char *name;
  uint64_t offset;
  uint64_t size;
  uint64_t row_bytes; /**< rows of this many bytes from |offset|; 0: none */
} g4_weight_range;

/** Tells the kernel that the |size| bytes at |offset| of mapped |weights|
 *  are read a row at a time in no order (madvise MADV_RANDOM: no
 *  read-ahead, no fault-around), so a table's unused rows stay out of the
 *  process. No effect on caller memory. */
g4_status g4_weights_advise_gathered(const g4_weights *weights, uint64_t offset,
                                     uint64_t size);

/** Starts reading, in the background, rows |indices[0..count)| of |table|
 *  (rows of table->row_bytes bytes) in mapped |weights| (madvise
 *  MADV_WILLNEED): a prompt's rows of a table out of the page cache then
 *  load in parallel while the first tokens run, not a page fault at a
 *  time. A hint: indices outside the table are skipped, and it has no
 *  effect on caller memory or a table without rows. */
g4_status g4_weights_will_gather(const g4_weights *weights,
                                 const g4_weight_range *table,
                                 const int32_t *indices, int64_t count);

/** Replaces the file mapping of mapped |weights| (from |path|) outside the
 *  |keep_count| ranges |keep| (the gathered tables) with a private copy in
 *  anonymous memory: the weights every step streams then stay in memory
 *  however eagerly the kernel reclaims clean file pages (proactive
 *  reclaim such as DAMON pageout drops them between decode steps; without
 *  swap, anonymous pages stay). Costs reading them once at open. No effect
 *  on caller memory. */
g4_status g4_weights_copy_streamed(g4_weights *weights, const char *path,
                                   const g4_weight_range *keep, int keep_count,
                                   g4_error *out_error);

/** How many of the |size| bytes at |offset| of |weights| are in this
 *  process's resident set now (pages it has touched and that are still
 *  mapped in; Linux /proc/self/pagemap). Fails with G4_INVALID_ARGUMENT for
 *  a range outside the file, G4_IO_ERROR where pagemap cannot be read. */
g4_status g4_weights_resident(const g4_weights *weights, uint64_t offset,
                              uint64_t size, uint64_t *out_bytes);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* G4RT_H */
