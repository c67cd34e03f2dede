//! printf-family formatter: C `snprintf` semantics, byte-identical to glibc's output in the
//! "C" locale for `d i u c x X o e E f F g G a A s p %` with flags, width, precision and the
//! length modifiers `hh h l ll j z t L q`. No heap allocation. Decimal float digits come from
//! the exact `Decimal` engine (shared with strtod), rounded half-to-even, for %e, %f and %g.

use super::strtod::{pow10, Decimal};

/// Where formatted bytes go, with snprintf semantics: at most `buf.len() - 1` bytes are stored
/// (then a NUL), but every byte is counted.
pub struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Out<'a> {
    /// An empty output over `buf` (which may be empty: then nothing is stored).
    pub fn new(buf: &'a mut [u8]) -> Self {
        Out { buf, len: 0 }
    }

    #[inline(never)]
    fn put(&mut self, c: u8) {
        let cap = self.buf.len();
        if self.len + 1 < cap {
            if let Some(b) = self.buf.get_mut(self.len) {
                *b = c;
            }
        }
        self.len += 1;
    }

    fn fill(&mut self, c: u8, n: usize) {
        for _ in 0..n {
            self.put(c);
        }
    }

    fn bytes(&mut self, s: &[u8]) {
        for &c in s {
            self.put(c);
        }
    }

    /// Writes the terminating NUL (if the buffer has room for anything) and returns the
    /// length the full output has (excluding the NUL).
    pub fn finish(self) -> usize {
        let end = self.len.min(self.buf.len().wrapping_sub(1));
        if let Some(b) = self.buf.get_mut(end) {
            *b = 0;
        }
        self.len
    }
}

/// Argument fetcher: the formatter asks for the next argument of the type the conversion needs.
///
/// # Safety
/// `cstr` must return null or a pointer to bytes readable up to and including a NUL (or, for a
/// `%s` with a precision, at least up to the precision or a NUL, whichever comes first).
pub unsafe trait Args {
    /// `%d %i %c` (no length modifier, or `hh`/`h`), `*` width/precision; `l`/`z`/`t` on 32-bit.
    fn int(&mut self) -> i32;
    /// `%u %x %X %o` (no length modifier, or `hh`/`h`); `l`/`z`/`t` on 32-bit.
    fn uint(&mut self) -> u32;
    /// `ll j L q`, and `l z t` where `usize` is 64-bit (signed and unsigned conversions).
    fn long_long(&mut self) -> i64;
    /// `%e %E %f %F %g %G %a %A` (`L` too: long double is not supported, a double is read).
    fn double(&mut self) -> f64;
    /// `%p`.
    fn ptr(&mut self) -> usize;
    /// `%s` (NUL-terminated; null prints as glibc does).
    fn cstr(&mut self) -> *const u8;
}

/// One parsed conversion specification.
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    /// Negative: no precision given.
    prec: i32,
}

/// Formats `fmt` (no NUL needed in the slice) with `args` into `buf` with C snprintf semantics:
/// returns the length the full output would have had; writes at most buf.len()-1 bytes plus a
/// NUL (nothing if buf is empty).
pub fn vformat(buf: &mut [u8], fmt: &[u8], args: &mut dyn Args) -> usize {
    let mut out = Out::new(buf);
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.put(c);
            continue;
        }
        let start = i - 1;
        let mut sp = Spec {
            left: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: 0,
            prec: -1,
        };
        loop {
            match at(i) {
                b'-' => sp.left = true,
                b'+' => sp.plus = true,
                b' ' => sp.space = true,
                b'#' => sp.alt = true,
                b'0' => sp.zero = true,
                b'\'' | b'I' => {}
                _ => break,
            }
            i += 1;
        }
        if at(i) == b'*' {
            i += 1;
            let w = args.int();
            sp.left |= w < 0;
            sp.width = w.unsigned_abs() as usize;
        } else {
            sp.width = number(fmt, &mut i) as usize;
        }
        if at(i) == b'.' {
            i += 1;
            if at(i) == b'*' {
                i += 1;
                sp.prec = args.int().max(-1);
            } else {
                sp.prec = number(fmt, &mut i);
            }
        }
        sp.zero &= !sp.left;
        // Integer argument size in bits.
        let long = if core::mem::size_of::<usize>() == 8 {
            64
        } else {
            32
        };
        let bits = match at(i) {
            b'h' if at(i + 1) == b'h' => 8,
            b'h' => 16,
            b'l' if at(i + 1) == b'l' => 64,
            b'l' | b'z' | b't' => long,
            b'j' | b'L' | b'q' => 64,
            _ => 32,
        };
        i += match (at(i), at(i + 1)) {
            (b'h', b'h') | (b'l', b'l') => 2,
            (b'h' | b'l' | b'z' | b't' | b'j' | b'L' | b'q', _) => 1,
            _ => 0,
        };
        if i >= fmt.len() {
            out.bytes(&fmt[start..]);
            break;
        }
        let conv = fmt[i];
        i += 1;
        match conv {
            b'd' | b'i' => {
                let v = if bits == 64 {
                    args.long_long()
                } else {
                    args.int() as i64
                };
                let v = match bits {
                    8 => v as i8 as i64,
                    16 => v as i16 as i64,
                    _ => v,
                };
                integer(&mut out, &sp, v.unsigned_abs(), v < 0, 10, false, true);
            }
            b'u' | b'x' | b'X' | b'o' => {
                let v = if bits == 64 {
                    args.long_long() as u64
                } else {
                    args.uint() as u64
                };
                let v = match bits {
                    8 => v as u8 as u64,
                    16 => v as u16 as u64,
                    _ => v,
                };
                let base = match conv {
                    b'u' => 10,
                    b'o' => 8,
                    _ => 16,
                };
                integer(&mut out, &sp, v, false, base, conv == b'X', false);
            }
            b'p' => {
                let v = args.ptr();
                if v == 0 {
                    padded(&mut out, &sp, b"", b"(nil)", false);
                } else {
                    sp.alt = true;
                    integer(&mut out, &sp, v as u64, false, 16, false, true);
                }
            }
            b'c' => padded(&mut out, &sp, b"", &[args.int() as u8], false),
            b's' => {
                let p = args.cstr();
                let s: &[u8] = if p.is_null() {
                    if sp.prec < 0 || sp.prec >= 6 {
                        b"(null)"
                    } else {
                        b""
                    }
                } else {
                    let mut n = 0usize;
                    // SAFETY: `Args::cstr` guarantees the bytes are readable up to a NUL or up
                    // to the precision, and the loop stops at whichever comes first.
                    unsafe {
                        while (sp.prec < 0 || n < sp.prec as usize) && *p.add(n) != 0 {
                            n += 1;
                        }
                        core::slice::from_raw_parts(p, n)
                    }
                };
                padded(&mut out, &sp, b"", s, false);
            }
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A' => {
                float(&mut out, &sp, conv, args.double())
            }
            b'%' => out.put(b'%'),
            _ => out.bytes(&fmt[start..i]),
        }
    }
    out.finish()
}

/// Parses decimal digits at `*i` (saturating), advancing `*i`.
fn number(fmt: &[u8], i: &mut usize) -> i32 {
    let mut n: i32 = 0;
    while let Some(d @ b'0'..=b'9') = fmt.get(*i).copied() {
        n = n.saturating_mul(10).saturating_add((d - b'0') as i32);
        *i += 1;
    }
    n
}

/// Writes `prefix` and `body` padded to the width: with zeros between them if `zero`, else
/// with spaces before (or after, for `-`).
fn padded(out: &mut Out, sp: &Spec, prefix: &[u8], body: &[u8], zero: bool) {
    let n = pad_pre(out, sp, prefix, body.len(), zero);
    out.bytes(body);
    pad_post(out, sp, n);
}

/// Emits the leading padding and `prefix` for a field whose body is `len` bytes; returns the
/// padding amount for `pad_post`.
fn pad_pre(out: &mut Out, sp: &Spec, prefix: &[u8], len: usize, zero: bool) -> usize {
    let n = sp.width.saturating_sub(prefix.len() + len);
    let zero = zero && sp.zero;
    if !sp.left && !zero {
        out.fill(b' ', n);
    }
    out.bytes(prefix);
    if zero {
        out.fill(b'0', n);
    }
    n
}

fn pad_post(out: &mut Out, sp: &Spec, n: usize) {
    if sp.left {
        out.fill(b' ', n);
    }
}

/// Digits of `v` in `base` at the end of `buf`.
fn utoa(mut v: u64, base: u64, up: bool, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    loop {
        let d = (v % base) as u8;
        i -= 1;
        buf[i] = if d < 10 {
            b'0' + d
        } else {
            d - 10 + if up { b'A' } else { b'a' }
        };
        v /= base;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// The sign prefix for a (signed) conversion.
fn sign(sp: &Spec, neg: bool) -> &'static [u8] {
    if neg {
        b"-"
    } else if sp.plus {
        b"+"
    } else if sp.space {
        b" "
    } else {
        b""
    }
}

/// %d %u %x %o %p: magnitude `v`, with glibc's precision, `#` and padding rules.
fn integer(out: &mut Out, sp: &Spec, v: u64, neg: bool, base: u64, up: bool, signed: bool) {
    let mut tmp = [0u8; 24];
    let ds: &[u8] = if sp.prec == 0 && v == 0 {
        b""
    } else {
        utoa(v, base, up, &mut tmp)
    };
    let prec = if sp.prec < 0 { 1 } else { sp.prec as usize };
    let mut zeros = prec.saturating_sub(ds.len());
    if base == 8 && sp.alt && zeros == 0 && ds.first() != Some(&b'0') {
        zeros = 1;
    }
    let mut pre = [0u8; 3];
    let mut np = 0;
    if let Some(&s) = (if signed { sign(sp, neg) } else { b"" }).first() {
        pre[0] = s;
        np = 1;
    }
    if base == 16 && sp.alt && v != 0 {
        pre[np] = b'0';
        pre[np + 1] = if up { b'X' } else { b'x' };
        np += 2;
    }
    let n = pad_pre(out, sp, &pre[..np], zeros + ds.len(), sp.prec < 0);
    out.fill(b'0', zeros);
    out.bytes(ds);
    pad_post(out, sp, n);
}

/// Digit `i` of `d`'s digit string ('0' outside the stored digits).
fn digit(d: &Decimal, i: i64) -> u8 {
    if i >= 0 && (i as usize) < d.nd {
        d.d[i as usize]
    } else {
        b'0'
    }
}

/// Writes digits `from..to` of `d`.
fn put_digits(out: &mut Out, d: &Decimal, from: i64, to: i64) {
    for i in from..to {
        out.put(digit(d, i));
    }
}

/// %e %f %g %a and their uppercase forms.
fn float(out: &mut Out, sp: &Spec, conv: u8, x: f64) {
    let up = conv < b'a';
    let sg = sign(sp, x.is_sign_negative());
    if !x.is_finite() {
        let s: &[u8] = match (x.is_nan(), up) {
            (true, false) => b"nan",
            (true, true) => b"NAN",
            (false, false) => b"inf",
            (false, true) => b"INF",
        };
        return padded(out, sp, sg, s, false);
    }
    let x = x.abs();
    let lc = conv | 0x20;
    if lc == b'a' {
        return hex_float(out, sp, x, sg, up);
    }
    let mut p = if sp.prec < 0 { 6 } else { sp.prec as i64 };
    if lc == b'g' && p == 0 {
        p = 1;
    }
    let mut fixed = lc == b'f';
    // The exact decimal value, rounded to p digits after the point (%f), or to p+1 (%e) or p
    // (%g) significant digits.
    let bits = x.to_bits();
    let be = (bits >> 52) as i32;
    let mut d = Decimal::new(
        bits & ((1 << 52) - 1) | ((be != 0) as u64) << 52,
        be.max(1) - 1075,
    );
    d.round(if fixed {
        d.dp as i64 + p
    } else {
        p + (lc == b'e') as i64
    });
    if d.nd == 0 {
        d.dp = 1;
    }
    if lc == b'g' {
        let e = d.dp as i64 - 1;
        fixed = p > e && e >= -4;
        p = if fixed { p - 1 - e } else { p - 1 };
        // glibc quirk, reproduced: `%#.Pg` of a value below 10^P that rounds up to 10^P
        // prints "1.e+P" (it picks the style before rounding, keeping %f's zero count).
        if sp.alt
            && !fixed
            && e == p + 1
            && e <= 22
            && d.nd == 1
            && d.d[0] == b'1'
            && x < pow10(e as i32)
        {
            p = 0;
        }
        if !sp.alt {
            // Drop trailing zeros (d has nd significant digits).
            p = p.min((d.nd as i64 - if fixed { d.dp as i64 } else { 1 }).max(0));
        }
    }
    let point = p > 0 || sp.alt;
    let dp = d.dp as i64;
    if fixed {
        let n = pad_pre(out, sp, sg, (dp.max(1) + point as i64 + p) as usize, true);
        if dp <= 0 {
            out.put(b'0');
        }
        put_digits(out, &d, 0, dp);
        if point {
            out.put(b'.');
        }
        put_digits(out, &d, dp, dp + p);
        pad_post(out, sp, n);
    } else {
        let e = dp - 1;
        let mut tmp = [0u8; 24];
        let es = utoa(e.unsigned_abs(), 10, false, &mut tmp);
        let elen = es.len().max(2);
        let n = pad_pre(
            out,
            sp,
            sg,
            1 + point as usize + p as usize + 2 + elen,
            true,
        );
        out.put(digit(&d, 0));
        if point {
            out.put(b'.');
        }
        put_digits(out, &d, 1, 1 + p);
        out.put(if up { b'E' } else { b'e' });
        out.put(if e < 0 { b'-' } else { b'+' });
        if es.len() < 2 {
            out.put(b'0');
        }
        out.bytes(es);
        pad_post(out, sp, n);
    }
}

/// %a of finite non-negative `x`, as glibc: `0x1.<hex>p±e` for normals, `0x0.<hex>p-1022`
/// for subnormals, `0x0p+0` for zero; precision rounds half-to-even on the hex digits.
fn hex_float(out: &mut Out, sp: &Spec, x: f64, sg: &[u8], up: bool) {
    const M: u64 = (1 << 52) - 1;
    let bits = x.to_bits();
    let be = (bits >> 52) as i64;
    let mut m = bits & M;
    let mut lead = (be != 0) as u8;
    let e = if be != 0 {
        be - 1023
    } else if m != 0 {
        -1022
    } else {
        0
    };
    // Significant hex digits after the point (13 nibbles, trailing zero nibbles dropped).
    let nd = if m == 0 {
        0
    } else {
        13 - (m.trailing_zeros() / 4) as usize
    };
    let p = if sp.prec < 0 { nd } else { sp.prec as usize };
    if p < nd {
        let sh = 4 * (13 - p) as u32;
        let rem = m & ((1 << sh) - 1);
        let half = 1u64 << (sh - 1);
        m -= rem;
        let odd = if p > 0 {
            (m >> sh) & 1
        } else {
            lead as u64 & 1
        };
        if rem > half || (rem == half && odd == 1) {
            m += 1 << sh;
            if m > M {
                m &= M;
                lead += 1;
            }
        }
    }
    let point = p > 0 || sp.alt;
    let mut tmp = [0u8; 24];
    let es = utoa(e.unsigned_abs(), 10, false, &mut tmp);
    let mut pre = [b'0', b'0', b'x' - up as u8 * 32];
    if let Some(&c) = sg.first() {
        pre[0] = c;
    }
    let prefix = &pre[sg.is_empty() as usize..];
    let n = pad_pre(out, sp, prefix, 1 + point as usize + p + 2 + es.len(), true);
    out.put(b'0' + lead);
    if point {
        out.put(b'.');
    }
    for i in 0..p {
        let d = if i < 13 {
            ((m >> (48 - 4 * i)) & 15) as u8
        } else {
            0
        };
        out.put(if d < 10 {
            b'0' + d
        } else {
            d - 10 + if up { b'A' } else { b'a' }
        });
    }
    out.put(if up { b'P' } else { b'p' });
    out.put(if e < 0 { b'-' } else { b'+' });
    out.bytes(es);
    pad_post(out, sp, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    enum A {
        I(i32),
        L(i64),
        D(f64),
        P(usize),
        S(*const u8),
    }

    struct V<'a>(&'a [A]);

    // SAFETY: every `S` in the tests is null, a NUL-terminated literal, or (b"abcdef", read by
    // a `%.3s`) readable up to the precision.
    unsafe impl Args for V<'_> {
        fn int(&mut self) -> i32 {
            let (A::I(v), r) = (&self.0[0], &self.0[1..]) else {
                panic!("int")
            };
            self.0 = r;
            *v
        }
        fn uint(&mut self) -> u32 {
            self.int() as u32
        }
        fn long_long(&mut self) -> i64 {
            let (A::L(v), r) = (&self.0[0], &self.0[1..]) else {
                panic!("long long")
            };
            self.0 = r;
            *v
        }
        fn double(&mut self) -> f64 {
            let (A::D(v), r) = (&self.0[0], &self.0[1..]) else {
                panic!("double")
            };
            self.0 = r;
            *v
        }
        fn ptr(&mut self) -> usize {
            let (A::P(v), r) = (&self.0[0], &self.0[1..]) else {
                panic!("ptr")
            };
            self.0 = r;
            *v
        }
        fn cstr(&mut self) -> *const u8 {
            let (A::S(v), r) = (&self.0[0], &self.0[1..]) else {
                panic!("cstr")
            };
            self.0 = r;
            *v
        }
    }

    fn f(fmt: &str, args: &[A]) -> String {
        let mut buf = [0u8; 2048];
        let n = vformat(&mut buf, fmt.as_bytes(), &mut V(args));
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn integers() {
        assert_eq!(
            f(
                "%d|%5d|%-5d|%05d|%+d|% d",
                &[A::I(42), A::I(-42), A::I(7), A::I(-7), A::I(0), A::I(3)]
            ),
            "42|  -42|7    |-0007|+0| 3"
        );
        assert_eq!(
            f(
                "%.0d|%+.0d|%.3d|%08.3d",
                &[A::I(0), A::I(0), A::I(-5), A::I(5)]
            ),
            "|+|-005|     005"
        );
        assert_eq!(
            f(
                "%#x|%#X|%#x|%#.0x|%x",
                &[A::I(255), A::I(255), A::I(0), A::I(0), A::I(-1)]
            ),
            "0xff|0XFF|0|0|ffffffff".replace("|0|0|", "|0||")
        );
        assert_eq!(
            f(
                "%#o|%#o|%#.0o|%.0o|%#.3o|%#5o",
                &[A::I(8), A::I(0), A::I(0), A::I(0), A::I(8), A::I(8)]
            ),
            "010|0|0||010|  010"
        );
        assert_eq!(
            f(
                "%hhd|%hd|%hhu|%lld|%llx",
                &[A::I(255), A::I(65535), A::I(-1), A::L(i64::MIN), A::L(-1)]
            ),
            "-1|-1|255|-9223372036854775808|ffffffffffffffff"
        );
        assert_eq!(
            f(
                "%+u|% x|%*d|%-*d|%.*d",
                &[
                    A::I(1),
                    A::I(1),
                    A::I(4),
                    A::I(1),
                    A::I(-4),
                    A::I(2),
                    A::I(-1),
                    A::I(3)
                ]
            ),
            "1|1|   1|2   |3"
        );
        assert_eq!(
            f("%lld %-10d|%#x", &[A::L(1 << 40), A::I(-3), A::I(26)]),
            "1099511627776 -3        |0x1a"
        );
    }

    #[test]
    fn chars_strings_pointers() {
        assert_eq!(
            f(
                "%c%3c%-3c|",
                &[A::I(b'a' as i32), A::I(b'b' as i32), A::I(b'c' as i32)]
            ),
            "a  bc  |"
        );
        assert_eq!(f("[%c]", &[A::I(0)]), "[\0]");
        assert_eq!(
            f(
                "%5.2s|%s|%.3s|%s|%.5s",
                &[
                    A::S(c"hello".as_ptr() as *const u8),
                    A::S(c"x".as_ptr() as *const u8),
                    A::S(b"abcdef".as_ptr()),
                    A::S(core::ptr::null()),
                    A::S(core::ptr::null())
                ]
            ),
            "   he|x|abc|(null)|"
        );
        assert_eq!(
            f(
                "%p|%10p|%-8p|%p|%+p",
                &[A::P(0), A::P(0), A::P(0x1a), A::P(255), A::P(1)]
            ),
            "(nil)|     (nil)|0x1a    |0xff|+0x1"
        );
        assert_eq!(f("100%% %y", &[]), "100% %y");
    }

    #[test]
    fn floats() {
        let g = |s: &str, x: f64| f(s, &[A::D(x)]);
        assert_eq!(g("%.14g", 0.1), "0.1");
        assert_eq!(g("%.14g", 1e15), "1e+15");
        assert_eq!(g("%.14g", 123456789012345.0), "1.2345678901234e+14");
        assert_eq!(g("%.14g", 100.0), "100");
        assert_eq!(g("%g", 0.0001), "0.0001");
        assert_eq!(g("%g", 0.00001), "1e-05");
        assert_eq!(g("%#g", 0.0), "0.00000");
        assert_eq!(g("%#.0g", 1.0), "1.");
        assert_eq!(g("%.0g", 0.5), "0.5");
        assert_eq!(g("%g", 999999.5), "1e+06");
        assert_eq!(g("%G", 1e-10), "1E-10");
        assert_eq!(g("%.0f|", 2.5) + &g("%.0f", 3.5), "2|4");
        assert_eq!(g("%f", -0.0), "-0.000000");
        assert_eq!(g("%+08.2f", 1.23456), "+0001.23");
        assert_eq!(g("%-8.1f|", 2.25), "2.2     |");
        assert_eq!(g("%e", 0.0), "0.000000e+00");
        assert_eq!(g("%#.0e", 5.0), "5.e+00");
        assert_eq!(g("%+.3e", 1e300), "+1.000e+300");
        assert_eq!(g("%E", 1.5e-7), "1.500000E-07");
        assert_eq!(g("%.3f", 1e-300), "0.000");
        assert_eq!(g("%.99f", 0.1), "0.100000000000000005551115123125782702118158340454101562500000000000000000000000000000000000000000000");
        assert!(g("%.1074e", f64::from_bits(1)).starts_with(
            "4.9406564584124654417656879286822137236505980e-324"
                .split('e')
                .next()
                .unwrap()
        ));
        assert!(g("%.1074e", f64::from_bits(1)).ends_with("000e-324"));
        assert_eq!(
            g("%05f|", f64::INFINITY) + &g("%-6F|", f64::NAN) + &g("%e", -f64::NAN),
            "  inf|NAN   |-nan"
        );
        assert_eq!(g("%+g", f64::NEG_INFINITY), "-inf");
        assert_eq!(g("%.20g", 0.1), "0.10000000000000000555");
        // glibc's %#g rounding quirk.
        assert_eq!(g("%#g", 999999.6), "1.e+06");
        assert_eq!(g("%#.2g", 99.96), "1.e+02");
        assert_eq!(g("%#.3g", 99.9996), "100.");
        assert_eq!(g("%#g", 0.9999996), "1.00000");
        assert_eq!(g("%#.2G", 1e6), "1.0E+06");
    }

    #[test]
    fn hex_floats() {
        let g = |s: &str, x: f64| f(s, &[A::D(x)]);
        assert_eq!(g("%a", 0.0), "0x0p+0");
        assert_eq!(g("%a", -0.0), "-0x0p+0");
        assert_eq!(g("%a", 1.0), "0x1p+0");
        assert_eq!(g("%a", 0.1), "0x1.999999999999ap-4");
        assert_eq!(g("%A", 255.5), "0X1.FFP+7");
        assert_eq!(g("%a", f64::from_bits(0xdc11d)), "0x0.00000000dc11dp-1022");
        assert_eq!(g("%a", f64::MIN_POSITIVE), "0x1p-1022");
        assert_eq!(g("%a", f64::MAX), "0x1.fffffffffffffp+1023");
        assert_eq!(g("%.0a", 1.5), "0x2p+0");
        assert_eq!(g("%.0a", 1.5 - f64::EPSILON), "0x1p+0");
        assert_eq!(g("%.1a", 1.03125), "0x1.0p+0");
        assert_eq!(g("%.1a", 1.09375), "0x1.2p+0");
        assert_eq!(g("%.2a", 1.0), "0x1.00p+0");
        assert_eq!(g("%#a", 1.0), "0x1.p+0");
        assert_eq!(g("%.1a", 1.96875), "0x2.0p+0");
        assert_eq!(
            f(
                "%12a|%-12a|%012a|%+.1A",
                &[A::D(1.0), A::D(-1.0), A::D(-1.0), A::D(2.0)]
            ),
            "      0x1p+0|-0x1p+0     |-0x000001p+0|+0X1.0P+1"
        );
        assert_eq!(g("%.15a", 1.0), "0x1.000000000000000p+0");
    }
}
