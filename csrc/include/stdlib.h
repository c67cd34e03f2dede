/* stdlib.h: the freestanding subset Lua needs (strtod in core/libc/strtod.rs,
   the allocator entry points in core/libc/malloc.rs, abort traps). */
#ifndef CU_STDLIB_H
#define CU_STDLIB_H
#include <stddef.h>
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
double strtod(const char *restrict s, char **restrict end);
void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
_Noreturn void abort(void);
char *getenv(const char *name);
static inline int abs(int x) { return x < 0 ? -x : x; }
#endif
