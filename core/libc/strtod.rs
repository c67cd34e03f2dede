//! C `strtod` for the "C" locale, matching glibc: decimal significands go to `core`'s correctly
//! rounded float parser, hexadecimal ones are rounded here (round-half-even, subnormals too).

/// Parses like C strtod in the "C" locale: optional leading whitespace, sign, decimal or hex
/// (0x...p±e) significand with correct rounding (round-half-even, also for hex with more than
/// 53 significant bits and for subnormals), "inf"/"infinity"/"nan"/"nan(chars)"
/// case-insensitive. Returns (value, bytes consumed); consumed == 0 when no conversion could be
/// performed. Overflow gives ±inf, underflow ±0 or a subnormal, as glibc.
pub fn strtod(s: &[u8]) -> (f64, usize) {
    let (v, n, _) = strtod_erange(s);
    (v, n)
}

/// [`strtod`], plus whether glibc sets `errno = ERANGE`: on overflow, and on underflow (a tiny
/// inexact result, tininess detected after rounding). For decimal input every subnormal or
/// zero result from nonzero digits counts as underflow (glibc differs only for decimal strings
/// that spell a subnormal exactly, or that round up to exactly `DBL_MIN`).
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
    let start = i;
    let mut digits = 0;
    let mut nonzero = false;
    let mut point = false;
    loop {
        match at(i) {
            c @ b'0'..=b'9' => {
                digits += 1;
                nonzero |= c != b'0';
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if at(i) | 0x20 == b'e' {
        let j = i + 1 + matches!(at(i + 1), b'+' | b'-') as usize;
        if at(j).is_ascii_digit() {
            i = j;
            while at(i).is_ascii_digit() {
                i += 1;
            }
        }
    }
    // SAFETY: s[start..i] holds only ASCII digits, '.', 'e'/'E' and signs, so it is UTF-8.
    let text = unsafe { core::str::from_utf8_unchecked(&s[start..i]) };
    let v: f64 = text.parse().unwrap_or(0.0);
    let erange = v.is_infinite() || (nonzero && v < f64::MIN_POSITIVE);
    (sign(v), i, erange)
}

/// The hex significand and optional binary exponent starting at `s[i]` (after "0x"); `None`
/// when there is no hex digit. Returns (magnitude, end, erange).
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
        (if sh == 64 { 0 } else { m >> sh }, low & h != 0, low & (h - 1) != 0 || sticky)
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
        assert_eq!(strtod_erange(b"1e-320").2, true);
        assert_eq!(strtod_erange(b"0e-999").2, false);
        assert_eq!(strtod_erange(b"1e999").2, true);
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
        assert_eq!(t("0x1.000000000000080000000000000001p0").0, 1.0 + f64::EPSILON);
        assert_eq!(t("0x0.0000000000000000000001p0").0, 2f64.powi(-88));
        assert_eq!(t("0x10000000000000000000000p-88").0, 1.0);
        assert_eq!(t("0x1p99999999999999999999").0, f64::INFINITY);
        assert_eq!(t("0x1p-99999999999999999999").0, 0.0);
        // glibc's subnormal quirk (the 54th significant bit is ignored).
        assert_eq!(t("0x1.00000000000028p-1024").0, f64::from_bits(0x4000000000000));
        assert_eq!(strtod_erange(b"0x1.00000000000028p-1023"), (f64::from_bits(0x8000000000001), 24, false));
        assert_eq!(strtod_erange(b"0x1p-1074").2, false);
        assert_eq!(strtod_erange(b"0x1.8p-1074").2, true);
        assert_eq!(strtod_erange(b"0x1.fffffffffffffffp-1023").2, false);
    }
}
