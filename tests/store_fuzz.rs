//! Hostile requests for the external-table ops (9–20) and the schema and migration ops
//! (23–27): valid requests of every op, mutated at random (bytes flipped, cut, repeated), go
//! through `dispatch`. None may panic or break the store's invariants, and the instance
//! keeps answering. Seeded; a plain `cargo test` runs 20,000 mutants.
#![cfg(feature = "persistence")]

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};

mod common;
use common::Rng;

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(5);
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// The start of a map of `n` pairs.
fn map(out: &mut Vec<u8>, n: u32) {
    out.push(7);
    out.extend_from_slice(&n.to_le_bytes());
}

fn int(out: &mut Vec<u8>, i: i64) {
    out.push(3);
    out.extend_from_slice(&i.to_le_bytes());
}

fn path(out: &mut Vec<u8>, p: &[&[u8]]) {
    out.push(p.len() as u8);
    for s in p {
        string(out, s);
    }
}

fn record(out: &mut Vec<u8>, age: i64) {
    out.push(7);
    out.extend_from_slice(&3u32.to_le_bytes());
    string(out, b"age");
    int(out, age);
    string(out, b"name");
    string(out, b"a name long enough to be on the heap");
    string(out, b"tags");
    out.push(6);
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&[1, 2]);
}

/// One valid request of each op, as (op, bytes).
fn seeds() -> Vec<(u32, Vec<u8>)> {
    let mut v = Vec::new();
    let mut r = Vec::new();
    path(&mut r, &[b"users"]);
    string(&mut r, b"u1");
    record(&mut r, 30);
    v.push((10, r));
    for op in [9, 11] {
        let mut r = Vec::new();
        path(&mut r, &[b"users"]);
        string(&mut r, b"u1");
        v.push((op, r));
    }
    for op in [12, 13, 20] {
        let mut r = Vec::new();
        path(&mut r, &[b"users"]);
        v.push((op, r));
    }
    v.push((14, Vec::new()));
    v.push((16, Vec::new()));
    let mut r = vec![7u8];
    r.extend_from_slice(&3u32.to_le_bytes());
    for (k, key) in [(1u8, &b"u2"[..]), (3, b"u1"), (2, b"u2")] {
        r.push(k);
        path(&mut r, &[b"users"]);
        string(&mut r, key);
        if k != 2 {
            record(&mut r, 5);
        }
    }
    v.push((15, r));
    let mut r = Vec::new();
    path(&mut r, &[b"users"]);
    path(&mut r, &[b"age"]);
    r.extend_from_slice(&[1, 1]);
    v.push((17, r.clone()));
    r.truncate(r.len() - 2);
    v.push((18, r));
    let mut q = Vec::new();
    path(&mut q, &[b"users"]);
    q.push(2 | 8 | 16);
    q.extend_from_slice(&10u32.to_le_bytes());
    q.extend_from_slice(&0u32.to_le_bytes());
    path(&mut q, &[b"name"]);
    string(&mut q, &[3, 0x80, 0, 0, 0, 0, 0, 0, 30, 0x80, 0, 4, b'u', 0, 0]);
    q.push(2);
    path(&mut q, &[b"age"]);
    q.push(7);
    q.push(6);
    q.extend_from_slice(&2u32.to_le_bytes());
    int(&mut q, 1);
    int(&mut q, 40);
    path(&mut q, &[b"tags"]);
    q.push(9);
    int(&mut q, 1);
    v.push((19, q));
    // Records for the migrations below.
    for key in [&b"m1"[..], b"m2", b"m3"] {
        let mut r = Vec::new();
        path(&mut r, &[b"users"]);
        string(&mut r, key);
        record(&mut r, 7);
        v.push((10, r));
    }
    // DEFINE_SCHEMA, SCHEMA, VALIDATE_TABLE, MIGRATE (first chunk, next, rollback), MIGRATE_ABORT
    let mut r = Vec::new();
    path(&mut r, &[b"users"]);
    map(&mut r, 2);
    string(&mut r, b"type");
    string(&mut r, b"table");
    string(&mut r, b"fields");
    map(&mut r, 2);
    string(&mut r, b"age");
    map(&mut r, 2);
    for s in [&b"type"[..], b"integer", b"min"] {
        string(&mut r, s);
    }
    int(&mut r, 0);
    string(&mut r, b"name");
    map(&mut r, 2);
    for s in [&b"pattern"[..], b"^a[%w ]+", b"default", b"a1"] {
        string(&mut r, s);
    }
    v.push((23, r));
    for op in [24, 25] {
        let mut r = Vec::new();
        path(&mut r, &[b"users"]);
        v.push((op, r));
    }
    let mut r = vec![1u8];
    r.extend_from_slice(&1u32.to_le_bytes());
    path(&mut r, &[b"users"]);
    int(&mut r, 2);
    string(&mut r, b"function(r) r.age = (r.age or 0) + 1 return r end");
    string(&mut r, b"function(r) r.age = r.age - 1 return r end");
    r.push(0);
    v.push((26, r));
    v.push((26, [0u8, 5, 0, 0, 0].to_vec()));
    let mut r = vec![3u8];
    r.extend_from_slice(&100u32.to_le_bytes());
    path(&mut r, &[b"users"]);
    v.push((26, r));
    v.push((27, Vec::new()));
    v
}

#[test]
fn mutated_requests_never_break_the_store() {
    let mut inst = Instance::new(0, 0, [5, 6]).unwrap();
    let mut rng = Rng(42);
    let mut reply = Vec::new();
    let seeds = seeds();
    for (op, r) in &seeds {
        let s = dispatch(&mut inst, *op, r, &mut reply);
        assert!(matches!(s, Status::Ok), "seed op {op}: {s:?} {}", String::from_utf8_lossy(&reply));
    }
    let mut ok = 0;
    for i in 0..20_000 {
        let (op, seed) = &seeds[rng.index(seeds.len())];
        let mut r = seed.clone();
        for _ in 0..=rng.below(4) {
            match rng.below(5) {
                0 if !r.is_empty() => {
                    let at = rng.index(r.len());
                    r[at] = rng.next() as u8;
                }
                1 if !r.is_empty() => {
                    let at = rng.index(r.len());
                    r[at] ^= 1 << rng.below(8);
                }
                2 => r.truncate(rng.index(r.len() + 1)),
                3 if !r.is_empty() => {
                    let at = rng.index(r.len());
                    let n = rng.index(8).min(r.len() - at);
                    let piece = r[at..at + n].to_vec();
                    r.splice(at..at, piece);
                }
                _ => r.push(rng.next() as u8),
            }
        }
        let s = dispatch(&mut inst, *op, &r, &mut reply);
        if s == Status::Ok {
            ok += 1;
        }
        inst.check_store().unwrap_or_else(|e| panic!("mutant {i} of op {op}: {e}"));
    }
    assert!(ok > 1000, "only {ok} mutants were accepted: the mutations are too coarse");
    let mut reply = Vec::new();
    let req = [&[0u8, 2, 0][..], b"=t", b"return ext.count('users') >= 0"].concat();
    assert_eq!(dispatch(&mut inst, 1, &req, &mut reply), Status::Ok);
}
