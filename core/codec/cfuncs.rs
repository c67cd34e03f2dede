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

use crate::lua::*;
use core::ffi::{c_char, c_int, c_void};

/// The base library's functions (lbaselib.c, and `require` from the package library), then
/// (after an empty name) the libraries whose tables are built-ins (`_G` is the globals
/// table, written as such): NUL-terminated names, the list ending with another empty name.
const NAMES_LIST: &[u8] = b"assert\0collectgarbage\0dofile\0error\0getmetatable\0ipairs\0load\0\
loadfile\0next\0pairs\0pcall\0print\0rawequal\0rawget\0rawlen\0rawset\0require\0select\0\
setmetatable\0tonumber\0tostring\0type\0warn\0xpcall\0\0\
package\0coroutine\0table\0io\0os\0string\0math\0utf8\0debug\0\0";

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
    push(l, &NAMES)
}

/// Pushes the table name → value, building the registry if this state has none yet.
pub(crate) unsafe fn push_values(l: *mut lua_State) {
    push(l, &VALUES)
}

unsafe fn push(l: *mut lua_State, which: &'static u8) {
    if lua_rawgetp(l, LUA_REGISTRYINDEX, key(which)) != LUA_TTABLE {
        lua_pop(l, 1);
        build(l);
        lua_rawgetp(l, LUA_REGISTRYINDEX, key(which));
    }
}

#[inline(never)]
unsafe fn build(l: *mut lua_State) {
    lua_checkstack(l, 10);
    lua_createtable(l, 0, 256);
    lua_createtable(l, 0, 256);
    // names, values
    let (names, values) = (lua_gettop(l) - 1, lua_gettop(l));
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_getfield(l, LUA_REGISTRYINDEX, c"_LOADED".as_ptr());
    // Base functions are looked up in the globals (raw), libraries in package.loaded.
    let (globals, loaded) = (names + 2, names + 3);
    let mut base = true;
    let mut p = NAMES_LIST.as_ptr() as *const c_char;
    loop {
        if *p == 0 {
            if !base || lua_type(l, loaded) != LUA_TTABLE {
                break;
            }
            base = false;
            p = p.add(1);
            continue;
        }
        let name = p;
        lua_pushstring(l, name);
        p = p.add(lua_rawlen(l, -1) as usize + 1);
        let v = lua_gettop(l) + 1;
        if base {
            lua_pushvalue(l, -1);
            lua_rawget(l, globals);
            if lua_iscfunction(l, v) != 0 {
                add(l, names, values, v - 1, v);
            }
        } else if lua_getfield(l, loaded, name) == LUA_TTABLE {
            add(l, names, values, v - 1, v);
            // The C functions under string keys of the library, as `library.key`.
            lua_pushnil(l);
            while lua_next(l, v) != 0 {
                let f = lua_gettop(l);
                if lua_type(l, f - 1) == LUA_TSTRING && lua_iscfunction(l, f) != 0 {
                    lua_pushvalue(l, v - 1);
                    lua_pushstring(l, c".".as_ptr());
                    lua_pushvalue(l, f - 1);
                    lua_concat(l, 3);
                    add(l, names, values, f + 1, f);
                    lua_pop(l, 1);
                }
                lua_pop(l, 1);
            }
        }
        lua_pop(l, 2);
    }
    lua_pop(l, 2);
    lua_rawsetp(l, LUA_REGISTRYINDEX, key(&VALUES));
    lua_rawsetp(l, LUA_REGISTRYINDEX, key(&NAMES));
}

/// Registers the value at `v` under the name (a string) at `name`.
#[inline(never)]
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
