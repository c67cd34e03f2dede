//! cfuncs.rs: the built-in registry. C functions have no serializable form, so the codec
//! writes the ones the standard library provides by name, and the standard library tables
//! too (a decoded `local string = string` must be the decoding instance's `string`):
//!
//! - the base library's C functions in the globals table, named by their key (`print`,
//!   `pcall`): only the names the base library defines, so a C function a script stored in
//!   a global (`gen = coroutine.wrap(f)`) is not taken for a built-in;
//! - every standard library table in `package.loaded`, named by its library (`string`);
//! - every C function directly in such a table, `library.key` (`math.sin`, `io.write`).
//!
//! A value reachable under several names is written under the shortest (then the bytewise
//! smallest), so encodings do not depend on table iteration order; a decoder accepts every
//! name. The registry is built once per state, at its first use (or by `codec::prepare`),
//! and kept in the Lua registry as two tables: value → name and name → value.

use super::path::push_bytes;
use crate::lua::*;
use core::ffi::{c_int, c_void, CStr};

/// The base library's functions (lbaselib.c, and `require` from the package library).
const BASE: [&CStr; 24] = [
    c"assert", c"collectgarbage", c"dofile", c"error", c"getmetatable", c"ipairs", c"load",
    c"loadfile", c"next", c"pairs", c"pcall", c"print", c"rawequal", c"rawget", c"rawlen",
    c"rawset", c"require", c"select", c"setmetatable", c"tonumber", c"tostring", c"type",
    c"warn", c"xpcall",
];

/// Libraries whose tables are built-ins (`_G` is the globals table, written as such).
const LIBRARIES: [&CStr; 9] = [c"package", c"coroutine", c"table", c"io", c"os", c"string", c"math", c"utf8", c"debug"];

/// Longest name a built-in may have (the format stores its length in a byte).
pub(crate) const MAX_NAME: usize = 255;

// Registry keys: the statics' addresses (distinct values, so that no two get merged).
static NAMES: u8 = 1;
static VALUES: u8 = 2;

fn key(k: &'static u8) -> *const c_void {
    k as *const u8 as *const c_void
}

/// Pushes the table value → name, building the registry if this state has none yet.
pub(crate) unsafe fn push_names(l: *mut lua_State) {
    if lua_rawgetp(l, LUA_REGISTRYINDEX, key(&NAMES)) != LUA_TTABLE {
        lua_pop(l, 1);
        build(l);
        lua_rawgetp(l, LUA_REGISTRYINDEX, key(&NAMES));
    }
}

/// Pushes the table name → value, building the registry if this state has none yet.
pub(crate) unsafe fn push_values(l: *mut lua_State) {
    if lua_rawgetp(l, LUA_REGISTRYINDEX, key(&VALUES)) != LUA_TTABLE {
        lua_pop(l, 1);
        build(l);
        lua_rawgetp(l, LUA_REGISTRYINDEX, key(&VALUES));
    }
}

unsafe fn build(l: *mut lua_State) {
    lua_checkstack(l, 10);
    lua_createtable(l, 0, 256);
    let names = lua_gettop(l);
    lua_createtable(l, 0, 256);
    let values = lua_gettop(l);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    let globals = lua_gettop(l);
    for name in BASE {
        lua_pushstring(l, name.as_ptr());
        lua_pushvalue(l, -1);
        lua_rawget(l, globals);
        if lua_iscfunction(l, -1) != 0 {
            add(l, names, values, lua_gettop(l) - 1, lua_gettop(l));
        }
        lua_pop(l, 2);
    }
    lua_pop(l, 1);
    if lua_getfield(l, LUA_REGISTRYINDEX, c"_LOADED".as_ptr()) == LUA_TTABLE {
        let loaded = lua_gettop(l);
        for lib in LIBRARIES {
            if lua_getfield(l, loaded, lib.as_ptr()) == LUA_TTABLE {
                let t = lua_gettop(l);
                lua_pushstring(l, lib.as_ptr());
                add(l, names, values, lua_gettop(l), t);
                lua_pop(l, 1);
                add_functions(l, names, values, t, lib);
            }
            lua_pop(l, 1);
        }
    }
    lua_pop(l, 1);
    lua_rawsetp(l, LUA_REGISTRYINDEX, key(&VALUES));
    lua_rawsetp(l, LUA_REGISTRYINDEX, key(&NAMES));
}

/// Registers the C functions under string keys of the table at `t` as `prefix.key`.
unsafe fn add_functions(l: *mut lua_State, names: c_int, values: c_int, t: c_int, prefix: &CStr) {
    lua_pushnil(l);
    while lua_next(l, t) != 0 {
        let v = lua_gettop(l);
        if lua_type(l, v - 1) == LUA_TSTRING && lua_iscfunction(l, v) != 0 {
            lua_pushstring(l, prefix.as_ptr());
            push_bytes(l, b".");
            lua_pushvalue(l, v - 1);
            lua_concat(l, 3);
            add(l, names, values, lua_gettop(l), v);
            lua_pop(l, 1);
        }
        lua_pop(l, 1);
    }
}

/// Registers the value at `v` under the name (a string) at `name`.
unsafe fn add(l: *mut lua_State, names: c_int, values: c_int, name: c_int, v: c_int) {
    let new = string_bytes(l, name);
    if new.len() > MAX_NAME {
        return;
    }
    lua_pushvalue(l, name);
    lua_pushvalue(l, v);
    lua_rawset(l, values);
    lua_pushvalue(l, v);
    let better = match lua_rawget(l, names) {
        LUA_TSTRING => {
            let old = string_bytes(l, -1);
            (new.len(), new) < (old.len(), old)
        }
        _ => true,
    };
    lua_pop(l, 1);
    if better {
        lua_pushvalue(l, v);
        lua_pushvalue(l, name);
        lua_rawset(l, names);
    }
}
