//! stats.rs: what the external tables take, for `lua.stats()` and `ext.stats()` (the
//! report is core/stats_report.rs): per table in a given one (`Memory` by default), its records,
//! the bytes of its records and of every table below it in the storage pages, plain and as
//! stored, and its indices' entries and memory.
//!
//! "As stored" is the size of each record as last written to or read from its page, or,
//! for records whose page changed since, as it would be written now; "plain" is the size
//! with compression off (both kept per record when the page is written or read). Both leave out page headers (16 bytes a page, 4 more for the
//! record count). Memory of an index: the bytes of its allocations, as the module heap's
//! count (`moduleHeapUsed`) has them.

use super::{Key, NodeId, Store, Value, PAGE_NODES};
use alloc::vec::Vec;

/// Sizes of a table and everything below it.
#[derive(Clone, Copy, Default)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct Sizes {
    /// The table's own keys (a total: the listed tables' records).
    pub records: u64,
    /// Bytes of the records in storage pages, uncompressed.
    pub raw: u64,
    /// Bytes of the records in storage pages, as stored.
    pub stored: u64,
    /// Module heap bytes of the indices.
    pub index_bytes: u64,
}

/// One index of a table.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct IndexStats {
    pub field: Key,
    pub hash: bool,
    pub unique: bool,
    /// Records in the index.
    pub entries: u64,
    /// Module heap bytes.
    pub bytes: u64,
}

/// A table in the measured one.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct TableStats {
    pub key: Key,
    pub sizes: Sizes,
    pub indices: Vec<IndexStats>,
}

#[derive(Default)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct StoreStats {
    /// The measured table and everything below it; `records`: the listed tables' records.
    pub total: Sizes,
    /// The tables in the measured one, in key order.
    pub tables: Vec<TableStats>,
}

impl Store {
    /// The tables in `top` and `top` with everything below it.
    pub fn stats(&self, top: NodeId) -> StoreStats {
        let mut buf = Vec::new();
        let mut out = StoreStats { total: Sizes { records: 0, ..self.sizes(top, &mut buf, false) }, tables: Vec::new() };
        for key in self.sorted_keys(top) {
            let Some(Value::Table(id)) = self.get(top, &key) else { continue };
            let sizes = self.sizes(*id, &mut buf, true);
            let indices = self.node(*id).map_or(&[][..], |n| &n.indices[..]);
            let indices = indices
                .iter()
                .map(|ix| {
                    let mut bytes = 0;
                    ix.allocations(&mut |n| bytes += n as u64);
                    IndexStats { field: ix.field.clone(), hash: ix.is_hash(), unique: ix.unique, entries: ix.len() as u64, bytes }
                })
                .collect();
            let t = &mut out.total;
            t.records += sizes.records;
            t.raw += sizes.raw;
            t.stored += sizes.stored;
            t.index_bytes += sizes.index_bytes;
            out.tables.push(TableStats { key, sizes, indices });
        }
        out
    }

    /// The sizes of `id` with everything below it (`deep`), or of its own record only
    /// (`buf`: scratch for records measured afresh).
    fn sizes(&self, id: NodeId, buf: &mut Vec<u8>, deep: bool) -> Sizes {
        let mut s = Sizes { records: self.node(id).map_or(0, |n| n.map.len() as u64), ..Sizes::default() };
        let mut stack = alloc::vec![id];
        while let Some(id) = stack.pop() {
            let Some(n) = self.node(id) else { continue };
            let page = n.pid / PAGE_NODES;
            let changed = self.dirty_bits.get((page / 64) as usize).is_some_and(|w| w & 1 << (page % 64) != 0);
            let [stored, raw] = if changed {
                buf.clear();
                let saved = self.put_record(buf, n, self.compression);
                [buf.len(), buf.len() + saved]
            } else {
                self.record_sizes(id)
            };
            s.stored += stored as u64;
            s.raw += raw as u64;
            for ix in &n.indices {
                ix.allocations(&mut |n| s.index_bytes += n as u64);
            }
            if deep {
                stack.extend(n.map.iter().filter_map(|(_, v)| if let Value::Table(c) = v { Some(*c) } else { None }));
            }
        }
        s
    }
}
