//! system.rs: the system area, where Cu keeps data of its own (the catalog of table schemas,
//! versions and migrations: catalog.rs; stored modules: modules.rs). It is a second root beside
//! `Memory`, made on first use, that no path reaches: Lua proxies and the JS ops start at
//! `Memory`, and the change set leaves it out (`path_of` is None there). Its tables are
//! ordinary store tables, so they are written through `set` (undo log, rollback with the
//! transaction) and saved in the storage pages like the rest (pages.rs: the record of its
//! root has the parent `SYSTEM_PARENT`).

use super::{Key, NodeId, Store, Value};

impl Store {
    /// The root of the system area, made on first use (it is written to storage only once
    /// something is stored in it).
    pub fn system_root(&mut self) -> NodeId {
        match self.system {
            Some(id) => id,
            None => {
                let id = self.new_node();
                self.system = Some(id);
                id
            }
        }
    }

    /// The root of the system area if it was made.
    pub fn system_root_if_any(&self) -> Option<NodeId> {
        self.system
    }

    /// The table `name` of the system area: None when it does not exist (unless `make`).
    pub fn system_table(&mut self, name: &[u8], make: bool) -> Option<NodeId> {
        let root = if make { self.system_root() } else { self.system? };
        let key = Key::str(name);
        match self.get(root, &key) {
            Some(Value::Table(n)) => Some(*n),
            _ if make => {
                let n = self.new_node();
                self.set(root, key, Some(Value::Table(n))).ok()?;
                Some(n)
            }
            _ => None,
        }
    }
}
