/* cu_strlib.c: Lua's string library (lstrlib.c, included unchanged) with its work charged to
   the instruction budget. Pattern matching runs in C, where the count hook never fires, so a
   backtracking pattern could otherwise run for hours. Every unlikely-branch check in
   lstrlib.c (one per match step, and at each library call) also counts down
   cu_budget_steps; when it runs out, the check is taken as failed, which raises a Lua error
   right there ("pattern too complex" in the matcher), and cu_budget_exhausted (core/runtime.rs)
   makes the call end with INSTRUCTION_LIMIT whatever the script catches. */

/* The budget left to the string library in this call, or a huge number when there is none.
   One per thread on the host, where cargo test runs instances on parallel threads. */
#ifdef __wasm__
static long long cu_budget_steps = 0x7fffffffffffffffLL;
#else
static _Thread_local long long cu_budget_steps = 0x7fffffffffffffffLL;
#endif
int cu_budget_exhausted(void);

/* Set by the runtime (core/runtime.rs) before every call. */
void cu_budget_set(long long steps) { cu_budget_steps = steps; }

/* Charges `steps` of C work done elsewhere (table.move's loop) to the same budget; returns
   1 when it is spent (the call then ends with INSTRUCTION_LIMIT). */
int cu_budget_charge(long long steps) {
  if (steps > cu_budget_steps) {
    cu_budget_steps = -1;
    return cu_budget_exhausted();
  }
  cu_budget_steps -= steps;
  return 0;
}

#define luai_likely(x) (__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x) \
  (__builtin_expect(((x) != 0) || (--cu_budget_steps < 0 && cu_budget_exhausted()), 0))

#include "lstrlib.c"

/* Whether the Lua pattern `p` occurs in `s`, found as string.find(s, p) finds it (no
   captures are made): 1 or 0. For schema patterns (core/schema_lua.rs), without making Lua
   strings; the matcher's errors (a pattern too complex, the budget spent) raise as in
   string.find. */
int cu_pattern_find(lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
  MatchState ms;
  const char *s1 = s;
  int anchor = (lp > 0 && *p == '^');
  if (anchor) {
    p++;
    lp--;
  }
  prepstate(&ms, L, s, ls, p, lp);
  do {
    reprepstate(&ms);
    if (match(&ms, s1, p) != NULL) return 1;
  } while (s1++ < ms.src_end && !anchor);
  return 0;
}
