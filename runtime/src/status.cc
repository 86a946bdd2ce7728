//===- status.cc - g4rt status strings ------------------------------------===//
//
// Part of g4c. This file implements g4_status_string and g4_fail.
//
//===----------------------------------------------------------------------===//

#include "g4rt.h"

#include <stdarg.h>
#include <stdio.h>

extern "C" const char *g4_status_string(g4_status status) {
  switch (status) {
  case G4_OK:
    return "ok";
  case G4_INVALID_ARGUMENT:
    return "invalid argument";
  case G4_OUT_OF_MEMORY:
    return "out of memory";
  case G4_IO_ERROR:
    return "i/o error";
  case G4_FORMAT_ERROR:
    return "format error";
  }
  return "unknown status";
}

extern "C" g4_status g4_fail(g4_error *out_error, g4_status status,
                             const char *format, ...) {
  if (out_error) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(out_error->message, sizeof(out_error->message), format,
              arguments);
    va_end(arguments);
  }
  return status;
}
