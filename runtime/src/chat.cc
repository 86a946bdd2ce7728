//===- chat.cc - the Gemma 4 chat template
//---------------------------------===//
//
// Part of g4c. g4_chat_format writes a conversation in Gemma 4's turn
// format (architecture document §4.1) into caller memory.
//
//===----------------------------------------------------------------------===//

#include "g4gen.h"

#include <cstring>

namespace {

/// Appends to a caller buffer, counting what does not fit.
struct Writer {
  char *out;
  size_t capacity, length = 0;

  void put(const char *text, size_t size) {
    if (length + size <= capacity)
      std::memcpy(out + length, text, size);
    length += size;
  }
  void put(const char *text) { put(text, std::strlen(text)); }
};

/// |text| without its thoughts: every "<|channel>" ... "<channel|>" span
/// (an unterminated one runs to the end).
void putWithoutThoughts(Writer &writer, const char *text, size_t length) {
  const char open[] = "<|channel>", close[] = "<channel|>";
  const size_t openSize = sizeof(open) - 1, closeSize = sizeof(close) - 1;
  size_t i = 0;
  while (i < length) {
    size_t start = i;
    while (start + openSize <= length &&
           std::memcmp(text + start, open, openSize) != 0)
      ++start;
    if (start + openSize > length) {
      writer.put(text + i, length - i);
      return;
    }
    writer.put(text + i, start - i);
    size_t end = start + openSize;
    while (end + closeSize <= length &&
           std::memcmp(text + end, close, closeSize) != 0)
      ++end;
    i = end + closeSize <= length ? end + closeSize : length;
  }
}

const char *roleName(g4_role role) {
  return role == G4_ROLE_SYSTEM ? "system"
         : role == G4_ROLE_USER ? "user"
                                : "model";
}

} // namespace

extern "C" g4_status g4_chat_format(const g4_message *messages, size_t count,
                                    int thinking, int add_generation_prompt,
                                    char *out, size_t capacity,
                                    size_t *out_length, g4_error *out_error) {
  if ((!messages && count) || (!out && capacity) || !out_length)
    return g4_fail(out_error, G4_INVALID_ARGUMENT, "null argument");
  for (size_t i = 0; i < count; ++i)
    if ((!messages[i].text && messages[i].length) ||
        messages[i].role < G4_ROLE_SYSTEM || messages[i].role > G4_ROLE_MODEL)
      return g4_fail(out_error, G4_INVALID_ARGUMENT, "message %zu is invalid",
                     i);
  Writer writer{out, capacity};
  writer.put("<bos>");
  size_t first = 0;
  const bool system = count && messages[0].role == G4_ROLE_SYSTEM;
  if (system || thinking) {
    writer.put("<|turn>system\n");
    if (thinking)
      writer.put("<|think|>\n");
    if (system)
      writer.put(messages[0].text, messages[0].length);
    writer.put("<turn|>\n");
    first = system ? 1 : 0;
  }
  for (size_t i = first; i < count; ++i) {
    const g4_message &message = messages[i];
    if (message.role == G4_ROLE_SYSTEM)
      return g4_fail(out_error, G4_INVALID_ARGUMENT,
                     "only the first message may be the system's");
    writer.put("<|turn>");
    writer.put(roleName(message.role));
    writer.put("\n");
    if (message.role == G4_ROLE_MODEL)
      putWithoutThoughts(writer, message.text, message.length);
    else
      writer.put(message.text, message.length);
    writer.put("<turn|>\n");
  }
  if (add_generation_prompt)
    writer.put("<|turn>model\n");
  *out_length = writer.length;
  if (writer.length > capacity)
    return g4_fail(out_error, G4_OUT_OF_MEMORY,
                   "the chat text needs %zu bytes, the buffer holds %zu",
                   writer.length, capacity);
  return G4_OK;
}
