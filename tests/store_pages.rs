//! Storage pages (core/store/pages.rs): random sequences of writes, deletes, index changes,
//! rollbacks and commits, with the changed pages written after every commit into a model
//! "disk"; loading the disk into a fresh store must give the same tables, values and
//! indices, whatever the compression setting of each write. Also: a batch of new records
//! touches few pages; damaged pages are refused (never a panic, and the store stays
//! usable); and, through the protocol, a closure with upvalues and an index survive a save
//! in one instance and a load in another. Compression settings: store_compression.rs.
#![cfg(feature = "persistence")]

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};
use cu::store::{Key, NodeId, Store, StoreError, Value, ROOT};
use std::collections::BTreeMap;

mod common;
use common::{adler32, encoding, take_pages_request, Rng};
use cu::codec::Level;
use cu::store::pages::Compression;

/// A canonical text of a table and everything below it (entries in key order).
fn dump(s: &Store, node: NodeId) -> String {
    let n = s.node(node).unwrap();
    let mut entries: Vec<(Vec<u8>, String)> = n
        .map
        .iter()
        .map(|(k, v)| {
            let mut e = Vec::new();
            k.encode(&mut e);
            let v = match v {
                Value::Key(Key::Float(f)) => format!("f{:x}", f.to_bits()),
                Value::Key(k) => format!("{k:?}"),
                Value::Table(c) => format!("{{{}}}", dump(s, *c)),
                Value::Blob(b) => format!("blob{}:{:?}", b.func, b.bytes),
            };
            (e, v)
        })
        .collect();
    entries.sort();
    let mut ix: Vec<String> = n.indices.iter().map(|i| format!("{:?}/{}/{}", i.field, i.is_hash(), i.unique)).collect();
    ix.sort();
    format!("{entries:?} ix{ix:?} len{}", s.border(node))
}

/// `dump` of both roots: `Memory` and the system area.
fn dump_all(s: &Store) -> String {
    format!("{} sys{:?}", dump(s, ROOT), s.system_root_if_any().map(|n| dump(s, n)))
}

fn write(disk: &mut BTreeMap<u64, Vec<u8>>, pages: Vec<(u64, Option<Vec<u8>>)>) -> usize {
    let n = pages.len();
    for (p, b) in pages {
        match b {
            Some(b) => disk.insert(p, b),
            None => disk.remove(&p),
        };
    }
    n
}

fn load(disk: &BTreeMap<u64, Vec<u8>>) -> Result<Store, StoreError> {
    let mut s = Store::new();
    let pages: Vec<(u64, &[u8])> = disk.iter().map(|(p, b)| (*p, &b[..])).collect();
    s.load_pages(&pages)?;
    Ok(s)
}

fn rand_key(rng: &mut Rng) -> Key {
    match rng.below(6) {
        0..=2 => Key::str(format!("k{}", rng.below(12)).as_bytes()),
        3 => Key::str(format!("a key longer than fourteen bytes {}", rng.below(3)).as_bytes()),
        4 => Key::Int(rng.below(8) as i64 + 1),
        _ => Key::Float(0.5 + rng.below(3) as f64),
    }
}

fn rand_value(s: &mut Store, rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Key(Key::Int(rng.below(100) as i64 - 50)),
        1 => Value::Key(Key::Float([1.5, -0.0, f64::NAN, 2.0][rng.index(4)])),
        2 => Value::Key(Key::str(b"some text")),
        3 => Value::Key(Key::Bool(rng.below(2) == 1)),
        4 if rng.below(4) == 0 => Value::Key(Key::str(format!("{} long and repetitive ", rng.below(9)).repeat(100 + rng.index(200)).as_bytes())),
        4 => Value::Key(Key::str(&vec![b'x'; rng.index(40)])),
        5 if rng.below(3) == 0 => s.blob(encoding(format!("{} a compressible body ", rng.below(9)).repeat(rng.index(100)).as_bytes()).into(), rng.below(2) == 1),
        5 => s.blob(vec![rng.below(256) as u8; rng.index(20)].into(), rng.below(2) == 1),
        _ => {
            let n = s.new_node();
            for _ in 0..rng.below(5) {
                let k = rand_key(rng);
                let v = rand_value(s, rng, depth + 1);
                s.fill(n, k, v);
            }
            Value::Table(n)
        }
    }
}

/// Some table of the store (the root or one below it).
fn rand_table(s: &Store, rng: &mut Rng) -> NodeId {
    let mut at = ROOT;
    for _ in 0..rng.below(4) {
        let kids: Vec<NodeId> = s.node(at).unwrap().map.iter().filter_map(|(_, v)| if let Value::Table(c) = v { Some(*c) } else { None }).collect();
        if kids.is_empty() {
            break;
        }
        at = kids[rng.index(kids.len())];
    }
    at
}

#[test]
fn loading_the_written_pages_gives_the_same_store() {
    for seed in 0..10u64 {
        let mut rng = Rng(100 + seed);
        let mut s = Store::new();
        let mut disk = BTreeMap::new();
        for step in 0..300 {
            let t = if rng.below(5) == 0 { s.system_table(b"area", true).unwrap() } else { rand_table(&s, &mut rng) };
            match rng.below(10) {
                0..=5 => {
                    let v = rand_value(&mut s, &mut rng, 0);
                    let _ = s.set(t, rand_key(&mut rng), Some(v));
                }
                6 => {
                    let _ = s.set(t, rand_key(&mut rng), None);
                }
                7 => {
                    let _ = s.create_index(t, Key::str([&b"k1"[..], b"k2"][rng.index(2)]), rng.below(2) == 1, rng.below(3) == 0);
                }
                8 => {
                    s.drop_index(t, &Key::str(b"k1"));
                }
                _ => s.rollback(),
            }
            if rng.below(3) == 0 {
                s.commit();
                // Pages written under any setting load the same (loading needs none).
                let level = [None, Some(Level::Fast), Some(Level::Default), Some(Level::Best)][rng.index(4)];
                s.compression = Compression { level, threshold: [0, 100, 1024][rng.index(3)] };
                write(&mut disk, s.take_pages());
                let loaded = load(&disk).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e:?}"));
                loaded.check_invariants().unwrap();
                assert_eq!(dump_all(&loaded), dump_all(&s), "seed {seed} step {step}");
            }
        }
    }
}

#[test]
fn a_batch_of_new_records_writes_few_pages() {
    let mut s = Store::new();
    let users = s.make_path(&[Key::str(b"users")]).unwrap();
    s.commit();
    s.take_pages();
    for i in 0..1000 {
        let r = s.new_node();
        s.fill(r, Key::str(b"age"), Value::Key(Key::Int(i)));
        s.set(users, Key::str(format!("u{i}").as_bytes()), Some(Value::Table(r))).unwrap();
    }
    s.commit();
    let pages = s.take_pages();
    // 1,000 records in pages of 64, plus the page of `users`.
    assert!(pages.len() <= 1000 / 64 + 3, "{} pages", pages.len());
    // Changing one field rewrites one page.
    let u5 = match s.get(users, &Key::str(b"u5")) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    s.set(u5, Key::str(b"age"), Some(Value::Key(Key::Int(99)))).unwrap();
    s.commit();
    assert_eq!(s.take_pages().len(), 1);
}

#[test]
fn long_strings_are_stored_deflated() {
    let mut s = Store::new();
    let text = "a long text that compresses well ".repeat(300);
    s.set(ROOT, Key::str(b"doc"), Some(Value::Key(Key::str(text.as_bytes())))).unwrap();
    s.commit();
    let mut disk = BTreeMap::new();
    write(&mut disk, s.take_pages());
    let size: usize = disk.values().map(|b| b.len()).sum();
    assert!(size < text.len() / 4, "{size} bytes for a {}-byte string", text.len());
    let l = load(&disk).unwrap();
    assert_eq!(dump(&l, ROOT), dump(&s, ROOT));
}

#[test]
fn damaged_pages_are_refused() {
    let mut s = Store::new();
    let users = s.make_path(&[Key::str(b"users")]).unwrap();
    for i in 0..200 {
        let r = s.new_node();
        s.fill(r, Key::str(b"n"), Value::Key(Key::Int(i)));
        s.set(users, Key::Int(i), Some(Value::Table(r))).unwrap();
    }
    s.create_index(users, Key::str(b"n"), false, true).unwrap();
    s.set(ROOT, Key::str(b"doc"), Some(Value::Key(Key::str("a long text that compresses well ".repeat(200).as_bytes())))).unwrap();
    let area = s.system_table(b"area", true).unwrap();
    let t = s.new_node();
    s.fill(t, Key::str(b"version"), Value::Key(Key::Int(3)));
    s.set(area, Key::str(b"users"), Some(Value::Table(t))).unwrap();
    // A blob stored deflated: damage reaches its inflater too.
    let f = s.blob(encoding("a function body that compresses ".repeat(100).as_bytes()).into(), true);
    s.set(ROOT, Key::str(b"f"), Some(f)).unwrap();
    s.commit();
    let mut disk = BTreeMap::new();
    write(&mut disk, s.take_pages());
    assert!(!disk.values().any(|p| p.windows(20).any(|w| w == b"a function body that")), "the blob is deflated");
    assert_eq!(dump_all(&load(&disk).unwrap()), dump_all(&s));
    let mut rng = Rng(7);
    let mut refused = 0;
    for _ in 0..3000 {
        let mut bad = disk.clone();
        let p = *bad.keys().nth(rng.index(bad.len())).unwrap();
        let b = bad.get_mut(&p).unwrap();
        match rng.below(4) {
            0 => {
                let i = rng.index(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.truncate(rng.index(b.len())),
            2 => {
                bad.remove(&p);
            }
            _ => {
                // A damaged body with a matching checksum: only the structure checks can tell.
                let i = 16 + rng.index(b.len() - 16);
                b[i] = rng.below(256) as u8;
                let sum = adler32(&b[16..]);
                b[8..12].copy_from_slice(&sum.to_le_bytes());
            }
        }
        match load(&bad) {
            Ok(l) => l.check_invariants().unwrap(),
            Err(e) => {
                assert_eq!(e, StoreError::Corrupt);
                refused += 1;
            }
        }
    }
    assert!(refused > 1500, "only {refused} refused");
    // A store that refused pages is empty and works.
    let mut t = Store::new();
    t.set(ROOT, Key::str(b"x"), Some(Value::Key(Key::Int(1)))).unwrap();
    assert_eq!(t.load_pages(&[(0, &b"junk"[..])]), Err(StoreError::Corrupt));
    assert!(t.get(ROOT, &Key::str(b"x")).is_none());
    t.set(ROOT, Key::str(b"y"), Some(Value::Key(Key::Int(2)))).unwrap();
    t.check_invariants().unwrap();
}

fn compute(inst: &mut Instance, src: &str) -> (Status, Vec<u8>) {
    let mut req = vec![0u8, 2, 0];
    req.extend_from_slice(b"=t");
    req.extend_from_slice(src.as_bytes());
    let mut reply = Vec::new();
    let s = dispatch(inst, 1, &req, &mut reply);
    (s, reply)
}

#[test]
fn a_closure_and_an_index_survive_a_save_and_a_load() {
    let mut a = Instance::new(0, 0, [1, 2]).unwrap();
    let ok = |inst: &mut Instance, src: &str| {
        let (s, r) = compute(inst, src);
        assert_eq!(s, Status::Ok, "{src}: {}", String::from_utf8_lossy(&r));
    };
    ok(&mut a, "local n = 0 Memory.counter = function() n = n + 1 return n end");
    ok(&mut a, "assert(Memory.counter() == 1 and Memory.counter() == 2)");
    ok(&mut a, "local u = ext.table('users') for i = 1, 300 do u['u' .. i] = { age = i % 50 } end ext.createIndex(u, 'age')");
    let req = take_pages_request(&mut a);
    let mut reply = Vec::new();
    let mut b = Instance::new(0, 0, [3, 4]).unwrap();
    ok(&mut b, "Memory.stale = 1");
    assert_eq!(dispatch(&mut b, cu::store_ops::OP_LOAD_PAGES, &req, &mut reply), Status::Ok);
    ok(&mut b, "assert(Memory.stale == nil and Memory.counter() == 3 and Memory.counter() == 4)");
    ok(&mut b, "local plan = ext.query('users', { field = 'age', op = '=', value = 7, explain = true }) assert(plan.type == 'btree')");
    ok(&mut b, "assert(#ext.query('users', { field = 'age', op = '=', value = 7 }) == 6)");
    // Damaged pages: BAD_DATA, and the instance keeps working.
    let mut bad = req.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(dispatch(&mut b, cu::store_ops::OP_LOAD_PAGES, &bad, &mut reply), Status::BadData);
    ok(&mut b, "Memory.x = 1 assert(Memory.x == 1)");
}

/// The Lua checks of the golden v1 database (tests/fixtures/pages/make-v1.mjs made it).
const V1_CHECKS: &str = include_str!("fixtures/pages/v1-checks.lua");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages").join(name)).unwrap()
}

#[test]
fn the_golden_v1_database_opens_with_every_value() {
    let req = fixture("v1.bin");
    let mut inst = Instance::new(0, 0, [5, 6]).unwrap();
    let mut reply = Vec::new();
    assert_eq!(dispatch(&mut inst, cu::store_ops::OP_LOAD_PAGES, &req, &mut reply), Status::Ok);
    // Loading format 1 marks every page: the next save writes them all as version 2.
    let pages = take_pages_request(&mut inst);
    assert_eq!(pages_of(&pages).len(), pages_of(&req).len());
    assert!(pages_of(&req).iter().all(|(_, b)| b[4] == 1) && pages_of(&pages).iter().all(|(_, b)| b[4] == 2));
    assert!(pages_of(&take_pages_request(&mut inst)).is_empty(), "taken once");
    let (s, r) = compute(&mut inst, V1_CHECKS);
    assert_eq!(s, Status::Ok, "{}", String::from_utf8_lossy(&r));
    inst.check_store().unwrap();
    // The upgraded pages open (as version 2 now: nothing more to write) with every value.
    let mut b = Instance::new(0, 0, [7, 8]).unwrap();
    assert_eq!(dispatch(&mut b, cu::store_ops::OP_LOAD_PAGES, &pages, &mut reply), Status::Ok);
    assert!(pages_of(&take_pages_request(&mut b)).is_empty());
    let (s, r) = compute(&mut b, V1_CHECKS);
    assert_eq!(s, Status::Ok, "{}", String::from_utf8_lossy(&r));
}


/// The pages of a LOAD_PAGES request.
fn pages_of(req: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut p = 4;
    for _ in 0..u32::from_le_bytes(req[..4].try_into().unwrap()) {
        let page = u64::from_le_bytes(req[p..p + 8].try_into().unwrap());
        let len = u32::from_le_bytes(req[p + 8..p + 12].try_into().unwrap()) as usize;
        out.push((page, req[p + 12..p + 12 + len].to_vec()));
        p += 12 + len;
    }
    out
}

#[test]
fn versions_other_than_1_and_2_are_refused_and_version_1_has_no_system_area() {
    let mut s = Store::new();
    s.set(ROOT, Key::str(b"a"), Some(Value::Key(Key::Int(1)))).unwrap();
    let area = s.system_table(b"area", true).unwrap();
    s.set(area, Key::str(b"b"), Some(Value::Key(Key::Int(2)))).unwrap();
    s.commit();
    let mut disk = BTreeMap::new();
    write(&mut disk, s.take_pages());
    assert_eq!(dump_all(&load(&disk).unwrap()), dump_all(&s));
    for v in [0u8, 1, 3, 255] {
        let mut bad = disk.clone();
        bad.values_mut().for_each(|b| b[4] = v);
        assert_eq!(load(&bad).err(), Some(StoreError::Corrupt), "version {v}");
    }
    // Without the system area, the same pages as version 1 are fine.
    let mut t = Store::new();
    t.set(ROOT, Key::str(b"a"), Some(Value::Key(Key::Int(1)))).unwrap();
    t.commit();
    let mut disk = BTreeMap::new();
    write(&mut disk, t.take_pages());
    disk.values_mut().for_each(|b| b[4] = 1);
    let mut l = load(&disk).unwrap();
    assert_eq!(dump_all(&l), dump_all(&t));
    assert_eq!(l.take_pages().len(), 1, "the upgrade rewrites the page");
}
