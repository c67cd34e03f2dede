//! wire.rs: external-table values in requests and replies, in the wire format of
//! docs/ARCHITECTURE.md ("Wire values"). Requests bring keys, paths and values (tables
//! become fresh nodes); replies carry values, tables as snapshots (an array when the keys
//! are exactly 1..n), blobs as opaque values.

use super::{Key, NodeId, Store, StoreError, Value, MAX_DEPTH};
use crate::wire::{TAG_ARRAY, TAG_FALSE, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_NIL, TAG_OPAQUE, TAG_STRING, TAG_TRUE};
use alloc::vec::Vec;

/// The fields of an `update`: a nil value deletes its field.
pub type Fields = Vec<(Key, Option<Value>)>;

const TRUNCATED: StoreError = StoreError::Bad("truncated request");

/// Reads request bytes front to back.
pub struct Reader<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n).ok_or(TRUNCATED)?).ok_or(TRUNCATED)?;
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// A scalar: the key it is (floats normalized), or None for nil. NaN and tables are
    /// errors.
    #[inline]
    fn scalar(&mut self, tag: u8) -> Result<Option<Key>, StoreError> {
        Ok(Some(match tag {
            TAG_NIL => return Ok(None),
            TAG_FALSE | TAG_TRUE => Key::Bool(tag == TAG_TRUE),
            TAG_INT => Key::Int(self.u64()? as i64),
            TAG_FLOAT => Key::float(f64::from_bits(self.u64()?)).ok_or(StoreError::Bad("NaN cannot be a key"))?,
            TAG_STRING => {
                let n = self.u32()? as usize;
                Key::str(self.take(n)?)
            }
            _ => return Err(StoreError::Bad("a key must be a boolean, a number or a string")),
        }))
    }

    /// A table key (not nil).
    #[inline]
    pub fn key(&mut self) -> Result<Key, StoreError> {
        let tag = self.u8()?;
        self.scalar(tag)?.ok_or(StoreError::Bad("a key cannot be nil"))
    }

    /// `u8 n`, then n keys.
    pub fn path(&mut self) -> Result<Vec<Key>, StoreError> {
        let n = self.u8()?;
        (0..n).map(|_| self.key()).collect()
    }

    /// A value; tables become new nodes of `store`, outside the tree (free them with
    /// `Store::free_value` if they do not get in). None is nil.
    pub fn value(&mut self, store: &mut Store) -> Result<Option<Value>, StoreError> {
        self.value_at(store, 0)
    }

    fn value_at(&mut self, store: &mut Store, depth: usize) -> Result<Option<Value>, StoreError> {
        let tag = self.u8()?;
        Ok(Some(match tag {
            TAG_FLOAT => Value::Key(Key::Float(f64::from_bits(self.u64()?))),
            TAG_ARRAY | TAG_MAP => {
                if depth >= MAX_DEPTH {
                    return Err(StoreError::Bad("tables nest at most 200 deep"));
                }
                let n = self.u32()?;
                let node = store.new_node();
                store.reserve(node, n.min(1 << 16) as usize);
                if let Err(e) = self.fill(store, node, tag == TAG_ARRAY, n, depth) {
                    store.free_value(Some(Value::Table(node)));
                    return Err(e);
                }
                Value::Table(node)
            }
            _ => match self.scalar(tag)? {
                Some(k) => Value::Key(k),
                None => return Ok(None),
            },
        }))
    }

    /// An array of keys (the operands of `between` and `in`).
    pub fn list(&mut self) -> Result<Vec<Key>, StoreError> {
        let tag = self.u8()?;
        let n = self.u32()?;
        // An empty JS array crosses as an empty map (the wire has no empty array).
        if tag != TAG_ARRAY && (tag, n) != (TAG_MAP, 0) {
            return Err(StoreError::Bad("between and in take an array of values"));
        }
        (0..n).map(|_| self.key()).collect()
    }

    /// A map of fields for `update`, nil values kept (they delete); None (the value read
    /// and dropped) if it is not a map.
    pub fn fields(&mut self, store: &mut Store) -> Result<Option<Fields>, StoreError> {
        if self.bytes.get(self.pos) != Some(&TAG_MAP) {
            let v = self.value(store)?;
            store.free_value(v);
            return Ok(None);
        }
        self.pos += 1;
        let n = self.u32()?;
        let mut out = Vec::new();
        for _ in 0..n {
            let r = self.key().and_then(|k| Ok((k, self.value_at(store, 1)?)));
            match r {
                Ok(kv) => out.push(kv),
                Err(e) => {
                    out.into_iter().for_each(|(_, v)| store.free_value(v));
                    return Err(e);
                }
            }
        }
        Ok(Some(out))
    }

    fn fill(&mut self, store: &mut Store, node: NodeId, array: bool, n: u32, depth: usize) -> Result<(), StoreError> {
        for i in 1..=n as i64 {
            let k = if array { Key::Int(i) } else { self.key()? };
            if let Some(v) = self.value_at(store, depth + 1)? {
                store.fill(node, k, v);
            }
        }
        Ok(())
    }
}

pub fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend(n.to_le_bytes());
}

pub fn put_key(out: &mut Vec<u8>, k: &Key) {
    match k {
        Key::Bool(b) => out.push(if *b { TAG_TRUE } else { TAG_FALSE }),
        Key::Int(i) => {
            out.push(TAG_INT);
            out.extend(i.to_le_bytes());
        }
        Key::Float(f) => {
            out.push(TAG_FLOAT);
            out.extend(f.to_le_bytes());
        }
        Key::Str(_) | Key::Short(..) => put_str(out, k.bytes().unwrap_or_default()),
    }
}

pub fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(TAG_STRING);
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s);
}

/// A stored value (None: nil); tables as snapshots of everything below them.
pub fn put_value(out: &mut Vec<u8>, store: &Store, v: Option<&Value>) {
    match v {
        None => out.push(TAG_NIL),
        Some(Value::Key(k)) => put_key(out, k),
        Some(Value::Blob(b)) => {
            // Lua type 6 (function) or 5 (table): the codec's first body byte says which.
            let text: &[u8] = if b.func { b"function (stored)" } else { b"table (stored)" };
            out.extend_from_slice(&[TAG_OPAQUE, if b.func { 6 } else { 5 }]);
            put_u32(out, text.len() as u32);
            out.extend_from_slice(text);
        }
        Some(Value::Table(id)) => {
            let Some(n) = store.node(*id) else { return out.push(TAG_NIL) };
            let len = n.map.len();
            if len > 0 && store.border(*id) == len as i64 {
                out.push(TAG_ARRAY);
                put_u32(out, len as u32);
                for i in 1..=len as i64 {
                    put_value(out, store, n.map.get(&Key::Int(i)));
                }
            } else {
                out.push(TAG_MAP);
                put_u32(out, len as u32);
                for (k, v) in n.map.iter() {
                    put_key(out, k);
                    put_value(out, store, Some(v));
                }
            }
        }
    }
}
