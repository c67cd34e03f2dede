/* time.h: time() and clock() read the host clock (core/libc/time.rs). */
#ifndef CU_TIME_H
#define CU_TIME_H
#include <stddef.h>
typedef long long time_t;
typedef long long clock_t;
#define CLOCKS_PER_SEC 1000000LL
time_t time(time_t *t);
clock_t clock(void);
#endif
