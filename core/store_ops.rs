//! store_ops.rs: the external-table ops 9–22 and 28 (docs/ARCHITECTURE.md, "External-table
//! requests"): get/set/delete/keys/count from JS, the change set, the batch engine,
//! indices, queries, storage pages and their compression. Every op that writes is one transaction: committed when it
//! succeeds, rolled back when it fails; a batch is one transaction over its chunks.

use crate::lua::lua_State;
use crate::runtime::{Instance, Status};
use crate::store::query::{self, Cond, Field, Op, Plan, Query};
use crate::store::wire::{put_key, put_str, put_u32, put_value, Reader};
use crate::codec::Level;
use crate::store::pages::Compression;
use crate::store::{ChangeKind, Key, Store, StoreError, Value};
use crate::wire::{TAG_ARRAY, TAG_FALSE, TAG_INT, TAG_MAP, TAG_NIL, TAG_TRUE};
use alloc::vec::Vec;

pub const OP_STORE_GET: u32 = 9;
pub const OP_STORE_SET: u32 = 10;
pub const OP_STORE_DELETE: u32 = 11;
pub const OP_STORE_KEYS: u32 = 12;
pub const OP_STORE_COUNT: u32 = 13;
pub const OP_TAKE_CHANGES: u32 = 14;
pub const OP_BATCH: u32 = 15;
pub const OP_BATCH_ABORT: u32 = 16;
pub const OP_CREATE_INDEX: u32 = 17;
pub const OP_DROP_INDEX: u32 = 18;
pub const OP_QUERY: u32 = 19;
pub const OP_INDEXES: u32 = 20;
pub const OP_TAKE_PAGES: u32 = 21;
pub const OP_LOAD_PAGES: u32 = 22;
pub const OP_SET_COMPRESSION: u32 = 28;

/// BATCH flags.
pub const BATCH_ATOMIC: u8 = 1;
pub const BATCH_FIRST: u8 = 2;
pub const BATCH_LAST: u8 = 4;

/// An open batch (between its first and last chunk).
#[derive(Clone, Copy)]
pub struct Batch {
    atomic: bool,
    failed: bool,
}

pub fn status_of(e: &StoreError) -> Status {
    match e {
        StoreError::NotATable => Status::NotATable,
        StoreError::Unique => Status::UniqueViolation,
        StoreError::NotFound => Status::NotFound,
        StoreError::Gone | StoreError::Bad(_) => Status::BadArgument,
        StoreError::Corrupt => Status::BadData,
    }
}

pub fn message(e: &StoreError) -> &'static [u8] {
    match e {
        StoreError::NotATable => b"not a table: the path goes through a value that is not a table",
        StoreError::Unique => b"unique index violated: another record already has this value",
        StoreError::NotFound => b"not found: update of a key that does not exist",
        StoreError::Gone => b"the external table was deleted",
        StoreError::Bad(m) => m.as_bytes(),
        StoreError::Corrupt => b"bad storage page: damaged, or not written by this version of Cu",
    }
}

/// The error reply: `u32 2`, the message, nil.
pub(crate) fn fail(reply: &mut Vec<u8>, e: StoreError) -> Status {
    reply.clear();
    put_u32(reply, 2);
    put_str(reply, message(&e));
    reply.push(TAG_NIL);
    status_of(&e)
}

/// Rolls back an open batch (any op but BATCH/BATCH_ABORT arriving, or a new batch).
pub fn abandon_batch(inst: &mut Instance) {
    if inst.batch.take().is_some() {
        inst.store.rollback();
    }
}

/// Runs one of ops 9–22 and 28.
pub fn dispatch(inst: &mut Instance, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Status {
    reply.clear();
    let sp = inst.store.savepoint();
    let result = match op {
        OP_BATCH => return batch(inst, request, reply),
        OP_BATCH_ABORT => {
            abandon_batch(inst);
            put_u32(reply, 0);
            return Status::Ok;
        }
        OP_TAKE_CHANGES => {
            take_changes(&mut inst.store, reply);
            return Status::Ok;
        }
        OP_QUERY => run_query(&inst.store, request, reply),
        OP_TAKE_PAGES => {
            let pages = inst.store.take_pages();
            put_u32(reply, 2 * pages.len() as u32);
            for (p, bytes) in pages {
                put_int(reply, p as i64);
                match bytes {
                    Some(b) => put_str(reply, &b),
                    None => reply.push(TAG_NIL),
                }
            }
            return Status::Ok;
        }
        OP_LOAD_PAGES => load_pages(&mut inst.store, request, reply),
        OP_SET_COMPRESSION => set_compression(&mut inst.store, request, reply),
        _ => write_op(&mut inst.store, op, request, reply),
    };
    if result.is_ok() && (op == OP_STORE_SET || op == OP_STORE_DELETE) {
        // The write's unit of schema validation.
        if let Err((status, v)) = crate::schema_ops::check_unit(inst, sp) {
            match status {
                Status::SchemaViolation => crate::schema_ops::violation_reply(reply, &inst.store, b"", &v, None),
                _ => crate::protocol::error_reply(reply, b"instruction limit exceeded"),
            }
            inst.store.rollback();
            return status;
        }
    }
    match result {
        Ok(()) => {
            inst.store.commit();
            Status::Ok
        }
        Err(e) => {
            inst.store.rollback();
            fail(reply, e)
        }
    }
}

/// Ops that read a path and a key or write one record.
fn write_op(store: &mut Store, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut r = Reader::new(request);
    let path = r.path()?;
    match op {
        OP_STORE_KEYS | OP_STORE_COUNT | OP_INDEXES => {
            end(&r)?;
            let node = store.find(&path)?;
            put_u32(reply, if op == OP_INDEXES { 3 * node.and_then(|n| store.node(n)).map_or(0, |n| n.indices.len()) as u32 } else { 1 });
            let Some(n) = node else {
                match op {
                    OP_STORE_KEYS => put_keys(reply, &[]),
                    OP_STORE_COUNT => put_int(reply, 0),
                    _ => {}
                }
                return Ok(());
            };
            match op {
                OP_STORE_KEYS => put_keys(reply, &store.sorted_keys(n)),
                OP_STORE_COUNT => put_int(reply, store.node(n).map_or(0, |n| n.map.len()) as i64),
                _ => {
                    for ix in store.node(n).map(|n| &n.indices[..]).unwrap_or(&[]) {
                        put_key(reply, &ix.field);
                        put_str(reply, if ix.is_hash() { b"hash" } else { b"btree" });
                        put_bool(reply, ix.unique);
                    }
                }
            }
        }
        OP_CREATE_INDEX | OP_DROP_INDEX => {
            let field = r.path()?;
            let [field] = <[Key; 1]>::try_from(field).map_err(|_| StoreError::Bad("an index is on one field"))?;
            if op == OP_DROP_INDEX {
                end(&r)?;
                let dropped = match store.find(&path)? {
                    Some(n) => store.drop_index(n, &field),
                    None => false,
                };
                put_u32(reply, 1);
                put_bool(reply, dropped);
            } else {
                let kind = r.u8()?;
                let flags = r.u8()?;
                end(&r)?;
                if !(1..=2).contains(&kind) {
                    return Err(StoreError::Bad("the index type is 'btree' or 'hash'"));
                }
                let node = store.make_path(&path)?;
                store.create_index(node, field, kind == 2, flags & 1 != 0)?;
                put_u32(reply, 0);
            }
        }
        // GET, SET, DELETE: the batch ops 2, 1, 4 on their own (SET replies no value).
        _ => {
            let kind = match op {
                OP_STORE_GET => 2,
                OP_STORE_SET => 1,
                _ => 4,
            };
            let key = r.key()?;
            if kind != 1 {
                end(&r)?;
            }
            put_u32(reply, (kind != 1) as u32);
            let at = reply.len();
            apply(store, kind, &path, key, &mut r, reply)??;
            end(&r)?;
            if kind == 1 {
                reply.truncate(at);
            }
        }
    }
    Ok(())
}

const TRAILING: StoreError = StoreError::Bad("request has trailing bytes");

fn end(r: &Reader) -> Result<(), StoreError> {
    if r.done() { Ok(()) } else { Err(TRAILING) }
}

/// Keys as an array (a map `{}` when there are none: an empty array does not exist in the
/// wire format).
fn put_keys(out: &mut Vec<u8>, keys: &[Key]) {
    if keys.is_empty() {
        out.extend_from_slice(&[TAG_MAP, 0, 0, 0, 0]);
    } else {
        out.push(TAG_ARRAY);
        put_u32(out, keys.len() as u32);
        keys.iter().for_each(|k| put_key(out, k));
    }
}

fn put_int(out: &mut Vec<u8>, n: i64) {
    out.push(TAG_INT);
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_bool(out: &mut Vec<u8>, b: bool) {
    out.push(if b { TAG_TRUE } else { TAG_FALSE });
}

/// `path[key] = v`, creating the tables of the path.
fn set(store: &mut Store, path: &[Key], key: Key, v: Option<Value>) -> Result<(), StoreError> {
    match store.make_path(path) {
        Ok(n) => store.set(n, key, v),
        Err(e) => {
            store.free_value(v);
            Err(e)
        }
    }
}

/// Deletes `path[key]`; whether it existed.
fn delete(store: &mut Store, path: &[Key], key: Key) -> Result<bool, StoreError> {
    let Some(n) = store.find(path)? else { return Ok(false) };
    let existed = store.get(n, &key).is_some();
    if existed {
        store.set(n, key, None)?;
    }
    Ok(existed)
}

/// Shallow merge of the fields into the record `path[key]`.
fn update(store: &mut Store, path: &[Key], key: &Key, fields: Vec<(Key, Option<Value>)>) -> Result<(), StoreError> {
    let record = match store.find(path)?.map(|n| store.get(n, key)) {
        Some(Some(Value::Table(r))) => Ok(*r),
        Some(Some(_)) => Err(StoreError::NotATable),
        _ => Err(StoreError::NotFound),
    };
    let mut fields = fields.into_iter();
    let r = record.and_then(|r| fields.try_for_each(|(k, v)| store.set(r, k, v)));
    fields.for_each(|(_, v)| store.free_value(v));
    r
}

/// BATCH: applies a chunk of ops; results per op.
fn batch(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    let mut r = Reader::new(request);
    let (Ok(flags), Ok(n)) = (r.u8(), r.u32()) else { return fail(reply, StoreError::Bad("truncated request")) };
    if flags & BATCH_FIRST != 0 {
        abandon_batch(inst);
        inst.store.commit();
        inst.batch = Some(Batch { atomic: flags & BATCH_ATOMIC != 0, failed: false });
    }
    let Some(mut state) = inst.batch else {
        return fail(reply, StoreError::Bad("no batch is open (the first chunk starts one)"));
    };
    put_u32(reply, n.saturating_mul(2));
    let mut last = (0, 0, Vec::new());
    for _ in 0..n {
        let sp = inst.store.savepoint();
        let at = reply.len();
        put_int(reply, 0);
        match batch_op(&mut inst.store, &mut r, reply, &mut last) {
            // Each op is a unit of schema validation.
            Ok(Ok(())) => {
                if let Err((status, v)) = crate::schema_ops::check_unit(inst, sp) {
                    reply.truncate(at);
                    put_int(reply, status as i64);
                    match status {
                        Status::SchemaViolation => crate::schema_ops::put_failure(reply, &inst.store, &v),
                        _ => put_str(reply, b"instruction limit exceeded"),
                    }
                    inst.store.rollback_to(sp);
                    state.failed = true;
                }
            }
            Ok(Err(e)) => {
                inst.store.rollback_to(sp);
                state.failed = true;
                reply.truncate(at);
                put_int(reply, status_of(&e) as i64);
                put_str(reply, message(&e));
            }
            Err(e) => {
                // A malformed request: nothing after it can be read.
                inst.batch = None;
                inst.store.rollback();
                return fail(reply, e);
            }
        }
    }
    if !r.done() {
        inst.batch = None;
        inst.store.rollback();
        return fail(reply, TRAILING);
    }
    inst.batch = Some(state);
    if flags & BATCH_LAST != 0 {
        inst.batch = None;
        if state.atomic && state.failed {
            inst.store.rollback();
        } else {
            inst.store.commit();
        }
    }
    Status::Ok
}

/// One batch op: `u8 type, path, key[, value]`. The outer error is a malformed request,
/// the inner one the op's own failure.
fn batch_op(store: &mut Store, r: &mut Reader, reply: &mut Vec<u8>, last: &mut (usize, usize, Vec<Key>)) -> Result<Result<(), StoreError>, StoreError> {
    let kind = r.u8()?;
    // Consecutive ops on one table repeat its path bytes: decode them once.
    let at = r.pos;
    let same = r.bytes.get(at..at + last.1) == r.bytes.get(last.0..last.0 + last.1) && last.1 > 0;
    if same {
        r.pos += last.1;
    } else {
        last.2 = r.path()?;
        *last = (at, r.pos - at, core::mem::take(&mut last.2));
    }
    let path = &last.2[..];
    let key = r.key()?;
    apply(store, kind, path, key, r, reply)
}

/// Batch op `kind` on `path[key]` (its value, if any, next in `r`); its result goes to
/// `reply`. The outer error is a malformed request, the inner one the op's own failure.
fn apply(store: &mut Store, kind: u8, path: &[Key], key: Key, r: &mut Reader, reply: &mut Vec<u8>) -> Result<Result<(), StoreError>, StoreError> {
    Ok(match kind {
        1 => {
            let v = r.value(store)?;
            set(store, path, key, v).map(|_| reply.push(TAG_NIL))
        }
        2 => store.find(path).map(|n| put_value(reply, store, n.and_then(|n| store.get(n, &key)))),
        3 => match r.fields(store)? {
            Some(fields) => update(store, path, &key, fields).map(|_| reply.push(TAG_NIL)),
            None => Err(StoreError::Bad("update takes an object of fields")),
        },
        4 => delete(store, path, key).map(|b| put_bool(reply, b)),
        _ => return Err(StoreError::Bad("unknown batch op type")),
    })
}

/// LOAD_PAGES: `u32 n`, then n × (`u64` page, `u32` length, bytes): the whole store.
fn load_pages(store: &mut Store, request: &[u8], reply: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut r = Reader::new(request);
    let mut pages = Vec::new();
    for _ in 0..r.u32()? {
        let page = r.u64()?;
        let n = r.u32()? as usize;
        pages.push((page, r.take(n)?));
    }
    end(&r)?;
    store.load_pages(&pages)?;
    put_u32(reply, 0);
    Ok(())
}

/// SET_COMPRESSION: `u8 level` (0 off, 1 fast, 2 default, 3 best), `u32 threshold`: how
/// the pages written from now on store long values.
fn set_compression(store: &mut Store, request: &[u8], reply: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut r = Reader::new(request);
    let level = [None, Some(Level::Fast), Some(Level::Default), Some(Level::Best)];
    let level = *level.get(r.u8()? as usize).ok_or(StoreError::Bad("unknown compression level"))?;
    let threshold = r.u32()?;
    end(&r)?;
    store.compression = Compression { level, threshold };
    put_u32(reply, 0);
    Ok(())
}

/// TAKE_CHANGES: `kind, path, key, value` per change.
fn take_changes(store: &mut Store, reply: &mut Vec<u8>) {
    let changes = store.take_changes();
    put_u32(reply, 4 * changes.len() as u32);
    for (path, key, kind) in changes {
        put_int(reply, kind.code() as i64);
        put_keys(reply, &path);
        put_key(reply, &key);
        let node = store.find(&path).ok().flatten();
        match kind {
            ChangeKind::Value => put_value(reply, store, node.and_then(|n| store.get(n, &key))),
            ChangeKind::IndexCreated { hash, unique } => {
                reply.push(TAG_MAP);
                put_u32(reply, 2);
                put_str(reply, b"type");
                put_str(reply, if hash { b"hash" } else { b"btree" });
                put_str(reply, b"unique");
                put_bool(reply, unique);
            }
            ChangeKind::IndexDropped => reply.push(TAG_NIL),
        }
    }
}

/// The plan as returned by `explain`, copied out of the store.
pub struct PlanInfo {
    index: Option<Key>,
    hash: bool,
    examined: usize,
    sorted: bool,
}

impl PlanInfo {
    pub fn of(p: &Plan) -> PlanInfo {
        PlanInfo { index: p.index.map(|i| i.0.clone()), hash: p.index.is_some_and(|i| i.1), examined: p.examined, sorted: p.sorted }
    }

    fn kind(&self) -> &'static [u8] {
        match (&self.index, self.hash) {
            (None, _) => b"scan",
            (Some(_), true) => b"hash",
            _ => b"btree",
        }
    }

    /// As a wire map `{ index?, type, examined, sorted }`.
    fn put(&self, out: &mut Vec<u8>) {
        out.push(TAG_MAP);
        put_u32(out, 3 + self.index.is_some() as u32);
        if let Some(i) = &self.index {
            put_str(out, b"index");
            put_key(out, i);
        }
        put_str(out, b"type");
        put_str(out, self.kind());
        put_str(out, b"examined");
        put_int(out, self.examined as i64);
        put_str(out, b"sorted");
        put_bool(out, self.sorted);
    }

    /// As a Lua table.
    ///
    /// # Safety
    /// A protected call on a valid state.
    pub unsafe fn push(&self, l: *mut lua_State) {
        use crate::lua::*;
        lua_createtable(l, 0, 4);
        if let Some(s) = self.index.as_ref().and_then(Key::bytes) {
            lua_pushlstring(l, s.as_ptr() as *const core::ffi::c_char, s.len());
            lua_setfield(l, -2, c"index".as_ptr());
        }
        let k = self.kind();
        lua_pushlstring(l, k.as_ptr() as *const core::ffi::c_char, k.len());
        lua_setfield(l, -2, c"type".as_ptr());
        lua_pushinteger(l, self.examined as i64);
        lua_setfield(l, -2, c"examined".as_ptr());
        lua_pushboolean(l, self.sorted as core::ffi::c_int);
        lua_setfield(l, -2, c"sorted".as_ptr());
    }
}

/// QUERY: see docs/ARCHITECTURE.md.
fn run_query(store: &Store, request: &[u8], reply: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut r = Reader::new(request);
    let path = r.path()?;
    let q = read_query(&mut r)?;
    end(&r)?;
    let explain = q.1;
    let q = q.0;
    let out = query::run(store, store.find(&path)?, &q)?;
    let rows = if q.count { 0 } else { out.rows.len() };
    reply.reserve(64 + 64 * rows);
    put_u32(reply, 2 + 2 * rows as u32);
    if explain {
        PlanInfo::of(&out.plan).put(reply);
    } else {
        reply.push(TAG_NIL);
    }
    if q.count {
        put_int(reply, out.count as i64);
        return Ok(());
    }
    match &out.cursor {
        Some(c) => put_str(reply, c),
        None => reply.push(TAG_NIL),
    }
    for (k, v) in &out.rows {
        put_key(reply, k);
        put_value(reply, store, Some(v));
    }
    Ok(())
}

/// The query of a QUERY request, and its explain flag.
fn read_query(r: &mut Reader) -> Result<(Query, bool), StoreError> {
    let flags = r.u8()?;
    let limit = r.u32()?;
    let mut q = Query {
        count: flags & 1 != 0,
        desc: flags & 4 != 0,
        limit: (limit != u32::MAX).then_some(limit as usize),
        offset: r.u32()? as usize,
        ..Query::default()
    };
    if flags & 8 != 0 {
        q.order_by = Some(Field::new(r.path()?));
    }
    if flags & 16 != 0 {
        q.cursor = Some(r.key()?.bytes().ok_or(StoreError::Bad("bad cursor"))?.to_vec());
    }
    for _ in 0..r.u8()? {
        let field = Field::new(r.path()?);
        let op = Op::from_code(r.u8()?).ok_or(StoreError::Bad("unknown operator"))?;
        let args = match op {
            Op::Between | Op::In => r.list()?,
            _ => alloc::vec![r.key()?],
        };
        q.conds.push(Cond::new(field, op, args)?);
    }
    Ok((q, flags & 2 != 0))
}
