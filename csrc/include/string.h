/* string.h: the freestanding subset Lua needs; definitions live in core/libc/string.rs
   (mem* come from Rust's compiler_builtins). */
#ifndef CU_STRING_H
#define CU_STRING_H
#include <stddef.h>
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcoll(const char *a, const char *b);
char *strcpy(char *restrict d, const char *restrict s);
char *strchr(const char *s, int c);
char *strstr(const char *h, const char *n);
char *strpbrk(const char *s, const char *accept);
size_t strspn(const char *s, const char *accept);
char *strerror(int errnum);
#endif
