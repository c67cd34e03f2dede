//! core/index: the order-preserving key encoding (checked against a reference comparison
//! written after Lua 5.4's `LTnum`, with exact integer/float comparison) and `BTree`
//! (checked op by op against `std::collections::BTreeSet<Vec<u8>>`). Seeded, reproducible.

use cu::index::btree::BTree;
use cu::index::keys::{encode, prefix_successor, string_prefix_range, type_range, KeyValue};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

mod common;
use common::Rng;

/// Strings around the encoding's escapes: NUL, 0xFF, prefixes.
const EDGE_STRINGS: &[&[u8]] = &[b"", b"\0", b"\0\0", b"\0\xff", b"\x01", b"a", b"a\0", b"a\0b", b"ab", b"\xff", b"\xff\xff"];

// ---------------------------------------------------------------- keys

/// Lua 5.4's order on an integer and a float, computed exactly (as `LTintfloat`/`LEintfloat`
/// do: through floor, never by converting the integer to a float).
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const TWO63: f64 = 9223372036854775808.0;
    if f >= TWO63 {
        Ordering::Less
    } else if f < -TWO63 {
        Ordering::Greater
    } else {
        let fl = f.floor();
        match (i as i128).cmp(&(fl as i128)) {
            Ordering::Equal if fl != f => Ordering::Less,
            o => o,
        }
    }
}

fn rank(v: &KeyValue) -> u8 {
    match v {
        KeyValue::False => 0,
        KeyValue::True => 1,
        KeyValue::Int(_) | KeyValue::Float(_) => 2,
        KeyValue::Str(_) => 3,
    }
}

fn reference(a: &KeyValue, b: &KeyValue) -> Ordering {
    use KeyValue::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => x.partial_cmp(y).unwrap(),
        (Int(x), Float(y)) => cmp_int_float(*x, *y),
        (Float(x), Int(y)) => cmp_int_float(*y, *x).reverse(),
        (Str(x), Str(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn enc(v: &KeyValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out).unwrap();
    out
}

const P53: i64 = 1 << 53;
const EDGE_INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    -2,
    3,
    1000,
    -1000,
    P53 - 2,
    P53 - 1,
    P53,
    P53 + 1,
    P53 + 2,
    P53 + 3,
    -P53 - 1,
    -P53,
    -P53 + 1,
    1 << 54,
    (1 << 54) + 1,
    (1 << 54) + 2,
    (1 << 54) + 3,
    i64::MAX,
    i64::MAX - 1,
    i64::MAX - 511,
    i64::MAX - 512,
    i64::MAX - 513,
    i64::MAX - 1024,
    i64::MAX - 1025,
    i64::MIN,
    i64::MIN + 1,
    i64::MIN + 512,
    i64::MIN + 513,
    i64::MIN + 1024,
    1 << 62,
    (1 << 62) + 512,
    (1 << 62) + 513,
    (1 << 62) - 256,
    (1 << 62) - 257,
];
const EDGE_FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    2.5,
    -2.5,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    1e-310,
    -1e-310,
    9007199254740992.0,
    9007199254740993.0,
    9007199254740994.0,
    -9007199254740992.0,
    9223372036854775808.0,
    -9223372036854775808.0,
    9223372036854774784.0,
    -9223372036854774784.0,
    18446744073709551616.0,
    4611686018427387904.0,
    1e300,
    -1e300,
    0.1,
    1000.25,
    -1000.25,
    1e15 + 0.5,
];
const ALPHA: &[u8] = &[0x00, 0x01, b'a', b'b', 0xFE, 0xFF];

fn rand_str(r: &mut Rng, buf: &mut Vec<u8>) {
    buf.clear();
    for _ in 0..r.below(6) {
        buf.push(r.pick(ALPHA));
    }
}

fn rand_float(r: &mut Rng) -> f64 {
    match r.below(6) {
        0 => r.pick(EDGE_FLOATS),
        1 => f64::from_bits(r.next()),
        2 => r.pick(EDGE_INTS) as f64 + r.pick(&[0.0, 0.5, -0.5, 0.25, 1.0, -1.0]),
        3 => (r.below(7) as f64 - 3.0) * r.pick(&[1.0, 0.5, 0.25]),
        4 => {
            // Floats next to an edge integer's rounding.
            let f = r.pick(EDGE_INTS) as f64;
            let b = f.to_bits() as i64 + r.below(5) as i64 - 2;
            f64::from_bits(b as u64)
        }
        _ => (r.next() as i64 >> r.below(64)) as f64,
    }
}

fn rand_int(r: &mut Rng) -> i64 {
    match r.below(5) {
        0 => r.pick(EDGE_INTS),
        1 => r.next() as i64,
        2 => r.pick(EDGE_INTS).wrapping_add(r.below(2049) as i64 - 1024),
        3 => r.below(7) as i64 - 3,
        _ => (r.next() as i64) >> r.below(64),
    }
}

/// A random value; strings are written into `buf`.
fn rand_value<'a>(r: &mut Rng, buf: &'a mut Vec<u8>) -> KeyValue<'a> {
    match r.below(10) {
        0 => KeyValue::False,
        1 => KeyValue::True,
        2 | 3 => {
            rand_str(r, buf);
            KeyValue::Str(buf)
        }
        4 | 5 | 6 => KeyValue::Int(rand_int(r)),
        _ => {
            let f = rand_float(r);
            if f.is_nan() {
                KeyValue::Float(0.5)
            } else {
                KeyValue::Float(f)
            }
        }
    }
}

#[test]
fn key_order_matches_reference() {
    let mut r = Rng(1);
    let (mut ba, mut bb) = (Vec::new(), Vec::new());
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let mut equal = 0;
    for _ in 0..1_000_000 {
        let a = rand_value(&mut r, &mut ba);
        let b = rand_value(&mut r, &mut bb);
        let (ea, eb) = (enc(&a), enc(&b));
        let want = reference(&a, &b);
        assert_eq!(ea.cmp(&eb), want, "{a:?} vs {b:?}");
        if want == Ordering::Equal {
            equal += 1;
        }
        // Composite keys sort by value, then by suffix.
        rand_str(&mut r, &mut sa);
        rand_str(&mut r, &mut sb);
        let (ca, cb) = ([&ea[..], &sa].concat(), [&eb[..], &sb].concat());
        assert_eq!(ca.cmp(&cb), want.then(sa.cmp(&sb)), "{a:?}+{sa:?} vs {b:?}+{sb:?}");
    }
    assert!(equal > 10_000, "too few equal pairs: {equal}");
}

#[test]
fn key_edge_values_all_pairs() {
    let mut vals: Vec<KeyValue> = vec![KeyValue::False, KeyValue::True];
    vals.extend(EDGE_INTS.iter().map(|&i| KeyValue::Int(i)));
    vals.extend(EDGE_FLOATS.iter().map(|&f| KeyValue::Float(f)));
    for &i in EDGE_INTS {
        for d in [-1025, -513, -512, -511, -1, 1, 511, 512, 513, 1025] {
            vals.push(KeyValue::Int(i.wrapping_add(d)));
            vals.push(KeyValue::Float(i.wrapping_add(d) as f64));
        }
    }
    let strs: Vec<&[u8]> = EDGE_STRINGS.to_vec();
    vals.extend(strs.iter().map(|s| KeyValue::Str(s)));
    let encs: Vec<Vec<u8>> = vals.iter().map(enc).collect();
    for (a, ea) in vals.iter().zip(&encs) {
        for (b, eb) in vals.iter().zip(&encs) {
            assert_eq!(ea.cmp(eb), reference(a, b), "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn key_specific_facts() {
    use KeyValue::*;
    let lt = |a: KeyValue, b: KeyValue| enc(&a) < enc(&b);
    assert_eq!(enc(&Int(0)), enc(&Float(0.0)));
    assert_eq!(enc(&Int(0)), enc(&Float(-0.0)));
    assert_eq!(enc(&Int(1)), enc(&Float(1.0)));
    assert_eq!(enc(&Int(-7)), enc(&Float(-7.0)));
    assert_eq!(enc(&Int(P53)), enc(&Float(P53 as f64)));
    assert_eq!(enc(&Int(i64::MIN)), enc(&Float(-9223372036854775808.0)));
    assert!(lt(Float(P53 as f64), Int(P53 + 1)));
    assert!(lt(Int(P53 + 1), Float((P53 + 2) as f64)));
    assert!(lt(Int(i64::MAX), Float(9223372036854775808.0)));
    assert!(lt(Int(i64::MAX - 1), Int(i64::MAX)));
    assert!(lt(Float(f64::NEG_INFINITY), Int(i64::MIN)));
    assert!(lt(Int(i64::MAX), Float(f64::INFINITY)));
    assert!(lt(Float(-5e-324), Int(0)) && lt(Int(0), Float(5e-324)));
    assert!(lt(True, Float(f64::NEG_INFINITY)) && lt(False, True));
    assert!(lt(Float(f64::INFINITY), Str(b"")));
    assert!(lt(Str(b"a"), Str(b"a\0")) && lt(Str(b"a\0"), Str(b"a\x01")) && lt(Str(b"ab"), Str(b"b")));
    let mut out = vec![9];
    assert_eq!(encode(&Float(f64::NAN), &mut out), None);
    assert_eq!(out, [9], "NaN appends nothing");
    assert_eq!(encode(&Float(-f64::NAN), &mut out), None);
    assert_eq!(enc(&Str(b"a\0")), b"\x04a\0\xff\0\0");
    assert_eq!(enc(&False), [1]);
    assert_eq!(enc(&Int(1)).len(), 11);
}

#[test]
fn key_prefix_ranges() {
    assert_eq!(prefix_successor(b""), None);
    assert_eq!(prefix_successor(b"\xff\xff"), None);
    assert_eq!(prefix_successor(b"a\xff\xff").unwrap(), b"b");
    assert_eq!(prefix_successor(b"\x04a\0").unwrap(), b"\x04a\x01");
    let mut r = Rng(2);
    let (mut p, mut s, mut suf, mut vb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..300_000 {
        rand_str(&mut r, &mut p);
        p.truncate(r.below(3) as usize);
        rand_str(&mut r, &mut s);
        if r.below(2) == 0 {
            s = [&p[..], &s].concat();
        }
        rand_str(&mut r, &mut suf);
        let (lo, hi) = string_prefix_range(&p);
        let k = [enc(&KeyValue::Str(&s)), suf.clone()].concat();
        assert_eq!(lo <= k && k < hi, s.starts_with(&p), "{p:?} {s:?}");
        let v = rand_value(&mut r, &mut vb);
        if !matches!(v, KeyValue::Str(_)) {
            let e = enc(&v);
            assert!(!(lo <= e && e < hi));
            let (tl, th) = type_range(e[0]);
            assert!(tl[..] <= e[..] && e[..] < th[..]);
        }
    }
}

// ---------------------------------------------------------------- btree

const KEY_ALPHA: &[u8] = &[0x00, 0x01, 0x7F, 0xFF];

fn rand_key(r: &mut Rng, max_len: u64) -> Vec<u8> {
    (0..r.below(max_len + 1)).map(|_| r.pick(KEY_ALPHA)).collect()
}

fn rand_bound(r: &mut Rng) -> Bound<Vec<u8>> {
    match r.below(5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(rand_key(r, 7)),
        _ => Bound::Excluded(rand_key(r, 7)),
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The model's range, or empty where `BTreeSet::range` would panic (start > end, or
/// start == end with both excluded).
fn model_range<'a>(m: &'a BTreeSet<Vec<u8>>, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Vec<&'a [u8]> {
    let key = |b: Bound<&[u8]>| match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.to_vec()),
        Bound::Unbounded => None,
    };
    if let (Some(a), Some(b)) = (key(lo), key(hi)) {
        if a > b || (a == b && matches!((lo, hi), (Bound::Excluded(_), Bound::Excluded(_)))) {
            return Vec::new();
        }
    }
    m.range::<[u8], _>((lo, hi)).map(|k| k.as_slice()).collect()
}

fn check_range(t: &BTree, m: &BTreeSet<Vec<u8>>, r: &mut Rng) -> usize {
    let (lo, hi) = (rand_bound(r), rand_bound(r));
    let (lo, hi) = (as_ref(&lo), as_ref(&hi));
    let want = model_range(m, lo, hi);
    let fwd: Vec<&[u8]> = t.range(lo, hi).collect();
    assert_eq!(fwd, want, "range {lo:?} {hi:?}");
    let mut rev: Vec<&[u8]> = t.range_rev(lo, hi).collect();
    rev.reverse();
    assert_eq!(rev, want);
    assert_eq!(t.count_range(lo, hi), want.len());
    // Alternate ends at random.
    let mut it = t.range(lo, hi);
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let x = if r.below(2) == 0 {
            it.next().map(|k| front.push(k))
        } else {
            it.next_back().map(|k| back.push(k))
        };
        if x.is_none() {
            break;
        }
    }
    assert_eq!(it.next(), None);
    assert_eq!(it.next_back(), None);
    back.reverse();
    front.extend(back);
    assert_eq!(front, want);
    want.len()
}

fn run_model(seed: u64, ops: usize, max_len: u64) {
    let mut r = Rng(seed);
    let mut t = BTree::new();
    let mut m = BTreeSet::new();
    let (mut emptied, mut ranged, mut max_seen) = (0, 0, 0);
    let mut insert_pct = 90;
    for op in 0..ops {
        if op % 5000 == 0 {
            // Grow for a while, then shrink, so trees get deep and also empty out.
            insert_pct = [95, 95, 95, 95, 70, 50, 30, 5, 5, 5][op / 5000 % 10];
        }
        let was_empty = m.is_empty();
        let k = rand_key(&mut r, max_len);
        let x = r.below(100);
        if x < insert_pct {
            assert_eq!(t.insert(&k), m.insert(k.clone()));
        } else if x < 98 || m.is_empty() {
            // Remove a present key most of the time, else a random one.
            let k = if r.below(4) != 0 && !m.is_empty() {
                m.range::<[u8], _>((Bound::Included(&k[..]), Bound::Unbounded))
                    .next()
                    .or(m.iter().next())
                    .unwrap()
                    .clone()
            } else {
                k
            };
            assert_eq!(t.remove(&k), m.remove(&k));
            if m.is_empty() && !t.is_empty() {
                panic!("model empty, tree not");
            }
        } else {
            assert_eq!(t.contains(&k), m.contains(&k));
        }
        assert_eq!(t.len(), m.len());
        max_seen = max_seen.max(m.len());
        if m.is_empty() && !was_empty {
            emptied += 1;
            assert!(t.iter().next().is_none() && t.iter().next_back().is_none());
        }
        if op % 97 == 0 {
            ranged += check_range(&t, &m, &mut r);
        }
        if op % 2003 == 0 {
            assert!(t.check_invariants(), "invariants at op {op}");
            assert!(t.iter().eq(m.iter().map(|k| k.as_slice())));
        }
        if op % 50_000 == 47_499 {
            // Drain completely in random order.
            let mut keys: Vec<Vec<u8>> = m.iter().cloned().collect();
            for i in (1..keys.len()).rev() {
                keys.swap(i, r.below(i as u64 + 1) as usize);
            }
            for (n, k) in keys.iter().enumerate() {
                assert!(t.remove(k) && m.remove(k));
                if n % 501 == 0 {
                    assert!(t.check_invariants());
                }
            }
            assert!(t.is_empty() && t.check_invariants());
            emptied += 1;
        }
    }
    assert!(t.check_invariants());
    assert!(t.iter().eq(m.iter().map(|k| k.as_slice())));
    eprintln!("seed {seed}: {ops} ops, emptied {emptied}x, max len {max_seen}, {ranged} keys ranged");
    assert!(emptied > 0 && max_seen > 1000);
}

#[test]
fn btree_model_short_keys() {
    // 4^0 + .. + 4^5 = 1365 distinct keys: many collisions, frequent emptying.
    run_model(11, 150_000, 5);
}

#[test]
fn btree_model_long_keys() {
    // ~87k distinct keys: deep trees.
    run_model(12, 250_000, 8);
}

#[test]
fn btree_sequential_and_clear() {
    let mut t = BTree::new();
    for i in 0u32..100_000 {
        assert!(t.insert(&i.to_be_bytes()));
    }
    assert!(!t.insert(&5u32.to_be_bytes()));
    assert!(t.check_invariants() && t.len() == 100_000);
    let lo = 1000u32.to_be_bytes();
    let hi = 2000u32.to_be_bytes();
    assert_eq!(t.count_range(Bound::Included(&lo), Bound::Excluded(&hi)), 1000);
    assert_eq!(
        t.range_rev(Bound::Unbounded, Bound::Excluded(&hi)).next().unwrap(),
        1999u32.to_be_bytes()
    );
    for i in (0u32..100_000).rev().step_by(2) {
        assert!(t.remove(&i.to_be_bytes()));
    }
    assert!(t.check_invariants() && t.len() == 50_000);
    assert!(t
        .iter()
        .map(|k| u32::from_be_bytes(k.try_into().unwrap()))
        .eq((0..100_000).step_by(2)));
    t.clear();
    assert!(t.is_empty() && t.check_invariants() && t.iter().next().is_none());
    assert!(t.insert(b"") && t.contains(b"") && !t.contains(b"\0"));
    assert!(t.remove(b"") && !t.remove(b""));
    assert!(t.check_invariants());
}

/// The encoding order of numbers and of strings agrees with what Lua 5.4 itself answers
/// for `==` and `<` (the runtime runs natively on the host).
#[test]
fn key_order_matches_lua() {
    use cu::runtime::{Instance, Status};
    let mut nums: Vec<KeyValue> = Vec::new();
    for &i in EDGE_INTS {
        for d in [0, -1025, -513, -512, -511, -1, 1, 511, 512, 513, 1025] {
            nums.push(KeyValue::Int(i.wrapping_add(d)));
            nums.push(KeyValue::Float(i.wrapping_add(d) as f64));
        }
    }
    nums.extend(EDGE_FLOATS.iter().map(|&f| KeyValue::Float(f)));
    let mut r = Rng(3);
    for _ in 0..200 {
        nums.push(KeyValue::Int(rand_int(&mut r)));
        let f = rand_float(&mut r);
        nums.push(KeyValue::Float(if f.is_nan() { 1.0 } else { f }));
    }
    let mut strs: Vec<&[u8]> = EDGE_STRINGS.to_vec();
    strs.push(b"b");
    let mut src = String::from("local N = {\n");
    for v in &nums {
        match v {
            KeyValue::Int(i) => {
                src += &format!("math.tointeger(string.unpack('<i8', string.pack('<i8', {i}))),\n")
                    .replace("-9223372036854775808", "math.mininteger")
            }
            KeyValue::Float(f) => {
                src += &format!(
                    "(string.unpack('<d', string.pack('<i8', {})))+0.0,\n",
                    f.to_bits() as i64
                )
                .replace("-9223372036854775808", "math.mininteger")
            }
            _ => unreachable!(),
        }
    }
    src += "}\nlocal S = {\n";
    for s in &strs {
        src += "\"";
        for c in s.iter() {
            src += &format!("\\x{c:02x}");
        }
        src += "\",\n";
    }
    let mut want = String::new();
    for group in [&nums, &strs.iter().map(|s| KeyValue::Str(s)).collect::<Vec<_>>()] {
        for a in group.iter() {
            for b in group.iter() {
                want.push(match enc(a).cmp(&enc(b)) {
                    Ordering::Less => '<',
                    Ordering::Equal => '=',
                    Ordering::Greater => '>',
                });
            }
        }
    }
    src += &format!(
        "}}\nlocal want = '{want}'\nlocal out = {{}}\n\
         for _, T in ipairs({{N, S}}) do for i = 1, #T do for j = 1, #T do\n\
           local a, b = T[i], T[j]\n\
           out[#out + 1] = a == b and '=' or a < b and '<' or '>'\n\
           assert((a <= b) == (out[#out] ~= '>'))\n\
         end end end\n\
         local got = table.concat(out)\n\
         if got == want then return 0 end\n\
         for k = 1, #got do if got:sub(k, k) ~= want:sub(k, k) then return k end end\n\
         return -1\n"
    );
    let mut inst = Instance::new(64 << 20, 0, [1, 2]).unwrap();
    let mut reply = Vec::new();
    let status = inst.compute(src.as_bytes(), b"=t", false, &mut reply);
    assert_eq!(status, Status::Ok, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(reply[4], 3);
    let k = i64::from_le_bytes(reply[5..13].try_into().unwrap());
    if k != 0 {
        let n = nums.len() as i64;
        let k = k - 1;
        panic!(
            "mismatch at {k}: {:?} vs {:?}",
            nums.get((k / n) as usize),
            nums.get((k % n) as usize)
        );
    }
    assert!(nums.iter().any(|v| matches!(v, KeyValue::Int(i64::MIN))));
}
