//! Compression of the storage pages (core/store/pages.rs, `Store::compression`; the
//! instance's `compression` option): the threshold boundary for strings and blobs, every
//! level round trip, `off` storing everything raw, pages written under one setting loading
//! under any other, and, through the protocol, SET_COMPRESSION (op 28) with real functions:
//! deflated in pages, plain in memory after a load (so reading one writes nothing).
#![cfg(feature = "persistence")]

use cu::codec::Level;
use cu::runtime::{Instance, Status};
use cu::store::pages::Compression;
use cu::store::{Key, Store, Value, ROOT};
use cu::store_ops::{OP_LOAD_PAGES, OP_SET_COMPRESSION, OP_TAKE_CHANGES, OP_TAKE_PAGES};

mod common;
use common::{call, encoding, lua_ok, Rng};

const LEVELS: [Option<Level>; 4] = [None, Some(Level::Fast), Some(Level::Default), Some(Level::Best)];

fn holds(pages: &[(u64, Option<Vec<u8>>)], text: &[u8]) -> bool {
    pages.iter().filter_map(|p| p.1.as_deref()).any(|p| p.windows(text.len()).any(|w| w == text))
}

fn load(pages: &[(u64, Option<Vec<u8>>)], c: Compression) -> Store {
    let mut s = Store::new();
    s.compression = c;
    let list: Vec<(u64, &[u8])> = pages.iter().filter_map(|(n, b)| Some((*n, b.as_deref()?))).collect();
    s.load_pages(&list).unwrap();
    s
}

fn set(s: &mut Store, key: &str, v: Value) {
    s.set(ROOT, Key::str(key.as_bytes()), Some(v)).unwrap();
}

/// Values longer than the threshold are deflated (when that is smaller); values of exactly
/// the threshold are not. Strings count their bytes, blobs their codec body.
#[test]
fn the_threshold_is_a_strict_bound() {
    let text = |n: usize| b"abcd".iter().cycle().take(n).copied().collect::<Vec<u8>>();
    let mut s = Store::new();
    s.compression = Compression { level: Some(Level::Default), threshold: 100 };
    set(&mut s, "at", Value::Key(Key::str(&[&b"AT:"[..], &text(97)].concat())));
    set(&mut s, "over", Value::Key(Key::str(&[&b"OVER:"[..], &text(96)].concat())));
    let at = s.blob(encoding(&[&b"BLOB-AT:"[..], &text(92)].concat()).into(), true);
    set(&mut s, "blob_at", at);
    let over = s.blob(encoding(&[&b"BLOB-OVER:"[..], &text(91)].concat()).into(), false);
    set(&mut s, "blob_over", over);
    // Over the threshold but not smaller deflated: kept raw.
    let mut rng = Rng(5);
    let noise: Vec<u8> = (0..300).map(|_| rng.next() as u8).collect();
    set(&mut s, "noise", Value::Key(Key::str(&[&b"NOISE:"[..], &noise].concat())));
    s.commit();
    let pages = s.take_pages();
    assert!(holds(&pages, b"AT:abcd") && holds(&pages, b"BLOB-AT:abcd") && holds(&pages, b"NOISE:"));
    assert!(!holds(&pages, b"OVER:") && !holds(&pages, b"BLOB-OVER:"));
    let back = load(&pages, Compression::OFF);
    for k in ["at", "over", "blob_at", "blob_over", "noise"] {
        let (a, b) = (back.get(ROOT, &Key::str(k.as_bytes())), s.get(ROOT, &Key::str(k.as_bytes())));
        match (a, b) {
            (Some(Value::Key(a)), Some(Value::Key(b))) => assert_eq!(a, b, "{k}"),
            // Blobs come back plain, byte for byte.
            (Some(Value::Blob(a)), Some(Value::Blob(b))) => assert_eq!((&a.bytes, a.func), (&b.bytes, b.func), "{k}"),
            _ => panic!("{k}"),
        }
    }
}

/// The same store written at each level: `off` keeps the text readable in the pages, each
/// level packs at least as well as the one before, and whatever wrote the pages, any
/// setting loads them; writing the loaded store again uses the new setting.
#[test]
fn every_level_round_trips_and_off_stores_raw() {
    let build = |c: Compression| {
        let mut s = Store::new();
        s.compression = c;
        let notes = s.make_path(&[Key::str(b"notes")]).unwrap();
        for i in 0..40 {
            let text = format!("note {i}: the quick brown fox jumps over the lazy dog {} ", i % 7).repeat(20 + i);
            s.set(notes, Key::Int(i as i64), Some(Value::Key(Key::str(text.as_bytes())))).unwrap();
        }
        let f = s.blob(encoding("local function handler(x) return x * 2 end ".repeat(60).as_bytes()).into(), true);
        set(&mut s, "handler", f);
        s.commit();
        s
    };
    let mut sizes = Vec::new();
    let mut written = Vec::new();
    for level in LEVELS {
        let mut s = build(Compression { level, threshold: 1024 });
        let pages = s.take_pages();
        sizes.push(pages.iter().filter_map(|p| p.1.as_ref()).map(Vec::len).sum::<usize>());
        assert_eq!(holds(&pages, b"the quick brown fox"), level.is_none(), "{level:?}");
        assert_eq!(holds(&pages, b"local function handler"), level.is_none(), "{level:?}");
        written.push(pages);
    }
    assert!(sizes[0] > 4 * sizes[1] && sizes[1] >= sizes[2] && sizes[2] >= sizes[3], "{sizes:?}");
    let reference = build(Compression::OFF);
    for pages in &written {
        for level in LEVELS {
            let mut back = load(pages, Compression { level, threshold: 0 });
            back.check_invariants().unwrap();
            for key in ["notes", "handler"] {
                let same = match (back.get(ROOT, &Key::str(key.as_bytes())), reference.get(ROOT, &Key::str(key.as_bytes()))) {
                    (Some(Value::Blob(a)), Some(Value::Blob(b))) => a.bytes == b.bytes,
                    (Some(Value::Table(a)), Some(Value::Table(b))) => {
                        (0..40).all(|i| back.get(*a, &Key::Int(i)).and_then(Value::key) == reference.get(*b, &Key::Int(i)).and_then(Value::key))
                    }
                    _ => false,
                };
                assert!(same, "{key} at {level:?}");
            }
            // Rewritten under the loading instance's setting.
            set(&mut back, "touch", Value::Key(Key::Int(1)));
            back.commit();
            let again = back.take_pages();
            assert_eq!(holds(&again, b"local function handler"), level.is_none());
        }
    }
}

/// TAKE_PAGES' reply as a LOAD_PAGES request, and the page bytes.
fn pages_of(inst: &mut Instance) -> (Vec<u8>, Vec<u8>) {
    let (s, reply) = call(inst, OP_TAKE_PAGES, &[]);
    assert_eq!(s, Status::Ok);
    let n = u32::from_le_bytes(reply[..4].try_into().unwrap()) / 2;
    let (mut req, mut all) = (n.to_le_bytes().to_vec(), Vec::new());
    let mut p = 4;
    for _ in 0..n {
        req.extend_from_slice(&reply[p + 1..p + 9]);
        p += 9;
        let len = u32::from_le_bytes(reply[p + 1..p + 5].try_into().unwrap()) as usize;
        req.extend_from_slice(&reply[p + 1..p + 5 + len]);
        all.extend_from_slice(&reply[p + 5..p + 5 + len]);
        p += 5 + len;
    }
    (req, all)
}

fn set_compression(inst: &mut Instance, level: u8, threshold: u32) -> Status {
    call(inst, OP_SET_COMPRESSION, &[&[level][..], &threshold.to_le_bytes()].concat()).0
}

/// A real function (its codec blob) and a long string: deflated in the pages of an
/// instance set to `best`, raw in those of one set to `off`; loaded elsewhere, the function
/// runs, and reading it writes nothing (blobs are plain in memory, as re-encoding gives).
#[test]
fn set_compression_through_the_protocol() {
    let code = "local tag = 'a marker string kept in the constants of the function'
        Memory.f = function(x) local t = {} for i = 1, x do t[i] = tag .. i end return #t, t[x] end
        Memory.doc = string.rep('compressible text, ', 200)";
    let mut packed = Instance::new(0, 0, [1, 2]).unwrap();
    assert_eq!(set_compression(&mut packed, 3, 64), Status::Ok);
    lua_ok(&mut packed, code);
    let (req, bytes) = pages_of(&mut packed);
    let mut raw = Instance::new(0, 0, [1, 2]).unwrap();
    assert_eq!(set_compression(&mut raw, 0, 64), Status::Ok);
    lua_ok(&mut raw, code);
    let (_, raw_bytes) = pages_of(&mut raw);
    let marker = b"a marker string kept";
    assert!(raw_bytes.windows(marker.len()).any(|w| w == marker));
    assert!(!bytes.windows(marker.len()).any(|w| w == marker), "the function's blob is deflated");
    assert!(bytes.len() * 4 < raw_bytes.len(), "{} vs {}", bytes.len(), raw_bytes.len());

    let mut other = Instance::new(0, 0, [3, 4]).unwrap();
    assert_eq!(set_compression(&mut other, 1, 0), Status::Ok);
    assert_eq!(call(&mut other, OP_LOAD_PAGES, &req).0, Status::Ok);
    call(&mut other, OP_TAKE_CHANGES, &[]);
    lua_ok(&mut other, "local n, last = Memory.f(3) assert(n == 3 and last:find('marker') and #Memory.doc == 3800)");
    assert_eq!(call(&mut other, OP_TAKE_CHANGES, &[]).1, 0u32.to_le_bytes(), "reading wrote nothing");
    assert_eq!(call(&mut other, OP_TAKE_PAGES, &[]).1, 0u32.to_le_bytes());

    // Bad requests: BAD_ARGUMENT, and the setting stays.
    assert_eq!(set_compression(&mut other, 4, 0), Status::BadArgument);
    assert_eq!(call(&mut other, OP_SET_COMPRESSION, &[2, 0, 4]).0, Status::BadArgument);
    assert_eq!(call(&mut other, OP_SET_COMPRESSION, &[2, 0, 4, 0, 0, 9]).0, Status::BadArgument);
    lua_ok(&mut other, "Memory.doc2 = string.rep('compressible text, ', 10)");
    let (_, b) = pages_of(&mut other);
    assert!(!b.windows(20).any(|w| w == b"compressible text, c"), "still fast with threshold 0");
}
