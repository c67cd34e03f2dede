/* cu_output.c: Lua's lua_writestringerror (warnings, panics) formatted onto the stderr
   stream of the print channel. Built for the host and for wasm. */
#include <stdio.h>

#include "cu_config.h"

void cu_output_errorf(const char *fmt, const char *arg) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, fmt, arg);
  if (n > 0) cu_output_write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}
