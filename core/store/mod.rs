//! store: external tables, kept in the module's Rust heap outside the fixed Lua heap.
//!
//! The store is a tree of tables (nodes) under the root, `Memory` (node 0). A nested table
//! is owned by exactly one slot of its parent: assigning a table copies it in, so there are
//! no shared references and no cycles, and every node knows its parent and its key there.
//! That is what lets a write at any depth (`Memory.users.u1.age = 31`) maintain the indices
//! of the table above it.
//!
//! Every write goes through `set`, which records the old value in an undo log and the
//! location in the change set. `commit` forgets the undo log (freeing tables that were
//! replaced), `rollback` replays it backwards through the same code path, so indices,
//! lengths and parent links are restored exactly. Savepoints let one failed operation of a
//! batch be undone alone.
//!
//! | file | what |
//! | --- | --- |
//! | value.rs | `Key`, `Value`, their order (the index encoding's) and hash |
//! | map.rs | the hash table inside each node |
//! | index.rs | B-tree and hash indices on a field of a table's records |
//! | query.rs | conditions, plans (index or scan), ordering, paging |
//! | pages.rs | the store as storage pages, and their compression |
//! | stats.rs | sizes of tables in storage and of their indices, for `lua.stats()` |
//! | wire.rs | values from requests into the store, and from the store to replies |
//! | system.rs | the hidden system area, a second root beside `Memory` for Cu's own data |

pub mod catalog;
pub mod index;
pub mod map;
#[cfg(feature = "persistence")]
pub mod pages;
pub mod query;
pub mod schema;
pub mod sort;
pub mod system;
#[cfg(feature = "persistence")]
pub mod stats;
pub mod value;
pub mod violation;
pub mod wire;

use alloc::boxed::Box;
use alloc::vec::Vec;
use index::Index;
use map::Map;
pub use value::{Blob, Key, NodeId, Value};

/// The root table, `Memory`.
pub const ROOT: NodeId = 0;
/// Deepest nesting of tables below the root (as the wire format and the codec allow).
pub const MAX_DEPTH: usize = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum StoreError {
    /// A path goes through a value that is not a table (status NOT_A_TABLE).
    NotATable,
    /// A unique index already has the value (status UNIQUE_VIOLATION).
    Unique,
    /// `update` of a missing record (status NOT_FOUND).
    NotFound,
    /// The table was deleted (a stale handle).
    Gone,
    /// A malformed request or argument (status BAD_ARGUMENT), with its message.
    Bad(&'static str),
    /// Storage pages that are damaged or not Cu's (status BAD_DATA).
    Corrupt,
}

pub struct Node {
    pub map: Map<Value>,
    /// Persistent id: never reused, kept across a save and a load; root 0. The node's page
    /// for storage is `pid / PAGE_NODES` (pages.rs).
    pub pid: u64,
    /// A border of the table (`#t`): keys 1..=border are all present, border + 1 is not.
    border: i64,
    /// The table holding this one, and its key there; None for the root and for tables
    /// that are not (or no longer) in the tree.
    parent: Option<(NodeId, Key)>,
    pub indices: Vec<Index>,
}

struct Slot {
    /// Bumped when the node is freed, so stale handles can be told apart.
    gen: u32,
    node: Option<Node>,
}

enum Undo {
    Set { node: NodeId, key: Key, old: Option<Value> },
    IndexCreated { node: NodeId, field: Key },
    IndexDropped { node: NodeId, index: Index },
}

/// What the change set records (`take_changes`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum ChangeKind {
    Value,
    /// An index was created: hash (else B-tree), unique.
    IndexCreated { hash: bool, unique: bool },
    IndexDropped,
}

impl ChangeKind {
    /// 0 value, 1 index created, 2 index dropped (the wire's change kinds).
    pub fn code(self) -> u8 {
        match self {
            ChangeKind::Value => 0,
            ChangeKind::IndexCreated { .. } => 1,
            ChangeKind::IndexDropped => 2,
        }
    }
}

/// A position in the undo log and the change set.
#[derive(Clone, Copy)]
pub struct Savepoint {
    pub undo: usize,
    pub changes: usize,
}

/// A field-value change of an index, computed before a write is applied.
struct Effect {
    node: NodeId,
    index: usize,
    old: Option<Key>,
    new: Option<Key>,
    record: Key,
}

pub struct Store {
    slots: Vec<Slot>,
    free: Vec<NodeId>,
    undo: Vec<Undo>,
    changes: Vec<(NodeId, u32, Key, ChangeKind)>,
    next_blob: u32,
    /// Next persistent id.
    next_pid: u64,
    /// The live nodes of each storage page (index: page number).
    page_nodes: Vec<Vec<NodeId>>,
    /// Pages changed since they were last taken (`pages::take_pages`), each once, and the
    /// same set as bits (bit `p % 64` of word `p / 64`).
    dirty: Vec<u64>,
    dirty_bits: Vec<u64>,
    /// The root of the system area (system.rs), once made.
    system: Option<NodeId>,
    /// Schema rules as validation reads them (schema.rs).
    rules: schema::RuleCache,
    /// How pages store long values (the instance's setting).
    #[cfg(feature = "persistence")]
    pub compression: pages::Compression,
    /// Bytes of each node's record (by node id) as last written to or read from its page,
    /// and uncompressed (for `stats`).
    #[cfg(feature = "persistence")]
    record_sizes: Vec<[u32; 2]>,
}

/// Nodes per storage page (pages.rs).
pub const PAGE_NODES: u64 = 64;

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        let mut s = Store {
            slots: Vec::new(),
            free: Vec::new(),
            undo: Vec::new(),
            changes: Vec::new(),
            next_blob: 1,
            next_pid: 0,
            page_nodes: Vec::new(),
            dirty: Vec::new(),
            dirty_bits: Vec::new(),
            system: None,
            rules: Default::default(),
            #[cfg(feature = "persistence")]
            compression: pages::Compression::DEFAULT,
            #[cfg(feature = "persistence")]
            record_sizes: Vec::new(),
        };
        s.new_node();
        s
    }

    /// A new empty table outside the tree.
    pub fn new_node(&mut self) -> NodeId {
        let pid = self.next_pid;
        self.next_pid += 1;
        self.new_node_with_pid(pid)
    }

    /// `new_node` with a given persistent id (loading pages).
    fn new_node_with_pid(&mut self, pid: u64) -> NodeId {
        let node = Some(Node { map: Map::default(), pid, border: 0, parent: None, indices: Vec::new() });
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize].node = node;
                id
            }
            None => {
                self.slots.push(Slot { gen: 0, node });
                (self.slots.len() - 1) as NodeId
            }
        };
        let page = (pid / PAGE_NODES) as usize;
        if self.page_nodes.len() <= page {
            self.page_nodes.resize_with(page + 1, Vec::new);
        }
        self.page_nodes[page].push(id);
        id
    }

    /// Marks the page of `node` as changed.
    fn touch(&mut self, node: NodeId) {
        if let Some(n) = self.node(node) {
            let page = n.pid / PAGE_NODES;
            let (word, bit) = ((page / 64) as usize, 1u64 << (page % 64));
            if self.dirty_bits.len() <= word {
                self.dirty_bits.resize(word + 1, 0);
            }
            if self.dirty_bits[word] & bit == 0 {
                self.dirty_bits[word] |= bit;
                self.dirty.push(page);
            }
        }
    }

    /// The changed pages, each once, in no particular order; none are changed afterwards.
    fn take_dirty(&mut self) -> Vec<u64> {
        self.dirty_bits.clear();
        core::mem::take(&mut self.dirty)
    }

    /// Room for `n` entries in a table about to be filled.
    pub fn reserve(&mut self, id: NodeId, n: usize) {
        if let Some(node) = self.node_mut(id) {
            node.map.reserve(n);
        }
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.slots.get(id as usize)?.node.as_ref()
    }

    fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.slots.get_mut(id as usize)?.node.as_mut()
    }

    /// The generation of a node's slot (bumped when it is freed).
    pub fn generation(&self, id: NodeId) -> u32 {
        self.slots.get(id as usize).map_or(0, |s| s.gen)
    }

    /// A handle for a node that tells a freed (and maybe reused) slot apart.
    pub fn handle(&self, id: NodeId) -> i64 {
        (self.slots[id as usize].gen as i64) << 32 | id as i64
    }

    /// The node of a handle while it is in the tree (a table taken out of it counts as
    /// deleted at once, though it is freed only at commit). The tree has two roots:
    /// `Memory` and the system area's.
    pub fn resolve(&self, handle: i64) -> Option<NodeId> {
        let id = handle as u32;
        let slot = self.slots.get(id as usize)?;
        let live = slot.node.as_ref().is_some_and(|n| id == ROOT || n.parent.is_some() || self.system == Some(id));
        (slot.gen == (handle >> 32) as u32 && live).then_some(id)
    }

    pub fn get(&self, node: NodeId, key: &Key) -> Option<&Value> {
        self.node(node)?.map.get(key)
    }

    /// Calls `f` with the key and node of every record of `table` that is a table. Unless
    /// the table holds under an eighth of the store's tables, they are visited in node
    /// order: a sequential walk over every node costs less than one cache miss per record
    /// in hash order.
    pub fn table_records<'a>(&'a self, table: NodeId, f: &mut dyn FnMut(&'a Key, NodeId)) {
        let Some(t) = self.node(table) else { return };
        if t.map.len() * 8 >= self.slots.len() {
            for (id, slot) in self.slots.iter().enumerate() {
                if let Some(Node { parent: Some((p, k)), .. }) = &slot.node {
                    if *p == table {
                        f(k, id as NodeId);
                    }
                }
            }
        } else {
            for (k, v) in t.map.iter() {
                if let Value::Table(c) = v {
                    f(k, *c);
                }
            }
        }
    }

    /// The keys of a table in key order (the order of their index encoding).
    pub fn sorted_keys(&self, node: NodeId) -> Vec<Key> {
        let keys: Vec<&Key> = self.node(node).map_or(Vec::new(), |n| n.map.iter().map(|(k, _)| k).collect());
        let mut e = Vec::new();
        let mut prefix = |i: usize| {
            e.clear();
            keys[i].encode(&mut e);
            sort::prefix(&e)
        };
        sort::order_by_prefix(keys.len(), &mut prefix, &|a, b| keys[a].order(keys[b])).iter().map(|&i| keys[i as usize].clone()).collect()
    }

    /// `#t`.
    pub fn border(&self, node: NodeId) -> i64 {
        self.node(node).map_or(0, |n| n.border)
    }

    /// The table at `path` below the root: Ok(None) if a step is missing.
    pub fn find(&self, path: &[Key]) -> Result<Option<NodeId>, StoreError> {
        let mut at = ROOT;
        for k in path {
            match self.get(at, k) {
                None => return Ok(None),
                Some(Value::Table(n)) => at = *n,
                Some(_) => return Err(StoreError::NotATable),
            }
        }
        Ok(Some(at))
    }

    /// The table at `path`, creating missing tables on the way (recorded, so a rollback
    /// removes them).
    pub fn make_path(&mut self, path: &[Key]) -> Result<NodeId, StoreError> {
        let mut at = ROOT;
        for k in path {
            at = match self.get(at, k) {
                Some(Value::Table(n)) => *n,
                Some(_) => return Err(StoreError::NotATable),
                None => {
                    let n = self.new_node();
                    self.set(at, k.clone(), Some(Value::Table(n)))?;
                    n
                }
            };
        }
        Ok(at)
    }

    /// The keys from the root to `node`, or None if it is not in the tree.
    pub fn path_of(&self, mut node: NodeId) -> Option<Vec<Key>> {
        let mut path = Vec::new();
        while node != ROOT {
            let (p, k) = self.node(node)?.parent.as_ref()?;
            path.push(k.clone());
            node = *p;
        }
        path.reverse();
        Some(path)
    }

    pub fn savepoint(&self) -> Savepoint {
        Savepoint { undo: self.undo.len(), changes: self.changes.len() }
    }

    /// A blob value with a fresh id.
    pub fn blob(&mut self, bytes: Box<[u8]>, func: bool) -> Value {
        let id = self.next_blob;
        self.next_blob = id.wrapping_add(1);
        Value::Blob(Box::new(Blob { id, bytes, func }))
    }

    /// The scalar at `field` of `record` if it is a table.
    fn field(&self, record: Option<&Value>, field: &Key) -> Option<Key> {
        match record? {
            Value::Table(n) => Some(self.get(*n, field)?.scalar()?.normalized()),
            _ => None,
        }
    }

    /// The index changes a write of `value` at `node[key]` makes.
    fn effects(&self, node: NodeId, key: &Key, value: Option<&Value>) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(n) = self.node(node) else { return out };
        let old = n.map.get(key);
        // `node` is an indexed table and `key` one of its records.
        for (i, ix) in n.indices.iter().enumerate() {
            let (o, v) = (self.field(old, &ix.field), self.field(value, &ix.field));
            if o != v {
                out.push(Effect { node, index: i, old: o, new: v, record: key.clone() });
            }
        }
        // `node` is a record of an indexed table and `key` an indexed field.
        if let Some((p, pk)) = &n.parent {
            if let Some(pn) = self.node(*p) {
                for (i, ix) in pn.indices.iter().enumerate() {
                    if &ix.field == key {
                        let norm = |v: Option<&Value>| Some(v?.scalar()?.normalized());
                        let (o, v) = (norm(old), norm(value));
                        if o != v {
                            out.push(Effect { node: *p, index: i, old: o, new: v, record: pk.clone() });
                        }
                    }
                }
            }
        }
        out
    }

    /// Writes without checks or records (also the rollback path); returns the old value.
    fn apply(&mut self, node: NodeId, key: Key, value: Option<Value>, effects: Vec<Effect>) -> Option<Value> {
        self.touch(node);
        for e in effects {
            if let Some(ix) = self.node_mut(e.node).and_then(|n| n.indices.get_mut(e.index)) {
                if let Some(o) = &e.old {
                    ix.remove(o, &e.record);
                }
                if let Some(v) = &e.new {
                    ix.insert(v, &e.record);
                }
            }
        }
        if let Some(Value::Table(c)) = &value {
            let c = *c;
            self.touch(c);
            if let Some(child) = self.node_mut(c) {
                child.parent = Some((node, key.clone()));
            }
        }
        let n = self.node_mut(node)?;
        let present = value.is_some();
        let int = if let Key::Int(i) = key { Some(i) } else { None };
        let old = n.map.set(key, value);
        if let Some(i) = int {
            if present && i == n.border + 1 {
                while n.map.get(&Key::Int(n.border + 1)).is_some() {
                    n.border += 1;
                }
            } else if !present && (1..=n.border).contains(&i) {
                n.border = i - 1;
            }
        }
        if let Some(Value::Table(c)) = &old {
            let c = *c;
            self.touch(c);
            if let Some(child) = self.node_mut(c) {
                child.parent = None;
            }
        }
        old
    }

    /// `node[key] = value` (None deletes): indices maintained and unique constraints
    /// checked, the old value kept for rollback, the change recorded.
    pub fn set(&mut self, node: NodeId, key: Key, value: Option<Value>) -> Result<(), StoreError> {
        let gen = self.slots.get(node as usize).filter(|s| s.node.is_some()).ok_or(StoreError::Gone)?.gen;
        if let Some(Value::Table(c)) = &value {
            if self.depth(node) + self.height(*c) > MAX_DEPTH {
                self.free_value(value);
                return Err(StoreError::Bad("external tables nest at most 200 deep"));
            }
        }
        let effects = self.effects(node, &key, value.as_ref());
        for e in &effects {
            let ix = &self.node(e.node).ok_or(StoreError::Gone)?.indices[e.index];
            if ix.unique && e.new.as_ref().is_some_and(|v| ix.taken(v, &e.record)) {
                self.free_value(value);
                return Err(StoreError::Unique);
            }
        }
        self.changes.push((node, gen, key.clone(), ChangeKind::Value));
        let old = self.apply(node, key.clone(), value, effects);
        self.undo.push(Undo::Set { node, key, old });
        Ok(())
    }

    /// Frees a value that never made it into the tree.
    pub fn free_value(&mut self, value: Option<Value>) {
        if let Some(Value::Table(n)) = value {
            self.free_tree(n);
        }
    }

    /// Frees a table and every table below it (recursion bounded by the depth limit).
    fn free_tree(&mut self, id: NodeId) {
        self.touch(id);
        let Some(slot) = self.slots.get_mut(id as usize) else { return };
        let Some(mut node) = slot.node.take() else { return };
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(id);
        if let Some(list) = self.page_nodes.get_mut((node.pid / PAGE_NODES) as usize) {
            if let Some(i) = list.iter().position(|&x| x == id) {
                list.swap_remove(i);
            }
        }
        for (_, v) in node.map.drain() {
            if let Value::Table(c) = v {
                self.free_tree(c);
            }
        }
    }

    /// Makes everything since the last commit permanent.
    pub fn commit(&mut self) {
        for u in core::mem::take(&mut self.undo) {
            if let Undo::Set { old: Some(Value::Table(c)), .. } = u {
                self.free_tree(c);
            }
        }
    }

    /// Undoes everything since `sp`.
    pub fn rollback_to(&mut self, sp: Savepoint) {
        while self.undo.len() > sp.undo {
            match self.undo.pop() {
                Some(Undo::Set { node, key, old }) => {
                    let effects = self.effects(node, &key, old.as_ref());
                    let new = self.apply(node, key, old, effects);
                    self.free_value(new);
                }
                Some(Undo::IndexCreated { node, field }) => {
                    self.touch(node);
                    if let Some(n) = self.node_mut(node) {
                        n.indices.retain(|i| i.field != field);
                    }
                }
                Some(Undo::IndexDropped { node, index }) => {
                    self.touch(node);
                    if let Some(n) = self.node_mut(node) {
                        n.indices.push(index);
                    }
                }
                None => {}
            }
        }
        self.changes.truncate(sp.changes);
    }

    /// Undoes everything since the last commit. Each undo entry recorded one change, so
    /// the change set goes back by as many.
    pub fn rollback(&mut self) {
        let changes = self.changes.len().saturating_sub(self.undo.len());
        self.rollback_to(Savepoint { undo: 0, changes });
    }

    /// Creates an index on `field` of the records of `node`. An identical index is left as
    /// it is; a different one on the same field is an error.
    pub fn create_index(&mut self, node: NodeId, field: Key, hash: bool, unique: bool) -> Result<(), StoreError> {
        let gen = self.slots.get(node as usize).ok_or(StoreError::Gone)?.gen;
        let n = self.node(node).ok_or(StoreError::Gone)?;
        if let Some(ix) = n.indices.iter().find(|i| i.field == field) {
            return if ix.is_hash() == hash && ix.unique == unique {
                Ok(())
            } else {
                Err(StoreError::Bad("a different index on this field exists: drop it first"))
            };
        }
        let mut ix = Index::new(field.clone(), hash, unique);
        // Entries `encode(value) ++ encode(key)`, sorted as bytes.
        let _ = n;
        let mut found: Vec<Vec<u8>> = Vec::new();
        self.table_records(node, &mut |k, c| {
            if let Some(v) = self.field(Some(&Value::Table(c)), &field) {
                found.push(index::entry(&v, k));
            }
        });
        // Sorted by their first 24 bytes as three integers, then each run of equal first
        // bytes (rare: the record key differs within them) by all its bytes.
        let ord = sort::order_by_prefix(found.len(), &mut |i| sort::prefix(&found[i]), &|a, b| sort::cmp_bytes(&found[a], &found[b], 24));
        let mut found: Vec<Option<Vec<u8>>> = found.into_iter().map(Some).collect();
        let sorted: Vec<Vec<u8>> = ord.iter().filter_map(|&i| found[i as usize].take()).collect();
        drop(found);
        if unique {
            fn value(e: &[u8]) -> &[u8] {
                &e[..Key::encoded_len(e).unwrap_or(0)]
            }
            if sorted.windows(2).any(|w| value(&w[0]) == value(&w[1])) {
                return Err(StoreError::Unique);
            }
        }
        match &mut ix.kind {
            index::IndexKind::BTree(t) => *t = crate::index::btree::BTree::from_sorted(sorted),
            index::IndexKind::Hash(_) => {
                for e in &sorted {
                    let l = Key::encoded_len(e).unwrap_or(0);
                    if let (Some((v, _)), Some((k, _))) = (Key::decode(&e[..l]), Key::decode(&e[l..])) {
                        ix.insert(&v, &k);
                    }
                }
            }
        }
        self.node_mut(node).ok_or(StoreError::Gone)?.indices.push(ix);
        self.touch(node);
        self.undo.push(Undo::IndexCreated { node, field: field.clone() });
        self.changes.push((node, gen, field, ChangeKind::IndexCreated { hash, unique }));
        Ok(())
    }

    /// Drops the index on `field`; false if there was none.
    pub fn drop_index(&mut self, node: NodeId, field: &Key) -> bool {
        let Some(slot) = self.slots.get_mut(node as usize) else { return false };
        let gen = slot.gen;
        let Some(n) = slot.node.as_mut() else { return false };
        let Some(i) = n.indices.iter().position(|ix| &ix.field == field) else { return false };
        let index = n.indices.remove(i);
        self.touch(node);
        self.undo.push(Undo::IndexDropped { node, index });
        self.changes.push((node, gen, field.clone(), ChangeKind::IndexDropped));
        true
    }

    /// A fresh copy of the table `node` and everything below it (without its indices).
    /// Recursion is bounded by the tree's depth limit.
    pub fn copy_tree(&mut self, node: NodeId) -> NodeId {
        let copy = self.new_node();
        let entries: Vec<(Key, Value)> = match self.node(node) {
            Some(n) => n.map.iter().map(|(k, v)| (k.clone(), shallow(v))).collect(),
            None => Vec::new(),
        };
        for (k, v) in entries {
            let v = if let Value::Table(c) = v { Value::Table(self.copy_tree(c)) } else { v };
            self.apply(copy, k, Some(v), Vec::new());
        }
        copy
    }

    /// Nesting below `node` (a table holding only scalars is 1). The recursion is bounded
    /// by the tree's depth limit.
    pub fn height(&self, node: NodeId) -> usize {
        let mut h = 0;
        for (_, v) in self.node(node).map(|n| &n.map).into_iter().flat_map(Map::iter) {
            if let Value::Table(c) = v {
                h = h.max(self.height(*c));
            }
        }
        h + 1
    }

    /// Tables between the root and `node` (the root's children are at depth 1).
    pub fn depth(&self, mut node: NodeId) -> usize {
        let mut d = 0;
        while let Some((p, _)) = self.node(node).and_then(|n| n.parent.as_ref()) {
            node = *p;
            d += 1;
        }
        d
    }

}

/// A copy of a value, except that a table stays the same node.
fn shallow(v: &Value) -> Value {
    match v {
        Value::Key(k) => Value::Key(k.clone()),
        Value::Table(c) => Value::Table(*c),
        Value::Blob(b) => Value::Blob(Box::new(Blob { id: b.id, bytes: b.bytes.clone(), func: b.func })),
    }
}

impl Store {
    /// Fills a fresh table (not in the tree, no indices) without records.
    pub fn fill(&mut self, node: NodeId, key: Key, value: Value) {
        let old = self.apply(node, key, Some(value), Vec::new());
        self.free_value(old);
    }

    /// The changes since the last call, each location once (in order of first change),
    /// with locations no longer in the tree left out.
    pub fn take_changes(&mut self) -> Vec<(Vec<Key>, Key, ChangeKind)> {
        let all = core::mem::take(&mut self.changes);
        // Group equal locations (first change first) and keep the first of each group.
        let same = |a: usize, b: usize| {
            let (x, y) = (&all[a], &all[b]);
            (x.0, x.1, x.3.code()).cmp(&(y.0, y.1, y.3.code())).then_with(|| x.2.order(&y.2))
        };
        let ord = sort::order(all.len(), usize::MAX, &|a, b| same(a, b).then(a.cmp(&b)));
        let mut keep = alloc::vec![false; all.len()];
        for (j, &i) in ord.iter().enumerate() {
            keep[i as usize] = j == 0 || same(ord[j - 1] as usize, i as usize) != core::cmp::Ordering::Equal;
        }
        let mut out = Vec::new();
        for ((node, gen, key, kind), _) in all.into_iter().zip(keep).filter(|c| c.1) {
            if self.slots.get(node as usize).is_some_and(|s| s.gen == gen) {
                if let Some(path) = self.path_of(node) {
                    out.push((path, key, kind));
                }
            }
        }
        out
    }

    /// Every invariant, for tests: parent links, borders, and each index holding exactly
    /// the field values of its records.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        for (id, slot) in self.slots.iter().enumerate() {
            let Some(n) = slot.node.as_ref() else { continue };
            let id = id as NodeId;
            if let Some((p, k)) = &n.parent {
                match self.get(*p, k) {
                    Some(Value::Table(c)) if *c == id => {}
                    _ => return Err("parent link does not point back"),
                }
            }
            for (k, v) in n.map.iter() {
                if let Value::Table(c) = v {
                    match self.node(*c).and_then(|c| c.parent.as_ref()) {
                        Some((p, pk)) if *p == id && pk == k => {}
                        _ => return Err("child's parent link is wrong"),
                    }
                }
            }
            let b = n.border;
            if b < 0 || (1..=b).any(|i| n.map.get(&Key::Int(i)).is_none()) || n.map.get(&Key::Int(b + 1)).is_some() {
                return Err("border is wrong");
            }
            for ix in &n.indices {
                let mut want: Vec<(Key, Key)> =
                    n.map.iter().filter_map(|(k, v)| Some((self.field(Some(v), &ix.field)?, k.clone()))).collect();
                if ix.unique && want.iter().enumerate().any(|(i, a)| want[i + 1..].iter().any(|b| a.0 == b.0)) {
                    return Err("unique index holds a duplicate");
                }
                match &ix.kind {
                    index::IndexKind::BTree(t) => {
                        if !t.check_invariants() {
                            return Err("B-tree invariants broken");
                        }
                        let mut entries: Vec<Vec<u8>> = want.iter().map(|(v, k)| index::entry(v, k)).collect();
                        entries.sort();
                        if !t.iter().eq(entries.iter().map(|e| e.as_slice())) {
                            return Err("B-tree entries differ from the records");
                        }
                    }
                    index::IndexKind::Hash(m) => {
                        if ix.len() != want.len() {
                            return Err("hash index size differs from the records");
                        }
                        want.retain(|(v, k)| !m.get(v).is_some_and(|l| l.contains(k)));
                        if !want.is_empty() {
                            return Err("hash index misses a record");
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
