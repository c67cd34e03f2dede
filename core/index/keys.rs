//! Order-preserving byte encoding of index key values.
//!
//! Comparing two encodings with `<[u8]>::cmp` gives Lua 5.4's order on the values, extended
//! to a total order across types: booleans < numbers < strings. Equal values (1 == 1.0,
//! -0.0 == 0.0 == 0) encode to the same bytes, so an `=` lookup finds them all. NaN and nil
//! are not indexable. Every encoding is self-delimiting, so `encode(v) ++ suffix` sorts by
//! `v` first, then by `suffix`.
//!
//! | value          | bytes                                                             |
//! |----------------|-------------------------------------------------------------------|
//! | false          | `01`                                                              |
//! | true           | `02`                                                              |
//! | number         | `03`, K (8 bytes, big-endian), R (2 bytes, big-endian)            |
//! | string         | `04`, the bytes with each `00` written `00 FF`, then `00 00`      |
//!
//! Numbers: let r be the value rounded to the nearest f64 (floats are their own r; an
//! integer is rounded to nearest, ties to even, as `i as f64` does; -0.0 becomes +0.0).
//! K is the f64 ordering key of r: its bits with the sign bit flipped if r >= 0, all bits
//! flipped if r < 0. R is the exact residual `value - r` (0 for floats; |R| <= 512 for
//! integers, since an i64 rounds to within half an ulp of 2^62..2^63) as an i16 with its
//! sign bit flipped. Rounding is monotone, so values order by K first, then by R. Integers
//! never round to an infinity, so +-inf need no special case.
//!
//! Strings: `00 00` is below `00 FF` and below any other byte, so a prefix sorts first and
//! bytes compare as in the C locale.
use alloc::vec::Vec;

/// An indexable value. Nil and NaN are never indexed.
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum KeyValue<'a> {
    False,
    True,
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
}

pub const TAG_FALSE: u8 = 0x01;
pub const TAG_TRUE: u8 = 0x02;
pub const TAG_NUMBER: u8 = 0x03;
pub const TAG_STRING: u8 = 0x04;

/// Appends the encoding of `v` to `out`; None (and nothing appended) for NaN.
pub fn encode(v: &KeyValue, out: &mut Vec<u8>) -> Option<()> {
    match *v {
        KeyValue::False => out.push(TAG_FALSE),
        KeyValue::True => out.push(TAG_TRUE),
        KeyValue::Int(i) => {
            let r = i as f64;
            // r is integral and |r| <= 2^63, so `as i128` is exact.
            let d = (i as i128 - r as i128) as i16;
            number(r, d, out);
        }
        KeyValue::Float(f) => {
            if f.is_nan() {
                return None;
            }
            number(f, 0, out);
        }
        KeyValue::Str(s) => {
            out.push(TAG_STRING);
            escape(s, out);
            out.extend_from_slice(&[0, 0]);
        }
    }
    Some(())
}

fn number(r: f64, d: i16, out: &mut Vec<u8>) {
    let r = if r == 0.0 { 0.0 } else { r };
    let b = r.to_bits();
    let k = if b >> 63 == 0 { b | 1 << 63 } else { !b };
    out.push(TAG_NUMBER);
    out.extend_from_slice(&k.to_be_bytes());
    out.extend_from_slice(&((d as u16) ^ 0x8000).to_be_bytes());
}

fn escape(s: &[u8], out: &mut Vec<u8>) {
    for &c in s {
        out.push(c);
        if c == 0 {
            out.push(0xFF);
        }
    }
}

/// The smallest byte string greater than every string that starts with `prefix`: `prefix`
/// without its trailing `FF` bytes, with its last byte incremented. None if there is none
/// (`prefix` is empty or all `FF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let n = prefix.iter().rposition(|&c| c != 0xFF)?;
    let mut v = prefix[..=n].to_vec();
    v[n] += 1;
    Some(v)
}

/// The encoded range `[lo, hi)` holding exactly the encodings (and composite keys built on
/// them) of the strings that start with `prefix`.
pub fn string_prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut lo = Vec::with_capacity(prefix.len() + 1);
    lo.push(TAG_STRING);
    escape(prefix, &mut lo);
    // lo starts with TAG_STRING (< FF), so a successor always exists.
    let hi = prefix_successor(&lo).unwrap_or_default();
    (lo, hi)
}

/// The encoded range `[lo, hi)` holding every key whose value has the type of `tag`
/// (`TAG_FALSE` ..= `TAG_STRING`), e.g. all numbers.
pub fn type_range(tag: u8) -> ([u8; 1], [u8; 1]) {
    ([tag], [tag.wrapping_add(1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: KeyValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&v, &mut out).unwrap();
        out
    }

    #[test]
    fn format_table() {
        assert_eq!(enc(KeyValue::False), [1]);
        assert_eq!(enc(KeyValue::True), [2]);
        assert_eq!(enc(KeyValue::Int(0)), [3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x80, 0]);
        assert_eq!(enc(KeyValue::Float(-0.0)), enc(KeyValue::Int(0)));
        assert_eq!(
            enc(KeyValue::Float(-1.0)),
            [3, 0x40, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0]
        );
        // 2^53 + 1 rounds (ties to even) to 2^53: residual +1.
        assert_eq!(enc(KeyValue::Int((1 << 53) + 1))[9..], [0x80, 1]);
        // i64::MAX rounds to 2^63: residual -1.
        assert_eq!(enc(KeyValue::Int(i64::MAX))[9..], [0x7F, 0xFF]);
        assert_eq!(enc(KeyValue::Str(b"\0a")), [4, 0, 0xFF, b'a', 0, 0]);
        assert_eq!(
            string_prefix_range(b"a\xff"),
            (alloc::vec![4, b'a', 0xFF], alloc::vec![4, b'b'])
        );
        assert_eq!(type_range(TAG_NUMBER), ([3], [4]));
    }
}
