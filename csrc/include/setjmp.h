/* setjmp.h: lowered by clang's -mllvm -wasm-enable-sjlj to wasm exception handling;
   the runtime (__wasm_setjmp, __wasm_setjmp_test, __wasm_longjmp) is csrc/cu_setjmp.c. */
#ifndef CU_SETJMP_H
#define CU_SETJMP_H
typedef struct { void *invocation; unsigned label; void *env; int val; } jmp_buf[1];
int setjmp(jmp_buf env) __attribute__((returns_twice));
_Noreturn void longjmp(jmp_buf env, int val);
#endif
