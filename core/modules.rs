//! modules.rs: Lua modules kept in the database, for `require`. Their sources live in the
//! system area (store/system.rs), table `modules`: key the module name, value its source,
//! both strings (docs/FORMAT.md), so they are saved in the storage pages, undone with the
//! transaction and restored at init like the schemas.
//!
//! - ops 31–34 (docs/ARCHITECTURE.md): SAVE_MODULE (compiled first: a syntax error stores
//!   nothing), DELETE_MODULE, MODULES (the names in key order), GET_MODULE (the source);
//! - `ext.saveModule`, `ext.deleteModule`, `ext.modules` in Lua, in the running call's
//!   transaction;
//! - a searcher in `package.searchers` after the preload one: `require(name)` compiles the
//!   stored source as chunk `@name` (errors name the module and line) with the instance's
//!   globals, and calls it as Lua's file searcher would (arguments: the name, `":stored:"`).
//!
//! Saving or deleting a module also clears `package.loaded[name]`, so the next `require`
//! reads the new source; a module already required by running code keeps its value. That
//! clearing is not undone when the call fails: the next `require` then reads the source
//! that stayed stored.

use crate::lua::*;
use crate::protocol::{bad_argument, split_named};
use crate::runtime::{instance_of, Instance, Status};
use crate::store::wire::{put_key, put_str, put_u32};
use crate::store::{Key, Store, StoreError, Value};
use crate::store_lua::{raise, raise_store};
use crate::wire::{TAG_FALSE, TAG_NIL, TAG_TRUE};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

pub const OP_SAVE_MODULE: u32 = 31;
pub const OP_DELETE_MODULE: u32 = 32;
pub const OP_MODULES: u32 = 33;
pub const OP_GET_MODULE: u32 = 34;

/// The system area's table of modules.
const TABLE: &[u8] = b"modules";
const BAD_NAME: &str = "a module name is a string of 1 to 255 bytes without NUL";
const BAD_REQUEST: &str = "bad module request";

/// Whether `name` can name a module: 1 to 255 bytes, no NUL.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() < 256 && !name.contains(&0)
}

/// The system area's table of modules, if there is one.
fn table(store: &Store) -> Option<u32> {
    match store.get(store.system_root_if_any()?, &Key::str(TABLE))? {
        Value::Table(t) => Some(*t),
        _ => None,
    }
}

/// What is stored under `name`.
fn entry<'a>(store: &'a Store, name: &[u8]) -> Option<&'a Value> {
    store.get(table(store)?, &Key::str(name))
}

/// The stored source of module `name`. Damaged pages may hold anything under a name: only
/// a string is a source (other values are listed and deleted as modules, never loaded).
pub fn source<'a>(store: &'a Store, name: &[u8]) -> Option<&'a [u8]> {
    match entry(store, name)? {
        Value::Key(k) => k.bytes(),
        _ => None,
    }
}

/// The names of the stored modules, in key order (bytewise). (Damaged pages may add keys
/// that are not strings: they are listed as they are.)
pub fn names(store: &Store) -> Vec<Key> {
    table(store).map(|t| store.sorted_keys(t)).unwrap_or_default()
}

/// Compiles `source` as module `name`: pushes the chunk name `@name`, then the function or
/// the error message; returns lua_load's status.
///
/// # Safety
/// `l` is in a protected call; `source` stays valid while it compiles (the chunk name, a
/// Lua string on the stack, is NUL-terminated).
unsafe fn compile(l: *mut lua_State, name: &[u8], source: &[u8]) -> c_int {
    lua_pushstring(l, c"@".as_ptr());
    lua_pushlstring(l, name.as_ptr() as *const c_char, name.len());
    lua_concat(l, 2);
    luaL_loadbufferx(l, source.as_ptr() as *const c_char, source.len(), lua_tolstring(l, -1, core::ptr::null_mut()), c"t".as_ptr())
}

/// Stores (or with None deletes) module `name` in the running transaction and clears
/// `package.loaded[name]`; returns whether it was stored before. `name` is valid.
unsafe fn put(l: *mut lua_State, name: &[u8], src: Option<&[u8]>) -> bool {
    let store = &mut instance_of(l).store;
    let existed = entry(store, name).is_some();
    if existed || src.is_some() {
        let Some(t) = store.system_table(TABLE, true) else { raise_store(l, StoreError::Gone) };
        if let Err(e) = store.set(t, Key::str(name), src.map(|s| Value::Key(Key::str(s)))) {
            raise_store(l, e);
        }
    }
    lua_getfield(l, LUA_REGISTRYINDEX, c"_LOADED".as_ptr());
    lua_pushlstring(l, name.as_ptr() as *const c_char, name.len());
    lua_pushnil(l);
    lua_rawset(l, -3);
    lua_pop(l, 1);
    existed
}

/// Compiles and stores module `name` (valid); `load` gets the compile status, and a failure
/// raises its message.
unsafe fn save(l: *mut lua_State, name: &[u8], src: &[u8], load: &mut c_int) {
    *load = compile(l, name, src);
    if *load != LUA_OK {
        lua_error(l);
    }
    lua_pop(l, 2);
    put(l, name, Some(src));
}

/// The string argument `arg` of an `ext` function (as lauxlib checks it: a number is
/// turned into a string, anything else raises).
unsafe fn string_arg<'a>(l: *mut lua_State, arg: c_int) -> &'a [u8] {
    let mut n = 0;
    let p = luaL_checklstring(l, arg, &mut n);
    // SAFETY: Lua keeps the string's `n` bytes while it stays on the stack.
    core::slice::from_raw_parts(p as *const u8, n)
}

/// The module name at stack index 1 of an `ext` function (a Lua error if it is not valid).
unsafe fn name_arg<'a>(l: *mut lua_State) -> &'a [u8] {
    let name = string_arg(l, 1);
    if !valid_name(name) {
        raise(l, BAD_NAME.as_bytes());
    }
    name
}

/// `ext.saveModule(name, source)`: compiles and stores the module (a syntax error raises).
pub(crate) unsafe extern "C" fn ext_save_module(l: *mut lua_State) -> c_int {
    let name = name_arg(l);
    let mut load = LUA_OK;
    save(l, name, string_arg(l, 2), &mut load);
    0
}

/// `ext.deleteModule(name)`: removes the module; whether it was stored.
pub(crate) unsafe extern "C" fn ext_delete_module(l: *mut lua_State) -> c_int {
    let existed = put(l, name_arg(l), None);
    lua_pushboolean(l, existed as c_int);
    1
}

/// `ext.modules()`: the names of the stored modules, in key order.
pub(crate) unsafe extern "C" fn ext_modules(l: *mut lua_State) -> c_int {
    let inst = instance_of(l);
    inst.rows = names(&inst.store);
    crate::store_lua::push_rows(l)
}

/// The searcher store_lua.rs puts second in `package.searchers` (after the preload one):
/// the loader of the stored module `name` and `":stored:"`, or why there is none.
pub(crate) unsafe extern "C" fn searcher(l: *mut lua_State) -> c_int {
    let name = if lua_type(l, 1) == LUA_TSTRING { string_bytes(l, 1) } else { b"" };
    let Some(src) = source(&instance_of(l).store, name) else {
        lua_pushfstring(l, c"no stored module '%s'".as_ptr(), lua_tolstring(l, 1, core::ptr::null_mut()));
        return 1;
    };
    // A copy first, outside the Lua heap (the instance's, so that an error leaks nothing):
    // compiling allocates, and finalizers may change the store meanwhile.
    let (mark, copy) = instance_of(l).scratch_push();
    // SAFETY: the buffer stays valid until `scratch_pop(mark)`; `src` is read before any
    // Lua allocation.
    (*copy).extend_from_slice(src);
    let status = compile(l, name, &*copy);
    instance_of(l).scratch_pop(mark);
    if status != LUA_OK {
        return luaL_error(
            l,
            c"error loading module '%s' from the database:\n\t%s".as_ptr(),
            lua_tolstring(l, 1, core::ptr::null_mut()),
            lua_tolstring(l, -1, core::ptr::null_mut()),
        );
    }
    lua_pushstring(l, c":stored:".as_ptr());
    2
}

/// What an op's protected step works on.
struct Job<'a> {
    name: &'a [u8],
    source: Option<&'a [u8]>,
    /// lua_load's status (SAVE_MODULE).
    load: c_int,
    existed: bool,
}

unsafe extern "C" fn step(l: *mut lua_State) -> c_int {
    // SAFETY: `dispatch` passed its Job, alive during this call; the name and source are
    // the request's bytes, which outlive it.
    let job = &mut *(lua_touserdata(l, 1) as *mut Job);
    match job.source {
        Some(src) => save(l, job.name, src, &mut job.load),
        None => job.existed = put(l, job.name, None),
    }
    0
}

/// Runs one of ops 31–34. SAVE_MODULE and DELETE_MODULE run as a call (one transaction,
/// under the budget); the others only read.
pub fn dispatch(inst: &mut Instance, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Status {
    reply.clear();
    if op == OP_MODULES {
        if !request.is_empty() {
            return bad_argument(reply, BAD_REQUEST);
        }
        let names = names(&inst.store);
        put_u32(reply, names.len() as u32);
        names.iter().for_each(|k| put_key(reply, k));
        return Status::Ok;
    }
    let Some((_, name, rest)) = split_named(request) else {
        return bad_argument(reply, BAD_REQUEST);
    };
    if !valid_name(name) {
        return bad_argument(reply, BAD_NAME);
    }
    if op != OP_SAVE_MODULE && !rest.is_empty() {
        return bad_argument(reply, BAD_REQUEST);
    }
    if op == OP_GET_MODULE {
        put_u32(reply, 1);
        match source(&inst.store, name) {
            Some(s) => put_str(reply, s),
            None => reply.push(TAG_NIL),
        }
        return Status::Ok;
    }
    let mut job = Job { name, source: (op == OP_SAVE_MODULE).then_some(rest), load: LUA_OK, existed: false };
    let (status, _) = inst.call_protected(step, &mut job as *mut Job as *mut c_void, reply);
    match (status, job.load) {
        (Status::Ok, _) => {
            put_u32(reply, (op == OP_DELETE_MODULE) as u32);
            if op == OP_DELETE_MODULE {
                reply.push(if job.existed { TAG_TRUE } else { TAG_FALSE });
            }
            Status::Ok
        }
        (Status::LuaRuntime, LUA_ERRSYNTAX) => Status::LuaSyntax,
        (Status::LuaRuntime, LUA_ERRMEM) => Status::LuaMemory,
        (s, _) => s,
    }
}
