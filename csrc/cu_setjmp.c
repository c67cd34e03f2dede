/* cu_setjmp.c: the runtime clang's -mllvm -wasm-enable-sjlj lowering calls. setjmp records
   (invocation, label) in the jmp_buf; longjmp throws the C longjmp tag; the landing pad of the
   function that called setjmp asks __wasm_setjmp_test which label to resume. Compiled with
   -mexception-handling (not with the sjlj lowering itself). */
#include <setjmp.h>

/* The tag longjmp throws and every lowered setjmp catches: one i32, the address of the
   {env, val} pair below. C cannot spell a tag, so it is defined in module-level assembly. */
__asm__(".globl __c_longjmp\n.tagtype __c_longjmp i32\n__c_longjmp:\n");

struct cu_jmp { void *invocation; unsigned label; void *env; int val; };
_Static_assert(sizeof(struct cu_jmp) <= sizeof(jmp_buf), "jmp_buf too small");

void __wasm_setjmp(void *env, unsigned label, void *invocation) {
  struct cu_jmp *jb = env;
  if (label == 0 || invocation == 0) __builtin_trap();
  jb->invocation = invocation;
  jb->label = label;
}

unsigned __wasm_setjmp_test(void *env, void *invocation) {
  struct cu_jmp *jb = env;
  return jb->invocation == invocation ? jb->label : 0;
}

void __wasm_longjmp(void *env, int val) {
  struct cu_jmp *jb = env;
  jb->env = env;
  jb->val = val == 0 ? 1 : val;
  __builtin_wasm_throw(1, &jb->env);
}
