//! schema_lua.rs: schemas and Lua. Records are validated at the end of each write unit:
//! a call (runtime.rs), a store op (store_ops.rs), a migrated chunk (migrate.rs), and here
//! every `pcall`/`xpcall`: when the protected function returns, the records it touched are
//! validated, and on a violation its writes are undone and it returns false and the
//! message, so a script can catch a bad write. Patterns run on Lua's own matcher (lstrlib's
//! `str_find`) under the call's instruction budget. Also `ext.defineSchema`, `ext.schema`,
//! `ext.validateTable` and `ext.migrations`; values from the catalog reach Lua as plain
//! copies, never as external tables (the system area stays out of reach).

use crate::codec;
use crate::lua::*;
use crate::runtime::{instance_of, Instance};
use crate::store::schema::{Migrating, Shown, Violation};
use crate::store::violation::{message, path_text};
use crate::store::{NodeId, Savepoint, Value};
use crate::store_lua::{push_key, raise};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

extern "C" {
    /// csrc/cu_strlib.c: lstrlib's matcher as `string.find` runs it; 1 when found.
    fn cu_pattern_find(l: *mut lua_State, s: *const c_char, ls: usize, p: *const c_char, lp: usize) -> c_int;
}

/// Whether `string.find(s, p)` finds the pattern in `s`. Protected: a pattern that fails
/// (too complex, out of budget) finds nothing.
///
/// # Safety
/// `l` is a thread of a live instance.
pub(crate) unsafe fn lua_find(l: *mut lua_State, s: &[u8], p: &[u8]) -> bool {
    if lua_checkstack(l, 4) == 0 {
        return false;
    }
    let args = [s, p];
    lua_pushcfunction(l, find_step);
    lua_pushlightuserdata(l, &args as *const [&[u8]; 2] as *mut c_void);
    let found = lua_pcall(l, 1, 1, 0) == LUA_OK && lua_toboolean(l, -1) != 0;
    lua_pop(l, 1);
    found
}

unsafe extern "C" fn find_step(l: *mut lua_State) -> c_int {
    // SAFETY: `lua_find` passed its two slices, alive during this call.
    let [s, p] = *(lua_touserdata(l, 1) as *const [&[u8]; 2]);
    let found = cu_pattern_find(l, s.as_ptr() as *const c_char, s.len(), p.as_ptr() as *const c_char, p.len());
    lua_pushboolean(l, found);
    1
}

/// Validates the write unit begun at `sp` (the records its writes touched; with a
/// migration, see `Migrating`), patterns matched on `l`.
///
/// # Safety
/// As `lua_find`.
pub(crate) unsafe fn validate_unit(inst: &mut Instance, l: *mut lua_State, sp: Savepoint, migrating: Option<&Migrating>) -> Vec<Violation> {
    let mut find = |s: &[u8], p: &[u8]| lua_find(l, s, p);
    inst.store.validate_since(sp, &mut find, migrating)
}

/// Pushes `message` made in the instance (so that nothing is lost if pushing raises).
unsafe fn push_message(l: *mut lua_State, violations: Vec<Violation>, prefix: &[u8]) {
    let inst = instance_of(l);
    let (mark, buf) = inst.scratch_push();
    let buf = &mut *buf;
    buf.extend_from_slice(prefix);
    buf.append(&mut message(&inst.store, &violations));
    drop(violations);
    lua_pushlstring(l, buf.as_ptr() as *const c_char, buf.len());
    instance_of(l).scratch_pop(mark);
}

/// `pcall(f, ...)`, with the savepoint of its unit kept below: `undo, changes, true, f, ...`.
unsafe extern "C" fn unit_pcall(l: *mut lua_State) -> c_int {
    luaL_checkany(l, 1);
    let sp = instance_of(l).store.savepoint();
    lua_pushinteger(l, sp.undo as i64);
    lua_pushinteger(l, sp.changes as i64);
    lua_pushboolean(l, 1);
    lua_rotate(l, 1, 3);
    let status = lua_pcallk(l, lua_gettop(l) - 4, LUA_MULTRET, 0, 2, Some(finish_unit));
    finish_unit(l, status, 2)
}

/// `xpcall(f, msgh, ...)`: `undo, changes, f, msgh, true, f, ...`.
unsafe extern "C" fn unit_xpcall(l: *mut lua_State) -> c_int {
    let n = lua_gettop(l);
    luaL_checktype(l, 2, LUA_TFUNCTION);
    let sp = instance_of(l).store.savepoint();
    lua_pushboolean(l, 1);
    lua_pushvalue(l, 1);
    lua_rotate(l, 3, 2);
    lua_pushinteger(l, sp.undo as i64);
    lua_pushinteger(l, sp.changes as i64);
    lua_rotate(l, 1, 2);
    let status = lua_pcallk(l, n - 2, LUA_MULTRET, 4, 4, Some(finish_unit));
    finish_unit(l, status, 4)
}

/// The end of a pcall/xpcall (also its continuation after a yield): as lbaselib's
/// `finishpcall`, and after a success the schema check of the unit.
unsafe extern "C" fn finish_unit(l: *mut lua_State, status: c_int, extra: lua_KContext) -> c_int {
    if status != LUA_OK && status != LUA_YIELD {
        lua_pushboolean(l, 0);
        lua_pushvalue(l, -2);
        return 2;
    }
    let sp = Savepoint { undo: lua_tointegerx(l, 1, core::ptr::null_mut()) as usize, changes: lua_tointegerx(l, 2, core::ptr::null_mut()) as usize };
    let v = validate_unit(instance_of(l), l, sp, None);
    if !v.is_empty() {
        push_message(l, v, b"");
        instance_of(l).store.rollback_to(sp);
        lua_pushboolean(l, 0);
        lua_rotate(l, -2, 1);
        return 2;
    }
    lua_gettop(l) - extra as c_int
}

/// Puts the unit-checking `pcall` and `xpcall` in place of lbaselib's (at start-up).
///
/// # Safety
/// A state being opened, in a protected call.
pub(crate) unsafe fn open(l: *mut lua_State) {
    lua_pushcfunction(l, unit_pcall);
    lua_setglobal(l, c"pcall".as_ptr());
    lua_pushcfunction(l, unit_xpcall);
    lua_setglobal(l, c"xpcall".as_ptr());
}

/// The table path at `idx` (a string like `'users'` or an external table), into the
/// instance's `rows` (so that a Lua error leaks nothing).
pub(crate) unsafe fn path_arg(l: *mut lua_State, idx: c_int) {
    let path = match crate::store_lua::proxy_node(l, idx) {
        Some(Some(n)) => instance_of(l).store.path_of(n),
        Some(None) => None,
        None if lua_type(l, idx) == LUA_TSTRING => Some(crate::store_lua::path_from_text(string_bytes(l, idx))),
        None => raise(l, b"a table path is a string like 'users' or an external table"),
    };
    match path {
        Some(p) => instance_of(l).rows = p,
        None => raise(l, b"this external table was deleted"),
    }
}

/// Pushes a plain copy of the stored value: tables copied whole, blobs decoded.
pub(crate) unsafe fn push_copy(l: *mut lua_State, v: Option<&Value>) {
    match v {
        None => lua_pushnil(l),
        Some(Value::Key(k)) => push_key(l, k),
        Some(Value::Blob(b)) => {
            lua_pushlstring(l, b.bytes.as_ptr() as *const c_char, b.bytes.len());
            codec::decode(l, string_bytes(l, -1));
            lua_rotate(l, -2, 1);
            lua_pop(l, 1);
        }
        Some(Value::Table(n)) => push_table_copy(l, *n),
    }
}

/// Pushes a plain Lua table copy of the stored table `node`. Entries are found by position,
/// so that nothing owned is held while pushing.
unsafe fn push_table_copy(l: *mut lua_State, node: NodeId) {
    if lua_checkstack(l, 4) == 0 {
        raise(l, b"tables nest too deep");
    }
    lua_createtable(l, 0, 0);
    let mut i = 0;
    loop {
        let store = &instance_of(l).store;
        let Some((k, _)) = store.node(node).and_then(|n| n.map.iter().nth(i)) else { break };
        push_key(l, k);
        let store = &instance_of(l).store;
        let v = store.node(node).and_then(|n| n.map.iter().nth(i)).map(|e| e.1);
        push_copy(l, v);
        lua_rawset(l, -3);
        i += 1;
    }
}

/// Pushes `{ path =, rule =, expected =, got = }` for each of the instance's violations.
unsafe fn push_violations(l: *mut lua_State) {
    lua_createtable(l, instance_of(l).violations.len().min(1 << 16) as c_int, 0);
    let mut i = 0;
    while i < instance_of(l).violations.len() {
        lua_createtable(l, 0, 4);
        let (mark, buf) = instance_of(l).scratch_push();
        path_text(&mut *buf, &instance_of(l).violations[i].path);
        lua_pushlstring(l, (*buf).as_ptr() as *const c_char, (*buf).len());
        instance_of(l).scratch_pop(mark);
        lua_setfield(l, -2, c"path".as_ptr());
        let rule = instance_of(l).violations[i].rule;
        lua_pushlstring(l, rule.as_ptr() as *const c_char, rule.len());
        lua_setfield(l, -2, c"rule".as_ptr());
        for (name, expected) in [(c"expected", true), (c"got", false)] {
            let x = &instance_of(l).violations[i];
            match if expected { &x.expected } else { &x.got } {
                Shown::Nil => lua_pushnil(l),
                Shown::Key(k) => push_key(l, k),
                Shown::Text(t) => {
                    lua_pushlstring(l, t.as_ptr() as *const c_char, t.len());
                }
                Shown::Table(n) => push_table_copy(l, *n),
            }
            lua_setfield(l, -2, name.as_ptr());
        }
        i += 1;
        lua_rawseti(l, -2, i as i64);
    }
    instance_of(l).violations.clear();
}

/// `ext.defineSchema(t, schema)`: sets (nil: removes) the schema of table `t`; returns
/// whether it had one.
pub(crate) unsafe extern "C" fn ext_define_schema(l: *mut lua_State) -> c_int {
    path_arg(l, 1);
    let v = match lua_type(l, 2) {
        LUA_TNIL => None,
        LUA_TTABLE => crate::store_lua::value_of(l, 2, b"schema"),
        _ => raise(l, b"ext.defineSchema: a schema is a table of rules"),
    };
    let path = core::mem::take(&mut instance_of(l).rows);
    let r = crate::schema_ops::define(instance_of(l), l, &path, v);
    drop(path);
    match r {
        Ok(had) => {
            lua_pushboolean(l, had as c_int);
            1
        }
        Err(m) => {
            let inst = instance_of(l);
            let (mark, buf) = inst.scratch_push();
            *buf = m;
            lua_pushlstring(l, (*buf).as_ptr() as *const c_char, (*buf).len());
            instance_of(l).scratch_pop(mark);
            lua_error(l);
            0
        }
    }
}

/// `ext.schema(t)`: a copy of the schema of table `t` (nil if none), and its version.
pub(crate) unsafe extern "C" fn ext_schema(l: *mut lua_State) -> c_int {
    path_arg(l, 1);
    let inst = instance_of(l);
    let schema = inst.store.schema_of(&inst.rows);
    let version = inst.store.version_of(&inst.rows);
    push_copy(l, schema.map(Value::Table).as_ref());
    lua_pushinteger(l, version);
    2
}

/// `ext.migrations(t)`: a copy of the migration history of table `t` (oldest first).
pub(crate) unsafe extern "C" fn ext_migrations(l: *mut lua_State) -> c_int {
    path_arg(l, 1);
    let inst = instance_of(l);
    match inst.store.entry(&inst.rows).and_then(|e| inst.store.entry_table(e, b"history")) {
        Some(h) => push_table_copy(l, h),
        None => lua_createtable(l, 0, 0),
    }
    1
}

/// `ext.validateTable(t)`: the violations of the records of `t` (an empty table when they
/// are valid), and the number of records checked.
pub(crate) unsafe extern "C" fn ext_validate_table(l: *mut lua_State) -> c_int {
    path_arg(l, 1);
    let inst = instance_of(l);
    let path = core::mem::take(&mut inst.rows);
    let mut out = Vec::new();
    let r = crate::schema_ops::validate_table(inst, l, &path, &mut out);
    drop(path);
    let n = match r {
        Ok(n) => n,
        Err(e) => {
            drop(out);
            crate::store_lua::raise_store(l, e)
        }
    };
    instance_of(l).violations = out;
    push_violations(l);
    lua_pushinteger(l, n as i64);
    2
}
