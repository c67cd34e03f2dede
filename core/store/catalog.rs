//! catalog.rs: what Cu keeps about a table beside its records: its schema (schema.rs), its
//! schema version and its migration history. It lives in the system area (system.rs),
//! table `tables`, one entry per table path that has any of it:
//!
//! | key | value |
//! | --- | --- |
//! | `schema` | the schema: a rule table, as defined (absent: none) |
//! | `version` | the schema version, an integer (absent: 1) |
//! | `history` | an array of migrations, oldest first (absent: none); see `record_migration` |
//!
//! An entry's key is the table path's keys in the index encoding (core/index/keys.rs), one
//! after the other: that encoding is self-delimiting, so the key names one path, and the
//! path is known by name, not by table: replacing `Memory.users` keeps its schema.

use super::{Key, NodeId, Store, Value};
use alloc::vec::Vec;

/// The version of a table that has none recorded.
pub const FIRST_VERSION: i64 = 1;

/// The catalog key of a table path.
pub fn key_of(path: &[Key]) -> Key {
    let mut bytes = Vec::new();
    path.iter().for_each(|k| k.encode(&mut bytes));
    Key::str(&bytes)
}

/// The table path of a catalog key (None if it is not one).
pub fn path_of(key: &Key) -> Option<Vec<Key>> {
    let mut rest = key.bytes()?;
    let mut path = Vec::new();
    while !rest.is_empty() {
        let (k, r) = Key::decode(rest)?;
        path.push(k);
        rest = r;
    }
    Some(path)
}

impl Store {
    /// The system table `name` if it exists (without making anything).
    fn system_get(&self, name: &[u8]) -> Option<NodeId> {
        match self.get(self.system_root_if_any()?, &Key::str(name))? {
            Value::Table(n) => Some(*n),
            _ => None,
        }
    }

    /// The catalog entry of the table at `path`, if it has one.
    pub fn entry(&self, path: &[Key]) -> Option<NodeId> {
        match self.get(self.system_get(b"tables")?, &key_of(path))? {
            Value::Table(n) => Some(*n),
            _ => None,
        }
    }

    /// The catalog entry of the table at `path`, made if missing (in the transaction).
    pub fn make_entry(&mut self, path: &[Key]) -> Option<NodeId> {
        if let Some(e) = self.entry(path) {
            return Some(e);
        }
        let tables = self.system_table(b"tables", true)?;
        let n = self.new_node();
        self.set(tables, key_of(path), Some(Value::Table(n))).ok()?;
        Some(n)
    }

    /// The table under `name` in an entry (None if absent).
    pub fn entry_table(&self, entry: NodeId, name: &[u8]) -> Option<NodeId> {
        match self.get(entry, &Key::str(name))? {
            Value::Table(n) => Some(*n),
            _ => None,
        }
    }

    /// The schema of the table at `path`.
    pub fn schema_of(&self, path: &[Key]) -> Option<NodeId> {
        self.entry_table(self.entry(path)?, b"schema")
    }

    /// The schema version of the table at `path`.
    pub fn version_of(&self, path: &[Key]) -> i64 {
        match self.entry(path).and_then(|e| self.get(e, &Key::str(b"version"))) {
            Some(Value::Key(Key::Int(v))) => *v,
            _ => FIRST_VERSION,
        }
    }

    /// Whether any table may have a schema (a quick test before `schemas`).
    pub fn has_schemas(&self) -> bool {
        self.system_get(b"tables").and_then(|t| self.node(t)).is_some_and(|t| !t.map.is_empty())
    }

    /// Every table path with a schema, and the schema.
    pub fn schemas(&self) -> Vec<(Vec<Key>, NodeId)> {
        let Some(tables) = self.system_get(b"tables").filter(|_| self.has_schemas()) else { return Vec::new() };
        let mut out = Vec::new();
        for (k, v) in self.node(tables).map(|n| n.map.iter()).into_iter().flatten() {
            if let (Value::Table(e), Some(path)) = (v, path_of(k)) {
                if let Some(s) = self.entry_table(*e, b"schema") {
                    out.push((path, s));
                }
            }
        }
        out
    }
}
