//! trig.rs: `sin`, `cos` and `tan` for Lua's math library, in place of compiler_builtins'
//! (7.7 KB of wasm: each function inlined its own copy of the kernels, and the generic
//! Payne-Hanek reduction alone was 5 KB). Here the three share one argument reduction and
//! one set of kernels. The kernels are FreeBSD's / musl's `__sin`, `__cos` and `__tan`
//! (error < 1 ulp). The reduction is exact integer arithmetic for every |x| > pi/4: the
//! 53-bit mantissa times a 192-bit window of 2/pi's bits keeps 126 fraction bits, enough for
//! the doubles closest to a multiple of pi/2 (within 2^-61), as in Go's `trigReduce`.
//! The host tests hold every result within 1 ulp of glibc.
//!
//! The kernels' algorithms and coefficients come from fdlibm:
//!   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//!   Developed at SunSoft, a Sun Microsystems, Inc. business.
//!   Permission to use, copy, modify, and distribute this software is freely granted,
//!   provided that this notice is preserved.
//! (k_tan.c: Copyright 2004 Sun Microsystems, Inc. All Rights Reserved; same terms.)

/// 2/pi in binary: word 0 is a zero pad (integer bits), then 19 words of the fraction, most
/// significant bit first (0xa2f9... = 0.1010 0010 1111 1001...). Generated from a
/// 1,400-bit pi; the same digits as fdlibm's `ipio2`.
const TWO_OVER_PI: [u64; 20] = [
    0x0000000000000000, 0xa2f9836e4e441529, 0xfc2757d1f534ddc0, 0xdb6295993c439041,
    0xfe5163abdebbc561, 0xb7246e3a424dd2e0, 0x06492eea09d1921c, 0xfe1deb1cb129a73e,
    0xe88235f52ebb4484, 0xe99c7026b45f7e41, 0x3991d639835339f4, 0x9c845f8bbdf9283b,
    0x1ff897ffde05980f, 0xef2f118b5a0a6d1f, 0x6d367ecf27cb09b7, 0x4f463f669e5fea2d,
    0x7527bac7ebe5f17b, 0x3d0739f78a5292ea, 0x6bfb5fb11f8d5d08, 0x56033046fc7b6bab,
];
/// pi/2 * 2^63, rounded.
const PIO2_2_63: u64 = 0xc90fdaa22168c235;

/// `x` (finite, |x| > pi/4) as `n * pi/2 + (y0 + y1)` with |y0 + y1| <= pi/4: returns
/// (n mod 4, y0, y1), y1 the tail of y0.
fn reduce(x: f64) -> (u32, f64, f64) {
    let bits = x.to_bits();
    if (bits >> 32) as u32 & 0x7fff_ffff < 0x4139_21fb {
        // |x| < 2^20 * pi/2: fdlibm's first Cody-Waite round (x - n*pi/2 to 85 bits, pi/2
        // split in 33 + 53 bits) is exact enough unless it cancelled more than 16 bits,
        // which the exact path below then handles. Four times faster than that path.
        const INVPIO2: f64 = 6.36619772367581382433e-01; // 0x3FE45F306DC9C883
        const PIO2_1: f64 = 1.57079632673412561417e+00; // 0x3FF921FB54400000
        const PIO2_1T: f64 = 6.07710050650619224932e-11; // 0x3DD0B4611A626331
        const TOINT: f64 = 6755399441055744.0; // 1.5 * 2^52: adding it rounds to an integer
        let fnum = (x * INVPIO2 + TOINT) - TOINT;
        let r = x - fnum * PIO2_1;
        let w = fnum * PIO2_1T;
        let y0 = r - w;
        let (ex, ey) = ((bits >> 52) as i32 & 0x7ff, (y0.to_bits() >> 52) as i32 & 0x7ff);
        if ex - ey <= 16 {
            return (fnum as i32 as u32 & 3, y0, (r - y0) - w);
        }
    }
    let m = (bits & ((1 << 52) - 1)) | (1 << 52);
    let e = ((bits >> 52) & 0x7ff) as i32 - 1075; // x = m * 2^e, e >= -53
    // Bit g of the table (g = 0 the top bit of word 0) weighs 2^(63-g); starting the window
    // at g0 = 62 + e gives the product's top bit the weight 2^1, so its top two bits are
    // the quadrant and all it leaves out is a multiple of 4.
    let g0 = (62 + e) as usize;
    let (d, sh) = (g0 / 64, g0 % 64);
    let word = |i: usize| -> u64 {
        let pair = ((TWO_OVER_PI[d + i] as u128) << 64) | TWO_OVER_PI[d + i + 1] as u128;
        ((pair << sh) >> 64) as u64
    };
    let (z0, z1, z2) = (word(0), word(1), word(2));
    let (a, b) = (m as u128 * z1 as u128, m as u128 * z2 as u128);
    let mid = (a as u64 as u128) + (b >> 64);
    let hi = m.wrapping_mul(z0).wrapping_add((a >> 64) as u64).wrapping_add((mid >> 64) as u64);
    let f = ((hi as u128) << 64) | mid as u64 as u128; // x*2/pi mod 4, 2 integer bits
    let mut n = (f >> 126) as u32;
    let mut frac = f << 2; // the fraction, 2^-128 units
    let neg = frac >> 127 != 0; // >= 1/2: round to the next quadrant
    if neg {
        n += 1;
        frac = frac.wrapping_neg();
    }
    let (mut y0, mut y1) = (0.0, 0.0);
    if frac != 0 {
        let lz = frac.leading_zeros();
        let t = ((frac << lz) >> 64) as u64; // |fraction| = t * 2^(-64-lz)
        let u = t as u128 * PIO2_2_63 as u128; // |y| = u * 2^(-127-lz)
        let uh = (u >> 64) as u64; // < 2^63: its conversion cannot round up to 2^64
        let h = uh as f64;
        let rest = uh.wrapping_sub(h as u64) as i64 as f64 + (u as u64) as f64 * (1.0 / 18446744073709551616.0);
        let scale = f64::from_bits(((1023 - 63 - lz) as u64) << 52); // 2^(-63-lz)
        y0 = h * scale;
        y1 = rest * scale;
    }
    if neg != (x < 0.0) {
        y0 = -y0;
        y1 = -y1;
    }
    (if x < 0.0 { n.wrapping_neg() } else { n } & 3, y0, y1)
}

/// sin on [-pi/4, pi/4] of x + y (y the tail of x).
fn ksin(x: f64, y: f64) -> f64 {
    const S1: f64 = -1.66666666666666324348e-01;
    const S2: f64 = 8.33333333332248946124e-03;
    const S3: f64 = -1.98412698298579493134e-04;
    const S4: f64 = 2.75573137070700676789e-06;
    const S5: f64 = -2.50507602534068634195e-08;
    const S6: f64 = 1.58969099521155010221e-10;
    let z = x * x;
    let w = z * z;
    let r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
    let v = z * x;
    x - ((z * (0.5 * y - v * r) - y) - v * S1)
}

/// cos on [-pi/4, pi/4] of x + y.
fn kcos(x: f64, y: f64) -> f64 {
    const C1: f64 = 4.16666666666666019037e-02;
    const C2: f64 = -1.38888888888741095749e-03;
    const C3: f64 = 2.48015872894767294178e-05;
    const C4: f64 = -2.75573143513906633035e-07;
    const C5: f64 = 2.08757232129817482790e-09;
    const C6: f64 = -1.13596475577881948265e-11;
    let z = x * x;
    let w = z * z;
    let r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    w + (((1.0 - w) - hz) + (z * r - x * y))
}

/// tan (odd: -1/tan) on [-pi/4, pi/4] of x + y.
fn ktan(mut x: f64, mut y: f64, odd: bool) -> f64 {
    const T: [f64; 13] = [
        3.33333333333334091986e-01, 1.33333333333201242699e-01, 5.39682539762260521377e-02,
        2.18694882948595424599e-02, 8.86323982359930005737e-03, 3.59207910759131235356e-03,
        1.45620945432529025516e-03, 5.88041240820264096874e-04, 2.46463134818469906812e-04,
        7.81794442939557092300e-05, 7.14072491382608190305e-05, -1.85586374855275456654e-05,
        2.59073051863633712884e-05,
    ];
    const PIO4: f64 = 7.85398163397448278999e-01; // 0x3FE921FB54442D18
    const PIO4LO: f64 = 3.06161699786838301793e-17;
    let hx = (x.to_bits() >> 32) as u32;
    let big = hx & 0x7fff_ffff >= 0x3FE5_9428; // |x| >= 0.6744
    let sign = hx >> 31 != 0;
    if big {
        if sign {
            x = -x;
            y = -y;
        }
        x = (PIO4 - x) + (PIO4LO - y);
        y = 0.0;
    }
    let z = x * x;
    let w = z * z;
    let r = T[1] + w * (T[3] + w * (T[5] + w * (T[7] + w * (T[9] + w * T[11]))));
    let v = z * (T[2] + w * (T[4] + w * (T[6] + w * (T[8] + w * (T[10] + w * T[12])))));
    let s = z * x;
    let r = y + z * (s * (r + v) + y) + s * T[0];
    let w = x + r;
    if big {
        let s = if odd { -1.0 } else { 1.0 };
        let v = s - 2.0 * (x + (r - w * w / (w + s)));
        return if sign { -v } else { v };
    }
    if !odd {
        return w;
    }
    // -1/(x+r) has up to 2 ulp error this way, so it is computed accurately.
    let low0 = |v: f64| f64::from_bits(v.to_bits() & !0xffff_ffff);
    let w0 = low0(w);
    let v = r - (w0 - x); // w0 + v = r + x
    let a = -1.0 / w;
    let a0 = low0(a);
    a0 + a * (1.0 + a0 * w0 + a0 * v)
}

/// sin (which 0), cos (1) or tan (2) of x.
#[inline(never)]
fn trig(x: f64, which: u32) -> f64 {
    let ix = (x.to_bits() >> 32) as u32 & 0x7fff_ffff;
    if ix < 0x3e40_0000 {
        // |x| < 2^-27: x - x^3/6, 1 - x^2/2 and x + x^3/3 round to x, 1 and x.
        return if which == 1 { 1.0 } else { x };
    }
    if ix >= 0x7ff0_0000 {
        return x - x; // inf or nan: nan
    }
    let (n, y0, y1) = if ix <= 0x3fe9_21fb { (0, x, 0.0) } else { reduce(x) };
    if which == 2 {
        return ktan(y0, y1, n & 1 != 0);
    }
    // cos is sin one quadrant on; odd quadrants take the other kernel, 2 and 3 negate.
    let q = n + which;
    let r = if q & 1 == 0 { ksin(y0, y1) } else { kcos(y0, y1) };
    if q & 2 != 0 { -r } else { r }
}

pub fn sin(x: f64) -> f64 {
    trig(x, 0)
}
pub fn cos(x: f64) -> f64 {
    trig(x, 1)
}
pub fn tan(x: f64) -> f64 {
    trig(x, 2)
}

#[cfg(target_arch = "wasm32")]
#[export_name = "sin"]
pub extern "C" fn c_sin(x: f64) -> f64 {
    sin(x)
}
#[cfg(target_arch = "wasm32")]
#[export_name = "cos"]
pub extern "C" fn c_cos(x: f64) -> f64 {
    cos(x)
}
#[cfg(target_arch = "wasm32")]
#[export_name = "tan"]
pub extern "C" fn c_tan(x: f64) -> f64 {
    tan(x)
}

#[cfg(test)]
mod tests {
    extern "C" {
        #[link_name = "sin"]
        fn libc_sin(x: f64) -> f64;
        #[link_name = "cos"]
        fn libc_cos(x: f64) -> f64;
        #[link_name = "tan"]
        fn libc_tan(x: f64) -> f64;
    }

    /// Distance in units in the last place (0 for equal values, both NaN, or 0.0 vs -0.0 is
    /// NOT equal: the sign must match too).
    fn ulps(a: f64, b: f64) -> u64 {
        if a.is_nan() && b.is_nan() {
            return 0;
        }
        let key = |v: f64| {
            let i = v.to_bits() as i64;
            if i < 0 { i64::MIN.wrapping_sub(i).wrapping_sub(1) } else { i }
        };
        (key(a) as i128 - key(b) as i128).unsigned_abs() as u64
    }

    fn check(x: f64, worst: &mut [u64; 3], differ: &mut [u32; 3]) {
        // SAFETY: glibc's sin, cos and tan are pure functions of one double.
        let want = unsafe { [libc_sin(x), libc_cos(x), libc_tan(x)] };
        let got = [super::sin(x), super::cos(x), super::tan(x)];
        for k in 0..3 {
            let d = ulps(got[k], want[k]);
            assert!(d <= 1, "{}({x:e} = {:#x}) = {:e}, glibc {:e}: {d} ulps",
                    ["sin", "cos", "tan"][k], x.to_bits(), got[k], want[k]);
            worst[k] = worst[k].max(d);
            differ[k] += (d != 0) as u32;
        }
    }

    #[test]
    fn within_one_ulp_of_glibc() {
        let (mut worst, mut differ) = ([0; 3], [0; 3]);
        let special = [0.0, -0.0, 1e-300, -5e-324, 1e-9, 0.5, -0.785398163397448, 0.7853981633974484,
                       1.0, 1.5707963267948966, -3.141592653589793, 4.71238898038469, 6.283185307179586,
                       1e6, 1e15, 1e22, -1e300, f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
        for &x in &special {
            check(x, &mut worst, &mut differ);
        }
        // The double nearest a multiple of pi/2 (Kahan, McDonald): x = n*pi/2 + 4.687e-19 with
        // n = 1 mod 4. glibc 2.36's cos is 8 ulps off here; the exact value (worked out with
        // a 3,000-bit pi) rounds to -0x1.14ae72e6ba22fp-61.
        let x = 6381956970095103.0 * 2f64.powi(797);
        assert_eq!(super::cos(x).to_bits(), (-f64::from_bits(0x3C214AE72E6BA22F)).to_bits());
        assert_eq!(super::sin(-x), -1.0);
        let mut s: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..600_000u32 {
            let r = next();
            let x = match i % 4 {
                0 => f64::from_bits(r), // anywhere, huge ones most
                1 => (r >> 11) as f64 * 2f64.powi(-53) * 20.0 - 10.0, // [-10, 10]
                2 => f64::from_bits((r & !(0x7ff << 52)) | ((1023 - 30 + (r >> 58)) << 52)), // 2^-30 .. 2^33
                _ => {
                    // next to a multiple of pi/2: k*pi/2 rounded, then a few ulps away
                    let k = (r >> 40) as f64;
                    let b = (k * core::f64::consts::FRAC_PI_2).to_bits() as i64 + (r & 7) as i64 - 3;
                    f64::from_bits(b as u64)
                }
            };
            check(x, &mut worst, &mut differ);
        }
        eprintln!("sin/cos/tan: worst {worst:?} ulps from glibc, {differ:?} of 600k differ");
    }
}
