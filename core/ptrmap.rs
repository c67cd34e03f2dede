//! ptrmap.rs: a map from non-null addresses to small integers (open addressing, linear
//! probing). The wire encoder numbers the tables it has sent with it; a BTreeMap did the
//! same job with ~2.5 KB more wasm code.

use alloc::vec;
use alloc::vec::Vec;

pub struct PtrMap {
    /// (key, value) slots; key 0 marks an empty slot. The length is 0 or a power of two.
    slots: Vec<(usize, u32)>,
    len: usize,
}

impl PtrMap {
    pub const fn new() -> PtrMap {
        PtrMap { slots: Vec::new(), len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot holding `key`, or the empty slot where it would go. `slots` is not empty.
    fn slot(&self, key: usize) -> usize {
        let mask = self.slots.len() - 1;
        // Addresses are 8-aligned: drop the zero bits, then spread (Fibonacci hashing).
        let mut i = (key >> 3).wrapping_mul(0x9E37_79B9) & mask;
        loop {
            match self.slots.get(i) {
                Some(&(k, _)) if k != key && k != 0 => i = (i + 1) & mask,
                _ => return i,
            }
        }
    }

    pub fn get(&self, key: usize) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots.get(self.slot(key)).filter(|s| s.0 == key && key != 0).map(|s| s.1)
    }

    /// Inserts or replaces. `key` must not be 0.
    pub fn insert(&mut self, key: usize, value: u32) {
        debug_assert!(key != 0);
        if (self.len + 1) * 2 > self.slots.len() {
            let grown = vec![(0, 0); (self.slots.len() * 2).max(16)];
            let old = core::mem::replace(&mut self.slots, grown);
            self.len = 0;
            for (k, v) in old {
                if k != 0 {
                    self.insert(k, v);
                }
            }
        }
        let i = self.slot(key);
        if let Some(s) = self.slots.get_mut(i) {
            if s.0 == 0 {
                self.len += 1;
            }
            *s = (key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PtrMap;

    #[test]
    fn behaves_like_a_map() {
        let mut m = PtrMap::new();
        let mut model = alloc::collections::BTreeMap::new();
        let mut x: u64 = 0x2545F4914F6CDD1D;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = ((x % 5_000) as usize + 1) * 8; // collisions and replacements
            assert_eq!(m.get(key), model.get(&key).copied());
            m.insert(key, i);
            model.insert(key, i);
            assert_eq!(m.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(m.get(*k), Some(*v));
        }
        assert_eq!(m.get(0), None);
        assert_eq!(m.get(12345 * 8 + 1), None);
    }
}
