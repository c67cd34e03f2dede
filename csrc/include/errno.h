/* errno.h: a plain global; nothing in the module is threaded. */
#ifndef CU_ERRNO_H
#define CU_ERRNO_H
extern int errno;
#define ENOENT 2
#define EINVAL 22
#define ERANGE 34
#endif
