//! Host-only check of cu's printf formatter (`cu::libc::format`) and strtod (`cu::libc::strtod`)
//! against the real glibc `snprintf`/`strtod`: seeded random cases, at least 100,000 per
//! conversion family, each compared byte for byte (snprintf: return value and buffer, with
//! small buffers too) or bit for bit (strtod: value, bytes consumed and ERANGE). No known
//! differences are excluded. About 4 s with `cargo test --release --test libc_vs_glibc`,
//! about 10 s in a debug build.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use cu::libc::format::{vformat, Args};
use cu::libc::strtod::strtod_erange;
use std::ffi::{c_char, c_void};
use std::fmt::Write as _;

mod common;
use common::Rng;

/// Cases per family. `LIBC_TEST_SCALE=n` runs n times as many (a soak); `LIBC_TEST_SEED=k`
/// changes every family's seed.
fn cases() -> usize {
    100_000
        * std::env::var("LIBC_TEST_SCALE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
}

fn seed(family: u64) -> u64 {
    family
        + 1000
            * std::env::var("LIBC_TEST_SEED")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
}

/// Helpers on the shared splitmix64 (tests/common).
impl Rng {
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

#[derive(Clone, Copy, Debug)]
enum A {
    I(i32),
    L(i64),
    D(f64),
    P(usize),
    S(*const u8),
}

struct TestArgs<'a>(&'a [A]);

impl TestArgs<'_> {
    fn take(&mut self) -> A {
        let (a, rest) = self
            .0
            .split_first()
            .expect("formatter read too many arguments");
        self.0 = rest;
        *a
    }
}

// SAFETY: every `S` the tests pass is null or points at a NUL-terminated buffer.
unsafe impl Args for TestArgs<'_> {
    fn int(&mut self) -> i32 {
        match self.take() {
            A::I(v) => v,
            a => panic!("int() read {a:?}"),
        }
    }
    fn uint(&mut self) -> u32 {
        self.int() as u32
    }
    fn long_long(&mut self) -> i64 {
        match self.take() {
            A::L(v) => v,
            a => panic!("long_long() read {a:?}"),
        }
    }
    fn double(&mut self) -> f64 {
        match self.take() {
            A::D(v) => v,
            a => panic!("double() read {a:?}"),
        }
    }
    fn ptr(&mut self) -> usize {
        match self.take() {
            A::P(v) => v,
            a => panic!("ptr() read {a:?}"),
        }
    }
    fn cstr(&mut self) -> *const u8 {
        match self.take() {
            A::S(v) => v,
            a => panic!("cstr() read {a:?}"),
        }
    }
}

/// glibc's snprintf with `args` (zero, one or two `*` ints, then one value).
fn glibc_snprintf(buf: &mut [u8], fmt: &[u8], args: &[A]) -> i32 {
    let mut f = fmt.to_vec();
    f.push(0);
    let (b, n, f) = (
        buf.as_mut_ptr() as *mut c_char,
        buf.len(),
        f.as_ptr() as *const c_char,
    );
    macro_rules! call {
        ($v:expr $(, $pre:expr)*) => {
            // SAFETY: the arguments match the format's conversions (the test builds both
            // together), `b` is writable for `n` bytes and strings are NUL-terminated.
            unsafe {
                match $v {
                    A::I(x) => libc::snprintf(b, n, f $(, $pre)*, x),
                    A::L(x) => libc::snprintf(b, n, f $(, $pre)*, x),
                    A::D(x) => libc::snprintf(b, n, f $(, $pre)*, x),
                    A::P(x) => libc::snprintf(b, n, f $(, $pre)*, x as *const c_void),
                    A::S(x) => libc::snprintf(b, n, f $(, $pre)*, x as *const c_char),
                }
            }
        };
    }
    match *args {
        [] => call!(A::I(0)),
        [v] => call!(v),
        [A::I(a), v] => call!(v, a),
        [A::I(a), A::I(c), v] => call!(v, a, c),
        _ => panic!("unsupported argument list {args:?}"),
    }
}

fn describe(a: &A) -> String {
    match *a {
        A::I(v) => format!("int {v} ({:#x})", v),
        A::L(v) => format!("long long {v} ({:#x})", v),
        A::D(v) => format!("double {:#018x} ({v:e})", v.to_bits()),
        A::P(v) => format!("ptr {v:#x}"),
        A::S(p) if p.is_null() => "string NULL".into(),
        // SAFETY: test strings are NUL-terminated.
        A::S(p) => format!("string {:?}", unsafe {
            std::ffi::CStr::from_ptr(p as *const c_char)
        }),
    }
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 400 {
        format!("{:?}…({} bytes)", &s[..400], b.len())
    } else {
        format!("{s:?}")
    }
}

/// Runs cases and collects mismatches.
struct Checker {
    name: &'static str,
    rng: Rng,
    cases: usize,
    fails: Vec<String>,
    nfail: usize,
    ours: Vec<u8>,
    theirs: Vec<u8>,
}

impl Checker {
    fn new(name: &'static str, seed: u64) -> Self {
        Checker {
            name,
            rng: Rng(self::seed(seed)),
            cases: 0,
            fails: Vec::new(),
            nfail: 0,
            ours: vec![0; 8192],
            theirs: vec![0; 8192],
        }
    }

    fn fail(&mut self, msg: String) {
        self.nfail += 1;
        if self.fails.len() < 25 {
            self.fails.push(msg);
        }
    }

    /// Formats with both and compares return value and buffer contents.
    fn check(&mut self, fmt: &[u8], args: &[A]) {
        self.cases += 1;
        // Mostly a roomy buffer; sometimes a small one to exercise truncation.
        let cap = match self.rng.below(20) {
            0 => self.rng.below(4) as usize,
            1 => self.rng.below(40) as usize,
            _ => 8192,
        };
        let fill = cap.min(600);
        self.ours[..fill].fill(0xa5);
        self.theirs[..fill].fill(0xa5);
        let r1 = glibc_snprintf(&mut self.theirs[..cap], fmt, args);
        let r2 = vformat(&mut self.ours[..cap], fmt, &mut TestArgs(args));
        assert!(
            r1 >= 0,
            "glibc failed on {:?}",
            String::from_utf8_lossy(fmt)
        );
        let shown = (r1 as usize + 1).min(cap).max(fill);
        if r1 as usize != r2 || self.ours[..shown] != self.theirs[..shown] {
            let n1 = (r1 as usize).min(cap.saturating_sub(1));
            let n2 = r2.min(cap.saturating_sub(1));
            let args: Vec<String> = args.iter().map(describe).collect();
            let msg = format!(
                "format {:?} args [{}] cap {cap}\n  glibc ({r1}): {}\n  ours  ({r2}): {}",
                String::from_utf8_lossy(fmt),
                args.join(", "),
                show(&self.theirs[..n1]),
                show(&self.ours[..n2])
            );
            self.fail(msg);
        }
    }

    fn finish(self) {
        println!(
            "{}: {} cases, {} mismatches",
            self.name, self.cases, self.nfail
        );
        assert!(
            self.cases >= 100_000,
            "{}: only {} cases",
            self.name,
            self.cases
        );
        assert!(
            self.nfail == 0,
            "{}: {} of {} cases differ from glibc:\n{}",
            self.name,
            self.nfail,
            self.cases,
            self.fails.join("\n")
        );
    }

    /// Random flags from `set`, in random order (repeats allowed).
    fn flags(&mut self, fmt: &mut Vec<u8>, set: &[u8]) {
        while self.rng.chance(2, 5) {
            fmt.push(self.rng.pick(set));
        }
    }

    /// A random width: none, literal or `*` (pushing the int argument).
    fn width(&mut self, fmt: &mut Vec<u8>, args: &mut Vec<A>) {
        let r = &mut self.rng;
        let w = match r.below(100) {
            0..=39 => return,
            40..=79 => r.below(25),
            80..=93 => r.below(300),
            94 => r.below(4001),
            _ => {
                fmt.push(b'*');
                let w = if r.chance(1, 100) {
                    r.range(-4000, 4000)
                } else {
                    r.range(-40, 40)
                };
                args.push(A::I(w as i32));
                return;
            }
        };
        write!(Vec8(fmt), "{w}").unwrap();
    }

    /// A random precision: none, `.`, literal up to `max` (rarely up to `huge`) or `.*`.
    fn precision(&mut self, fmt: &mut Vec<u8>, args: &mut Vec<A>, max: u64, huge: u64) {
        let r = &mut self.rng;
        let p = match r.below(1000) {
            0..=299 => return,
            300..=349 => {
                fmt.push(b'.');
                return;
            }
            350..=599 => r.below(8),
            600..=899 => r.below(max + 1),
            900..=904 => r.below(huge + 1),
            _ => {
                fmt.extend_from_slice(b".*");
                let p = if r.chance(1, 200) {
                    r.range(-10, huge as i64)
                } else {
                    r.range(-10, max as i64)
                };
                args.push(A::I(p as i32));
                return;
            }
        };
        write!(Vec8(fmt), ".{p}").unwrap();
    }
}

/// `fmt::Write` into a byte vector.
struct Vec8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Vec8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn rand_i64(r: &mut Rng) -> i64 {
    match r.below(8) {
        0 => r.pick(&[
            0,
            1,
            -1,
            i32::MIN as i64,
            i32::MAX as i64,
            u32::MAX as i64,
            i64::MIN,
            i64::MAX,
            255,
            256,
            -128,
            65535,
            -32768,
            8,
            16,
            10,
        ]),
        1 => r.range(-1000, 1000),
        2 => {
            let b = r.below(63);
            let v = (1i64 << b) + r.range(-1, 1);
            if r.chance(1, 2) {
                -v
            } else {
                v
            }
        }
        3 => r.next() as i32 as i64,
        4 => {
            let v = 10i64.pow(r.below(19) as u32) + r.range(-1, 1);
            if r.chance(1, 2) {
                -v
            } else {
                v
            }
        }
        _ => (r.next() as i64) >> r.below(64),
    }
}

/// Random doubles of many kinds.
fn rand_f64(r: &mut Rng) -> f64 {
    let x = match r.below(16) {
        0..=2 => f64::from_bits(r.next()),
        3 => r.pick(&[
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff4_0000_dead_beef),
            f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::from_bits(0xdc11d),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::EPSILON,
            0.1,
            0.5,
            1.5,
            2.5,
            0.125,
            1e15,
            1e16,
            1e-5,
            1e-4,
            123456789012345.0,
            9007199254740993.0,
            9.5,
            99.5,
            999999.5,
            0.00001,
            0.0001,
        ]),
        4 | 5 => {
            // "Nice" decimals.
            let k = r.below(18) as u32 + 1;
            let digits = r.below(10u64.pow(k));
            let s = format!("{digits}e{}", r.range(-30, 30));
            s.parse().unwrap()
        }
        6 => rand_i64(r) as f64,
        7 => {
            let e = r.range(-1074, 1023) as i32;
            2f64.powi(e)
        }
        8 => format!("1e{}", r.range(-323, 308)).parse().unwrap(),
        9 | 10 => {
            // Exact binary ties: odd × 2^e, so decimal printing lands exactly on a 5.
            let b = r.below(24);
            let m = (r.below(1 << b) * 2 + 1) as f64;
            m * 2f64.powi(r.range(-30, 30) as i32)
        }
        11 => {
            // Decimal ties like d.dd5 (not exact in binary) and 10^k boundaries.
            let k = r.below(15) as u32 + 1;
            let d = r.below(10u64.pow(k));
            let s = format!("{d}5e{}", r.range(-25, 25));
            s.parse().unwrap()
        }
        12 => {
            let k = r.range(-10, 20) as i32;
            10f64.powi(k)
                * (1.0 - 10f64.powi(-(r.range(1, 16) as i32)) * r.pick(&[0.5, 0.49, 0.51, 1.0]))
        }
        13 => {
            // Subnormals and the normal/subnormal edge.
            f64::from_bits(r.next() >> r.range(11, 63))
        }
        _ => {
            // Moderate exponents with random mantissas.
            let e = (1023 + r.range(-70, 70)) as u64;
            f64::from_bits(e << 52 | r.next() >> 12)
        }
    };
    // Nudge by an ulp or two, flip sign.
    let x = if x.is_finite() && r.chance(1, 5) {
        f64::from_bits((x.to_bits() as i64).wrapping_add(r.range(-2, 2)) as u64)
    } else {
        x
    };
    if r.chance(1, 4) {
        -x
    } else {
        x
    }
}

fn int_family(seed: u64, name: &'static str) {
    let mut c = Checker::new(name, seed);
    let mut fmt = Vec::new();
    let mut args = Vec::new();
    for _ in 0..cases() {
        fmt.clear();
        args.clear();
        if c.rng.chance(1, 10) {
            fmt.extend_from_slice(b"<");
        }
        fmt.push(b'%');
        c.flags(&mut fmt, b"-+ #0");
        c.width(&mut fmt, &mut args);
        let conv = c.rng.pick(b"diuxXoc");
        if conv == b'c' {
            c.precision(&mut fmt, &mut args, 10, 10);
            fmt.push(b'c');
            let v = if c.rng.chance(1, 10) {
                0
            } else {
                c.rng.range(1, 255) as i32
            };
            args.push(A::I(v));
        } else {
            c.precision(&mut fmt, &mut args, 30, 120);
            let m: &[u8] = c.rng.pick(&[
                b"" as &[u8],
                b"",
                b"hh",
                b"h",
                b"l",
                b"ll",
                b"ll",
                b"j",
                b"z",
                b"t",
            ]);
            fmt.extend_from_slice(m);
            fmt.push(conv);
            let v = rand_i64(&mut c.rng);
            args.push(if m.len() == 1 && m[0] != b'h' || m == b"ll" {
                A::L(v)
            } else {
                A::I(v as i32)
            });
        }
        if c.rng.chance(1, 10) {
            fmt.extend_from_slice(b">");
        }
        let (f, a) = (fmt.clone(), args.clone());
        c.check(&f, &a);
    }
    c.finish();
}

fn float_family(seed: u64, name: &'static str, convs: &[u8]) {
    let mut c = Checker::new(name, seed);
    let mut fmt = Vec::new();
    let mut args = Vec::new();
    for _ in 0..cases() {
        fmt.clear();
        args.clear();
        fmt.push(b'%');
        c.flags(&mut fmt, b"-+ #0");
        c.width(&mut fmt, &mut args);
        if convs.contains(&b'a') {
            c.precision(&mut fmt, &mut args, 20, 60);
        } else {
            c.precision(&mut fmt, &mut args, 120, 1100);
        }
        fmt.push(c.rng.pick(convs));
        args.push(A::D(rand_f64(&mut c.rng)));
        let (f, a) = (fmt.clone(), args.clone());
        c.check(&f, &a);
    }
    c.finish();
}

#[test]
fn integers_d_i_u_x_o_c() {
    int_family(1, "integers d i u x X o c");
}

#[test]
fn floats_e() {
    float_family(2, "floats e E", b"eE");
}

#[test]
fn floats_f() {
    float_family(3, "floats f F", b"fF");
}

#[test]
fn floats_g() {
    float_family(4, "floats g G", b"gG");
}

#[test]
fn floats_a() {
    float_family(5, "floats a A", b"aA");
}

#[test]
fn strings_and_pointers() {
    let mut c = Checker::new("strings s, pointers p", 6);
    // A pool of NUL-terminated strings (random bytes 1..=255).
    let pool: Vec<Vec<u8>> = (0..512)
        .map(|_| {
            let n = if c.rng.chance(1, 20) {
                c.rng.below(400)
            } else {
                c.rng.below(20)
            };
            let mut s: Vec<u8> = (0..n)
                .map(|_| {
                    if c.rng.chance(3, 4) {
                        c.rng.range(32, 126) as u8
                    } else {
                        c.rng.range(1, 255) as u8
                    }
                })
                .collect();
            s.push(0);
            s
        })
        .collect();
    let mut fmt = Vec::new();
    let mut args = Vec::new();
    for _ in 0..cases() {
        fmt.clear();
        args.clear();
        fmt.push(b'%');
        c.flags(&mut fmt, b"-+ #0");
        c.width(&mut fmt, &mut args);
        c.precision(&mut fmt, &mut args, 30, 500);
        if c.rng.chance(1, 2) {
            fmt.push(b's');
            let s = if c.rng.chance(1, 20) {
                std::ptr::null()
            } else {
                pool[c.rng.below(pool.len() as u64) as usize].as_ptr()
            };
            args.push(A::S(s));
        } else {
            fmt.push(b'p');
            let p = match c.rng.below(4) {
                0 => 0,
                1 => c.rng.below(65536) as usize,
                _ => c.rng.next() as usize >> c.rng.below(64),
            };
            args.push(A::P(p));
        }
        let (f, a) = (fmt.clone(), args.clone());
        c.check(&f, &a);
    }
    c.finish();
}

/// The formats Lua itself uses (LUAI_NUMFFORMAT, LUA_INTEGER_FMT, %q's "%a", ...).
#[test]
fn lua_formats() {
    let mut c = Checker::new("Lua's formats", 7);
    let text = c"hello world".as_ptr() as *const u8;
    for i in 0..cases() {
        let x = rand_f64(&mut c.rng);
        let v = rand_i64(&mut c.rng);
        match i % 8 {
            0 => c.check(b"%.14g", &[A::D(x)]),
            1 => c.check(b"%lld", &[A::L(v)]),
            2 => c.check(b"%a", &[A::D(x)]),
            3 => c.check(b"%.99f", &[A::D(x)]),
            4 => c.check(b"%5.2s", &[A::S(text)]),
            5 => c.check(b"%-10d", &[A::I(v as i32)]),
            6 => c.check(b"%+.3e", &[A::D(x)]),
            _ => c.check(b"%#x", &[A::I(v as i32)]),
        }
    }
    c.finish();
}

/// Exact decimal digits of m × 2^k: (digits, e) with value = digits × 10^e.
fn exact_decimal(m: u64, k: i32) -> (String, i32) {
    const BASE: u64 = 1_000_000_000;
    let mut limbs = vec![m % BASE, m / BASE % BASE, m / BASE / BASE];
    let mul = |limbs: &mut Vec<u64>, f: u64| {
        let mut carry = 0;
        for l in limbs.iter_mut() {
            let t = *l * f + carry;
            *l = t % BASE;
            carry = t / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    };
    let (mut left, f, chunk, e10) = if k >= 0 {
        (k, 2, 1u64 << 29, 0)
    } else {
        (-k, 5, 1_220_703_125, k)
    };
    while left >= if k >= 0 { 29 } else { 13 } {
        mul(&mut limbs, chunk);
        left -= if k >= 0 { 29 } else { 13 };
    }
    for _ in 0..left {
        mul(&mut limbs, f);
    }
    while limbs.len() > 1 && *limbs.last().unwrap() == 0 {
        limbs.pop();
    }
    let mut s = limbs.last().unwrap().to_string();
    for l in limbs.iter().rev().skip(1) {
        write!(s, "{l:09}").unwrap();
    }
    (s, e10)
}

/// A decimal string near (or exactly at) a double or a midpoint between two doubles.
fn hard_decimal(r: &mut Rng, out: &mut String) {
    let x = match r.below(6) {
        0 => f64::from_bits(r.next() >> 1),
        1 => f64::from_bits(r.next() >> r.range(11, 63)),
        2 => f64::from_bits(0x7fef_ffff_ffff_ffff - r.below(3)),
        3 => f64::from_bits((0x0010_0000_0000_0000 + r.range(-3, 2)) as u64),
        4 => f64::from_bits(r.below(4)),
        _ => f64::from_bits(((1023 + r.range(-60, 60)) as u64) << 52 | r.next() >> 12),
    };
    let x = if x.is_finite() { x } else { f64::MAX };
    let b = x.to_bits();
    let be = (b >> 52) as i32;
    let m = (b & ((1 << 52) - 1)) | if be > 0 { 1 << 52 } else { 0 };
    let e = be.max(1) - 1075;
    let (mut d, mut e10) = if r.chance(1, 3) {
        exact_decimal(m, e)
    } else {
        exact_decimal(2 * m + 1, e - 1)
    };
    match r.below(5) {
        0 => {
            // Just below: truncate.
            let keep = r.range(1, d.len().max(1) as i64) as usize;
            e10 += (d.len() - keep) as i32;
            d.truncate(keep);
        }
        1 => {
            // Just above.
            let z = r.below(5) as usize;
            d.push_str(&"0".repeat(z));
            d.push('1');
            e10 -= z as i32 + 1;
        }
        2 => {
            d.push_str("000");
            e10 -= 3;
        }
        _ => {}
    }
    // Lay it out: digits with a decimal point somewhere and an exponent.
    let p = r.below(d.len() as u64 + 1) as usize;
    let (a, bb) = d.split_at(p);
    let ee = e10 + bb.len() as i32;
    if ee == 0 && r.chance(1, 2) {
        write!(out, "{a}.{bb}").unwrap();
    } else {
        write!(out, "{a}.{bb}{}{ee}", r.pick(&["e", "E"])).unwrap();
    }
    if a.is_empty() && bb.is_empty() {
        out.push('0');
    }
}

fn digits(r: &mut Rng, s: &mut String, n: u64) {
    for _ in 0..n {
        s.push((b'0' + r.below(10) as u8) as char);
    }
}

fn hex_digits(r: &mut Rng, s: &mut String, n: u64) {
    for _ in 0..n {
        s.push(r.pick(b"0123456789abcdefABCDEF0000ffff") as char);
    }
}

fn strtod_case(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(1, 5) {
        for _ in 0..r.range(1, 3) {
            s.push(r.pick(&[' ', '\t', '\n', '\x0b', '\x0c', '\r']));
        }
    }
    if r.chance(1, 3) {
        s.push(r.pick(&['+', '-']));
    }
    match r.below(14) {
        0..=3 => {
            let len = |r: &mut Rng| match r.below(10) {
                0 => 0,
                1..=5 => r.below(4),
                6..=8 => r.below(25),
                _ => r.below(800),
            };
            let n = len(r);
            if r.chance(1, 10) {
                s.push_str(&"0".repeat(r.below(30) as usize));
            }
            digits(r, &mut s, n);
            if r.chance(2, 3) {
                s.push('.');
                let n = len(r);
                if r.chance(1, 5) {
                    s.push_str(&"0".repeat(r.below(400) as usize));
                }
                digits(r, &mut s, n);
            }
            if r.chance(1, 2) {
                s.push(r.pick(&['e', 'E']));
                if r.chance(1, 2) {
                    s.push(r.pick(&['+', '-']));
                }
                let e = match r.below(6) {
                    0 => r.below(30),
                    1 | 2 => r.below(400),
                    3 => r.range(290, 345) as u64,
                    4 => r.range(300, 1200) as u64,
                    _ => r.next() >> r.below(64),
                };
                if r.chance(1, 10) {
                    s.push_str("000000");
                }
                write!(s, "{e}").unwrap();
            }
        }
        4..=6 => hard_decimal(r, &mut s),
        7 => {
            let x = f64::from_bits(r.next() >> 1);
            let x = if x.is_finite() { x } else { 1.0 };
            match r.below(3) {
                0 => write!(s, "{x:e}").unwrap(),
                1 => write!(s, "{x:.*e}", r.below(25) as usize).unwrap(),
                _ => write!(s, "{x}").unwrap(),
            }
        }
        8..=9 => {
            s.push_str(r.pick(&["0x", "0X"]));
            if r.chance(1, 5) {
                s.push_str(&"0".repeat(r.below(30) as usize));
            }
            let n = if r.chance(1, 5) { 40 } else { 18 };
            let n = r.below(n);
            hex_digits(r, &mut s, n);
            if r.chance(1, 2) {
                s.push('.');
                let n = if r.chance(1, 5) { 40 } else { 18 };
                let n = r.below(n);
                hex_digits(r, &mut s, n);
            }
            if r.chance(4, 5) {
                s.push(r.pick(&['p', 'P']));
                if r.chance(2, 3) {
                    s.push(r.pick(&['+', '-']));
                }
                let e = match r.below(5) {
                    0 => r.below(30),
                    1 => r.range(1000, 1200) as u64,
                    2 => r.range(1020, 1080) as u64,
                    3 => r.below(1200),
                    _ => r.next() >> r.below(64),
                };
                write!(s, "{e}").unwrap();
            }
        }
        10 => {
            // Hex at the edges: 53+ bit significands around subnormal/overflow exponents.
            write!(s, "0x1.{:013x}", r.next() >> 12).unwrap();
            let n = r.below(6);
            hex_digits(r, &mut s, n);
            write!(
                s,
                "p{}",
                r.pick(&[-1022, -1023, -1024, -1060, -1074, -1075, -1076, 1023, 1024, 0])
            )
            .unwrap();
        }
        11 => s.push_str(r.pick(&[
            "inf",
            "INF",
            "Infinity",
            "infinity",
            "INFINITY",
            "infinit",
            "infin",
            "iNf",
            "nan",
            "NaN",
            "NAN",
            "nan(123)",
            "nan(abc_DEF)",
            "nan(",
            "nan(x y)",
            "nAn()",
            "nan(0x7)",
            "in",
            "na",
            "i",
            "n",
            "infinityy",
        ])),
        12 => s.push_str(r.pick(&[
            "",
            ".",
            "e5",
            ".e5",
            "0x",
            "0X",
            "0x.",
            "0xp1",
            "0x.p1",
            "-",
            "+",
            "1e",
            "1e+",
            "1e-",
            "..1",
            "0.",
            "00",
            "0x1p",
            "0x1p+",
            "1.5.3",
            "+-1",
            "0x0",
            "0x0p99999",
            "1e-99999999999",
            "1e99999999999",
            "0x1p-99999999999",
            "0x1p99999999999",
            "0e99999",
            ".0",
            "0.e",
            "0x.1",
            "0x1.",
            "0x1.p",
            "1e0x1",
            " ",
            "\t",
            "0x0.0000p-1080",
            "1e-324",
            "2e-324",
            "3e-324",
            "2.4703282292062328e-324",
            "2.4703282292062327e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.797693134862315807e308",
            "1.7976931348623159e308",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "2.2250738585072014e-308",
            "4.9406564584124654e-324",
        ])),
        _ => {
            // Long mantissas with exponents near the range edges.
            let n = r.range(17, 1000) as u64;
            digits(r, &mut s, n);
            write!(
                s,
                "e{}",
                r.pick(&[-1400, -1340, -1330, -1100, -360, 0, -700, -690, -100, -1000])
            )
            .unwrap();
        }
    }
    if r.chance(1, 4) {
        for _ in 0..r.range(1, 3) {
            s.push(r.pick(b"xe.+-pP01239 abcnNiI()") as char);
        }
    }
    s
}

#[test]
fn strtod_vs_glibc() {
    let mut r = Rng(seed(8));
    let n = cases();
    let mut fails = Vec::new();
    let mut nfail = 0;
    let mut cstr = Vec::new();
    for _ in 0..cases() {
        let s = strtod_case(&mut r);
        cstr.clear();
        cstr.extend_from_slice(s.as_bytes());
        cstr.push(0);
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: `cstr` is NUL-terminated; errno is this thread's.
        let (v1, errno) = unsafe {
            *libc::__errno_location() = 0;
            let v = libc::strtod(cstr.as_ptr() as *const c_char, &mut end);
            (v, *libc::__errno_location())
        };
        let n1 = end as usize - cstr.as_ptr() as usize;
        // Sometimes without the NUL, sometimes with it.
        let input = if r.chance(1, 2) {
            &cstr[..]
        } else {
            s.as_bytes()
        };
        let (v2, n2, erange) = strtod_erange(input);
        let same = if v1.is_nan() {
            v2.is_nan() && v1.is_sign_negative() == v2.is_sign_negative()
        } else {
            v1.to_bits() == v2.to_bits()
        };
        if !same || n1 != n2 || (errno == libc::ERANGE) != erange {
            nfail += 1;
            if fails.len() < 25 {
                fails.push(format!(
                    "strtod({s:?})\n  glibc: {:#018x} ({v1:e}) consumed {n1} ERANGE {}\n  ours:  {:#018x} ({v2:e}) consumed {n2} ERANGE {erange}",
                    v1.to_bits(),
                    errno == libc::ERANGE,
                    v2.to_bits()
                ));
            }
        }
    }
    println!("strtod: {n} cases, {nfail} mismatches");
    assert!(
        nfail == 0,
        "strtod: {nfail} of {n} cases differ from glibc:\n{}",
        fails.join("\n")
    );
}
