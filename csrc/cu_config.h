/* cu_config.h: Cu's configuration of Lua 5.4, included at the end of lua.h through the
   LUA_USER_H hook (build.rs passes -DLUA_USER_H). Lua's own files are never edited. */
#ifndef CU_CONFIG_H
#define CU_CONFIG_H

#include <stddef.h>

/* Only the "C" locale exists: the decimal point is always '.', no localeconv(). */
#undef lua_getlocaledecpoint
#define lua_getlocaledecpoint() '.'

/* print, io.write and warnings go to the print channel (core/output.rs), which the
   reply delivers to JS. Stream 1 is stdout, 2 is stderr. */
void cu_output_write(int stream, const char *s, size_t len);
void cu_output_errorf(const char *fmt, const char *arg);
#define lua_writestring(s, l) cu_output_write(1, (s), (l))
#define lua_writeline() cu_output_write(1, "\n", 1)
#define lua_writestringerror(s, p) cu_output_errorf((s), (p))

/* String-hash seed from the entropy JS handed to cu_init (core/runtime.rs). */
unsigned cu_hash_seed(void);
#define luai_makeseed(L) ((void)(L), cu_hash_seed())

/* Every binary chunk Lua loads passes Cu's check (core/bytecode_gate.rs). */
struct Proto;
void cu_verify_chunk(struct lua_State *L, struct Proto *p);
#define luai_verifycode(L, p) cu_verify_chunk((L), (p))

#endif
