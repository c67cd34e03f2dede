/*
** cu_iolib.c: the 'io' library a browser can honour, and 'package'/'require'.
** Modelled on Lua's liolib.c and loadlib.c. There is no file system: the only files are
** the three standard ones. stdin is always at end-of-file; stdout and stderr write to the
** print channel (cu_output_write). io.open, io.popen, io.tmpfile, io.input, io.output,
** io.close, package.loadlib and package.searchpath are absent; modules come from
** package.preload, from the database (core/modules.rs: store_lua.rs adds its searcher
** second) or from searchers the program adds.
*/

#define LUA_LIB

#include <stdio.h>

#include "lua.h"

#include "lauxlib.h"

#include "cu_config.h"


/*
** {======================================================
** File handles
** =======================================================
*/

/* What glibc reports for the operations a standard stream refuses. */
#define EBADF_MSG	"Bad file descriptor"
#define EBADF_NUM	9
#define ESPIPE_MSG	"Illegal seek"  /* the standard files behave as pipes */
#define ESPIPE_NUM	29

#define IO_INPUT	"_IO_input"
#define IO_OUTPUT	"_IO_output"

typedef struct CuStream {
  luaL_Stream s;  /* first: a Lua file handle for any C code that expects one */
  int stream;  /* 0 stdin, 1 stdout, 2 stderr */
} CuStream;


#define tostream(L)	((CuStream *)luaL_checkudata(L, 1, LUA_FILEHANDLE))

#define isclosed(p)	((p)->s.closef == NULL)


static int io_type (lua_State *L) {
  CuStream *p;
  luaL_checkany(L, 1);
  p = (CuStream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
  if (p == NULL)
    luaL_pushfail(L);  /* not a file */
  else if (isclosed(p))
    lua_pushliteral(L, "closed file");
  else
    lua_pushliteral(L, "file");
  return 1;
}


static int f_tostring (lua_State *L) {
  CuStream *p = tostream(L);
  if (isclosed(p))
    lua_pushliteral(L, "file (closed)");
  else
    lua_pushfstring(L, "file (%p)", (void *)p->s.f);
  return 1;
}


static CuStream *tofile (lua_State *L) {
  CuStream *p = tostream(L);
  if (l_unlikely(isclosed(p)))
    luaL_error(L, "attempt to use a closed file");
  return p;
}


static int aux_close (lua_State *L) {
  CuStream *p = tostream(L);
  lua_CFunction cf = p->s.closef;
  p->s.closef = NULL;  /* mark stream as closed */
  return (*cf)(L);  /* close it */
}


static int f_close (lua_State *L) {
  tofile(L);  /* make sure argument is an open stream */
  return aux_close(L);
}


static int f_gc (lua_State *L) {
  CuStream *p = tostream(L);
  if (!isclosed(p))
    aux_close(L);
  return 0;
}


/* function to (not) close the standard files stdin, stdout, and stderr */
static int io_noclose (lua_State *L) {
  CuStream *p = tostream(L);
  p->s.closef = &io_noclose;  /* keep file opened */
  luaL_pushfail(L);
  lua_pushliteral(L, "cannot close standard file");
  return 2;
}


static int fileerror (lua_State *L, const char *msg, int en) {
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  lua_pushinteger(L, en);
  return 3;
}

/* }====================================================== */


/*
** {======================================================
** READ: stdin is always at end-of-file; stdout and stderr cannot be read
** =======================================================
*/

/* Reads as liolib's g_read does at end-of-file: a number, a line or a count of bytes
   fails, "a" succeeds with "". A read from stdout or stderr fails as glibc's does. */
static int g_read (lua_State *L, CuStream *p, int first) {
  int nargs = lua_gettop(L) - 1;
  int n, success;
  if (nargs == 0) {  /* no arguments? */
    luaL_pushfail(L);  /* no line */
    success = 0;
    n = first + 1;  /* to return 1 result */
  }
  else {
    luaL_checkstack(L, nargs+LUA_MINSTACK, "too many arguments");
    success = 1;
    for (n = first; nargs-- && success; n++) {
      if (lua_type(L, n) == LUA_TNUMBER) {
        luaL_checkinteger(L, n);
        lua_pushliteral(L, "");  /* nothing read */
        success = 0;
      }
      else {
        const char *fm = luaL_checkstring(L, n);
        if (*fm == '*') fm++;  /* skip optional '*' (for compatibility) */
        switch (*fm) {
          case 'n':  /* number */
            luaL_pushfail(L);
            success = 0;
            break;
          case 'l': case 'L':  /* line */
            lua_pushliteral(L, "");
            success = 0;
            break;
          case 'a':  /* the rest of the file */
            lua_pushliteral(L, "");
            break;  /* always success */
          default:
            return luaL_argerror(L, n, "invalid format");
        }
      }
    }
  }
  if (p->stream != 0)
    return fileerror(L, EBADF_MSG, EBADF_NUM);
  if (!success) {
    lua_pop(L, 1);  /* remove last result */
    luaL_pushfail(L);  /* push nil instead */
  }
  return n - first;
}


static int io_read (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, IO_INPUT);  /* pushed on top, as in liolib.c */
  return g_read(L, (CuStream *)lua_touserdata(L, -1), 1);
}


static int f_read (lua_State *L) {
  return g_read(L, tofile(L), 2);
}


/*
** Iteration function for 'lines': upvalues are the file, the number of formats, a
** 'toclose' flag (always false: no file is ever opened) and the formats.
*/
static int io_readline (lua_State *L) {
  CuStream *p = (CuStream *)lua_touserdata(L, lua_upvalueindex(1));
  int i;
  int n = (int)lua_tointeger(L, lua_upvalueindex(2));
  if (isclosed(p))  /* file is already closed? */
    return luaL_error(L, "file is already closed");
  lua_settop(L , 1);
  luaL_checkstack(L, n, "too many arguments");
  for (i = 1; i <= n; i++)  /* push arguments to 'g_read' */
    lua_pushvalue(L, lua_upvalueindex(3 + i));
  n = g_read(L, p, 2);  /* 'n' is number of results */
  if (lua_toboolean(L, -n))  /* read at least one value? */
    return n;  /* return them */
  else {  /* first result is false: EOF or error */
    if (n > 1) {  /* is there error information? */
      /* 2nd result is error message */
      return luaL_error(L, "%s", lua_tostring(L, -n + 1));
    }
    return 0;
  }
}


/* maximum number of arguments to 'f:lines'/'io.lines', as in liolib.c */
#define MAXARGLINE	250

static void aux_lines (lua_State *L) {
  int n = lua_gettop(L) - 1;  /* number of arguments to read */
  luaL_argcheck(L, n <= MAXARGLINE, MAXARGLINE + 2, "too many arguments");
  lua_pushvalue(L, 1);  /* file */
  lua_pushinteger(L, n);  /* number of arguments to read */
  lua_pushboolean(L, 0);  /* do not close the file when finished */
  lua_rotate(L, 2, 3);  /* move the three values to their positions */
  lua_pushcclosure(L, io_readline, 3 + n);
}


static int f_lines (lua_State *L) {
  tofile(L);  /* check that it's a valid file handle */
  aux_lines(L);
  return 1;
}


static int io_lines (lua_State *L) {
  if (lua_isnone(L, 1)) lua_pushnil(L);  /* at least one argument */
  if (!lua_isnil(L, 1))  /* a file name? */
    return luaL_error(L, "no file system: cannot open '%s'",
                         luaL_checkstring(L, 1));
  lua_getfield(L, LUA_REGISTRYINDEX, IO_INPUT);  /* default input */
  lua_replace(L, 1);  /* put it at index 1 */
  tofile(L);  /* check that it's a valid file handle */
  aux_lines(L);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** WRITE, and the rest of the methods
** =======================================================
*/

static int g_write (lua_State *L, CuStream *p, int arg) {
  int nargs = lua_gettop(L) - arg;
  int status = 1;
  for (; nargs--; arg++) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
      char buff[64];
      int len = lua_isinteger(L, arg)
                ? l_sprintf(buff, sizeof(buff), LUA_INTEGER_FMT,
                            (LUAI_UACINT)lua_tointeger(L, arg))
                : l_sprintf(buff, sizeof(buff), LUA_NUMBER_FMT,
                            (LUAI_UACNUMBER)lua_tonumber(L, arg));
      if (p->stream != 0 && len > 0)
        cu_output_write(p->stream, buff, (size_t)len);
      status = status && p->stream != 0 && len > 0;
    }
    else {
      size_t l;
      const char *s = luaL_checklstring(L, arg, &l);
      if (p->stream != 0)
        cu_output_write(p->stream, s, l);
      status = status && (p->stream != 0 || l == 0);
    }
  }
  if (l_likely(status))
    return 1;  /* file handle already on stack top */
  else  /* stdin is not open for writing */
    return fileerror(L, EBADF_MSG, EBADF_NUM);
}


static int io_write (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, IO_OUTPUT);
  return g_write(L, (CuStream *)lua_touserdata(L, -1), 1);
}


static int f_write (lua_State *L) {
  CuStream *p = tofile(L);
  lua_pushvalue(L, 1);  /* push file at the stack top (to be returned) */
  return g_write(L, p, 2);
}


static int f_seek (lua_State *L) {
  static const char *const modenames[] = {"set", "cur", "end", NULL};
  tofile(L);
  luaL_checkoption(L, 2, "cur", modenames);
  luaL_optinteger(L, 3, 0);
  return fileerror(L, ESPIPE_MSG, ESPIPE_NUM);
}


static int f_setvbuf (lua_State *L) {
  static const char *const modenames[] = {"no", "full", "line", NULL};
  tofile(L);
  luaL_checkoption(L, 2, NULL, modenames);
  luaL_optinteger(L, 3, LUAL_BUFFERSIZE);
  lua_pushboolean(L, 1);  /* output is never buffered here */
  return 1;
}


static int io_flush (lua_State *L) {
  lua_pushboolean(L, 1);  /* the print channel needs no flushing */
  return 1;
}


static int f_flush (lua_State *L) {
  tofile(L);
  lua_pushboolean(L, 1);
  return 1;
}


static const luaL_Reg iolib[] = {
  {"flush", io_flush},
  {"lines", io_lines},
  {"read", io_read},
  {"type", io_type},
  {"write", io_write},
  {NULL, NULL}
};


static const luaL_Reg meth[] = {
  {"read", f_read},
  {"write", f_write},
  {"lines", f_lines},
  {"flush", f_flush},
  {"seek", f_seek},
  {"close", f_close},
  {"setvbuf", f_setvbuf},
  {NULL, NULL}
};


static const luaL_Reg metameth[] = {
  {"__index", NULL},  /* placeholder */
  {"__gc", f_gc},
  {"__close", f_gc},
  {"__tostring", f_tostring},
  {NULL, NULL}
};


static void createmeta (lua_State *L) {
  luaL_newmetatable(L, LUA_FILEHANDLE);  /* metatable for file handles */
  luaL_setfuncs(L, metameth, 0);  /* add metamethods to new metatable */
  luaL_newlibtable(L, meth);  /* create method table */
  luaL_setfuncs(L, meth, 0);  /* add file methods to method table */
  lua_setfield(L, -2, "__index");  /* metatable.__index = method table */
  lua_pop(L, 1);  /* pop metatable */
}


static void createstdfile (lua_State *L, FILE *f, int stream, const char *k,
                           const char *fname) {
  CuStream *p = (CuStream *)lua_newuserdatauv(L, sizeof(CuStream), 0);
  p->s.f = f;
  p->s.closef = &io_noclose;
  p->stream = stream;
  luaL_setmetatable(L, LUA_FILEHANDLE);
  if (k != NULL) {
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, k);  /* add file to registry */
  }
  lua_setfield(L, -2, fname);  /* add file to module */
}


int cu_open_io (lua_State *L) {
  luaL_newlib(L, iolib);  /* new module */
  createmeta(L);
  createstdfile(L, stdin, 0, IO_INPUT, "stdin");
  createstdfile(L, stdout, 1, IO_OUTPUT, "stdout");
  createstdfile(L, stderr, 2, NULL, "stderr");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** 'require' over package.preload and package.searchers
** =======================================================
*/

static int searcher_preload (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  if (lua_getfield(L, -1, name) == LUA_TNIL) {  /* not found? */
    lua_pushfstring(L, "no field package.preload['%s']", name);
    return 1;
  }
  else {
    lua_pushliteral(L, ":preload:");
    return 2;
  }
}


static void findloader (lua_State *L, const char *name) {
  int i;
  luaL_Buffer msg;  /* to build error message */
  /* push 'package.searchers' to index 3 in the stack */
  if (l_unlikely(lua_getfield(L, lua_upvalueindex(1), "searchers")
                 != LUA_TTABLE))
    luaL_error(L, "'package.searchers' must be a table");
  luaL_buffinit(L, &msg);
  /*  iterate over available searchers to find a loader */
  for (i = 1; ; i++) {
    luaL_addstring(&msg, "\n\t");  /* error-message prefix */
    if (l_unlikely(lua_rawgeti(L, 3, i) == LUA_TNIL)) {  /* no more searchers? */
      lua_pop(L, 1);  /* remove nil */
      luaL_buffsub(&msg, 2);  /* remove prefix */
      luaL_pushresult(&msg);  /* create error message */
      luaL_error(L, "module '%s' not found:%s", name, lua_tostring(L, -1));
    }
    lua_pushstring(L, name);
    lua_call(L, 1, 2);  /* call it */
    if (lua_isfunction(L, -2))  /* did it find a loader? */
      return;  /* module loader found */
    else if (lua_isstring(L, -2)) {  /* searcher returned error message? */
      lua_pop(L, 1);  /* remove extra return */
      luaL_addvalue(&msg);  /* concatenate error message */
    }
    else {  /* no error message */
      lua_pop(L, 2);  /* remove both returns */
      luaL_buffsub(&msg, 2);  /* remove prefix */
    }
  }
}


static int ll_require (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);  /* LOADED table will be at index 2 */
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, 2, name);  /* LOADED[name] */
  if (lua_toboolean(L, -1))  /* is it there? */
    return 1;  /* package is already loaded */
  /* else must load package */
  lua_pop(L, 1);  /* remove 'getfield' result */
  findloader(L, name);
  lua_rotate(L, -2, 1);  /* function <-> loader data */
  lua_pushvalue(L, 1);  /* name is 1st argument to module loader */
  lua_pushvalue(L, -3);  /* loader data is 2nd argument */
  /* stack: ...; loader data; loader function; mod. name; loader data */
  lua_call(L, 2, 1);  /* run loader to load module */
  /* stack: ...; loader data; result from loader */
  if (!lua_isnil(L, -1))  /* non-nil return? */
    lua_setfield(L, 2, name);  /* LOADED[name] = returned value */
  else
    lua_pop(L, 1);  /* pop nil */
  if (lua_getfield(L, 2, name) == LUA_TNIL) {   /* module set no value? */
    lua_pushboolean(L, 1);  /* use true as result */
    lua_copy(L, -1, -2);  /* replace loader result */
    lua_setfield(L, 2, name);  /* LOADED[name] = true */
  }
  lua_rotate(L, -2, 1);  /* loader data <-> module result  */
  return 2;  /* return module result and loader data */
}


int cu_open_package (lua_State *L) {
  lua_createtable(L, 0, 7);  /* the 'package' table */
  lua_createtable(L, 1, 0);  /* 'searchers': only the preload searcher */
  lua_pushvalue(L, -2);  /* 'package' is the searcher's upvalue, as in loadlib.c */
  lua_pushcclosure(L, searcher_preload, 1);
  lua_rawseti(L, -2, 1);
  lua_setfield(L, -2, "searchers");
  lua_pushliteral(L, "");  /* nothing to search: no file system */
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  lua_pushliteral(L, LUA_DIRSEP "\n" LUA_PATH_SEP "\n" LUA_PATH_MARK "\n"
                     LUA_EXEC_DIR "\n" LUA_IGMARK "\n");
  lua_setfield(L, -2, "config");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_setfield(L, -2, "loaded");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_setfield(L, -2, "preload");
  lua_pushglobaltable(L);
  lua_pushvalue(L, -2);  /* 'package' is require's upvalue */
  lua_pushcclosure(L, ll_require, 1);
  lua_setfield(L, -2, "require");
  lua_pop(L, 1);  /* pop global table */
  return 1;  /* return 'package' table */
}

/* }====================================================== */
