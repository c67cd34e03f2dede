//! repack.rs: an encoding's body deflated or inflated without decoding its value. External
//! tables keep their blobs plain in memory and the storage pages store them deflated
//! (core/store/pages.rs): `pack` on the way to a page, `unpack` on the way back. Neither
//! calls Lua.

use super::deflate::{deflate, Level};
use super::inflate::inflate;
use super::{checksum, FLAG_DEFLATE, HEADER_LEN};
use alloc::vec::Vec;

/// The plain encoding `enc` with its body deflated at `level`, if the body is longer than
/// `threshold` bytes and deflating makes it smaller; None otherwise (store `enc` as is).
pub(crate) fn pack(enc: &[u8], level: Level, threshold: usize) -> Option<Vec<u8>> {
    let body = enc.get(HEADER_LEN..).filter(|b| b.len() > threshold && enc[5] == 0)?;
    let packed = deflate(body, level);
    if packed.len() >= body.len() {
        return None;
    }
    let mut out = Vec::with_capacity(HEADER_LEN + packed.len());
    out.extend_from_slice(&enc[..HEADER_LEN]);
    out.extend_from_slice(&packed);
    out[5] = FLAG_DEFLATE;
    seal(&mut out);
    Some(out)
}

/// The deflated encoding `enc` made plain again; None if it is not one (plain, damaged,
/// or too large to allocate): keep it as is, the decoder reports what is wrong with it when
/// it is read. (The header's other fields and the checksum are the decoder's to check; the
/// storage page around the blob has a checksum of its own.)
pub(crate) fn unpack(enc: &[u8]) -> Option<Vec<u8>> {
    let h = enc.first_chunk::<HEADER_LEN>().filter(|h| h[5] == FLAG_DEFLATE)?;
    let body = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
    // DEFLATE expands by at most 1032 : 1.
    if body > enc.len().saturating_mul(1032) {
        return None;
    }
    let n = HEADER_LEN + body;
    let mut out = Vec::new();
    out.try_reserve_exact(n).ok()?;
    out.extend_from_slice(&enc[..HEADER_LEN]);
    out.resize(n, 0);
    if !inflate(&enc[HEADER_LEN..], &mut out[HEADER_LEN..]) {
        return None;
    }
    out[5] = 0;
    seal(&mut out);
    Some(out)
}

/// Writes the checksum of an encoding into its header.
fn seal(enc: &mut [u8]) {
    let sum = checksum::of_encoding(enc);
    enc[12..16].copy_from_slice(&sum.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::undump::load_header;
    use alloc::vec;

    /// A plain encoding of `body` (only the header matters here).
    fn plain(body: &[u8]) -> Vec<u8> {
        let mut e = vec![0x1b, b'C', b'u', b'V', 1, 0, 0x54, 0];
        e.extend_from_slice(&(body.len() as u32).to_le_bytes());
        e.extend_from_slice(&[0; 4]);
        e.extend_from_slice(body);
        seal(&mut e);
        e
    }

    #[test]
    fn pack_and_unpack_invert_each_other() {
        let body = b"function body, function body, function body! ".repeat(40);
        let enc = plain(&body);
        for level in [Level::Fast, Level::Default, Level::Best] {
            let packed = pack(&enc, level, 100).unwrap();
            assert!(packed.len() < enc.len() / 4);
            let h = load_header(&packed, usize::MAX).unwrap();
            assert_eq!((h.flags, h.body_len as usize), (FLAG_DEFLATE, body.len()));
            assert_eq!(unpack(&packed).unwrap(), enc);
            assert_eq!(pack(&packed, level, 0), None, "already deflated");
        }
        // At the threshold, incompressible, plain: left as they are.
        assert_eq!(pack(&enc, Level::Best, body.len()), None);
        assert!(pack(&enc, Level::Best, body.len() - 1).is_some());
        let mut x = 88172645463325252u64;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(pack(&plain(&noise), Level::Best, 0), None);
        assert_eq!(unpack(&enc), None);
        assert_eq!(unpack(&enc[..10]), None);
    }

    /// Damaged deflated encodings: never a panic; either None or the declared length.
    #[test]
    fn damaged_input_is_left_alone() {
        let packed = pack(&plain(&b"abcdefgh".repeat(500)), Level::Default, 0).unwrap();
        let mut seed = 7u64;
        for _ in 0..5000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mut m = packed.clone();
            let i = (seed >> 33) as usize % m.len();
            match seed % 3 {
                0 => m[i] ^= 1 << (seed >> 13) % 8,
                1 => m.truncate(i),
                _ => m[8 + i % 4] = (seed >> 40) as u8,
            }
            if let Some(out) = unpack(&m) {
                assert_eq!(out.len(), HEADER_LEN + u32::from_le_bytes([m[8], m[9], m[10], m[11]]) as usize);
            }
        }
        // A body length no payload could inflate to: refused before allocating.
        let mut huge = packed.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(unpack(&huge), None);
    }
}
