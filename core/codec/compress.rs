//! compress.rs: raw DEFLATE (RFC 1951) of the body, written here rather than taken from
//! miniz_oxide: its encoder and decoder cost the module about 16 KB of gzip, this file about
//! 1.7 KB (3 KB of code). (miniz_oxide remains a dev-dependency: the tests below check
//! against it.)
//!
//! - `deflate` writes one block with the fixed Huffman codes (RFC 1951 3.2.6) after a
//!   greedy LZ77 pass (3-byte hash chains over the 32 KB window, at most `CHAIN` candidates
//!   a position). Dynamic codes would make bodies about a fifth smaller again, but their
//!   encoder is most of the code of a DEFLATE writer.
//! - `inflate` reads any raw DEFLATE stream (stored, fixed and dynamic blocks), so a
//!   body compressed elsewhere (an earlier encoder, zlib, CompressionStream) still decodes.
//!   It checks every code, length and distance against the input, the output size, and
//!   what was already written: no input makes it panic or read or write out of bounds.
//!
//! Length and distance codes are computed, not looked up. With `s` = 2 for lengths (the
//! value is the length - 3) and 1 for distances (the distance - 1), a value below `2 << s`
//! is its own code and has no extra bits; a larger one, whose highest set bit is bit `k`,
//! has `e = k - s` extra bits (its low bits) and the code `(e << s) + (value >> e)`.
//! Length 258 has its own code (285).
//!
//! Neither calls Lua, so their vectors may be held while they run.

use alloc::vec;
use alloc::vec::Vec;

const WINDOW: usize = 32 * 1024;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
const HASH_BITS: u32 = 14;
/// Candidates examined per position: speed over the last few percent of size.
const CHAIN: usize = 16;
/// A match this long is taken without looking further.
const GOOD_ENOUGH: usize = 32;
/// Positions inside matches up to this long are indexed too (as zlib's fast levels).
const INSERT_MAX: usize = 8;

// ---- encoder ----------------------------------------------------------------------------

struct BitWriter {
    out: Vec<u8>,
    bits: u32,
    n: u32,
}

impl BitWriter {
    /// Appends the low `n` bits of `v` (n <= 24), least significant first.
    #[inline(never)]
    fn put(&mut self, v: u32, n: u32) {
        self.bits |= v << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.n -= 8;
        }
    }

    /// The `len`-bit Huffman code `code` (sent most significant bit first), then the
    /// `extra` low bits of `v`.
    #[inline(never)]
    fn code(&mut self, mut code: u32, len: u32, v: u32, extra: u32) {
        let mut rev = 0;
        for _ in 0..len {
            rev = rev << 1 | code & 1;
            code >>= 1;
        }
        self.put(rev | (v & ((1 << extra) - 1)) << len, len + extra);
    }

    /// Literal/length symbol `s` (0..=287) in the fixed code, then `extra` bits of `v`.
    fn sym(&mut self, s: u32, v: u32, extra: u32) {
        let (code, len) = match s {
            0..=143 => (s + 0x30, 8),
            144..=255 => (s + 0x100, 9),
            256..=279 => (s - 256, 7),
            _ => (s - 88, 8),
        };
        self.code(code, len, v, extra);
    }
}

/// The code of `v` (a length - 3 or a distance - 1) with `s` as in the header, and its
/// number of extra bits.
fn split(v: u32, s: u32) -> (u32, u32) {
    let e = (31 - (v | 1).leading_zeros()).saturating_sub(s);
    ((e << s) + (v >> e), e)
}

/// The hash chains of `deflate`: `head[h]`, the last position + 1 with hash h, then
/// `prev[i & mask]`, the position + 1 before i with its hash. Both are sized to the input
/// (up to 2^HASH_BITS and WINDOW entries), in one allocation.
struct Chains<'a> {
    data: &'a [u8],
    table: Vec<u32>,
    heads: usize,
    mask: usize,
    shift: u32,
}

impl Chains<'_> {
    /// Indexes position `i`; returns the position + 1 before it with its hash (0: none).
    #[inline(never)]
    fn insert(&mut self, i: usize) -> usize {
        let d = self.data;
        if i + MIN_MATCH > d.len() {
            return 0;
        }
        // SAFETY: i + 2 < d.len(); h < 2^bits = heads, and heads + (i & mask) < heads +
        // size, the table's length.
        unsafe {
            let v = (*d.get_unchecked(i) as u32) | (*d.get_unchecked(i + 1) as u32) << 8 | (*d.get_unchecked(i + 2) as u32) << 16;
            let h = (v.wrapping_mul(0x9e37_79b1) >> self.shift) as usize;
            let last = *self.table.get_unchecked(h);
            *self.table.get_unchecked_mut(self.heads + (i & self.mask)) = last;
            *self.table.get_unchecked_mut(h) = i as u32 + 1;
            last as usize
        }
    }
}

/// `data` as one final DEFLATE block with the fixed codes.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let size = n.next_power_of_two().clamp(1 << 10, WINDOW);
    let bits = (size.trailing_zeros() - 1).min(HASH_BITS);
    let mut c = Chains { data, table: vec![0u32; (1 << bits) + size], heads: 1 << bits, mask: size - 1, shift: 32 - bits };
    let mut w = BitWriter { out: Vec::with_capacity(n / 2 + 64), bits: 0, n: 0 };
    w.put(0b011, 3); // BFINAL = 1, BTYPE = 01 (fixed codes)
    let d = data.as_ptr();
    let mut i = 0;
    while i < n {
        // The longest earlier match of the bytes at i (the candidates of its hash chain).
        let limit = (n - i).min(MAX_MATCH);
        let (mut best, mut dist) = (0, 0);
        let mut cand = c.insert(i);
        let mut chain = CHAIN;
        while cand > 0 && chain > 0 {
            let j = cand - 1;
            if i - j > WINDOW {
                break;
            }
            // SAFETY: j < i and i + limit <= n: both runs of `limit` bytes are in `data`;
            // c.heads + (j & c.mask) is within the table (see `insert`).
            unsafe {
                // (A longer match also matches where the best one ends.)
                let end = best.min(limit - 1);
                if *d.add(j + end) == *d.add(i + end) {
                    let len = common(d.add(j), d.add(i), limit);
                    if len > best {
                        (best, dist) = (len, i - j);
                        if len >= GOOD_ENOUGH || len == limit {
                            break;
                        }
                    }
                }
                let next = *c.table.get_unchecked(c.heads + (j & c.mask)) as usize;
                if next >= cand {
                    break; // a slot reused by a later position
                }
                cand = next;
            }
            chain -= 1;
        }
        if best < MIN_MATCH {
            w.sym(data[i] as u32, 0, 0);
            i += 1;
        } else {
            let (code, e) = if best == MAX_MATCH { (28, 0) } else { split(best as u32 - 3, 2) };
            w.sym(257 + code, best as u32 - 3, e);
            let (code, e) = split(dist as u32 - 1, 1);
            w.code(code, 5, dist as u32 - 1, e);
            if best <= INSERT_MAX {
                for k in i + 1..i + best {
                    c.insert(k);
                }
            }
            i += best;
        }
    }
    w.sym(256, 0, 0);
    w.put(0, 7); // flushes the last bits
    w.out
}

/// Length of the common prefix of the `n` bytes at `a` and at `b`.
///
/// # Safety
/// Both runs must be readable.
unsafe fn common(a: *const u8, b: *const u8, n: usize) -> usize {
    let mut i = 0;
    while i + 8 <= n {
        let diff = core::ptr::read_unaligned(a.add(i) as *const u64) ^ core::ptr::read_unaligned(b.add(i) as *const u64);
        if diff != 0 {
            return i + (u64::from_le(diff).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && *a.add(i) == *b.add(i) {
        i += 1;
    }
    i
}

// ---- decoder ----------------------------------------------------------------------------

/// The state of one `inflate_exact`: the input bit reader, the output, and two canonical
/// Huffman codes for reading (as zlib's puff.c: how many codes have each length, and the
/// symbols in code order): 0 for literals/lengths (first for code lengths), 1 for distances.
struct Inflater<'a> {
    data: &'a [u8],
    /// Bytes loaded so far; past `data.len()` when the stream ran out (zeros were loaded).
    pos: usize,
    bits: u32,
    n: u32,
    out: &'a mut [u8],
    at: usize,
    codes: &'a mut Codes,
}

/// The two Huffman codes of an `Inflater`.
struct Codes {
    count: [[u16; 16]; 2],
    symbol: [[u16; 288]; 2],
}

/// Not a symbol of any alphabet: what `decode` returns for a code that has no symbol.
const BAD: u32 = 0xffff;

const ORDER: [u8; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

impl Inflater<'_> {
    /// The next `n` bits (n <= 16), least significant first. Bytes are loaded only as
    /// needed, so a stream read past its end has `pos > data.len()` (an error).
    #[inline(never)]
    fn get(&mut self, n: u32) -> u32 {
        while self.n < n {
            self.bits |= (*self.data.get(self.pos).unwrap_or(&0) as u32) << self.n;
            self.pos += 1;
            self.n += 8;
        }
        let v = self.bits & ((1 << n) - 1);
        self.bits >>= n;
        self.n -= n;
        v
    }

    /// The base plus extra bits of length or distance code `c` (see the header).
    #[inline(never)]
    fn value(&mut self, c: u32, s: u32) -> usize {
        let e = (c >> s).saturating_sub(1);
        let base = if e == 0 { c } else { (c & ((1 << s) - 1) | 1 << s) << e };
        (base + self.get(e)) as usize
    }

    /// Makes code `k` the one with these per-symbol lengths (at most 288); `None` if
    /// over-subscribed. (Incomplete codes are allowed, as zlib allows them: an unused code
    /// then fails in `decode`.)
    #[inline(never)]
    fn build(&mut self, k: usize, lengths: &[u8]) -> Option<()> {
        let (count, symbol) = (&mut self.codes.count[k], &mut self.codes.symbol[k]);
        let (mut left, mut index) = (1i32, 0);
        for len in 1..16 {
            let mut n = 0;
            for (sym, &l) in lengths.iter().enumerate() {
                if l as usize == len {
                    symbol[index % 288] = sym as u16;
                    index += 1;
                    n += 1;
                }
            }
            count[len] = n;
            left = (left << 1) - n as i32;
            if left < 0 {
                return None;
            }
        }
        Some(())
    }

    /// The next symbol in code `k`, or `BAD`.
    #[inline(never)]
    fn decode(&mut self, k: usize) -> u32 {
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for len in 1..16 {
            code |= self.get(1);
            let count = self.codes.count[k][len] as u32;
            if code < first + count {
                return self.codes.symbol[k][(index + code - first) as usize % 288] as u32;
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        BAD
    }

    fn blocks(&mut self) -> Option<()> {
        let mut lengths = [0u8; 288 + 30];
        loop {
            let head = self.get(3);
            let (nlen, ndist) = match head >> 1 {
                0 => {
                    // Stored: the rest of the current byte is padding.
                    self.bits = 0;
                    self.n = 0;
                    let n = self.get(16);
                    if n != !self.get(16) & 0xffff {
                        return None;
                    }
                    for _ in 0..n {
                        let b = self.get(8);
                        self.emit(b)?;
                    }
                    (0, 0)
                }
                1 => {
                    for (i, l) in lengths.iter_mut().enumerate() {
                        *l = match i {
                            0..=143 => 8,
                            144..=255 => 9,
                            256..=279 => 7,
                            280..=287 => 8,
                            _ => 5,
                        };
                    }
                    (288, 30)
                }
                2 => {
                    let nlen = self.get(5) as usize + 257;
                    let ndist = self.get(5) as usize + 1;
                    let ncode = self.get(4) as usize + 4;
                    if nlen > 286 || ndist > 30 {
                        return None;
                    }
                    let mut cl = [0u8; 19];
                    for &k in &ORDER[..ncode] {
                        cl[k as usize] = self.get(3) as u8;
                    }
                    self.build(0, &cl)?;
                    let mut i = 0;
                    while i < nlen + ndist {
                        let sym = self.decode(0);
                        let (value, repeat) = match sym {
                            0..=15 => (sym as u8, 1),
                            16 => (lengths[i.checked_sub(1)?], 3 + self.get(2)),
                            17 => (0, 3 + self.get(3)),
                            18 => (0, 11 + self.get(7)),
                            _ => return None,
                        };
                        let end = i + repeat as usize;
                        if end > nlen + ndist {
                            return None;
                        }
                        lengths[i..end].fill(value);
                        i = end;
                    }
                    if lengths[256] == 0 {
                        return None;
                    }
                    (nlen, ndist)
                }
                _ => return None,
            };
            if nlen > 0 {
                self.build(0, &lengths[..nlen])?;
                self.build(1, &lengths[nlen..nlen + ndist])?;
                self.codes()?;
            }
            if self.pos > self.data.len() {
                return None;
            }
            if head & 1 != 0 {
                return Some(());
            }
        }
    }

    /// Decodes one block's symbols, up to end-of-block.
    fn codes(&mut self) -> Option<()> {
        loop {
            if self.pos > self.data.len() {
                return None;
            }
            let sym = self.decode(0);
            if sym < 256 {
                self.emit(sym)?;
            } else if sym == 256 {
                return Some(());
            } else {
                let n = match sym {
                    285 => 258,
                    257..=284 => self.value(sym - 257, 2) + 3,
                    _ => return None,
                };
                let d = self.decode(1);
                if d > 29 {
                    return None;
                }
                let d = self.value(d, 1) + 1;
                if d > self.at {
                    return None;
                }
                for _ in 0..n {
                    self.emit(self.out[self.at - d] as u32)?;
                }
            }
        }
    }

    /// Appends the byte `b` to the output.
    #[inline(never)]
    fn emit(&mut self, b: u32) -> Option<()> {
        *self.out.get_mut(self.at)? = b as u8;
        self.at += 1;
        Some(())
    }
}

/// Inflates `payload` into `out`, which it must fill exactly, the stream ending the
/// payload (only padding bits after it). False for anything else.
pub(crate) fn inflate(payload: &[u8], out: &mut [u8]) -> bool {
    let mut s = Inflater {
        data: payload,
        pos: 0,
        bits: 0,
        n: 0,
        out,
        at: 0,
        // SAFETY: all zeros is a valid `Codes` (integers only).
        codes: &mut unsafe { core::mem::zeroed() },
    };
    s.blocks().is_some() && s.at == s.out.len() && s.pos == payload.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_exact(payload: &[u8], len: usize) -> Option<Vec<u8>> {
        let mut out = vec![0; len];
        inflate(payload, &mut out).then_some(out)
    }

    /// The tests' seeded xorshift64.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Test inputs: empty, tiny, text, structured binary, noise, long runs, > 32 KB window.
    fn samples() -> Vec<Vec<u8>> {
        let mut rand = xorshift(0x1234_5678_9abc_def0);
        let mut v: Vec<Vec<u8>> = vec![vec![], vec![7], vec![1, 2], vec![0; 3], b"abcabcabcabc".to_vec()];
        v.push((0..5000).flat_map(|i: u32| format!("line {i}: value = {}\n", i * 7 % 13).into_bytes()).collect());
        v.push((0..20_000).map(|_| rand() as u8).collect());
        v.push(vec![b'x'; 100_000]);
        v.push((0..200_000u32).map(|i| (i / 3 % 251) as u8 ^ if i % 1000 == 0 { 0x55 } else { 0 }).collect());
        v.push((0..70_000).map(|_| b"ab"[(rand() % 2) as usize]).collect());
        v
    }

    #[test]
    fn round_trips_and_miniz_agrees() {
        for data in samples() {
            let packed = deflate(&data);
            assert_eq!(inflate_exact(&packed, data.len()).as_deref(), Some(&data[..]), "len {}", data.len());
            assert_eq!(miniz_oxide::inflate::decompress_to_vec(&packed).unwrap(), data);
            let mut trailing = packed.clone();
            trailing.push(0);
            assert_eq!(inflate_exact(&trailing, data.len()), None, "a byte after the stream");
            // Miniz's streams (stored, fixed and dynamic blocks) inflate here.
            for level in [0, 1, 6, 10] {
                let theirs = miniz_oxide::deflate::compress_to_vec(&data, level);
                assert_eq!(inflate_exact(&theirs, data.len()).as_deref(), Some(&data[..]), "level {level}");
                if !data.is_empty() {
                    assert_eq!(inflate_exact(&theirs, data.len() - 1), None);
                }
                assert_eq!(inflate_exact(&theirs, data.len() + 1), None);
            }
        }
        // Repetitive data compresses well even with fixed codes.
        let text = &samples()[5];
        let (ours, best) = (deflate(text).len(), miniz_oxide::deflate::compress_to_vec(text, 9).len());
        assert!(ours < text.len() / 3 && ours < best * 2, "{ours} of {} (miniz -9: {best})", text.len());
    }

    /// Mutated streams: never a panic, and whenever both decoders accept a stream they
    /// agree on its bytes.
    #[test]
    fn hostile_streams() {
        let mut rand = xorshift(99);
        let streams: Vec<(Vec<u8>, usize)> = samples()
            .into_iter()
            .filter(|d| d.len() < 30_000)
            .flat_map(|d| {
                [deflate(&d), miniz_oxide::deflate::compress_to_vec(&d, 6), miniz_oxide::deflate::compress_to_vec(&d, 0)]
                    .map(|s| (s, d.len()))
            })
            .collect();
        let mut agreed = 0;
        for _ in 0..20_000 {
            let (s, len) = &streams[(rand() % streams.len() as u64) as usize];
            let mut m = s.clone();
            for _ in 0..1 + rand() % 3 {
                match rand() % 3 {
                    0 if !m.is_empty() => {
                        let i = (rand() % m.len() as u64) as usize;
                        m[i] ^= 1 << (rand() % 8);
                    }
                    1 if !m.is_empty() => {
                        let i = (rand() % m.len() as u64) as usize;
                        m[i] = rand() as u8;
                    }
                    _ => m.truncate((rand() % (m.len() as u64 + 1)) as usize),
                }
            }
            let ours = inflate_exact(&m, *len);
            if let Some(ours) = ours {
                if let Ok(theirs) = miniz_oxide::inflate::decompress_to_vec(&m) {
                    assert_eq!(ours, theirs);
                    agreed += 1;
                }
            }
        }
        assert!(agreed > 100, "{agreed}");
    }
}
