//===- StatusTest.cpp - tests of g4_status_string -------------------------===//
//
// Part of g4c. Every status has its own message; unknown values do not crash.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

TEST(Status, EveryCodeHasADistinctMessage) {
  std::set<std::string> messages;
  for (g4_status status : {G4_OK, G4_INVALID_ARGUMENT, G4_OUT_OF_MEMORY,
                           G4_IO_ERROR, G4_FORMAT_ERROR}) {
    std::string message = g4_status_string(status);
    EXPECT_NE(message, "unknown status");
    messages.insert(message);
  }
  EXPECT_EQ(messages.size(), 5u);
  EXPECT_STREQ(g4_status_string(G4_OK), "ok");
}

TEST(Status, UnknownValue) {
  EXPECT_STREQ(g4_status_string(static_cast<g4_status>(12345)),
               "unknown status");
}

} // namespace
