//! inflate.rs: reads raw DEFLATE (RFC 1951), every block type (stored, fixed and dynamic),
//! so a body compressed elsewhere (an earlier encoder, zlib, CompressionStream) still decodes.
//! It checks every code, length and distance against the input, the output size, and what
//! was already written: no input makes it panic or read or write out of bounds. Length and
//! distance codes are computed as deflate.rs describes. It calls no Lua, so its vectors may
//! be held while it runs. The writer is deflate.rs.

/// The state of one `inflate`: the input bit reader, the output, and two canonical
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

/// The order in which a dynamic block sends the code lengths of the code-length alphabet.
pub(super) const ORDER: [u8; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// The length of literal/length symbol `s` in the fixed code (RFC 1951 3.2.6).
pub(super) fn fixed_length(s: usize) -> u8 {
    match s {
        0..=143 => 8,
        144..=255 => 9,
        256..=279 => 7,
        _ => 8,
    }
}


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
                        *l = if i < 288 { fixed_length(i) } else { 5 };
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

