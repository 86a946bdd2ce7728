//===- ArenaTest.cpp - tests of the runtime's static arena ----------------===//
//
// Part of g4c. Checks alignment, exhaustion and reset of g4_arena.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

TEST(Arena, HandsOutAlignedDisjointBlocks) {
  alignas(64) uint8_t buffer[256];
  g4_arena arena;
  ASSERT_EQ(g4_arena_init(buffer, sizeof(buffer), &arena), G4_OK);
  void *a = nullptr, *b = nullptr;
  ASSERT_EQ(g4_arena_allocate(&arena, 3, 1, &a), G4_OK);
  ASSERT_EQ(g4_arena_allocate(&arena, 16, 64, &b), G4_OK);
  EXPECT_EQ(a, buffer);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  EXPECT_EQ(b, buffer + 64); // 3 bytes used, padded up to the next 64
  EXPECT_EQ(arena.used, 80u);
}

TEST(Arena, AlignsAbsoluteAddressOfMisalignedBuffer) {
  alignas(64) uint8_t buffer[128];
  g4_arena arena;
  ASSERT_EQ(g4_arena_init(buffer + 1, sizeof(buffer) - 1, &arena), G4_OK);
  void *p = nullptr;
  ASSERT_EQ(g4_arena_allocate(&arena, 8, 32, &p), G4_OK);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 32, 0u);
  EXPECT_EQ(p, buffer + 32);
}

TEST(Arena, ExhaustionFailsWithoutSideEffects) {
  uint8_t buffer[100];
  g4_arena arena;
  ASSERT_EQ(g4_arena_init(buffer, sizeof(buffer), &arena), G4_OK);
  void *p = nullptr;
  ASSERT_EQ(g4_arena_allocate(&arena, 100, 1, &p), G4_OK);
  void *q = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(g4_arena_allocate(&arena, 1, 1, &q), G4_OUT_OF_MEMORY);
  EXPECT_EQ(q, reinterpret_cast<void *>(0x1));
  EXPECT_EQ(arena.used, 100u);
  // A size that would wrap around size_t must not succeed.
  ASSERT_EQ(g4_arena_reset(&arena), G4_OK);
  EXPECT_EQ(g4_arena_allocate(&arena, SIZE_MAX, 1, &q), G4_OUT_OF_MEMORY);
}

TEST(Arena, ResetReusesMemory) {
  uint8_t buffer[32];
  g4_arena arena;
  ASSERT_EQ(g4_arena_init(buffer, sizeof(buffer), &arena), G4_OK);
  void *first = nullptr, *again = nullptr;
  ASSERT_EQ(g4_arena_allocate(&arena, 32, 1, &first), G4_OK);
  ASSERT_EQ(g4_arena_reset(&arena), G4_OK);
  ASSERT_EQ(g4_arena_allocate(&arena, 32, 1, &again), G4_OK);
  EXPECT_EQ(first, again);
}

TEST(Arena, RejectsBadArguments) {
  uint8_t buffer[8];
  g4_arena arena;
  void *p = nullptr;
  EXPECT_EQ(g4_arena_init(nullptr, 8, &arena), G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_arena_init(buffer, 8, nullptr), G4_INVALID_ARGUMENT);
  ASSERT_EQ(g4_arena_init(buffer, sizeof(buffer), &arena), G4_OK);
  EXPECT_EQ(g4_arena_allocate(&arena, 1, 0, &p), G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_arena_allocate(&arena, 1, 3, &p), G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_arena_allocate(nullptr, 1, 1, &p), G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_arena_allocate(&arena, 1, 1, nullptr), G4_INVALID_ARGUMENT);
  EXPECT_EQ(g4_arena_reset(nullptr), G4_INVALID_ARGUMENT);
}

} // namespace
