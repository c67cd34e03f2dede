//! index.rs: a secondary index on one field of a table's records: a B+ tree of
//! `encode(field value) ++ encode(record key)` entries (every operator, in order), or a
//! hash of field value → record keys (equality). Records whose field is nil, NaN, a table
//! or a blob are not in the index.

use super::map::Map;
use super::value::Key;
use crate::index::btree::BTree;
use crate::index::keys::prefix_successor;
use alloc::vec::Vec;
use core::ops::Bound;

pub enum IndexKind {
    BTree(BTree),
    Hash(Map<Vec<Key>>),
}

pub struct Index {
    pub field: Key,
    pub unique: bool,
    pub kind: IndexKind,
}

/// `encode(value) ++ encode(record key)`.
pub fn entry(value: &Key, record: &Key) -> Vec<u8> {
    let mut e = Vec::with_capacity(24);
    value.encode(&mut e);
    record.encode(&mut e);
    e
}

/// The B-tree range holding every entry whose field value is `value`.
pub fn value_range(value: &Key) -> (Vec<u8>, Vec<u8>) {
    let mut lo = Vec::new();
    value.encode(&mut lo);
    // An encoding never ends in FF (its last byte is a number's residual byte, a string's
    // terminator, or a boolean tag), so a successor exists.
    let hi = prefix_successor(&lo).unwrap_or_default();
    (lo, hi)
}

impl Index {
    pub fn new(field: Key, hash: bool, unique: bool) -> Index {
        let kind = if hash { IndexKind::Hash(Map::default()) } else { IndexKind::BTree(BTree::new()) };
        Index { field, unique, kind }
    }

    pub fn is_hash(&self) -> bool {
        matches!(self.kind, IndexKind::Hash(_))
    }

    pub fn insert(&mut self, value: &Key, record: &Key) {
        match &mut self.kind {
            IndexKind::BTree(t) => {
                t.insert(&entry(value, record));
            }
            IndexKind::Hash(m) => match m.get_mut(value) {
                Some(list) => list.push(record.clone()),
                None => {
                    m.set(value.clone(), Some(alloc::vec![record.clone()]));
                }
            },
        }
    }

    pub fn remove(&mut self, value: &Key, record: &Key) {
        match &mut self.kind {
            IndexKind::BTree(t) => {
                t.remove(&entry(value, record));
            }
            IndexKind::Hash(m) => {
                if let Some(list) = m.get_mut(value) {
                    if let Some(i) = list.iter().position(|k| k == record) {
                        list.swap_remove(i);
                    }
                    if list.is_empty() {
                        m.set(value.clone(), None);
                    }
                }
            }
        }
    }

    /// A record other than `record` holds `value`.
    pub fn taken(&self, value: &Key, record: &Key) -> bool {
        match &self.kind {
            IndexKind::BTree(t) => {
                let (lo, hi) = value_range(value);
                let own = entry(value, record);
                t.range(Bound::Included(&lo), Bound::Excluded(&hi)).take(2).any(|e| e != own.as_slice())
            }
            IndexKind::Hash(m) => m.get(value).is_some_and(|l| l.iter().any(|k| k != record)),
        }
    }

    /// Entries in the index (for stats and tests).
    pub fn len(&self) -> usize {
        match &self.kind {
            IndexKind::BTree(t) => t.len(),
            IndexKind::Hash(m) => m.iter().map(|(_, l)| l.len()).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the size in bytes of each heap allocation the index holds.
    pub fn allocations(&self, f: &mut dyn FnMut(usize)) {
        match &self.kind {
            IndexKind::BTree(t) => t.allocations(f),
            IndexKind::Hash(m) => {
                f(m.slot_bytes());
                for (k, list) in m.iter() {
                    f(list.capacity() * core::mem::size_of::<Key>());
                    k.allocations(f);
                    list.iter().for_each(|k| k.allocations(f));
                }
            }
        }
    }
}
