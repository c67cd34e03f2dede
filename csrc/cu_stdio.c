/* cu_stdio.c: the three standard streams Lua's C files reference. A browser has no file
   system: fopen fails with ENOENT, stdin is always at end-of-file, and writes to stdout
   and stderr go to the print channel (core/output.rs). io/os as Lua programs see them are
   csrc/cu_iolib.c and csrc/cu_oslib.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cu_config.h"

struct CuFile { int stream; };
static struct CuFile files[3] = {{0}, {1}, {2}};
FILE *const stdin = &files[0];
FILE *const stdout = &files[1];
FILE *const stderr = &files[2];
int errno;

size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f) {
  if (f->stream == 0) return 0;
  cu_output_write(f->stream, p, size * n);
  return n;
}
int fputs(const char *restrict s, FILE *restrict f) {
  return fwrite(s, 1, strlen(s), f) ? 0 : EOF;
}
size_t fread(void *restrict p, size_t size, size_t n, FILE *restrict f) {
  (void)p; (void)size; (void)n; (void)f;
  return 0;
}
char *fgets(char *restrict s, int n, FILE *restrict f) {
  (void)s; (void)n; (void)f;
  return NULL;
}
int getc(FILE *f) { (void)f; return EOF; }
int ungetc(int c, FILE *f) { (void)c; (void)f; return EOF; }
int fflush(FILE *f) { (void)f; return 0; }
int ferror(FILE *f) { (void)f; return 0; }
int feof(FILE *f) { return f->stream == 0; }
FILE *fopen(const char *restrict path, const char *restrict mode) {
  (void)path; (void)mode;
  errno = ENOENT;
  return NULL;
}
FILE *freopen(const char *restrict path, const char *restrict mode, FILE *restrict f) {
  (void)path; (void)mode; (void)f;
  errno = ENOENT;
  return NULL;
}
int fclose(FILE *f) { (void)f; return 0; }
char *strerror(int e) {
  return e == ENOENT ? "No such file or directory" : e == ERANGE ? "Numerical result out of range"
       : e == EINVAL ? "Invalid argument" : "Unknown error";
}
