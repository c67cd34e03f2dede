//! stats_report.rs: the statistics report of `lua.stats()` (op 29, STATS_REPORT) and
//! `ext.stats()`: the Lua heap, the module's memory, the compression setting, and the
//! external tables in a given table (core/store/stats.rs): records, bytes plain and as
//! stored, the compression ratio, indices. Written once as a wire map (its fields in
//! docs/ARCHITECTURE.md); Lua gets a table pushed from those bytes.

use crate::codec::Level;
use crate::lua::*;
use crate::runtime::{instance_of, Instance, Status};
use crate::store::stats::{Sizes, StoreStats};
use crate::store::wire::{put_key, put_str, put_u32, Reader};
use crate::store::{Key, NodeId, StoreError, ROOT};
use crate::wire::{TAG_ARRAY, TAG_FALSE, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_STRING, TAG_TRUE};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int};

pub const OP_STATS_REPORT: u32 = 29;

/// STATS_REPORT: path (the table whose tables are listed; `[]` is `Memory`) → `u32 1`, the
/// report. A missing table lists none; a path through a value is NOT_A_TABLE.
pub fn report(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    let mut r = Reader::new(request);
    let top = match r.path() {
        Ok(path) if r.done() => inst.store.find(&path),
        _ => Err(StoreError::Bad("STATS_REPORT takes a path")),
    };
    match top {
        Ok(top) => {
            put_u32(reply, 1);
            write(inst, top, reply);
            Status::Ok
        }
        Err(e) => crate::store_ops::fail(reply, e),
    }
}

/// `C.stats(proxy or nil)`, behind `ext.stats([t])` (the prelude makes a path a proxy):
/// the report on the tables in `t` (`Memory` by default) as a Lua table.
pub(crate) unsafe extern "C" fn ext_stats(l: *mut lua_State) -> c_int {
    let inst = instance_of(l);
    let top = match crate::store_lua::proxy_node(l, 1) {
        Some(Some(n)) => n,
        Some(None) => crate::store_lua::raise_store(l, StoreError::Gone),
        None => ROOT,
    };
    if lua_checkstack(l, 16) == 0 {
        crate::store_lua::raise(l, b"ext.stats: no room on the Lua stack");
    }
    // The bytes belong to the instance while they are pushed (pushing may raise).
    let (mark, out) = inst.scratch_push();
    let out = &mut *out;
    write(inst, Some(top), out);
    push_wire(l, &mut Reader::new(&out[..]));
    instance_of(l).scratch_pop(mark);
    1
}

/// The report: a wire map.
fn write(inst: &Instance, top: Option<NodeId>, out: &mut Vec<u8>) {
    let s = top.map(|t| inst.store.stats(t)).unwrap_or_default();
    let base = top.and_then(|t| inst.store.path_of(t)).unwrap_or_default();
    let module_heap = crate::protocol::module_heap_used() as i64;
    #[cfg(target_arch = "wasm32")]
    let memory = (core::arch::wasm32::memory_size(0) << 16) as i64;
    #[cfg(not(target_arch = "wasm32"))]
    let memory = 0;
    map(out, 14);
    for (name, v) in [
        (&b"heapUsed"[..], inst.heap_used() as i64),
        (b"heapSize", inst.heap_size() as i64),
        (b"heapPeak", inst.heap_peak() as i64),
        (b"lastInstructions", inst.used as i64),
        (b"moduleHeapUsed", module_heap),
    ] {
        int(out, name, v);
    }
    int(out, b"records", s.total.records as i64);
    sizes(out, &s.total, b"compressionRatio");
    put_str(out, b"tables");
    tables(out, &s, &base);
    put_str(out, b"luaHeap");
    map(out, 3);
    int(out, b"used", inst.heap_used() as i64);
    int(out, b"limit", inst.heap_size() as i64);
    int(out, b"peak", inst.heap_peak() as i64);
    put_str(out, b"moduleMemory");
    map(out, 2);
    int(out, b"wasmMemory", memory);
    int(out, b"heapUsed", module_heap);
    let c = inst.store.compression;
    put_str(out, b"compression");
    map(out, 2);
    put_str(out, b"level");
    put_str(out, match c.level {
        None => b"off",
        Some(Level::Fast) => b"fast",
        Some(Level::Default) => b"default",
        Some(Level::Best) => b"best",
    });
    int(out, b"threshold", c.threshold as i64);
}

/// `tables`: per table `{ path, records, rawBytes, storedBytes, ratio, indexBytes,
/// indexes }`; `base` is the path of the table they are in.
fn tables(out: &mut Vec<u8>, s: &StoreStats, base: &[Key]) {
    list(out, s.tables.len());
    for t in &s.tables {
        map(out, 7);
        put_str(out, b"path");
        list(out, base.len() + 1);
        base.iter().chain([&t.key]).for_each(|k| put_key(out, k));
        int(out, b"records", t.sizes.records as i64);
        sizes(out, &t.sizes, b"ratio");
        put_str(out, b"indexes");
        list(out, t.indices.len());
        for ix in &t.indices {
            map(out, 5);
            put_str(out, b"field");
            put_key(out, &ix.field);
            put_str(out, b"type");
            put_str(out, if ix.hash { b"hash" } else { b"btree" });
            put_str(out, b"unique");
            out.push(if ix.unique { TAG_TRUE } else { TAG_FALSE });
            int(out, b"entries", ix.entries as i64);
            int(out, b"bytes", ix.bytes as i64);
        }
    }
}

/// `rawBytes`, `storedBytes`, the ratio (raw ÷ stored, 1 when empty) under `ratio`,
/// `indexBytes`.
fn sizes(out: &mut Vec<u8>, s: &Sizes, ratio: &[u8]) {
    int(out, b"rawBytes", s.raw as i64);
    int(out, b"storedBytes", s.stored as i64);
    put_str(out, ratio);
    put_key(out, &Key::Float(if s.stored == 0 { 1.0 } else { s.raw as f64 / s.stored as f64 }));
    int(out, b"indexBytes", s.index_bytes as i64);
}

#[inline(never)]
fn map(out: &mut Vec<u8>, n: u32) {
    out.push(TAG_MAP);
    put_u32(out, n);
}

/// An array of `n` values (a map `{}` when empty: the wire format has no empty array).
#[inline(never)]
fn list(out: &mut Vec<u8>, n: usize) {
    out.push(if n == 0 { TAG_MAP } else { TAG_ARRAY });
    put_u32(out, n as u32);
}

#[inline(never)]
fn int(out: &mut Vec<u8>, name: &[u8], v: i64) {
    put_str(out, name);
    put_key(out, &Key::Int(v));
}

/// Pushes the wire value at `r` (written by `write`: maps, arrays, integers, floats,
/// strings, booleans) as a Lua value.
unsafe fn push_wire(l: *mut lua_State, r: &mut Reader) {
    let tag = r.u8().unwrap_or(0);
    let n = if matches!(tag, TAG_ARRAY | TAG_MAP | TAG_STRING) { r.u32().unwrap_or(0) } else { 0 };
    match tag {
        TAG_INT => lua_pushinteger(l, r.u64().unwrap_or(0) as i64),
        TAG_FLOAT => lua_pushnumber(l, f64::from_bits(r.u64().unwrap_or(0))),
        TAG_STRING => {
            let s = r.take(n as usize).unwrap_or_default();
            lua_pushlstring(l, s.as_ptr() as *const c_char, s.len());
        }
        TAG_FALSE | TAG_TRUE => lua_pushboolean(l, (tag == TAG_TRUE) as c_int),
        TAG_ARRAY | TAG_MAP => {
            lua_createtable(l, 0, 0);
            for i in 1..=n as i64 {
                push_wire(l, r);
                if tag == TAG_ARRAY {
                    lua_rawseti(l, -2, i);
                } else {
                    push_wire(l, r);
                    lua_rawset(l, -3);
                }
            }
        }
        _ => lua_pushnil(l),
    }
}
