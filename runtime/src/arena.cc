//===- arena.cc - g4rt static arena ---------------------------------------===//
//
// Part of g4c. This file implements the bump allocator over caller memory
// that backs every runtime buffer (no heap after initialisation).
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"

#include <stdint.h>

extern "C" g4_status g4_arena_init(void *buffer, size_t capacity,
                                   g4_arena *out_arena) {
  if (!out_arena || (!buffer && capacity != 0))
    return G4_INVALID_ARGUMENT;
  out_arena->base = static_cast<uint8_t *>(buffer);
  out_arena->capacity = capacity;
  out_arena->used = 0;
  return G4_OK;
}

extern "C" g4_status g4_arena_allocate(g4_arena *arena, size_t size,
                                       size_t alignment, void **out_pointer) {
  if (!arena || !out_pointer || alignment == 0 ||
      (alignment & (alignment - 1)) != 0)
    return G4_INVALID_ARGUMENT;
  // Align the absolute address, not the offset: the caller's block may itself
  // be less aligned than the request.
  uintptr_t start = reinterpret_cast<uintptr_t>(arena->base) + arena->used;
  size_t padding = static_cast<size_t>(-start & (alignment - 1));
  size_t available = arena->capacity - arena->used;
  if (padding > available || size > available - padding)
    return G4_OUT_OF_MEMORY;
  arena->used += padding;
  *out_pointer = arena->base + arena->used;
  arena->used += size;
  return G4_OK;
}

extern "C" g4_status g4_arena_reset(g4_arena *arena) {
  if (!arena)
    return G4_INVALID_ARGUMENT;
  arena->used = 0;
  return G4_OK;
}
