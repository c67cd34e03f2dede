//! math.rs: `frexp`, the one libm function Lua uses that compiler_builtins lacks
//! (ltable.c hashes floats with it; math.frexp under LUA_COMPAT_MATHLIB).

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

#[cfg(test)]
mod tests {
    use super::frexp;

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
