//! C `strtod` for the "C" locale, matching glibc, and `Decimal`: the exact big-decimal engine
//! that both strtod (decimal input) and the printf formatter (%e %f %g digits) use. It is
//! small and table-free; correctly rounded (round-half-even) in both directions.

/// Significant digits a `Decimal` keeps: more than any double's exact expansion (767) and
/// than correct rounding of decimal input needs (768); further input digits only set `trunc`.
const CAP: usize = 800;

/// A decimal number 0.d[0]d[1]…d[nd-1] × 10^dp (ASCII digits, no trailing zeros; zero has
/// nd = 0), multiplied and divided by powers of two exactly.
#[derive(Clone)]
pub(crate) struct Decimal {
    pub(crate) d: [u8; CAP + 19],
    pub(crate) nd: usize,
    pub(crate) dp: i32,
    /// Nonzero digits were dropped beyond `CAP`.
    trunc: bool,
}

impl Decimal {
    fn zero() -> Decimal {
        Decimal {
            d: [0; CAP + 19],
            nd: 0,
            dp: 0,
            trunc: false,
        }
    }

    /// The exact value m × 2^e.
    pub(crate) fn new(m: u64, e: i32) -> Decimal {
        let mut d = Decimal::zero();
        // The digits of m, written backwards into the first 20 places, then moved to the front.
        let mut i = 20;
        let mut v = m;
        while v > 0 {
            i -= 1;
            d.d[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        d.d.copy_within(i..20, 0);
        d.nd = 20 - i;
        d.dp = d.nd as i32;
        d.trim();
        d.shift(e);
        d
    }

    fn trim(&mut self) {
        while self.nd > 0 && self.d[self.nd - 1] == b'0' {
            self.nd -= 1;
        }
    }

    /// Multiplies by 2^k.
    pub(crate) fn shift(&mut self, mut k: i32) {
        while self.nd > 0 && k != 0 {
            let s = k.clamp(-60, 60);
            if s > 0 {
                self.left(s as u32);
            } else {
                self.right(-s as u32);
            }
            k -= s;
        }
    }

    /// Divides by 2^k, 1 <= k <= 60 (nd > 0).
    fn right(&mut self, k: u32) {
        let (mut r, mut w, mut n) = (0usize, 0usize, 0u64);
        // Take enough leading digits to cover the first shift (then n < 10 × 2^k always).
        while n >> k == 0 {
            n = n * 10
                + if r < self.nd {
                    (self.d[r] - b'0') as u64
                } else {
                    0
                };
            r += 1;
        }
        self.dp -= r as i32 - 1;
        let mask = (1u64 << k) - 1;
        while r < self.nd {
            let c = (self.d[r] - b'0') as u64;
            self.d[w] = b'0' + (n >> k) as u8;
            w += 1;
            n = (n & mask) * 10 + c;
            r += 1;
        }
        while n > 0 {
            let dig = (n >> k) as u8;
            n = (n & mask) * 10;
            if w < CAP {
                self.d[w] = b'0' + dig;
                w += 1;
            } else if dig > 0 {
                self.trunc = true;
            }
        }
        self.nd = w;
        self.trim();
    }

    /// Multiplies by 2^k, 1 <= k <= 60 (nd > 0).
    fn left(&mut self, k: u32) {
        // From the last digit up, writing 19 places further on (2^60 adds at most 19 digits),
        // then move the result to the front.
        let (mut r, mut w, mut n) = (self.nd, self.nd + 19, 0u64);
        while r > 0 || n > 0 {
            if r > 0 {
                r -= 1;
                n += ((self.d[r] - b'0') as u64) << k;
            }
            w -= 1;
            self.d[w] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = self.nd + 19 - w;
        self.dp += (len - self.nd) as i32;
        let keep = len.min(CAP);
        self.trunc |= self.d[w + keep..w + len].iter().any(|&c| c != b'0');
        self.d.copy_within(w..w + keep, 0);
        self.nd = keep;
        self.trim();
    }

    /// Whether rounding to the first `n` digits (n < nd) goes up: half to even, and dropped
    /// digits (`trunc`) count as above half.
    fn round_up(&self, n: usize) -> bool {
        if self.d[n] == b'5' && n + 1 == self.nd && !self.trunc {
            return n > 0 && self.d[n - 1] & 1 == 1;
        }
        self.d[n] >= b'5'
    }

    /// Rounds to the first `n` digits (negative: to zero).
    pub(crate) fn round(&mut self, n: i64) {
        if n < 0 {
            self.nd = 0;
        } else if (n as usize) < self.nd {
            let mut i = n as usize;
            if self.round_up(i) {
                while i > 0 && self.d[i - 1] == b'9' {
                    i -= 1;
                }
                if i == 0 {
                    self.d[0] = b'0';
                    i = 1;
                    self.dp += 1;
                }
                self.d[i - 1] += 1;
            }
            self.nd = i;
            self.trim();
        }
    }

    /// The integer part rounded half-to-even (the value must be below 2^64), and whether that
    /// was inexact.
    fn rounded_integer(&self) -> (u64, bool) {
        let dp = self.dp.max(0) as usize;
        let mut n: u64 = 0;
        for i in 0..dp {
            n = n * 10
                + if i < self.nd {
                    (self.d[i] - b'0') as u64
                } else {
                    0
                };
        }
        let up = self.dp >= 0 && dp < self.nd && self.round_up(dp);
        (n + up as u64, self.trunc || dp < self.nd)
    }

    /// The nearest double (half to even) and whether glibc reports ERANGE (overflow, or a tiny
    /// inexact result with tininess detected after rounding). Consumes the value.
    fn nearest_f64(&mut self) -> (f64, bool) {
        if self.nd == 0 {
            return (0.0, false);
        }
        if self.dp > 310 {
            return (f64::INFINITY, true);
        }
        if self.dp < -330 {
            return (0.0, true);
        }
        // Scale to [0.5, 1) × 2^e.
        let mut e: i32 = 0;
        while self.dp > 0 {
            let n = if self.dp >= 19 {
                60
            } else {
                1 + (self.dp - 1) * 3
            };
            self.shift(-n);
            e += n;
        }
        while self.dp < 0 || (self.dp == 0 && self.d[0] < b'5') {
            let n = if self.dp < 0 {
                (-self.dp * 3).min(60)
            } else {
                1
            };
            self.shift(n);
            e -= n;
        }
        // Now the value is [1, 2) × 2^(e-1).
        e -= 1;
        let mut tiny = false;
        if e < -1022 {
            // Tiny unless rounding to 53 bits (unbounded exponent) reaches 2^-1022.
            tiny = e < -1023 || {
                let mut t = self.clone();
                t.shift(53);
                t.rounded_integer().0 >> 53 == 0
            };
            self.shift(e + 1022);
            e = -1022;
        }
        if e > 1023 {
            return (f64::INFINITY, true);
        }
        self.shift(53);
        let (mut m, inexact) = self.rounded_integer();
        if m >> 53 != 0 {
            m >>= 1;
            e += 1;
            if e > 1023 {
                return (f64::INFINITY, true);
            }
        }
        let bits = if m >> 52 == 0 {
            m
        } else {
            ((e + 1023) as u64) << 52 | (m & ((1 << 52) - 1))
        };
        (f64::from_bits(bits), tiny && inexact)
    }
}

/// Parses like C strtod in the "C" locale: optional leading whitespace, sign, decimal or hex
/// (0x...p±e) significand with correct rounding (round-half-even, also for hex with more than
/// 53 significant bits and for subnormals), "inf"/"infinity"/"nan"/"nan(chars)"
/// case-insensitive. Returns (value, bytes consumed); consumed == 0 when no conversion could be
/// performed. Overflow gives ±inf, underflow ±0 or a subnormal, as glibc.
///
/// Bit-identical to glibc 2.36, including its one rounding quirk: a hex input with more than
/// 53 significant bits whose result is subnormal has its 54th significant bit ignored (see
/// `hex`). NaN is
/// always the default quiet NaN (with the input's sign): glibc's `nan(chars)` payload is not
/// reproduced.
pub fn strtod(s: &[u8]) -> (f64, usize) {
    let (v, n, _) = strtod_erange(s);
    (v, n)
}

/// [`strtod`], plus whether glibc sets `errno = ERANGE`: on overflow, and on underflow (a tiny
/// inexact result, tininess detected after rounding, as glibc on x86).
pub fn strtod_erange(s: &[u8]) -> (f64, usize, bool) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t'..=b'\r') {
        i += 1;
    }
    let neg = at(i) == b'-';
    i += matches!(at(i), b'+' | b'-') as usize;
    let sign = |v: f64| if neg { -v } else { v };
    let word = |i: usize, w: &[u8]| w.iter().enumerate().all(|(k, &c)| at(i + k) | 0x20 == c);
    if word(i, b"inf") {
        i += 3;
        if word(i, b"inity") {
            i += 5;
        }
        return (sign(f64::INFINITY), i, false);
    }
    if word(i, b"nan") {
        i += 3;
        if at(i) == b'(' {
            let mut j = i + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                i = j + 1;
            }
        }
        return (sign(f64::NAN), i, false);
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        if let Some((v, n, r)) = hex(s, i + 2) {
            return (sign(v), n, r);
        }
        return (sign(0.0), i + 1, false);
    }
    let mut d = Decimal::zero();
    let mut digits = 0;
    let mut point = false;
    loop {
        match at(i) {
            b'0' if d.nd == 0 => d.dp -= point as i32,
            c @ b'0'..=b'9' => {
                if d.nd < CAP {
                    d.d[d.nd] = c;
                    d.nd += 1;
                } else {
                    d.trunc |= c != b'0';
                }
                d.dp += !point as i32;
            }
            b'.' if !point => point = true,
            _ => break,
        }
        digits += at(i).is_ascii_digit() as usize;
        i += 1;
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if at(i) | 0x20 == b'e' {
        let eneg = at(i + 1) == b'-';
        let mut j = i + 1 + matches!(at(i + 1), b'+' | b'-') as usize;
        if at(j).is_ascii_digit() {
            let mut x: i32 = 0;
            while let c @ b'0'..=b'9' = at(j) {
                x = (x * 10 + (c - b'0') as i32).min(100_000);
                j += 1;
            }
            d.dp = d.dp.saturating_add(if eneg { -x } else { x });
            i = j;
        }
    }
    d.trim();
    // Fast path: up to 15 digits times 10^±22 is one correctly rounded operation.
    let k = d.dp - d.nd as i32;
    if d.nd <= 15 && !d.trunc && (-22..=22).contains(&k) {
        let n = d.d[..d.nd]
            .iter()
            .fold(0u64, |n, &c| n * 10 + (c - b'0') as u64) as f64;
        return (
            sign(if k < 0 { n / pow10(-k) } else { n * pow10(k) }),
            i,
            false,
        );
    }
    let (v, erange) = d.nearest_f64();
    (sign(v), i, erange)
}

/// 10^e for 0 <= e <= 22 (exact).
pub(crate) fn pow10(e: i32) -> f64 {
    let mut v = 1.0;
    for _ in 0..e {
        v *= 10.0;
    }
    v
}

/// The hex significand and optional binary exponent starting at `s[i]` (after "0x"), rounded
/// half-to-even as glibc does it; `None` when there is no hex digit. Returns (magnitude, end,
/// erange).
fn hex(s: &[u8], mut i: usize) -> Option<(f64, usize, bool)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    // Value = m × 2^e, plus `sticky` for nonzero bits dropped below m.
    let mut m: u64 = 0;
    let mut e: i64 = 0;
    let mut sticky = false;
    let mut any = false;
    let mut point = false;
    loop {
        let c = at(i);
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' | b'A'..=b'F' => (c | 0x20) - b'a' + 10,
            b'.' if !point => {
                point = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        any = true;
        if m >> 60 == 0 {
            m = m << 4 | d as u64;
            e -= 4 * point as i64;
        } else {
            sticky |= d != 0;
            e += 4 * !point as i64;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if at(i) | 0x20 == b'p' {
        let eneg = at(i + 1) == b'-';
        let mut j = i + 1 + matches!(at(i + 1), b'+' | b'-') as usize;
        if at(j).is_ascii_digit() {
            let mut x: i64 = 0;
            while let d @ b'0'..=b'9' = at(j) {
                x = (x * 10 + (d - b'0') as i64).min(1 << 40);
                j += 1;
            }
            e += if eneg { -x } else { x };
            i = j;
        }
    }
    if m == 0 {
        return Some((0.0, i, false));
    }
    // The value lies in [2^top, 2^(top+1)).
    let top = e + 63 - m.leading_zeros() as i64;
    if top > 1023 {
        return Some((f64::INFINITY, i, true));
    }
    // Tininess after rounding (as glibc on x86): just below 2^-1022 is not tiny if rounding to
    // 53 bits would reach 2^-1022.
    let tiny = top < -1022 && !(top == -1023 && round(m, top - 52 - e, sticky).0 >> 53 != 0);
    // glibc quirk, reproduced: for a subnormal result it forgets the 54th significant bit when
    // rounding and when deciding ERANGE (so 0x1.00000000000028p-1024 rounds down).
    let nb = top - e + 1;
    if top < -1022 && nb >= 54 {
        m &= !(1 << (nb - 54));
    }
    // Exponent of the result's last bit: 53 bits of precision, fewer for subnormals.
    let q = (top - 52).max(-1074);
    let (k, inexact) = round(m, q - e, sticky);
    let bits = (((q + 1074) as u64) << 52) + k;
    if bits >= 0x7ff0_0000_0000_0000 {
        return Some((f64::INFINITY, i, true));
    }
    Some((f64::from_bits(bits), i, tiny && inexact))
}

/// `m × 2^-sh` (plus `sticky` below it) rounded half-to-even to an integer; also whether that
/// was inexact.
fn round(m: u64, sh: i64, sticky: bool) -> (u64, bool) {
    if sh <= 0 {
        return (m << -sh, sticky);
    }
    let (k, half, rest) = if sh > 64 {
        (0, false, true)
    } else {
        let low = if sh == 64 { m } else { m & ((1 << sh) - 1) };
        let h = 1u64 << (sh - 1);
        (
            if sh == 64 { 0 } else { m >> sh },
            low & h != 0,
            low & (h - 1) != 0 || sticky,
        )
    };
    (k + (half && (rest || k & 1 != 0)) as u64, half || rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> (f64, usize) {
        strtod(s.as_bytes())
    }

    #[test]
    fn decimal() {
        assert_eq!(t("  -1.5e3xyz"), (-1500.0, 8));
        assert_eq!(t("1e"), (1.0, 1));
        assert_eq!(t("1e+"), (1.0, 1));
        assert_eq!(t("1.e2"), (100.0, 4));
        assert_eq!(t(".5"), (0.5, 2));
        assert_eq!(t("."), (0.0, 0));
        assert_eq!(t("-"), (0.0, 0));
        assert_eq!(t("  x"), (0.0, 0));
        assert_eq!(t("1..2"), (1.0, 2));
        assert_eq!(t("0.1"), (0.1, 3));
        assert_eq!(t("1e400"), (f64::INFINITY, 5));
        assert_eq!(t("-1e-400").0.to_bits(), (-0.0f64).to_bits());
        assert_eq!(t("4.9406564584124654e-324"), (f64::from_bits(1), 23));
        assert_eq!(t("2.4703282292062327e-324").0, 0.0);
        assert_eq!(t("2.4703282292062328e-324").0, f64::from_bits(1));
        assert_eq!(t("1.7976931348623158e308").0, f64::MAX);
        assert_eq!(t("1.7976931348623159e308").0, f64::INFINITY);
        assert_eq!(t("12\0 34"), (12.0, 2));
        assert!(strtod_erange(b"1e-320").2);
        assert!(!strtod_erange(b"0e-999").2);
        assert!(strtod_erange(b"1e999").2);
    }

    #[test]
    fn decimal_engine() {
        let d = Decimal::new(1, -1074);
        assert_eq!((d.nd, d.dp), (751, -323));
        assert!(d.d[..d.nd].starts_with(b"49406564584124654417656879286822137236505980"));
        assert!(d.d[..d.nd].ends_with(b"7265625"));
        let d = Decimal::new((1 << 53) - 1, 971);
        assert_eq!((d.nd, d.dp), (309, 309));
        assert!(d.d[..d.nd].starts_with(b"17976931348623157081452742373170435679807056752584"));
        let round = |m: u64, e: i32, n: i64| {
            let mut d = Decimal::new(m, e);
            d.round(n);
            (core::str::from_utf8(&d.d[..d.nd]).unwrap().to_owned(), d.dp)
        };
        assert_eq!(round(25, -1, 2), ("12".into(), 2)); // 12.5: half to even
        assert_eq!(round(27, -1, 2), ("14".into(), 2)); // 13.5
        assert_eq!(round(999, 0, 1), ("1".into(), 4));
        assert_eq!(round(1, -1, 0), ("".into(), 0)); // 0.5 to no digits: 0
        assert_eq!(round(3, -2, 0), ("1".into(), 1)); // 0.75 to no digits: 1
    }

    #[test]
    fn special() {
        assert_eq!(t("inf"), (f64::INFINITY, 3));
        assert_eq!(t("-INFINITY!"), (f64::NEG_INFINITY, 9));
        assert_eq!(t("infinit"), (f64::INFINITY, 3));
        assert!(t("nan").0.is_nan() && t("nan").1 == 3);
        assert_eq!(t("NaN(abc_1)x").1, 10);
        assert_eq!(t("nan(abc").1, 3);
        assert_eq!(t("nan()").1, 5);
        assert!(t("-nan").0.is_sign_negative());
        assert_eq!(t("in"), (0.0, 0));
    }

    #[test]
    fn hexadecimal() {
        assert_eq!(t("0x1p0"), (1.0, 5));
        assert_eq!(t("0x"), (0.0, 1));
        assert_eq!(t("0x.p1"), (0.0, 1));
        assert_eq!(t("-0xg").0.to_bits(), (-0.0f64).to_bits());
        assert_eq!(t("0x1p"), (1.0, 3));
        assert_eq!(t("0X1.8P+1"), (3.0, 8));
        assert_eq!(t("0x.8"), (0.5, 4));
        assert_eq!(t("0x1.fffffffffffffp1023").0, f64::MAX);
        assert_eq!(t("0x1.fffffffffffff8p1023").0, f64::INFINITY);
        assert_eq!(t("0x1.fffffffffffff7ffp1023").0, f64::MAX);
        assert_eq!(t("0x1p-1074").0, f64::from_bits(1));
        assert_eq!(t("0x1p-1075").0, 0.0);
        assert_eq!(t("0x1.0000000000001p-1075").0, f64::from_bits(1));
        assert_eq!(t("0x3p-1075").0, f64::from_bits(2));
        assert_eq!(t("0x1.00000000000008p0").0, 1.0);
        assert_eq!(t("0x1.00000000000018p0").0, 1.0 + 2.0 * f64::EPSILON);
        assert_eq!(
            t("0x1.000000000000080000000000000001p0").0,
            1.0 + f64::EPSILON
        );
        assert_eq!(t("0x0.0000000000000000000001p0").0, 2f64.powi(-88));
        assert_eq!(t("0x10000000000000000000000p-88").0, 1.0);
        assert_eq!(t("0x1p99999999999999999999").0, f64::INFINITY);
        assert_eq!(t("0x1p-99999999999999999999").0, 0.0);
        // glibc's subnormal quirk (the 54th significant bit is ignored).
        assert_eq!(
            t("0x1.00000000000028p-1024").0,
            f64::from_bits(0x4000000000000)
        );
        assert_eq!(
            strtod_erange(b"0x1.00000000000028p-1023"),
            (f64::from_bits(0x8000000000001), 24, false)
        );
        assert!(!strtod_erange(b"0x1p-1074").2);
        assert!(strtod_erange(b"0x1.8p-1074").2);
        assert!(!strtod_erange(b"0x1.fffffffffffffffp-1023").2);
    }
}
