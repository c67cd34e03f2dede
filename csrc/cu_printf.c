/* cu_printf.c: the variadic printf entry points. C-variadic definitions are unstable in
   Rust, so these hand their va_list (a pointer to the arguments on wasm32) to the Rust
   formatter, core/libc/printf_abi.rs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cu_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
double cu_strtod(const char *s, char **end);

int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt, va_list ap) {
  return cu_vsnprintf(buf, n, fmt, ap);
}

int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = cu_vsnprintf(buf, n, fmt, ap);
  va_end(ap);
  return r;
}

/* Only stderr is ever printed to (lua_writestringerror is routed to cu_output_errorf), but
   keep fprintf honest for any stream: format, then write. */
int fprintf(FILE *restrict f, const char *restrict fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int r = cu_vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (r > 0) fwrite(buf, 1, (size_t)r < sizeof buf ? (size_t)r : sizeof buf - 1, f);
  return r;
}

double strtod(const char *restrict s, char **restrict end) {
  return cu_strtod(s, end);
}
