//! pages.rs: the store as storage pages, for persistence (issue 5). Every node has a
//! persistent id (`pid`, never reused; the root is 0) and lives in page `pid / PAGE_NODES`,
//! so the tables made by one batch share a few pages. A page holds the records of its live
//! nodes; a node's record names its parent and its key there (a parent does not list its
//! children, so adding a record to a big table rewrites only the new record's page). Every
//! write marks its pages; `take_pages` gives the pages changed since the last call, to be
//! written in one storage transaction; `load_pages` rebuilds the store from all of them.
//! Long values are stored deflated as `Store::compression` says (the instance's setting,
//! not persisted: a page says itself what is deflated, so pages load under any setting);
//! blobs are plain in memory and deflated on the way to a page (codec::pack).
//!
//! Page (all integers little-endian):
//!
//! | bytes | what |
//! | --- | --- |
//! | 4 | magic `CuPg` |
//! | 1 | format version (2; 1 is read too) |
//! | 3 | zero |
//! | 4 | Adler-32 of the body |
//! | 4 | body length |
//! | body | `u32` record count, then the records in pid order |
//!
//! Record: `u64` pid, `u64` parent pid (`u64::MAX` for the root, `u64::MAX - 1` for the
//! root of the system area, version 2 only), the key in the parent (a wire key: tags 1–5
//! of docs/ARCHITECTURE.md "Wire values"; nil for both roots), `u32` entry count, entries
//! (a wire key, then a value: a wire scalar, tags 1–5, floats as stored, NaN included; or a
//! blob: tag 10, `u8` 1 for a function else 0, `u32` length, codec bytes, deflated (the
//! codec header's flag) when its body is over the threshold and that is smaller; or a string
//! value over the threshold whose DEFLATE makes the record smaller: tag 11, `u32` length,
//! `u32` compressed length, raw DEFLATE bytes), `u8` index count, indices (field as a wire key, `u8` kind 1 B-tree / 2
//! hash, `u8` 1 if unique). Child tables are not entries: each child's record points to its
//! parent.
//!
//! Version 1 is version 2 without a system area. Loading any version-1 page marks every
//! page changed, so the next save writes the whole store as version 2 (the upgrade).

use super::wire::{put_key, put_u32, Reader};
use super::{sort, Blob, Key, Node, NodeId, Store, StoreError, Value, MAX_DEPTH, PAGE_NODES, ROOT};
use crate::codec::{self, Level};
use crate::wire::{TAG_FLOAT, TAG_NIL};
use alloc::vec::Vec;

pub const MAGIC: [u8; 4] = *b"CuPg";
pub const VERSION: u8 = 2;
const HEADER: usize = 16;
const TAG_BLOB: u8 = 10;
const TAG_DEFLATED: u8 = 11;
const NO_PARENT: u64 = u64::MAX;
/// The parent pid of the system area's root (system.rs).
const SYSTEM_PARENT: u64 = u64::MAX - 1;
const CORRUPT: StoreError = StoreError::Corrupt;

/// How pages store long values: the instance's `compression` option (README).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct Compression {
    /// None: every value raw.
    pub level: Option<Level>,
    /// Strings longer than this many bytes, and blobs whose codec body is, are deflated
    /// when that makes their record smaller.
    pub threshold: u32,
}

impl Compression {
    pub const DEFAULT: Compression = Compression { level: Some(Level::Default), threshold: 1024 };
    pub const OFF: Compression = Compression { level: None, threshold: 1024 };
}

/// A node's record as read from a page.
struct Record {
    pid: u64,
    parent: u64,
    key: Option<Key>,
    entries: Vec<(Key, Value)>,
    indices: Vec<(Key, bool, bool)>,
    /// Bytes of the record in its page, and uncompressed.
    size: [usize; 2],
}

impl Store {
    /// The pages changed since the last call, each once: (page number, its bytes, or None
    /// when no node lives there any more). Call it between transactions.
    pub fn take_pages(&mut self) -> Vec<(u64, Option<Vec<u8>>)> {
        let dirty = self.take_dirty();
        let mut sizes = Vec::new();
        let ord = sort::order(dirty.len(), usize::MAX, &|a, b| dirty[a].cmp(&dirty[b]));
        let pages = ord.iter().map(|&i| (dirty[i as usize], self.encode_page(dirty[i as usize], &mut sizes))).collect();
        for (id, size) in sizes {
            self.note_sizes(id, size);
        }
        pages
    }

    /// Remembers the bytes of `id`'s record as last written to (or read from) its page, and
    /// uncompressed.
    fn note_sizes(&mut self, id: NodeId, size: [usize; 2]) {
        let i = id as usize;
        if self.record_sizes.len() <= i {
            self.record_sizes.resize(i + 1, [0; 2]);
        }
        self.record_sizes[i] = size.map(|n| n as u32);
    }

    /// The bytes of `id`'s record in its page as last written or read, and uncompressed
    /// (zeros before that).
    pub(super) fn record_sizes(&self, id: NodeId) -> [usize; 2] {
        self.record_sizes.get(id as usize).map_or([0; 2], |s| s.map(|n| n as usize))
    }

    /// The nodes of `page` that are in the tree, in pid order.
    fn page_members(&self, page: u64) -> Vec<(NodeId, &Node)> {
        let ids = self.page_nodes.get(page as usize).map_or(&[][..], |v| &v[..]);
        let mut nodes: Vec<(NodeId, &Node)> = ids.iter().filter(|&&id| self.resolve(self.handle(id)).is_some()).filter_map(|&id| Some((id, self.node(id)?))).collect();
        let ord = sort::order(nodes.len(), usize::MAX, &|a, b| nodes[a].1.pid.cmp(&nodes[b].1.pid));
        let sorted = ord.iter().map(|&i| nodes[i as usize]).collect();
        nodes.clear();
        sorted
    }

    /// The page's bytes; the sizes of each record (written, uncompressed) go to `sizes`.
    fn encode_page(&self, page: u64, sizes: &mut Vec<(NodeId, [usize; 2])>) -> Option<Vec<u8>> {
        let nodes = self.page_members(page);
        if nodes.is_empty() {
            return None;
        }
        let mut body = Vec::new();
        put_u32(&mut body, nodes.len() as u32);
        for (id, n) in nodes {
            let at = body.len();
            let saved = self.put_record(&mut body, n, self.compression);
            sizes.push((id, [body.len() - at, body.len() - at + saved]));
        }
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[VERSION, 0, 0, 0]);
        out.extend_from_slice(&crate::codec::adler32(&body).to_le_bytes());
        put_u32(&mut out, body.len() as u32);
        out.extend_from_slice(&body);
        Some(out)
    }

    /// Appends the record of node `n` as `c` says; returns the bytes compression saved.
    pub(super) fn put_record(&self, body: &mut Vec<u8>, n: &Node, c: Compression) -> usize {
        body.extend_from_slice(&n.pid.to_le_bytes());
        match &n.parent {
            Some((p, k)) => {
                body.extend_from_slice(&self.node(*p).map_or(NO_PARENT, |p| p.pid).to_le_bytes());
                put_key(body, k);
            }
            None => {
                let parent = if n.pid == 0 { NO_PARENT } else { SYSTEM_PARENT };
                body.extend_from_slice(&parent.to_le_bytes());
                body.push(TAG_NIL);
            }
        }
        let at = body.len();
        put_u32(body, 0);
        let mut count = 0u32;
        let mut saved = 0;
        for (k, v) in n.map.iter() {
            match v {
                Value::Table(_) => continue,
                Value::Key(s) => {
                    put_key(body, k);
                    saved += put_scalar(body, s, c);
                }
                Value::Blob(b) => {
                    put_key(body, k);
                    saved += put_blob(body, b, c);
                }
            }
            count += 1;
        }
        body[at..at + 4].copy_from_slice(&count.to_le_bytes());
        body.push(n.indices.len() as u8);
        for ix in &n.indices {
            put_key(body, &ix.field);
            body.extend_from_slice(&[1 + ix.is_hash() as u8, ix.unique as u8]);
        }
        saved
    }

    /// Replaces the whole store with the one the pages describe (all of them, as written by
    /// `take_pages`). Damaged or inconsistent pages are an error, and leave the store empty.
    /// Handles of the old tables go stale (their slots are freed, generations bumped).
    pub fn load_pages(&mut self, pages: &[(u64, &[u8])]) -> Result<(), StoreError> {
        self.clear();
        let mut made = Vec::new();
        let r = self.load(pages, &mut made);
        if r.is_err() {
            for id in made {
                self.free_tree(id);
            }
            self.clear();
        }
        self.undo.clear();
        self.changes.clear();
        self.take_dirty();
        if r == Ok(true) {
            // Written by format 1: every page is written again, as version 2.
            for p in 0..self.page_nodes.len() {
                if let Some(&id) = self.page_nodes[p].first() {
                    self.touch(id);
                }
            }
        }
        r.map(|_| ())
    }

    /// Empties the store (the root stays, as node 0; the system area goes).
    fn clear(&mut self) {
        let children: Vec<NodeId> = self.node(ROOT).map_or(Vec::new(), |n| n.map.iter().filter_map(|(_, v)| if let Value::Table(c) = v { Some(*c) } else { None }).collect());
        for c in children.into_iter().chain(self.system.take()) {
            self.free_tree(c);
        }
        if let Some(root) = self.node_mut(ROOT) {
            root.map = Default::default();
            root.border = 0;
            root.indices.clear();
        }
        self.undo.clear();
        self.changes.clear();
    }

    /// Loads into the cleared store; Ok(true) when a page was of format version 1.
    fn load(&mut self, pages: &[(u64, &[u8])], made: &mut Vec<NodeId>) -> Result<bool, StoreError> {
        // Pages in page order, whose records are in pid order: all records in pid order.
        let mut records = Vec::new();
        let mut last = None;
        let mut old = false;
        for i in sort::order(pages.len(), usize::MAX, &|a, b| pages[a].0.cmp(&pages[b].0)) {
            let (page, bytes) = pages[i as usize];
            if last >= Some(page) {
                return Err(CORRUPT);
            }
            last = Some(page);
            old |= read_page(page, bytes, self, &mut records)? == 1;
        }
        // Nodes first (the root is node 0, pid 0), then the links, then the entries.
        let mut ids = Vec::with_capacity(records.len());
        for r in &records {
            let root = r.pid == 0;
            let system = r.parent == SYSTEM_PARENT && !old;
            if root != (r.parent == NO_PARENT) || (root || system) != r.key.is_none() || (system && self.system.is_some()) {
                return Err(CORRUPT);
            }
            let id = if root { ROOT } else { self.new_node_with_pid(r.pid) };
            if system {
                self.system = Some(id);
            } else if !root {
                made.push(id);
            }
            ids.push(id);
        }
        let find = |pid: u64| records.binary_search_by(|r| r.pid.cmp(&pid)).ok();
        let mut parents = Vec::with_capacity(records.len());
        let mut size: Vec<u32> = records.iter().map(|r| r.entries.len() as u32).collect();
        for r in &records {
            let p = if r.key.is_some() { find(r.parent).ok_or(CORRUPT)? } else { 0 };
            size[p] += 1;
            parents.push(p);
        }
        for (i, &n) in size.iter().enumerate() {
            self.reserve(ids[i], n as usize);
        }
        for (i, r) in records.iter().enumerate() {
            if let Some(k) = &r.key {
                if self.apply(ids[parents[i]], k.clone(), Some(Value::Table(ids[i])), Vec::new()).is_some() {
                    return Err(CORRUPT);
                }
            }
        }
        // Every node reaches a root within the depth limit (no cycles).
        for &id in &ids {
            let mut at = id;
            let mut steps = 0;
            while at != ROOT && Some(at) != self.system {
                at = self.node(at).and_then(|n| n.parent.as_ref()).ok_or(CORRUPT)?.0;
                steps += 1;
                if steps > MAX_DEPTH {
                    return Err(CORRUPT);
                }
            }
        }
        // Indices last, once every record holds its fields.
        let mut indices = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            for (k, v) in r.entries {
                if self.apply(ids[i], k, Some(v), Vec::new()).is_some() {
                    return Err(CORRUPT);
                }
            }
            indices.extend(r.indices.into_iter().map(|ix| (ids[i], ix)));
            self.next_pid = self.next_pid.max(r.pid + 1);
            self.note_sizes(ids[i], r.size);
        }
        for (id, (field, hash, unique)) in indices {
            self.create_index(id, field, hash, unique).map_err(|_| CORRUPT)?;
        }
        Ok(old)
    }
}

/// A stored scalar: as a wire key, or, for a long string that compresses, deflated.
/// Returns the bytes saved.
fn put_scalar(out: &mut Vec<u8>, s: &Key, c: Compression) -> usize {
    if let (Some(b), Some(level)) = (s.bytes().filter(|b| b.len() > c.threshold as usize), c.level) {
        let packed = codec::deflate(b, level);
        // (Its record is 4 bytes longer than the plain string's: the second length.)
        if packed.len() + 4 < b.len() {
            out.push(TAG_DEFLATED);
            put_u32(out, b.len() as u32);
            put_u32(out, packed.len() as u32);
            out.extend_from_slice(&packed);
            return b.len() - packed.len() - 4;
        }
    }
    put_key(out, s);
    0
}

/// A stored blob: its codec bytes, deflated when they are long enough and that is smaller.
/// Returns the bytes saved.
fn put_blob(out: &mut Vec<u8>, b: &Blob, c: Compression) -> usize {
    let packed = c.level.and_then(|level| codec::pack(&b.bytes, level, c.threshold as usize));
    let bytes = packed.as_deref().unwrap_or(&b.bytes);
    out.extend_from_slice(&[TAG_BLOB, b.func as u8]);
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
    b.bytes.len() - bytes.len()
}

/// Reads one page's records into `out` (blobs become values of `store`); returns the
/// page's format version.
fn read_page(page: u64, bytes: &[u8], store: &mut Store, out: &mut Vec<Record>) -> Result<u8, StoreError> {
    let head = bytes.get(..HEADER).ok_or(CORRUPT)?;
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let body = &bytes[HEADER..];
    if head[..4] != MAGIC || !(1..=VERSION).contains(&head[4]) || u32_at(12) as usize != body.len() || u32_at(8) != crate::codec::adler32(body) {
        return Err(CORRUPT);
    }
    let mut r = Reader::new(body);
    let bad = |_| CORRUPT;
    for _ in 0..r.u32().map_err(bad)? {
        let start = r.pos;
        let pid = r.u64().map_err(bad)?;
        let parent = r.u64().map_err(bad)?;
        if pid / PAGE_NODES != page || out.last().is_some_and(|l: &Record| l.pid >= pid) {
            return Err(CORRUPT);
        }
        let key = if r.bytes.get(r.pos) == Some(&TAG_NIL) {
            r.pos += 1;
            None
        } else {
            Some(r.key().map_err(bad)?)
        };
        let mut rec = Record { pid, parent, key, entries: Vec::new(), indices: Vec::new(), size: [0; 2] };
        let mut saved = 0;
        for _ in 0..r.u32().map_err(bad)? {
            let k = r.key().map_err(bad)?;
            let v = match r.bytes.get(r.pos) {
                Some(&TAG_FLOAT) => {
                    r.pos += 1;
                    Value::Key(Key::Float(f64::from_bits(r.u64().map_err(bad)?)))
                }
                Some(&TAG_DEFLATED) => {
                    r.pos += 1;
                    let n = r.u32().map_err(bad)? as usize;
                    let m = r.u32().map_err(bad)? as usize;
                    let packed = r.take(m).map_err(bad)?;
                    // A deflated string is never longer than its page allows (the body is
                    // at most 4 GiB, and DEFLATE expands by at most 1032 : 1).
                    if n > packed.len().saturating_mul(1032) {
                        return Err(CORRUPT);
                    }
                    let mut raw = Vec::new();
                    raw.try_reserve_exact(n).map_err(|_| CORRUPT)?;
                    raw.resize(n, 0);
                    if !codec::inflate(packed, &mut raw) {
                        return Err(CORRUPT);
                    }
                    // (Plain, the string would be a wire string: 4 bytes fewer than this.)
                    saved += (n + 5).saturating_sub(m + 9);
                    Value::Key(Key::str(&raw))
                }
                Some(&TAG_BLOB) => {
                    r.pos += 1;
                    let func = r.u8().map_err(bad)? == 1;
                    let n = r.u32().map_err(bad)? as usize;
                    let bytes = r.take(n).map_err(bad)?;
                    // Blobs are plain in memory.
                    let plain = codec::unpack(bytes).map_or_else(|| bytes.into(), Vec::into_boxed_slice);
                    saved += plain.len() - n;
                    store.blob(plain, func)
                }
                _ => Value::Key(r.key().map_err(bad)?),
            };
            rec.entries.push((k, v));
        }
        for _ in 0..r.u8().map_err(bad)? {
            let field = r.key().map_err(bad)?;
            let kind = r.u8().map_err(bad)?;
            let unique = r.u8().map_err(bad)?;
            if !(1..=2).contains(&kind) || unique > 1 {
                return Err(CORRUPT);
            }
            rec.indices.push((field, kind == 2, unique == 1));
        }
        rec.size = [r.pos - start, r.pos - start + saved];
        out.push(rec);
    }
    if !r.done() {
        return Err(CORRUPT);
    }
    Ok(head[4])
}
