//! compress.rs: raw DEFLATE (RFC 1951) of the body, written here rather than taken from
//! miniz_oxide: its encoder and decoder cost the module about 16 KB of gzip, this file under
//! 4 KB. (miniz_oxide remains a dev-dependency: the tests below check against it.)
//!
//! - `deflate` writes one block, with dynamic or fixed Huffman codes (whichever is
//!   shorter), after a greedy LZ77 pass (3-byte hash chains over the 32 KB window, at most
//!   `CHAIN` candidates a position; on bytecode, zlib-style lazy matching cost more time
//!   than the longer chains that beat it). About 90 µs (host) for 10 KB of bytecode, to 32%.
//! - `inflate_exact` reads any raw DEFLATE stream (stored, fixed and dynamic blocks), so a
//!   body compressed elsewhere (a future encoder, zlib, CompressionStream) still decodes.
//!   It checks every code, length and distance against the input, the output size, and
//!   what was already written: no input makes it panic or read or write out of bounds.
//!
//! Neither calls Lua, so their vectors may be held while they run.

use alloc::boxed::Box;
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

/// Base lengths of length codes 257..=285 and their extra bits.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/// Base distances of distance codes 0..=29 and their extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
    6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

// ---- encoder ----------------------------------------------------------------------------

struct BitWriter {
    out: Vec<u8>,
    bits: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `n` bits of `v` (n <= 32), least significant first.
    #[inline(always)]
    fn put(&mut self, v: u32, n: u32) {
        self.bits |= (v as u64) << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.n -= 8;
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.bits as u8);
        }
        self.out
    }
}

/// Symbols of the largest alphabet (literal/length codes, with the two unused ones).
const NSYM: usize = 288;

/// A Huffman code for writing: per symbol its length and its code, bit-reversed (ready
/// to be sent least significant bit first).
struct Code {
    len: [u8; NSYM],
    rev: [u16; NSYM],
}

impl Code {
    fn new(len: [u8; NSYM]) -> Code {
        let mut count = [0u16; 16];
        for &l in len.iter() {
            count[l as usize & 15] += 1;
        }
        count[0] = 0;
        let mut next = [0u16; 16];
        for l in 1..16 {
            next[l] = (next[l - 1] + count[l - 1]) << 1;
        }
        let mut rev = [0u16; NSYM];
        for s in 0..NSYM {
            let l = len[s] as usize & 15;
            if l > 0 {
                rev[s] = next[l].reverse_bits() >> (16 - l);
                next[l] += 1;
            }
        }
        Code { len, rev }
    }
    #[inline(always)]
    fn put(&self, w: &mut BitWriter, sym: usize) {
        w.put(self.rev[sym] as u32, self.len[sym] as u32);
    }
    /// Bits to send symbols with these frequencies.
    fn cost(&self, freq: &[u32]) -> u64 {
        let mut bits = 0;
        for (s, &f) in freq.iter().enumerate() {
            bits += f as u64 * self.len[s] as u64;
        }
        bits
    }
    /// One more than the last symbol with a code, at least `min`.
    fn used(&self, min: usize) -> usize {
        let mut n = NSYM;
        while n > min && self.len[n - 1] == 0 {
            n -= 1;
        }
        n
    }
}

/// Huffman code lengths for `freq` (at most `NSYM` symbols), none longer than `limit`: a
/// Huffman tree, its frequencies flattened until it fits.
fn code_lengths(freq: &[u32], limit: u8) -> [u8; NSYM] {
    let mut lengths = [0u8; NSYM];
    let mut f = [0u32; NSYM];
    f[..freq.len()].copy_from_slice(freq);
    loop {
        // The leaves, by weight (a shell sort: n <= 288).
        let mut leaf = [0u16; NSYM];
        let mut n = 0;
        for (s, &x) in f.iter().enumerate() {
            if x > 0 {
                leaf[n] = s as u16;
                n += 1;
            }
        }
        if n <= 1 {
            if n == 1 {
                lengths[leaf[0] as usize] = 1;
            }
            return lengths;
        }
        let mut gap = n / 2;
        while gap > 0 {
            for i in gap..n {
                let v = leaf[i];
                let mut j = i;
                while j >= gap && f[leaf[j - gap] as usize] > f[v as usize] {
                    leaf[j] = leaf[j - gap];
                    j -= gap;
                }
                leaf[j] = v;
            }
            gap /= 2;
        }
        // Nodes 0..n are the leaves in order, n..2n-1 the internal nodes in order of
        // creation (so of weight): the two queues of the linear-time construction.
        let mut weight = [0u32; 2 * NSYM];
        let mut parent = [0u16; 2 * NSYM];
        for i in 0..n {
            weight[i] = f[leaf[i] as usize];
        }
        let (mut next_leaf, mut next_inner) = (0, n);
        for k in n..2 * n - 1 {
            for _ in 0..2 {
                let p = if next_leaf < n && (next_inner >= k || weight[next_leaf] <= weight[next_inner]) {
                    next_leaf += 1;
                    next_leaf - 1
                } else {
                    next_inner += 1;
                    next_inner - 1
                };
                weight[k] = weight[k].saturating_add(weight[p]);
                parent[p] = k as u16;
            }
        }
        let mut depth = [0u8; 2 * NSYM];
        let mut deepest = 0;
        for k in (0..2 * n - 2).rev() {
            depth[k] = depth[parent[k] as usize].saturating_add(1);
            deepest = deepest.max(depth[k]);
        }
        if deepest <= limit {
            for i in 0..n {
                lengths[leaf[i] as usize] = depth[i];
            }
            return lengths;
        }
        for x in f.iter_mut() {
            *x = x.div_ceil(2);
        }
    }
}

/// A literal (< 256) or a match (`MATCH | len << 16 | dist`).
const MATCH: u32 = 1 << 31;

#[inline(always)]
fn hash(d: &[u8], i: usize, shift: u32) -> usize {
    let v = (d[i] as u32) | (d[i + 1] as u32) << 8 | (d[i + 2] as u32) << 16;
    (v.wrapping_mul(0x9e37_79b1) >> shift) as usize
}

struct Matcher<'a> {
    data: &'a [u8],
    /// head[h]: the last position + 1 with hash h; prev[i & mask]: the one before i.
    /// Both are sized to the input (up to 2^HASH_BITS and WINDOW entries).
    head: Box<[u32]>,
    prev: Box<[u32]>,
    shift: u32,
    mask: usize,
}

impl Matcher<'_> {
    #[inline(always)]
    fn insert(&mut self, i: usize) {
        if i + MIN_MATCH <= self.data.len() {
            let h = hash(self.data, i, self.shift);
            self.prev[i & self.mask] = self.head[h];
            self.head[h] = i as u32 + 1;
        }
    }

    /// The longest earlier match of the bytes at `i` (length, distance), or length 0.
    fn longest(&self, i: usize) -> (usize, usize) {
        let d = self.data;
        if i + MIN_MATCH > d.len() {
            return (0, 0);
        }
        let limit = (d.len() - i).min(MAX_MATCH);
        let (mut best, mut dist) = (0, 0);
        let mut cand = self.head[hash(d, i, self.shift)] as usize;
        let mut chain = CHAIN;
        while cand > 0 && chain > 0 {
            let j = cand - 1;
            if i - j > WINDOW {
                break;
            }
            if d[j + best.min(limit - 1)] == d[i + best.min(limit - 1)] {
                let len = common(&d[j..j + limit], &d[i..i + limit]);
                if len > best {
                    (best, dist) = (len, i - j);
                    if len >= GOOD_ENOUGH || len == limit {
                        break;
                    }
                }
            }
            let next = self.prev[j & self.mask] as usize;
            if next >= cand {
                break; // a slot reused by a later position
            }
            cand = next;
            chain -= 1;
        }
        if best >= MIN_MATCH {
            (best, dist)
        } else {
            (0, 0)
        }
    }
}

/// Length of the common prefix of two slices of equal length.
#[inline(always)]
fn common(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        let (x, y) = unsafe {
            (
                core::ptr::read_unaligned(a.as_ptr().add(i) as *const u64),
                core::ptr::read_unaligned(b.as_ptr().add(i) as *const u64),
            )
        };
        let diff = u64::from_le(x ^ y);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length code index (0..29) of each match length - 3.
const LEN_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = 28;
        while LEN_BASE[c] as usize > i + 3 {
            c -= 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// Distance code index of each distance - 1 up to 256, then of ((distance - 1) >> 7) + 256.
const DIST_CODE: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 512 {
        let d = if i < 256 { i + 1 } else { ((i - 256) << 7) + 1 };
        let mut c = 29;
        while DIST_BASE[c] as usize > d {
            c -= 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

#[inline(always)]
fn len_code(len: usize) -> usize {
    LEN_CODE[(len - MIN_MATCH) & 255] as usize
}

#[inline(always)]
fn dist_code(dist: usize) -> usize {
    let i = if dist <= 256 { dist - 1 } else { 256 + ((dist - 1) >> 7) };
    DIST_CODE[i & 511] as usize
}

/// The greedy LZ77 parse of `data`, with symbol frequencies.
fn parse(data: &[u8], lit_freq: &mut [u32; 286], dist_freq: &mut [u32; 30]) -> Vec<u32> {
    let size = data.len().next_power_of_two().clamp(1 << 10, WINDOW);
    let bits = (size.trailing_zeros() - 1).min(HASH_BITS);
    let mut m = Matcher {
        data,
        head: vec![0; 1 << bits].into_boxed_slice(),
        prev: vec![0; size].into_boxed_slice(),
        shift: 32 - bits,
        mask: size - 1,
    };
    let mut tokens = Vec::with_capacity(data.len() / 2);
    let mut i = 0;
    while i < data.len() {
        let (len, dist) = m.longest(i);
        m.insert(i);
        if len < MIN_MATCH {
            tokens.push(data[i] as u32);
            lit_freq[data[i] as usize] += 1;
            i += 1;
        } else {
            tokens.push(MATCH | (len as u32) << 16 | dist as u32);
            lit_freq[257 + len_code(len)] += 1;
            dist_freq[dist_code(dist)] += 1;
            if len <= INSERT_MAX {
                for k in i + 1..i + len {
                    m.insert(k);
                }
            }
            i += len;
        }
    }
    lit_freq[256] += 1;
    tokens
}

/// The fixed codes (RFC 1951 3.2.6).
fn fixed() -> (Code, Code) {
    let mut lit = [8u8; NSYM];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    let mut dist = [0u8; NSYM];
    dist[..30].fill(5);
    (Code::new(lit), Code::new(dist))
}

/// Run-length codes (16, 17, 18 with their extra bits) of a code-length sequence.
fn rle(lengths: &[u8]) -> Vec<(u8, u8)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let v = lengths[i];
        let run = lengths[i..].iter().take_while(|&&x| x == v).count();
        if v == 0 && run >= 11 {
            let n = run.min(138);
            out.push((18, (n - 11) as u8));
            i += n;
        } else if v == 0 && run >= 3 {
            out.push((17, (run - 3) as u8));
            i += run;
        } else if v != 0 && run >= 4 {
            out.push((v, 0));
            let n = (run - 1).min(6);
            out.push((16, (n - 3) as u8));
            i += 1 + n;
        } else {
            out.push((v, 0));
            i += 1;
        }
    }
    out
}

const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// `data` as one final DEFLATE block.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut lit_freq = [0u32; 286];
    let mut dist_freq = [0u32; 30];
    let tokens = parse(data, &mut lit_freq, &mut dist_freq);
    // The dynamic codes and their header.
    let lit = Code::new(code_lengths(&lit_freq, 15));
    let dist = Code::new(code_lengths(&dist_freq, 15));
    let nlit = lit.used(257);
    let ndist = dist.used(1);
    let mut all = [0u8; 286 + 30];
    all[..nlit].copy_from_slice(&lit.len[..nlit]);
    all[nlit..nlit + ndist].copy_from_slice(&dist.len[..ndist]);
    let runs = rle(&all[..nlit + ndist]);
    let mut cl_freq = [0u32; 19];
    for &(sym, _) in &runs {
        cl_freq[sym as usize] += 1;
    }
    let cl = Code::new(code_lengths(&cl_freq, 7));
    let mut ncl = 19;
    while ncl > 4 && cl.len[ORDER[ncl - 1]] == 0 {
        ncl -= 1;
    }
    let extra = |sym: u8| [0, 2u32, 3, 7][(sym as usize).saturating_sub(15) & 3];
    let mut header = 14 + 3 * ncl as u64;
    for &(sym, _) in &runs {
        header += (cl.len[sym as usize] as u32 + extra(sym)) as u64;
    }
    let dynamic_cost = header + lit.cost(&lit_freq) + dist.cost(&dist_freq);
    let (flit, fdist) = fixed();
    let fixed_cost = flit.cost(&lit_freq) + fdist.cost(&dist_freq);

    let mut w = BitWriter { out: Vec::with_capacity(data.len() / 2 + 64), bits: 0, n: 0 };
    let (lit, dist) = if dynamic_cost < fixed_cost {
        w.put(0b101, 3); // BFINAL = 1, BTYPE = 10 (dynamic codes)
        w.put(nlit as u32 - 257, 5);
        w.put(ndist as u32 - 1, 5);
        w.put(ncl as u32 - 4, 4);
        for &k in &ORDER[..ncl] {
            w.put(cl.len[k] as u32, 3);
        }
        for &(sym, bits) in &runs {
            cl.put(&mut w, sym as usize);
            w.put(bits as u32, extra(sym));
        }
        (lit, dist)
    } else {
        w.put(0b011, 3); // BFINAL = 1, BTYPE = 01 (fixed codes)
        (flit, fdist)
    };
    for &t in &tokens {
        if t & MATCH == 0 {
            lit.put(&mut w, t as usize);
        } else {
            let (len, d) = ((t >> 16 & 0x1ff) as usize, (t & 0xffff) as usize);
            let li = len_code(len);
            lit.put(&mut w, 257 + li);
            w.put((len - LEN_BASE[li] as usize) as u32, LEN_EXTRA[li] as u32);
            let di = dist_code(d);
            dist.put(&mut w, di);
            w.put((d - DIST_BASE[di] as usize) as u32, DIST_EXTRA[di] as u32);
        }
    }
    lit.put(&mut w, 256);
    w.finish()
}

// ---- decoder ----------------------------------------------------------------------------

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    bits: u32,
    n: u32,
}

impl BitReader<'_> {
    /// Loads whole bytes until at least `n` bits (n <= 24) are buffered or the input ends.
    #[inline(always)]
    fn fill(&mut self, n: u32) {
        while self.n < n {
            let Some(&b) = self.data.get(self.pos) else { return };
            self.pos += 1;
            self.bits |= (b as u32) << self.n;
            self.n += 8;
        }
    }
    /// The next `n` bits (n <= 16), least significant first; `None` past the end.
    #[inline(always)]
    fn get(&mut self, n: u32) -> Option<u32> {
        self.fill(n);
        if self.n < n {
            return None;
        }
        let v = self.bits & ((1u32 << n) - 1);
        self.bits >>= n;
        self.n -= n;
        Some(v)
    }
}

const FAST: u32 = 10;

/// A canonical Huffman code for reading: how many codes have each length and the symbols
/// in code order (as zlib's puff.c), plus a table decoding codes of up to `FAST` bits at
/// once (entry: symbol << 4 | length; 0 for longer codes).
struct Huffman {
    count: [u16; 16],
    symbol: [u16; 288],
    fast: [u16; 1 << FAST],
}

impl Huffman {
    /// Builds the code from per-symbol lengths; `None` if over-subscribed. (Incomplete
    /// codes are allowed, as zlib allows them: an unused code then fails in `decode`.)
    fn new(lengths: &[u8]) -> Option<Huffman> {
        let mut h = Huffman { count: [0; 16], symbol: [0; 288], fast: [0; 1 << FAST] };
        for &len in lengths {
            h.count[len as usize & 15] += 1;
        }
        let mut left: i32 = 1;
        for len in 1..16 {
            left = (left << 1) - h.count[len] as i32;
            if left < 0 {
                return None;
            }
        }
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + h.count[len];
        }
        for (sym, &len) in lengths.iter().enumerate() {
            if len != 0 {
                let slot = h.symbol.get_mut(offs[len as usize & 15] as usize)?;
                *slot = sym as u16;
                offs[len as usize & 15] += 1;
            }
        }
        // Canonical codes in symbol-table order, for the fast table.
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..=FAST {
            for _ in 0..h.count[len as usize] {
                let sym = *h.symbol.get(index)?;
                let rev = code.reverse_bits() >> (32 - len);
                let mut fill = rev;
                while fill < 1 << FAST {
                    h.fast[fill as usize] = sym << 4 | len as u16;
                    fill += 1 << len;
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        Some(h)
    }

    fn decode(&self, r: &mut BitReader) -> Option<usize> {
        r.fill(FAST);
        if r.n >= FAST {
            let e = self.fast[(r.bits & ((1 << FAST) - 1)) as usize];
            if e != 0 {
                r.bits >>= e & 15;
                r.n -= (e & 15) as u32;
                return Some((e >> 4) as usize);
            }
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= r.get(1)? as i32;
            let count = self.count[len] as i32;
            if code - count < first {
                return self.symbol.get((index + (code - first)) as usize).map(|&s| s as usize);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

/// Inflates `payload`, which must decompress to exactly `len` bytes and end with the
/// stream (only padding bits after it). `None` for anything else.
pub(crate) fn inflate_exact(payload: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).ok()?;
    let mut r = BitReader { data: payload, pos: 0, bits: 0, n: 0 };
    loop {
        let last = r.get(1)?;
        match r.get(2)? {
            0 => {
                r.bits = 0;
                r.n = 0;
                let b = r.data.get(r.pos..r.pos + 4)?;
                let n = u16::from_le_bytes([b[0], b[1]]);
                if n != !u16::from_le_bytes([b[2], b[3]]) {
                    return None;
                }
                let stored = r.data.get(r.pos + 4..r.pos + 4 + n as usize)?;
                if out.len() + stored.len() > len {
                    return None;
                }
                out.extend_from_slice(stored);
                r.pos += 4 + n as usize;
            }
            1 => {
                let mut lengths = [0u8; 288 + 32];
                for (i, l) in lengths.iter_mut().enumerate() {
                    *l = match i {
                        0..=143 => 8,
                        144..=255 => 9,
                        256..=279 => 7,
                        280..=287 => 8,
                        _ => 5,
                    };
                }
                codes(&mut r, &mut out, len, &lengths[..288], &lengths[288..])?;
            }
            2 => {
                let nlen = r.get(5)? as usize + 257;
                let ndist = r.get(5)? as usize + 1;
                let ncode = r.get(4)? as usize + 4;
                if nlen > 286 || ndist > 30 {
                    return None;
                }
                let mut cl = [0u8; 19];
                for &k in &ORDER[..ncode] {
                    cl[k] = r.get(3)? as u8;
                }
                let code_lengths = Huffman::new(&cl)?;
                let mut lengths = [0u8; 286 + 30];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = code_lengths.decode(&mut r)?;
                    let (value, repeat) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => (*lengths.get(i.checked_sub(1)?)?, 3 + r.get(2)? as usize),
                        17 => (0, 3 + r.get(3)? as usize),
                        _ => (0, 11 + r.get(7)? as usize),
                    };
                    if i + repeat > nlen + ndist {
                        return None;
                    }
                    lengths[i..i + repeat].fill(value);
                    i += repeat;
                }
                if lengths[256] == 0 {
                    return None;
                }
                codes(&mut r, &mut out, len, &lengths[..nlen], &lengths[nlen..nlen + ndist])?;
            }
            _ => return None,
        }
        if last == 1 {
            break;
        }
    }
    // Whole bytes still buffered were read ahead, not consumed.
    let consumed = r.pos - (r.n / 8) as usize;
    (out.len() == len && consumed == payload.len()).then_some(out)
}

/// Decodes one block's symbols with the given code lengths, up to end-of-block.
fn codes(r: &mut BitReader, out: &mut Vec<u8>, limit: usize, lit: &[u8], dist: &[u8]) -> Option<()> {
    let lit = Huffman::new(lit)?;
    let dist = Huffman::new(dist)?;
    loop {
        let sym = lit.decode(r)?;
        if sym < 256 {
            if out.len() >= limit {
                return None;
            }
            out.push(sym as u8);
        } else if sym == 256 {
            return Some(());
        } else {
            let i = sym - 257;
            let n = *LEN_BASE.get(i)? as usize + r.get(*LEN_EXTRA.get(i)? as u32)? as usize;
            let d = dist.decode(r)?;
            let d = *DIST_BASE.get(d)? as usize + r.get(*DIST_EXTRA.get(d)? as u32)? as usize;
            if d > out.len() || out.len() + n > limit {
                return None;
            }
            let from = out.len() - d;
            if d >= n {
                out.extend_from_within(from..from + n);
            } else {
                for k in 0..n {
                    let b = out[from + k];
                    out.push(b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test inputs: empty, tiny, text, structured binary, noise, long runs, > 32 KB window.
    fn samples() -> Vec<Vec<u8>> {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
        let mut seed = 99u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
