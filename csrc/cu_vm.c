/* cu_vm.c: Lua's interpreter loop (lvm.c) and debug interface (ldebug.c) in one
   translation unit, so the count hook behind Cu's instruction budget costs a decrement per
   instruction instead of a call: while a count hook is pending, the loop's per-instruction
   trap check lands in cu_count_step, which only calls luaG_traceexec when the hook is due
   (or other hooks are set). Lua's files are included unchanged. */
#include "ldebug.c"

static inline int cu_count_step(lua_State *L, const Instruction *pc) {
  if (L->hookmask == LUA_MASKCOUNT && L->hookcount > 1) {
    L->hookcount--;
    return 1; /* keep the trap on */
  }
  if (!L->allowhook && L->hookmask == LUA_MASKCOUNT) {
    /* A finalizer (__gc) is running: Lua turns hooks off there (lgc.c, GCTM), which would
       let one loop forever past the budget. The budget's count hook runs anyway; GCTM
       restores allowhook when the finalizer ends, also when the hook raised an error. */
    int trap;
    L->allowhook = 1;
    trap = luaG_traceexec(L, pc);
    L->allowhook = 0;
    return trap;
  }
  return luaG_traceexec(L, pc);
}

#define luaG_traceexec cu_count_step
/* Dispatch by `switch`, not clang's computed goto (lvm.c picks ljumptab.h under __GNUC__):
   WebAssembly has no indirect jump, so the computed gotos become one br_table anyway, while
   the fetch code (with cu_count_step inlined) was copied to the end of every opcode.
   Measured: luaV_execute 22.2 -> 16.8 KB, and fib / method calls ~8% faster. */
#if defined(__wasm__)
#define LUA_USE_JUMPTABLE 0
#endif
#include "lvm.c"
