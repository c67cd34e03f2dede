//! checksum.rs: the encoding's Adler-32 (RFC 1950), over header bytes 0..12 followed by
//! the payload (docs/FORMAT.md, "Header").

use super::HEADER_LEN;

const MOD: u32 = 65521;
/// Bytes that can be summed before the 32-bit sums must be reduced (zlib's NMAX).
const NMAX: usize = 5552;

/// Continues the Adler-32 `adler` over `data` (start with 1).
#[inline(never)]
pub(crate) fn adler32_update(adler: u32, data: &[u8]) -> u32 {
    let (mut a, mut b) = (adler & 0xffff, adler >> 16);
    for chunk in data.chunks(NMAX) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        (a, b) = (a % MOD, b % MOD);
    }
    b << 16 | a
}

/// Adler-32 of `data`.
pub(crate) fn adler32(data: &[u8]) -> u32 {
    adler32_update(1, data)
}

/// The checksum an encoding should carry.
pub(crate) fn of_encoding(encoding: &[u8]) -> u32 {
    let n = encoding.len().min(HEADER_LEN);
    adler32_update(adler32(&encoding[..n.min(12)]), &encoding[n..])
}
