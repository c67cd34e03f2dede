//! deflate.rs: writes raw DEFLATE (RFC 1951), at three levels of effort, rather than taking
//! miniz_oxide's writer and reader (about 16 KB of gzip in the module; this file and
//! inflate.rs, the reader, are a few KB of code). miniz_oxide remains a dev-dependency: the
//! tests below check against it.
//!
//! - LZ77 over hash chains (3-byte hashes, the 32 KB window). `Level` sets how many
//!   candidates a position examines, when a match is long enough to stop looking, which
//!   positions inside a match are indexed, and whether a match is deferred when the next
//!   position has a longer one (lazy matching, as zlib's higher levels).
//! - The symbols go out in blocks of up to `BLOCK` symbols, each with its own Huffman codes
//!   (a dynamic block), or with the fixed codes when there are fewer than `FEW`. Code lengths are built from the symbol counts and limited to 15 bits (7 for the
//!   code-length code) by halving the counts until the tree fits.
//!
//! Length and distance codes are computed, not looked up. With `s` = 2 for lengths (the
//! value is the length - 3) and 1 for distances (the distance - 1), a value below `2 << s`
//! is its own code and has no extra bits; a larger one, whose highest set bit is bit `k`,
//! has `e = k - s` extra bits (its low bits) and the code `(e << s) + (value >> e)`.
//! Length 258 has its own code (285).
//!
//! It calls no Lua, so its vectors may be held while it runs.

use super::inflate::{fixed_length, ORDER};
use alloc::vec;
use alloc::vec::Vec;

const WINDOW: usize = 32 * 1024;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
const HASH_BITS: u32 = 14;
/// Symbols per block: a block's code table costs ~60-100 bytes, and smaller blocks follow
/// changes in the data.
const BLOCK: usize = 1 << 14;
/// Literal/length symbols (286 and 287 never occur, but have codes in the fixed code) and
/// distance symbols.
const LITS: usize = 288;
const DISTS: usize = 30;
/// Blocks of fewer symbols use the fixed codes.
const FEW: usize = 48;

/// How hard `deflate` works: the instance's `compression.level` (README).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Fast,
    Default,
    Best,
}

/// The match search of a level (names as zlib's configuration table).
struct Effort {
    /// Candidates examined per position.
    chain: usize,
    /// A match this long is taken without looking further.
    nice: usize,
    /// Positions inside matches up to this long are indexed too.
    insert: usize,
    /// Defer a match when the next position has a longer one.
    lazy: bool,
}

impl Level {
    fn effort(self) -> Effort {
        match self {
            Level::Fast => Effort { chain: 4, nice: 16, insert: 4, lazy: false },
            Level::Default => Effort { chain: 16, nice: 128, insert: 16, lazy: true },
            Level::Best => Effort { chain: 256, nice: MAX_MATCH, insert: MAX_MATCH, lazy: true },
        }
    }
}

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
        self.put(rev, len);
        self.put(v & ((1 << extra) - 1), extra);
    }
}

/// The code of `v` (a length - 3 or a distance - 1) with `s` as in the header, and its
/// number of extra bits.
fn split(v: u32, s: u32) -> (u32, u32) {
    let e = (31 - (v | 1).leading_zeros()).saturating_sub(s);
    ((e << s) + (v >> e), e)
}

/// A match as a symbol: its length above bit 16, its distance below (a literal is its
/// byte, below 256).
fn length_code(sym: u32) -> (u32, u32) {
    let len = sym >> 16;
    if len as usize == MAX_MATCH { (28, 0) } else { split(len - 3, 2) }
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

    /// Indexes position `i` and returns its longest earlier match (length, distance) among
    /// the candidates of its hash chain; a length below MIN_MATCH is none.
    #[inline(never)]
    fn search(&mut self, i: usize, e: &Effort) -> (usize, usize) {
        let d = self.data.as_ptr();
        let limit = (self.data.len() - i).min(MAX_MATCH);
        let (mut best, mut dist) = (0, 0);
        let mut cand = self.insert(i);
        let mut chain = e.chain;
        while cand > 0 && chain > 0 {
            let j = cand - 1;
            if i - j > WINDOW {
                break;
            }
            // SAFETY: j < i and i + limit <= n: both runs of `limit` bytes are in `data`;
            // heads + (j & mask) is within the table (see `insert`).
            unsafe {
                // (A longer match also matches where the best one ends.)
                let end = best.min(limit - 1);
                if *d.add(j + end) == *d.add(i + end) {
                    let len = common(d.add(j), d.add(i), limit);
                    if len > best {
                        (best, dist) = (len, i - j);
                        if len >= e.nice || len == limit {
                            break;
                        }
                    }
                }
                let next = *self.table.get_unchecked(self.heads + (j & self.mask)) as usize;
                if next >= cand {
                    break; // a slot reused by a later position
                }
                cand = next;
            }
            chain -= 1;
        }
        (best, dist)
    }
}

/// `data` as raw DEFLATE at `level`.
pub(crate) fn deflate(data: &[u8], level: Level) -> Vec<u8> {
    let e = level.effort();
    let n = data.len();
    let size = n.next_power_of_two().clamp(64, WINDOW);
    let bits = (size.trailing_zeros() - 1).min(HASH_BITS);
    let mut c = Chains { data, table: vec![0u32; (1 << bits) + size], heads: 1 << bits, mask: size - 1, shift: 32 - bits };
    let mut w = BitWriter { out: Vec::with_capacity(n / 2 + 64), bits: 0, n: 0 };
    let mut syms: Vec<u32> = Vec::with_capacity(BLOCK.min(n + 1));
    let mut i = 0;
    // A match found at i by the lazy look-ahead (i is indexed already).
    let mut ahead = None;
    while i < n {
        let (mut len, dist) = ahead.take().unwrap_or_else(|| c.search(i, &e));
        let mut indexed = i + 1;
        if e.lazy && len >= MIN_MATCH && len < e.nice && i + 1 < n {
            let next = c.search(i + 1, &e);
            indexed = i + 2;
            if next.0 > len {
                ahead = Some(next);
                len = 0;
            }
        }
        if len < MIN_MATCH {
            syms.push(data[i] as u32);
            i += 1;
        } else {
            syms.push((len << 16 | dist) as u32);
            if len <= e.insert {
                for k in indexed..i + len {
                    c.insert(k);
                }
            }
            i += len;
        }
        if syms.len() >= BLOCK {
            block(&mut w, &syms, false);
            syms.clear();
        }
    }
    block(&mut w, &syms, true);
    w.put(0, 7); // flushes the last bits
    w.out
}

/// Writes `syms` as one block (the last one if `last`) with Huffman codes made for it (a
/// dynamic block), or, when there are few symbols, with the fixed codes: a dynamic block's
/// code table (60-100 bits) would outweigh what it saves, and making it costs more time
/// than the rest of a short input's compression.
fn block(w: &mut BitWriter, syms: &[u32], last: bool) {
    let mut len = [0u8; LITS + DISTS];
    let mut code = [0u16; LITS + DISTS];
    if syms.len() < FEW {
        w.put(2 | last as u32, 3); // BFINAL, BTYPE 01 (fixed codes)
        for (i, l) in len.iter_mut().enumerate() {
            *l = if i < LITS { fixed_length(i) } else { 5 };
        }
    } else {
        dynamic(w, syms, last, &mut len, &mut code);
    }
    canonical(&len[..LITS], &mut code[..LITS]);
    canonical(&len[LITS..], &mut code[LITS..]);
    let put = |w: &mut BitWriter, i: usize, v: u32, e: u32| w.code(code[i] as u32, len[i] as u32, v, e);
    for &s in syms {
        if s < 256 {
            put(w, s as usize, 0, 0);
        } else {
            let (c, e) = length_code(s);
            put(w, 257 + c as usize, (s >> 16) - 3, e);
            let d = (s & 0xffff) - 1;
            let (c, e) = split(d, 1);
            put(w, LITS + c as usize, d, e);
        }
    }
    put(w, 256, 0, 0);
}

/// The header of a dynamic block for `syms`: code lengths into `len` (literals/lengths,
/// then distances), written run-length coded with a code of their own (`code` is scratch).
fn dynamic(w: &mut BitWriter, syms: &[u32], last: bool, len: &mut [u8; LITS + DISTS], code: &mut [u16; LITS + DISTS]) {
    // Counts: literal/length symbols, then distance symbols.
    let mut freq = [0u32; LITS + DISTS];
    for &s in syms {
        if s < 256 {
            freq[s as usize] += 1;
        } else {
            freq[257 + length_code(s).0 as usize] += 1;
            freq[LITS + split((s & 0xffff) - 1, 1).0 as usize] += 1;
        }
    }
    freq[256] = 1;
    lengths(&freq[..LITS], 15, &mut len[..LITS]);
    lengths(&freq[LITS..], 15, &mut len[LITS..]);
    let used = |l: &[u8]| l.iter().rposition(|&x| x > 0).map_or(0, |p| p + 1);
    let (hlit, hdist) = (257 + used(&len[257..LITS]), 1 + used(&len[LITS + 1..]));
    // The code lengths, run-length coded: a symbol (0-18) in the low 5 bits, the value of
    // its extra bits above.
    let mut all = Vec::with_capacity(hlit + hdist);
    all.extend_from_slice(&len[..hlit]);
    all.extend_from_slice(&len[LITS..LITS + hdist]);
    let mut rle = Vec::new();
    let mut k = 0;
    while k < all.len() {
        let v = all[k];
        let mut r = 1;
        while k + r < all.len() && all[k + r] == v && r < if v == 0 { 138 } else { 7 } {
            r += 1;
        }
        if v == 0 && r >= 3 {
            rle.push(if r <= 10 { 17 | (r as u32 - 3) << 5 } else { 18 | (r as u32 - 11) << 5 });
        } else if v != 0 && r >= 4 {
            rle.extend([v as u32, 16 | (r as u32 - 4) << 5]);
        } else {
            rle.push(v as u32);
            r = 1;
        }
        k += r;
    }
    let mut cl_freq = [0u32; 19];
    rle.iter().for_each(|&s| cl_freq[(s & 31) as usize] += 1);
    let mut cl_len = [0u8; 19];
    lengths(&cl_freq, 7, &mut cl_len);
    let hclen = 4 + used(&ORDER[4..].iter().map(|&s| cl_len[s as usize]).collect::<Vec<u8>>());
    w.put(4 | last as u32, 3); // BFINAL, BTYPE 10 (dynamic codes)
    w.put(hlit as u32 - 257, 5);
    w.put(hdist as u32 - 1, 5);
    w.put(hclen as u32 - 4, 4);
    for &s in &ORDER[..hclen] {
        w.put(cl_len[s as usize] as u32, 3);
    }
    canonical(&cl_len, &mut code[..19]);
    for &s in &rle {
        let i = (s & 31) as usize;
        w.code(code[i] as u32, cl_len[i] as u32, s >> 5, [0, 2, 3, 7][i.saturating_sub(15)]);
    }
}

/// Huffman code lengths of at most `limit` bits for the counts `freq` (at most LITS
/// symbols) into `len`, 0 for unused symbols. At least two symbols get a code (a code of
/// one symbol would have no bits). Built as a Huffman tree by the two-queue method (leaves
/// sorted by count; merged nodes come out in order of weight); when the tree is deeper
/// than `limit`, the counts are halved (a used symbol stays used) and it is built again.
fn lengths(freq: &[u32], limit: u8, len: &mut [u8]) {
    let n = freq.len();
    let mut f = [0u32; LITS];
    f[..n].copy_from_slice(freq);
    let mut short = 2usize.saturating_sub(f[..n].iter().filter(|&&x| x > 0).count());
    for x in f[..n].iter_mut() {
        if short > 0 && *x == 0 {
            *x = 1;
            short -= 1;
        }
    }
    loop {
        // The used symbols by count (insertion sort: at most LITS of them).
        let mut leaf = [0u16; LITS];
        let mut m = 0;
        for s in 0..n {
            if f[s] > 0 {
                let mut j = m;
                while j > 0 && f[leaf[j - 1] as usize] > f[s] {
                    leaf[j] = leaf[j - 1];
                    j -= 1;
                }
                leaf[j] = s as u16;
                m += 1;
            }
        }
        // Node ids: leaf k is k, merged node j is m + j. `parent` of each; `weight` of the
        // merged nodes.
        let mut parent = [0u16; 2 * LITS];
        let mut weight = [0u32; LITS];
        let (mut a, mut b) = (0, 0);
        for j in 0..m - 1 {
            let mut pair = 0;
            for _ in 0..2 {
                let (id, w) = if a < m && (b >= j || f[leaf[a] as usize] <= weight[b]) {
                    a += 1;
                    (a - 1, f[leaf[a - 1] as usize])
                } else {
                    b += 1;
                    (m + b - 1, weight[b - 1])
                };
                parent[id] = j as u16;
                pair += w;
            }
            weight[j] = pair;
        }
        // Depths: the root is the last merged node; a node's parent was merged after it.
        let mut depth = [0u8; LITS];
        for j in (0..m - 2).rev() {
            depth[j] = depth[parent[m + j] as usize] + 1;
        }
        len.fill(0);
        let mut deepest = 0;
        for k in 0..m {
            let d = depth[parent[k] as usize] + 1;
            len[leaf[k] as usize] = d;
            deepest = deepest.max(d);
        }
        if deepest <= limit {
            return;
        }
        for x in f[..n].iter_mut() {
            *x -= *x / 2;
        }
    }
}

/// The canonical code (RFC 1951 3.2.2) of every symbol with a length in `len`.
fn canonical(len: &[u8], code: &mut [u16]) {
    let mut count = [0u16; 16];
    len.iter().for_each(|&l| count[l as usize] += 1);
    count[0] = 0;
    let mut next = [0u16; 16];
    for b in 1..16 {
        next[b] = (next[b - 1] + count[b - 1]) << 1;
    }
    for (i, &l) in len.iter().enumerate() {
        if l > 0 {
            code[i] = next[l as usize];
            next[l as usize] += 1;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::super::inflate::inflate;
    use super::*;

    const LEVELS: [Level; 3] = [Level::Fast, Level::Default, Level::Best];

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

    /// Text of words from a 600-word vocabulary, the frequent ones more often (as notes).
    fn prose(seed: u64, len: usize) -> Vec<u8> {
        let mut rand = xorshift(seed);
        let mut vocab = xorshift(5);
        let words: Vec<Vec<u8>> = (0..600).map(|_| (0..2 + vocab() % 9).map(|_| b'a' + (vocab() % 26) as u8).collect()).collect();
        let mut s = Vec::new();
        while s.len() < len {
            let r = (rand() % 600) as usize;
            s.extend_from_slice(&words[r * r / 600]);
            s.push(if rand() % 12 == 0 { b'.' } else { b' ' });
        }
        s
    }

    /// Test inputs: empty, tiny, short, text, structured binary, noise, long runs, > 32 KB
    /// window, prose (several blocks).
    fn samples() -> Vec<Vec<u8>> {
        let mut rand = xorshift(0x1234_5678_9abc_def0);
        let mut v: Vec<Vec<u8>> = vec![vec![], vec![7], vec![1, 2], vec![0; 3], b"abcabcabcabc".to_vec()];
        // Short (fixed codes), with literals of every code length: 8 and 9 bits.
        v.push((0..40).map(|i| (i * 97 % 256) as u8).collect());
        v.push((0..5000).flat_map(|i: u32| format!("line {i}: value = {}\n", i * 7 % 13).into_bytes()).collect());
        v.push((0..20_000).map(|_| rand() as u8).collect());
        v.push(vec![b'x'; 100_000]);
        v.push((0..200_000u32).map(|i| (i / 3 % 251) as u8 ^ if i % 1000 == 0 { 0x55 } else { 0 }).collect());
        v.push((0..70_000).map(|_| b"ab"[(rand() % 2) as usize]).collect());
        v.push(prose(1, 1500));
        v.push(prose(2, 150_000));
        v
    }

    #[test]
    fn round_trips_and_miniz_agrees() {
        for data in samples() {
            for level in LEVELS {
                let packed = deflate(&data, level);
                assert_eq!(inflate_exact(&packed, data.len()).as_deref(), Some(&data[..]), "len {} {level:?}", data.len());
                assert_eq!(miniz_oxide::inflate::decompress_to_vec(&packed).unwrap(), data);
                let mut trailing = packed.clone();
                trailing.push(0);
                assert_eq!(inflate_exact(&trailing, data.len()), None, "a byte after the stream");
            }
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
    }

    /// Each level packs at least as well as the one below it, and text about as well as
    /// zlib's levels 1, 6 and 9 (miniz_oxide's); dynamic codes make prose about a third
    /// smaller than the fixed ones. (Noise, sample 7, comes out a little larger than it is:
    /// callers keep the smaller.)
    #[test]
    fn levels_and_miniz_sizes() {
        for (i, data) in samples().iter().enumerate().filter(|(i, d)| d.len() > 1000 && *i != 7) {
            let [fast, default, best] = LEVELS.map(|l| deflate(data, l).len());
            assert!(best <= default && default <= fast, "sample {i}: {fast} {default} {best}");
            let [m1, m6, m9] = [1, 6, 9].map(|l| miniz_oxide::deflate::compress_to_vec(data, l).len());
            let text = [6, 10, 11, 12].contains(&i);
            assert!(!text || (fast * 100 <= m1 * 110 && default * 100 <= m6 * 108 && best * 100 <= m9 * 102), "sample {i}: {fast} {default} {best} vs miniz {m1} {m6} {m9}");
        }
        let text = prose(3, 4000);
        let fixed = text.len() * 7 / 10; // about what one fixed-code block made of this text
        assert!(deflate(&text, Level::Default).len() < fixed * 8 / 10);
    }

    /// Code lengths: within the limit, and the code complete (Kraft's sum exactly 1), for
    /// random counts, skewed counts (deep trees), and one or no used symbol.
    #[test]
    fn code_lengths_are_limited_and_complete() {
        let mut rand = xorshift(42);
        for round in 0..3000 {
            let n = [LITS, DISTS, 19][round % 3];
            let limit = if n == 19 { 7 } else { 15 };
            let mut freq = vec![0u32; n];
            match round % 4 {
                0 => freq.iter_mut().for_each(|f| *f = (rand() % 1000) as u32 * (rand() % 3 != 0) as u32),
                1 => freq.iter_mut().enumerate().for_each(|(i, f)| *f = if i < 40 { 1 << (i % 25) } else { 0 }),
                2 => freq[(rand() % n as u64) as usize] = 5,
                _ => {}
            }
            let mut len = vec![0u8; n];
            lengths(&freq, limit, &mut len);
            let kraft: u64 = len.iter().filter(|&&l| l > 0).map(|&l| 1u64 << (15 - l)).sum();
            assert_eq!(kraft, 1 << 15, "round {round}: {len:?}");
            assert!(len.iter().all(|&l| l <= limit));
            assert!(freq.iter().zip(&len).all(|(&f, &l)| f == 0 || l > 0));
        }
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
                [deflate(&d, Level::Fast), deflate(&d, Level::Best), miniz_oxide::deflate::compress_to_vec(&d, 6), miniz_oxide::deflate::compress_to_vec(&d, 0)]
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
