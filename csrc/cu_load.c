/* cu_load.c: the base library's `load`, with every binary chunk checked by Cu's bytecode
   validator (core/bytecode/) before Lua's undump may turn it into a function. A reader
   function is drained first, so the validator sees the whole chunk. The validator opens
   Lua's luai_verifycode gate (core/bytecode_gate.rs) for exactly one load, and the gate is
   closed again whatever happens, so the original `load` (reachable through
   debug.getupvalue) can never load an unchecked chunk. */
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

/* core/bytecode_gate.rs: 1 and the gate opened when the chunk is valid; 0 and a message
   pushed when it is not. */
int cu_validate_for_load(lua_State *L, const char *s, size_t len);
void cu_gate_close(lua_State *L);

/* Calls the reader (upvalue-free: argument 1) until it returns nil or "", as lua_load
   would, and leaves the concatenation in argument 1. Returns 0, or 2 with fail and the
   message pushed when the reader raised or returned a non-string. */
static int drain_reader(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
      luaL_pushfail(L);
      lua_insert(L, -2);
      return 2;
    }
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
      luaL_pushfail(L);
      lua_pushliteral(L, "reader function must return a string");
      return 2;
    }
    if (lua_rawlen(L, -1) == 0) {
      lua_pop(L, 1);
      break;
    }
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lua_replace(L, 1);
  return 0;
}

static int cu_load(lua_State *L) {
  int status, nargs;
  if (lua_type(L, 1) == LUA_TFUNCTION) {
    int top = lua_gettop(L);
    lua_settop(L, 4);
    if (drain_reader(L)) return 2;
    lua_settop(L, top < 4 ? 3 : 4); /* keep "no env" distinct from env = nil */
  }
  if (lua_type(L, 1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    const char *mode = luaL_optstring(L, 3, "bt");
    if (len > 0 && s[0] == LUA_SIGNATURE[0] && strchr(mode, 'b') != NULL &&
        !cu_validate_for_load(L, s, len)) {
      luaL_pushfail(L);
      lua_insert(L, -2);
      return 2;
    }
  }
  nargs = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  status = lua_pcall(L, nargs, LUA_MULTRET, 0);
  cu_gate_close(L);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

/* Replaces _G.load with the checking version (the original becomes its upvalue). */
void cu_wrap_load(lua_State *L) {
  lua_getglobal(L, "load");
  lua_pushcclosure(L, cu_load, 1);
  lua_setglobal(L, "load");
}
