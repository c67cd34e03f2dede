//! lua.rs: the part of Lua 5.4's C API (lua.h, lauxlib.h, lualib.h) that Cu calls, with
//! lua.h's macros as inline functions. Values mirror Lua 5.4.9 built with LUA_32BITS off.
#![allow(non_camel_case_types, dead_code)]

use core::ffi::{c_char, c_int, c_void};

#[repr(C)]
pub struct lua_State {
    _opaque: [u8; 0],
}

/// Lua's debug record (lua.h `struct lua_Debug`); only `currentline` and friends are read.
#[repr(C)]
pub struct lua_Debug {
    pub event: c_int,
    pub name: *const c_char,
    pub namewhat: *const c_char,
    pub what: *const c_char,
    pub source: *const c_char,
    pub srclen: usize,
    pub currentline: c_int,
    pub linedefined: c_int,
    pub lastlinedefined: c_int,
    pub nups: u8,
    pub nparams: u8,
    pub isvararg: c_char,
    pub istailcall: c_char,
    pub ftransfer: u16,
    pub ntransfer: u16,
    pub short_src: [c_char; 60],
    i_ci: *mut c_void,
}

pub type lua_Integer = i64;
pub type lua_Number = f64;
pub type lua_KContext = isize;
pub type lua_CFunction = unsafe extern "C" fn(*mut lua_State) -> c_int;
pub type lua_KFunction = Option<unsafe extern "C" fn(*mut lua_State, c_int, lua_KContext) -> c_int>;
pub type lua_Alloc = unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize) -> *mut c_void;
pub type lua_WarnFunction = Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_int)>;
pub type lua_Hook = Option<unsafe extern "C" fn(*mut lua_State, *mut lua_Debug)>;

pub const LUA_OK: c_int = 0;
pub const LUA_YIELD: c_int = 1;
pub const LUA_ERRRUN: c_int = 2;
pub const LUA_ERRSYNTAX: c_int = 3;
pub const LUA_ERRMEM: c_int = 4;
pub const LUA_ERRERR: c_int = 5;

pub const LUA_TNONE: c_int = -1;
pub const LUA_TNIL: c_int = 0;
pub const LUA_TBOOLEAN: c_int = 1;
pub const LUA_TLIGHTUSERDATA: c_int = 2;
pub const LUA_TNUMBER: c_int = 3;
pub const LUA_TSTRING: c_int = 4;
pub const LUA_TTABLE: c_int = 5;
pub const LUA_TFUNCTION: c_int = 6;
pub const LUA_TUSERDATA: c_int = 7;
pub const LUA_TTHREAD: c_int = 8;

pub const LUA_MULTRET: c_int = -1;
pub const LUAI_MAXSTACK: c_int = 1_000_000;
pub const LUA_REGISTRYINDEX: c_int = -LUAI_MAXSTACK - 1000;
pub const LUA_RIDX_GLOBALS: lua_Integer = 2;
pub const LUA_MASKCOUNT: c_int = 1 << 3;

pub const LUA_GCCOLLECT: c_int = 2;
pub const LUA_GCCOUNT: c_int = 3;
pub const LUA_GCCOUNTB: c_int = 4;

extern "C" {
    pub fn lua_newstate(f: lua_Alloc, ud: *mut c_void) -> *mut lua_State;
    pub fn lua_close(l: *mut lua_State);
    pub fn lua_setwarnf(l: *mut lua_State, f: lua_WarnFunction, ud: *mut c_void);
    pub fn lua_atpanic(l: *mut lua_State, f: lua_CFunction) -> lua_CFunction;

    pub fn lua_absindex(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_gettop(l: *mut lua_State) -> c_int;
    pub fn lua_settop(l: *mut lua_State, idx: c_int);
    pub fn lua_pushvalue(l: *mut lua_State, idx: c_int);
    pub fn lua_rotate(l: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_checkstack(l: *mut lua_State, n: c_int) -> c_int;

    pub fn lua_isinteger(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_type(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_typename(l: *mut lua_State, tp: c_int) -> *const c_char;
    pub fn lua_tonumberx(l: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Number;
    pub fn lua_tointegerx(l: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Integer;
    pub fn lua_toboolean(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tolstring(l: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn lua_rawlen(l: *mut lua_State, idx: c_int) -> u64;
    pub fn lua_topointer(l: *mut lua_State, idx: c_int) -> *const c_void;
    pub fn lua_touserdata(l: *mut lua_State, idx: c_int) -> *mut c_void;

    pub fn lua_pushnil(l: *mut lua_State);
    pub fn lua_pushnumber(l: *mut lua_State, n: lua_Number);
    pub fn lua_pushinteger(l: *mut lua_State, n: lua_Integer);
    pub fn lua_pushlstring(l: *mut lua_State, s: *const c_char, len: usize) -> *const c_char;
    pub fn lua_pushstring(l: *mut lua_State, s: *const c_char) -> *const c_char;
    pub fn lua_pushcclosure(l: *mut lua_State, f: lua_CFunction, n: c_int);
    pub fn lua_pushboolean(l: *mut lua_State, b: c_int);
    pub fn lua_pushlightuserdata(l: *mut lua_State, p: *mut c_void);

    pub fn lua_getglobal(l: *mut lua_State, name: *const c_char) -> c_int;
    pub fn lua_getfield(l: *mut lua_State, idx: c_int, k: *const c_char) -> c_int;
    pub fn lua_rawget(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawgeti(l: *mut lua_State, idx: c_int, n: lua_Integer) -> c_int;
    pub fn lua_rawgetp(l: *mut lua_State, idx: c_int, p: *const c_void) -> c_int;
    pub fn lua_rawsetp(l: *mut lua_State, idx: c_int, p: *const c_void);
    pub fn lua_createtable(l: *mut lua_State, narr: c_int, nrec: c_int);
    pub fn lua_getmetatable(l: *mut lua_State, idx: c_int) -> c_int;

    pub fn lua_setglobal(l: *mut lua_State, name: *const c_char);
    pub fn lua_setfield(l: *mut lua_State, idx: c_int, k: *const c_char);
    pub fn lua_rawset(l: *mut lua_State, idx: c_int);
    pub fn lua_rawseti(l: *mut lua_State, idx: c_int, n: lua_Integer);
    pub fn lua_setmetatable(l: *mut lua_State, idx: c_int) -> c_int;

    pub fn lua_callk(l: *mut lua_State, nargs: c_int, nres: c_int, ctx: lua_KContext, k: lua_KFunction);
    pub fn lua_pcallk(
        l: *mut lua_State,
        nargs: c_int,
        nres: c_int,
        msgh: c_int,
        ctx: lua_KContext,
        k: lua_KFunction,
    ) -> c_int;
    pub fn lua_load(
        l: *mut lua_State,
        reader: unsafe extern "C" fn(*mut lua_State, *mut c_void, *mut usize) -> *const c_char,
        data: *mut c_void,
        chunkname: *const c_char,
        mode: *const c_char,
    ) -> c_int;

    pub fn lua_gc(l: *mut lua_State, what: c_int, ...) -> c_int;
    pub fn lua_error(l: *mut lua_State) -> c_int;
    pub fn lua_next(l: *mut lua_State, idx: c_int) -> c_int;

    pub fn lua_copy(l: *mut lua_State, from: c_int, to: c_int);
    pub fn lua_concat(l: *mut lua_State, n: c_int);
    pub fn lua_gethookcount(l: *mut lua_State) -> c_int;
    pub fn luaL_callmeta(l: *mut lua_State, obj: c_int, e: *const c_char) -> c_int;
    pub fn lua_sethook(l: *mut lua_State, f: lua_Hook, mask: c_int, count: c_int);
    pub fn lua_getinfo(l: *mut lua_State, what: *const c_char, ar: *mut lua_Debug) -> c_int;
    pub fn lua_getstack(l: *mut lua_State, level: c_int, ar: *mut lua_Debug) -> c_int;

    pub fn luaL_loadbufferx(
        l: *mut lua_State,
        buff: *const c_char,
        sz: usize,
        name: *const c_char,
        mode: *const c_char,
    ) -> c_int;
    pub fn luaL_traceback(l: *mut lua_State, l1: *mut lua_State, msg: *const c_char, level: c_int);
    pub fn luaL_requiref(l: *mut lua_State, modname: *const c_char, openf: lua_CFunction, glb: c_int);
    pub fn luaL_error(l: *mut lua_State, fmt: *const c_char, ...) -> c_int;
    pub fn lua_pushfstring(l: *mut lua_State, fmt: *const c_char, ...) -> *const c_char;
    pub fn luaL_checkany(l: *mut lua_State, arg: c_int);
    pub fn luaL_checktype(l: *mut lua_State, arg: c_int, t: c_int);
    pub fn luaL_tolstring(l: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_checkinteger(l: *mut lua_State, arg: c_int) -> lua_Integer;
    pub fn luaL_checklstring(l: *mut lua_State, arg: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_optinteger(l: *mut lua_State, arg: c_int, def: lua_Integer) -> lua_Integer;

    pub fn luaopen_base(l: *mut lua_State) -> c_int;
    pub fn luaopen_coroutine(l: *mut lua_State) -> c_int;
    pub fn luaopen_table(l: *mut lua_State) -> c_int;
    pub fn luaopen_string(l: *mut lua_State) -> c_int;
    pub fn luaopen_math(l: *mut lua_State) -> c_int;
    pub fn luaopen_utf8(l: *mut lua_State) -> c_int;
    pub fn luaopen_debug(l: *mut lua_State) -> c_int;
    /// csrc/cu_oslib.c: the parts of `os` a browser can honour.
    pub fn cu_open_os(l: *mut lua_State) -> c_int;
    /// csrc/cu_iolib.c: `io.write`/`io.read` and the three standard handles.
    pub fn cu_open_io(l: *mut lua_State) -> c_int;
    /// csrc/cu_iolib.c: `package.loaded`/`package.preload` and `require`.
    pub fn cu_open_package(l: *mut lua_State) -> c_int;

    // ---- core/codec (the value serializer) ----
    pub fn lua_dump(
        l: *mut lua_State,
        writer: unsafe extern "C" fn(*mut lua_State, *const c_void, usize, *mut c_void) -> c_int,
        data: *mut c_void,
        strip: c_int,
    ) -> c_int;
    pub fn lua_getupvalue(l: *mut lua_State, funcindex: c_int, n: c_int) -> *const c_char;
    pub fn lua_setupvalue(l: *mut lua_State, funcindex: c_int, n: c_int) -> *const c_char;
    pub fn lua_upvalueid(l: *mut lua_State, fidx: c_int, n: c_int) -> *mut c_void;
    pub fn lua_upvaluejoin(l: *mut lua_State, fidx1: c_int, n1: c_int, fidx2: c_int, n2: c_int);
    pub fn lua_iscfunction(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawequal(l: *mut lua_State, idx1: c_int, idx2: c_int) -> c_int;
    pub fn lua_newuserdatauv(l: *mut lua_State, sz: usize, nuvalue: c_int) -> *mut c_void;
    pub fn lua_getallocf(l: *mut lua_State, ud: *mut *mut c_void) -> lua_Alloc;
    // ---- end core/codec ----
}

/// lua.h: `lua_upvalueindex`.
pub const fn lua_upvalueindex(i: c_int) -> c_int {
    LUA_REGISTRYINDEX - i
}

/// # Safety
/// `l` must be a valid state with `n` values above the stack bottom.
#[inline]
pub unsafe fn lua_pop(l: *mut lua_State, n: c_int) {
    lua_settop(l, -n - 1)
}

/// # Safety
/// As `lua_pcallk`.
#[inline]
pub unsafe fn lua_pcall(l: *mut lua_State, nargs: c_int, nres: c_int, msgh: c_int) -> c_int {
    lua_pcallk(l, nargs, nres, msgh, 0, None)
}

/// # Safety
/// As `lua_pushcclosure`.
#[inline]
pub unsafe fn lua_pushcfunction(l: *mut lua_State, f: lua_CFunction) {
    lua_pushcclosure(l, f, 0)
}

/// # Safety
/// As `lua_rotate`.
#[inline]
pub unsafe fn lua_insert(l: *mut lua_State, idx: c_int) {
    lua_rotate(l, idx, 1)
}

/// Bytes of a string value (no number conversion: callers check the type first).
///
/// # Safety
/// `idx` must hold a string; the slice lives as long as the string stays on the stack.
#[inline]
pub unsafe fn string_bytes<'a>(l: *mut lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0usize;
    let p = lua_tolstring(l, idx, &mut len);
    // SAFETY: Lua guarantees `len` readable bytes at `p` while the value is referenced.
    core::slice::from_raw_parts(p as *const u8, len)
}
