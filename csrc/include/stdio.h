/* stdio.h: what Lua's C files reference. There is no file system: csrc/cu_stdio.c
   defines FILE handles that read end-of-file and writes that go to the print channel. */
#ifndef CU_STDIO_H
#define CU_STDIO_H
#include <stddef.h>
#include <stdarg.h>
typedef struct CuFile FILE;
extern FILE *const stdin, *const stdout, *const stderr;
#define EOF (-1)
#define BUFSIZ 1024
int snprintf(char *restrict b, size_t n, const char *restrict f, ...);
int vsnprintf(char *restrict b, size_t n, const char *restrict f, va_list ap);
int fprintf(FILE *restrict f, const char *restrict fmt, ...);
size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f);
size_t fread(void *restrict p, size_t size, size_t n, FILE *restrict f);
int fflush(FILE *f);
int fputs(const char *restrict s, FILE *restrict f);
char *fgets(char *restrict s, int n, FILE *restrict f);
int getc(FILE *f);
int ungetc(int c, FILE *f);
int ferror(FILE *f);
int feof(FILE *f);
FILE *fopen(const char *restrict path, const char *restrict mode);
FILE *freopen(const char *restrict path, const char *restrict mode, FILE *restrict f);
int fclose(FILE *f);
#endif
