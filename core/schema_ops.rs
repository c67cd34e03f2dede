//! schema_ops.rs: schemas through the protocol (docs/ARCHITECTURE.md, ops 23–25: define,
//! read, validate a table) and what the other ops share with them: defining a schema,
//! checking the write unit of a store op, and the error reply of a violation, which carries
//! the violations (`u32 3`, message, nil, `{ violations = [...] }`).

use crate::lua::lua_State;
use crate::runtime::{Instance, Status};
use crate::store::schema::{Validator, Violation};
use crate::store::violation::{message, path_text, put_violations};
use crate::store::wire::{put_key, put_str, put_u32, put_value, Reader};
use crate::store::{Key, Savepoint, Store, StoreError, Value};
use crate::wire::{TAG_INT, TAG_MAP, TAG_NIL, TAG_TRUE, TAG_FALSE};
use alloc::vec::Vec;

pub const OP_DEFINE_SCHEMA: u32 = 23;
pub const OP_SCHEMA: u32 = 24;
pub const OP_VALIDATE_TABLE: u32 = 25;

/// Sets the schema of the table at `path` (a table outside the tree, which this takes), or
/// with None removes it; Ok(whether it had one). A bad schema is refused with a message
/// naming the place (`bad schema for users: fields.age.min: must be a number`).
///
/// # Safety
/// `l` is a thread of `inst`'s state that can make protected calls (patterns of defaults).
pub(crate) unsafe fn define(inst: &mut Instance, l: *mut lua_State, path: &[Key], schema: Option<Value>) -> Result<bool, Vec<u8>> {
    let had = inst.store.schema_of(path).is_some();
    let node = match schema {
        None if !had => return Ok(false),
        None => None,
        Some(Value::Table(n)) => {
            let mut find = |s: &[u8], p: &[u8]| crate::schema_lua::lua_find(l, s, p);
            let mut v = Validator::new(&mut inst.store, &mut find);
            if let Err(why) = v.definition(n) {
                let mut m = b"bad schema for ".to_vec();
                path_text(&mut m, path);
                if !v.at_error().is_empty() {
                    m.extend_from_slice(b": ");
                    path_text(&mut m, v.at_error());
                }
                m.extend_from_slice(b": ");
                m.extend_from_slice(why.as_bytes());
                inst.store.free_value(Some(Value::Table(n)));
                return Err(m);
            }
            Some(Value::Table(n))
        }
        Some(v) => {
            inst.store.free_value(Some(v));
            return Err(b"a schema is a table of rules".to_vec());
        }
    };
    match inst.store.make_entry(path) {
        Some(e) => inst.store.set(e, Key::str(b"schema"), node).map_err(|e| crate::store_ops::message(&e).to_vec())?,
        None => return Err(b"cannot keep the schema".to_vec()),
    }
    Ok(had)
}

/// Validates every record of the table at `path` against its schema (defaults are not
/// filled in: a missing field that has one passes). Returns the number of records.
///
/// # Safety
/// As `define`.
pub(crate) unsafe fn validate_table(inst: &mut Instance, l: *mut lua_State, path: &[Key], out: &mut Vec<Violation>) -> Result<usize, StoreError> {
    let table = inst.store.find(path)?;
    let (Some(table), Some(schema)) = (table, inst.store.schema_of(path)) else { return Ok(0) };
    let keys = inst.store.sorted_keys(table);
    let mut find = |s: &[u8], p: &[u8]| crate::schema_lua::lua_find(l, s, p);
    let mut v = Validator::new(&mut inst.store, &mut find);
    v.fill = false;
    for k in &keys {
        v.record(schema, table, k);
    }
    for mut x in v.out.drain(..) {
        let mut p = path.to_vec();
        p.append(&mut x.path);
        x.path = p;
        out.push(x);
    }
    Ok(keys.len())
}

/// The error reply of violations: `u32 3`, the message (after `prefix`), nil, and a map
/// `{ violations, record }` (`record` when given: the migration's failing record).
pub(crate) fn violation_reply(reply: &mut Vec<u8>, store: &Store, prefix: &[u8], violations: &[Violation], record: Option<&Key>) {
    reply.clear();
    put_u32(reply, 3);
    let mut m = prefix.to_vec();
    m.append(&mut message(store, violations));
    put_str(reply, &m);
    reply.push(TAG_NIL);
    reply.push(TAG_MAP);
    put_u32(reply, 1 + record.is_some() as u32);
    put_str(reply, b"violations");
    put_violations(reply, store, violations);
    if let Some(k) = record {
        put_str(reply, b"record");
        put_key(reply, k);
    }
}

/// A failed batch op's result for a violation: `[message, { violations }]`.
pub(crate) fn put_failure(out: &mut Vec<u8>, store: &Store, violations: &[Violation]) {
    out.push(crate::wire::TAG_ARRAY);
    put_u32(out, 2);
    put_str(out, &message(store, violations));
    out.push(TAG_MAP);
    put_u32(out, 1);
    put_str(out, b"violations");
    put_violations(out, store, violations);
}

/// Checks the write unit of a store op begun at `sp`, with the instance's budget for
/// patterns: Ok, or the failure's status and violations (empty for INSTRUCTION_LIMIT).
pub(crate) fn check_unit(inst: &mut Instance, sp: Savepoint) -> Result<(), (Status, Vec<Violation>)> {
    if !inst.store.has_schemas() {
        return Ok(());
    }
    let (v, status) = inst.budgeted(|inst| {
        let l = inst.state();
        // SAFETY: the main thread, idle between calls; the matcher's calls are protected.
        unsafe { crate::schema_lua::validate_unit(inst, l, sp, None) }
    });
    match (status, v.is_empty()) {
        (Status::Ok, true) => Ok(()),
        (Status::Ok, false) => Err((Status::SchemaViolation, v)),
        (s, _) => Err((s, Vec::new())),
    }
}

/// Runs one of ops 23–25.
pub fn dispatch(inst: &mut Instance, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Status {
    reply.clear();
    let mut r = Reader::new(request);
    let path = match r.path() {
        Ok(p) => p,
        Err(e) => return crate::store_ops::fail(reply, e),
    };
    match op {
        OP_DEFINE_SCHEMA => {
            let v = match r.value(&mut inst.store) {
                Ok(v) if r.done() => v,
                Ok(v) => {
                    inst.store.free_value(v);
                    return crate::store_ops::fail(reply, StoreError::Bad("request has trailing bytes"));
                }
                Err(e) => return crate::store_ops::fail(reply, e),
            };
            let (r, status) = inst.budgeted(|inst| {
                let l = inst.state();
                // SAFETY: the main thread, idle between calls.
                unsafe { define(inst, l, &path, v) }
            });
            match (r, status) {
                (Ok(had), Status::Ok) => {
                    inst.store.commit();
                    put_u32(reply, 1);
                    reply.push(if had { TAG_TRUE } else { TAG_FALSE });
                    Status::Ok
                }
                (r, status) => {
                    inst.store.rollback();
                    let m = r.err().unwrap_or_else(|| b"instruction limit exceeded".to_vec());
                    crate::protocol::error_reply(reply, &m);
                    if status == Status::Ok { Status::BadArgument } else { status }
                }
            }
        }
        _ if !r.done() => crate::store_ops::fail(reply, StoreError::Bad("request has trailing bytes")),
        OP_SCHEMA => {
            // schema, version, history
            let store = &inst.store;
            let entry = store.entry(&path);
            put_u32(reply, 3);
            let table = |name: &[u8]| entry.and_then(|e| store.entry_table(e, name)).map(Value::Table);
            put_value(reply, store, table(b"schema").as_ref());
            reply.push(TAG_INT);
            reply.extend_from_slice(&store.version_of(&path).to_le_bytes());
            match table(b"history") {
                Some(h) => put_value(reply, store, Some(&h)),
                None => put_violations(reply, store, &[]),
            }
            Status::Ok
        }
        _ => {
            let mut violations = Vec::new();
            let (n, status) = inst.budgeted(|inst| {
                let l = inst.state();
                // SAFETY: the main thread, idle between calls.
                unsafe { validate_table(inst, l, &path, &mut violations) }
            });
            match (n, status) {
                (Ok(n), Status::Ok) => {
                    put_u32(reply, 2);
                    reply.push(TAG_INT);
                    reply.extend_from_slice(&(n as i64).to_le_bytes());
                    put_violations(reply, &inst.store, &violations);
                    Status::Ok
                }
                (Err(e), _) => crate::store_ops::fail(reply, e),
                (_, s) => {
                    crate::protocol::error_reply(reply, b"instruction limit exceeded");
                    s
                }
            }
        }
    }
}
