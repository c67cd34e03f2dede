//! value.rs: what external tables hold. `Key` is a table key (boolean, number, string),
//! `Value` a stored value (a key, a nested table, or a codec blob). Both order and compare
//! as the index encoding (core/index/keys.rs) does: false < true < numbers (integers and
//! floats numerically) < strings (bytewise).

use crate::index::keys::{self, KeyValue};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// A table key, normalized as Lua does: a float with an integer value that fits i64 is
/// that integer, and NaN is never a key.
#[derive(Clone, PartialEq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum Key {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string longer than `SHORT` bytes.
    Str(Box<[u8]>),
    /// A string of at most `SHORT` bytes, in place (length, bytes, zeros after them): most
    /// keys and field names need no allocation. Every string that fits is stored so, so
    /// derived equality holds.
    Short(u8, [u8; SHORT]),
}

/// 2^63, the first float above every i64.
const TWO63: f64 = 9_223_372_036_854_775_808.0;

/// Longest string a `Key` holds without allocating (the key stays 16 bytes).
pub const SHORT: usize = 14;

/// A node's index in the store (see `Store`).
pub type NodeId = u32;

/// A stored value.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum Value {
    Key(Key),
    /// A nested external table.
    Table(NodeId),
    /// A value only the codec can hold (a function, a table with a metatable, ...).
    Blob(Box<Blob>),
}

/// Codec bytes (docs/FORMAT.md) and an id that stays the same while the blob is updated
/// in place, so the Lua side can cache what it decoded.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct Blob {
    pub id: u32,
    pub bytes: Box<[u8]>,
    /// A function (else a table or another value the codec holds).
    pub func: bool,
}


impl Key {
    /// The key for a float, or None for NaN.
    pub fn float(f: f64) -> Option<Key> {
        if f.is_nan() {
            None
        } else if f == (f as i64) as f64 && f != TWO63 {
            // Integral and within i64 (`as` saturates: 2^63 itself is excluded above).
            Some(Key::Int(f as i64))
        } else {
            Some(Key::Float(f))
        }
    }

    /// The same key as Lua would use it as a table key (an integral float becomes an
    /// integer), for hashing and indexing stored values. Not for NaN.
    pub fn normalized(&self) -> Key {
        match self {
            Key::Float(f) => Key::float(*f).unwrap_or(Key::Float(*f)),
            k => k.clone(),
        }
    }

    /// Length of the encoding at the front of `bytes` (None if malformed).
    pub fn encoded_len(bytes: &[u8]) -> Option<usize> {
        match *bytes.first()? {
            keys::TAG_FALSE | keys::TAG_TRUE => Some(1),
            keys::TAG_NUMBER => (bytes.len() >= 11).then_some(11),
            keys::TAG_STRING => bytes.windows(2).skip(1).position(|w| w == [0, 0]).map(|i| i + 3),
            _ => None,
        }
    }

    pub fn str(s: &[u8]) -> Key {
        if s.len() <= SHORT {
            let mut b = [0; SHORT];
            b[..s.len()].copy_from_slice(s);
            Key::Short(s.len() as u8, b)
        } else {
            Key::Str(s.into())
        }
    }

    /// The bytes of a string key.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Key::Str(s) => Some(s),
            Key::Short(n, b) => Some(&b[..*n as usize]),
            _ => None,
        }
    }

    /// Calls `f` with the size of the key's heap allocation, if it has one.
    pub fn allocations(&self, f: &mut dyn FnMut(usize)) {
        if let Key::Str(s) = self {
            f(s.len());
        }
    }

    pub fn as_key_value(&self) -> KeyValue<'_> {
        match self {
            Key::Bool(false) => KeyValue::False,
            Key::Bool(true) => KeyValue::True,
            Key::Int(i) => KeyValue::Int(*i),
            Key::Float(f) => KeyValue::Float(*f),
            Key::Str(_) | Key::Short(..) => KeyValue::Str(self.bytes().unwrap_or_default()),
        }
    }

    /// Appends the order-preserving encoding (keys are never NaN, so it always exists).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = keys::encode(&self.as_key_value(), out);
    }

    /// Rank of the type in the cross-type order.
    fn rank(&self) -> u8 {
        match self {
            Key::Bool(b) => *b as u8,
            Key::Int(_) | Key::Float(_) => 2,
            Key::Str(_) | Key::Short(..) => 3,
        }
    }

    /// The total order of the index encoding.
    pub fn order(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Str(_) | Key::Short(..), Key::Str(_) | Key::Short(..)) => self.bytes().cmp(&other.bytes()),
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Float(a), Key::Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Key::Int(i), Key::Float(f)) => int_float(*i, *f),
            (Key::Float(f), Key::Int(i)) => int_float(*i, *f).reverse(),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// Lua's `<` and `<=` family: Some only between two numbers or two strings.
    pub fn compare(&self, other: &Key) -> Option<Ordering> {
        let r = self.rank();
        (r == other.rank() && r >= 2).then(|| self.order(other))
    }

    /// Reads back an encoding written by `encode` from the front of `bytes`; returns the
    /// key and the bytes after it.
    pub fn decode(bytes: &[u8]) -> Option<(Key, &[u8])> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            keys::TAG_FALSE | keys::TAG_TRUE => Some((Key::Bool(tag == keys::TAG_TRUE), rest)),
            keys::TAG_NUMBER => {
                let k = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
                let d = (u16::from_be_bytes(rest.get(8..10)?.try_into().ok()?) ^ 0x8000) as i16;
                let r = f64::from_bits(if k >> 63 == 1 { k ^ 1 << 63 } else { !k });
                let key = if d != 0 || (r.abs() <= TWO63 && (r as i128) as f64 == r) {
                    let i = r as i128 + d as i128;
                    if i >= i64::MIN as i128 && i <= i64::MAX as i128 { Key::Int(i as i64) } else { Key::Float(r) }
                } else {
                    Key::Float(r)
                };
                Some((key, &rest[10..]))
            }
            keys::TAG_STRING => {
                let mut s = Vec::new();
                let mut i = 0;
                loop {
                    let c = *rest.get(i)?;
                    if c == 0 {
                        let n = *rest.get(i + 1)?;
                        i += 2;
                        if n == 0 {
                            return Some((Key::str(&s), &rest[i..]));
                        }
                    } else {
                        i += 1;
                    }
                    s.push(c);
                }
            }
            _ => None,
        }
    }

    /// A hash for the store's maps.
    pub fn hash(&self) -> u32 {
        let h = match self {
            Key::Bool(b) => *b as u64 + 1,
            Key::Int(i) => *i as u64,
            Key::Float(f) => f.to_bits(),
            // Short strings: their 14 zero-padded bytes as two overlapping words.
            Key::Short(n, b) => {
                let w = |i: usize| u64::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
                (w(0) ^ *n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ w(6).rotate_left(23)
            }
            Key::Str(s) => {
                let mut h: u64 = s.len() as u64;
                for c in s.chunks(8) {
                    let mut w = [0; 8];
                    w[..c.len()].copy_from_slice(c);
                    h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
                }
                h
            }
        };
        let h = (h ^ (h >> 31)).wrapping_mul(0x7FB5_D329_728E_A185);
        (h ^ (h >> 27)) as u32
    }
}

/// Exact comparison of an integer with a float (not NaN).
fn int_float(i: i64, f: f64) -> Ordering {
    if f >= TWO63 {
        Ordering::Less
    } else if f < -TWO63 {
        Ordering::Greater
    } else {
        // f is within i64: compare with its floor, then its fraction.
        let t = f as i64;
        let fl = if t as f64 > f { t - 1 } else { t };
        match i.cmp(&fl) {
            Ordering::Equal if f > fl as f64 => Ordering::Less,
            o => o,
        }
    }
}

impl Value {
    pub fn key(&self) -> Option<&Key> {
        match self {
            Value::Key(k) => Some(k),
            _ => None,
        }
    }

    /// The value as something queries and indices can compare: a key, but not NaN (a
    /// stored float keeps its type, so NaN and integral floats can occur here).
    pub fn scalar(&self) -> Option<&Key> {
        self.key().filter(|k| !matches!(k, Key::Float(f) if f.is_nan()))
    }
}

/// Compares two optional scalars for sorting: absent (or not a scalar) sorts last.
pub fn order_opt(a: Option<&Key>, b: Option<&Key>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.order(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<Key> {
        let mut v = alloc::vec![Key::Bool(false), Key::Bool(true)];
        for i in [i64::MIN, -(1 << 53) - 1, -3, -1, 0, 1, 2, (1 << 53) + 1, i64::MAX] {
            v.push(Key::Int(i));
        }
        for f in [f64::NEG_INFINITY, -1e300, -2.5, -0.5, 0.5, 2.5, 9.007199254740993e15, 1e19, TWO63, f64::INFINITY] {
            v.push(Key::float(f).unwrap());
        }
        for s in [&b""[..], b"\0", b"\0\0", b"a", b"a\0", b"a\xff", b"ab", b"b"] {
            v.push(Key::str(s));
        }
        v
    }

    fn enc(k: &Key) -> Vec<u8> {
        let mut out = Vec::new();
        k.encode(&mut out);
        out
    }

    #[test]
    fn order_matches_the_encoding_and_decode_inverts_it() {
        let ks = keys();
        for a in &ks {
            let e = enc(a);
            let (back, rest) = Key::decode(&e).unwrap();
            assert!(rest.is_empty());
            assert_eq!(&back, a);
            for b in &ks {
                assert_eq!(a.order(b), enc(a).cmp(&enc(b)), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn floats_normalize_like_lua() {
        assert_eq!(Key::float(3.0), Some(Key::Int(3)));
        assert_eq!(Key::float(-0.0), Some(Key::Int(0)));
        assert_eq!(Key::float(TWO63), Some(Key::Float(TWO63)));
        assert_eq!(Key::float(-9.223372036854775808e18), Some(Key::Int(i64::MIN)));
        assert_eq!(Key::float(f64::NAN), None);
        assert_eq!(Key::Int(1).compare(&Key::str(b"1")), None);
        assert_eq!(Key::Bool(true).compare(&Key::Bool(false)), None);
    }
}
