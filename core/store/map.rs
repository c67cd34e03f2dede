//! map.rs: `Map<V>`, the hash table inside every external table (and each hash index).
//! Open addressing with linear probing. A removed entry keeps its key as a tombstone, as
//! Lua's tables keep dead keys, so `next` can continue a traversal from a key that was
//! just set to nil; the table is rebuilt only when a new key needs room.

use super::value::Key;
use alloc::vec::Vec;

pub struct Map<V> {
    /// None: never used. `(key, None)`: a tombstone. Length 0 or a power of two.
    slots: Vec<Option<(Key, Option<V>)>>,
    /// Live entries.
    len: usize,
    /// Live entries and tombstones.
    used: usize,
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map { slots: Vec::new(), len: 0, used: 0 }
    }
}

impl<V> Map<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot of `key`, or None.
    fn find(&self, key: &Key, hash: u32) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some((k, _)) if k == key => return Some(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    pub fn get(&self, key: &Key) -> Option<&V> {
        self.get_hashed(key, key.hash())
    }

    /// `get` with the key's hash computed once by the caller (query scans).
    pub fn get_hashed(&self, key: &Key, hash: u32) -> Option<&V> {
        self.slots[self.find(key, hash)?].as_ref()?.1.as_ref()
    }

    /// The stored key and value (the key borrowed from the map).
    pub fn get_entry(&self, key: &Key) -> Option<(&Key, &V)> {
        let (k, v) = self.slots[self.find(key, key.hash())?].as_ref()?;
        Some((k, v.as_ref()?))
    }

    pub fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        let i = self.find(key, key.hash())?;
        self.slots[i].as_mut()?.1.as_mut()
    }

    /// Sets `key` to `value` (None removes); returns the previous value.
    pub fn set(&mut self, key: Key, value: Option<V>) -> Option<V> {
        let hash = key.hash();
        if let Some(i) = self.find(&key, hash) {
            let slot = self.slots[i].as_mut().map(|s| &mut s.1)?;
            self.len = self.len + value.is_some() as usize - slot.is_some() as usize;
            return core::mem::replace(slot, value);
        }
        let value = value?;
        if (self.used + 1) * 4 > self.slots.len() * 3 {
            self.rebuild(1);
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((key, Some(value)));
        self.len += 1;
        self.used += 1;
        None
    }

    /// Makes room for `n` more entries without rebuilding on the way.
    pub fn reserve(&mut self, n: usize) {
        if (self.used + n) * 4 > self.slots.len() * 3 {
            self.rebuild(n);
        }
    }

    /// Drops the tombstones and makes room for `extra` more entries (at least one).
    fn rebuild(&mut self, extra: usize) {
        let mut cap = 4;
        while cap * 3 < (self.len + extra.max(1)) * 4 + self.len * 4 {
            cap *= 2;
        }
        let old = core::mem::take(&mut self.slots);
        self.slots.resize_with(cap, || None);
        self.len = 0;
        self.used = 0;
        for (k, v) in old.into_iter().flatten() {
            if v.is_some() {
                self.set(k, v);
            }
        }
    }

    /// The live entry after `key` in slot order (the first with None), for Lua's `next`.
    /// Err if `key` is not in the table at all.
    pub fn next(&self, key: Option<&Key>) -> Result<Option<(&Key, &V)>, ()> {
        let start = match key {
            None => 0,
            Some(k) => self.find(k, k.hash()).ok_or(())? + 1,
        };
        Ok(self.slots.get(start..).unwrap_or(&[]).iter().flatten().find_map(|(k, v)| Some((k, v.as_ref()?))))
    }

    /// Bytes of the slot array (heap allocations of keys and values not included).
    pub fn slot_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Option<(Key, Option<V>)>>()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.slots.iter().flatten().filter_map(|(k, v)| Some((k, v.as_ref()?)))
    }

    /// Takes every value out (for freeing a table).
    pub fn drain(&mut self) -> impl Iterator<Item = (Key, V)> {
        self.len = 0;
        self.used = 0;
        core::mem::take(&mut self.slots).into_iter().flatten().filter_map(|(k, v)| Some((k, v?)))
    }
}
