//! math.rs: `frexp`, the one libm function Lua uses that compiler_builtins lacks
//! (ltable.c hashes floats with it; math.frexp under LUA_COMPAT_MATHLIB), and `fmod`
//! (Lua's float `%` and math.fmod): compiler_builtins' generic one divides in 128 bits and
//! costs 2.1 KB of wasm; this is musl's shift-and-subtract, exact like every fmod.

/// Splits `x` into a mantissa in [0.5, 1) and a power of two, as C's frexp.
pub fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        if x == 0.0 {
            return (x, 0);
        }
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (m, e - 64);
    }
    if exp == 0x7ff {
        return (x, 0); // inf and nan are returned unchanged
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022)
}

#[cfg(target_arch = "wasm32")]
#[export_name = "frexp"]
/// # Safety
/// `e` must be valid for a write of one `int`.
pub unsafe extern "C" fn c_frexp(x: f64, e: *mut i32) -> f64 {
    let (m, p) = frexp(x);
    // SAFETY: the caller passes a valid pointer, as C's frexp requires.
    *e = p;
    m
}

/// C's fmod: `x - n*y` for the integer `n` of `x/y` rounded toward zero, exactly.
pub fn fmod(x: f64, y: f64) -> f64 {
    let (mut ux, mut uy) = (x.to_bits(), y.to_bits());
    let mut ex = ((ux >> 52) & 0x7ff) as i32;
    let mut ey = ((uy >> 52) & 0x7ff) as i32;
    let sign = ux & (1 << 63);
    if uy << 1 == 0 || y.is_nan() || ex == 0x7ff {
        return (x * y) / (x * y);
    }
    if ux << 1 <= uy << 1 {
        return if ux << 1 == uy << 1 { 0.0 * x } else { x };
    }
    // Normalize both mantissas to an implicit bit at 52 (subnormals shifted up).
    for (u, e) in [(&mut ux, &mut ex), (&mut uy, &mut ey)] {
        if *e == 0 {
            let mut i = *u << 12;
            while i >> 63 == 0 {
                *e -= 1;
                i <<= 1;
            }
            *u <<= -*e + 1;
        } else {
            *u = (*u & (u64::MAX >> 12)) | (1 << 52);
        }
    }
    // Long division by shift-and-subtract: one quotient bit per step.
    loop {
        let i = ux.wrapping_sub(uy);
        if i >> 63 == 0 {
            if i == 0 {
                return 0.0 * x;
            }
            ux = i;
        }
        if ex <= ey {
            break;
        }
        ux <<= 1;
        ex -= 1;
    }
    while ux >> 52 == 0 {
        ux <<= 1;
        ex -= 1;
    }
    if ex > 0 {
        ux = (ux - (1 << 52)) | ((ex as u64) << 52);
    } else {
        ux >>= -ex + 1;
    }
    f64::from_bits(ux | sign)
}

#[cfg(target_arch = "wasm32")]
#[export_name = "fmod"]
pub extern "C" fn c_fmod(x: f64, y: f64) -> f64 {
    fmod(x, y)
}

#[cfg(test)]
mod tests {
    use super::{fmod, frexp};

    #[test]
    fn fmod_matches_the_c_library() {
        extern "C" {
            #[link_name = "fmod"]
            fn libc_fmod(x: f64, y: f64) -> f64;
        }
        let same = |x: f64, y: f64| {
            // SAFETY: fmod is a pure function of two doubles.
            let want = unsafe { libc_fmod(x, y) };
            let got = fmod(x, y);
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "fmod({x:e}, {y:e}) = {got:e}, want {want:e}");
        };
        let special = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -7.25, 1e300, -1e-300, 5e-324, 2.2250738585072014e-308,
                       1e-310, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::MAX, f64::MIN_POSITIVE];
        for &x in &special {
            for &y in &special {
                same(x, y);
            }
        }
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            let t = s.rotate_left(29) ^ 0x5555;
            // Half the divisors near x's magnitude (many quotient bits), half anywhere.
            let y = if t & 1 == 0 { f64::from_bits(t) } else { f64::from_bits((s & !(0xfff << 52)) | ((t >> 1) & (0x7ff << 52))) };
            same(x, y);
        }
    }

    #[test]
    fn matches_definition() {
        for &x in &[1.0, 0.5, 3.0, -7.25, 1e300, 5e-324, 2.2250738585072014e-308, 1e-310, -0.0] {
            let (m, e) = frexp(x);
            assert!(x == 0.0 || (0.5..1.0).contains(&m.abs()), "{x}: {m}");
            let half = e / 2; // two exact steps: 2^e alone may underflow
            assert_eq!(m * 2f64.powi(half) * 2f64.powi(e - half), x, "{x}");
        }
        assert!(frexp(f64::NAN).0.is_nan());
        assert_eq!(frexp(f64::INFINITY), (f64::INFINITY, 0));
    }
}
