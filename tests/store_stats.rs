//! Statistics of the external tables (core/store/stats.rs, core/stats.rs): records and
//! bytes per table against a count made by hand from the written pages, the same numbers
//! before and after the pages are taken and after a reload, sizes that follow what is
//! stored, index entries; through the protocol, STATS_REPORT (op 29) and `ext.stats`.
#![cfg(feature = "persistence")]

use cu::codec::Level;
use cu::runtime::{Instance, Status};
use cu::store::pages::Compression;
use cu::store::stats::StoreStats;
use cu::store::{Key, NodeId, Store, Value, ROOT};

mod common;
use common::{call, encoding, lua_ok};

/// `Memory.users` (3 records, one with a long note, a unique hash index on `email` and a
/// B-tree on `age`), `Memory.log` (an array of 50 texts), `Memory.config.theme`, and at the
/// root a counter and a function blob.
fn sample(c: Compression) -> Store {
    let mut s = Store::new();
    s.compression = c;
    let users = s.make_path(&[Key::str(b"users")]).unwrap();
    for (i, name) in ["ann", "bob", "cyd"].iter().enumerate() {
        let r = s.new_node();
        s.fill(r, Key::str(b"name"), Value::Key(Key::str(name.as_bytes())));
        s.fill(r, Key::str(b"email"), Value::Key(Key::str(format!("{name}@example.com").as_bytes())));
        s.fill(r, Key::str(b"age"), Value::Key(Key::Int(30 + i as i64)));
        if i == 1 {
            s.fill(r, Key::str(b"note"), Value::Key(Key::str("bob writes long notes about his day. ".repeat(60).as_bytes())));
        }
        s.set(users, Key::str(name.as_bytes()), Some(Value::Table(r))).unwrap();
    }
    s.create_index(users, Key::str(b"email"), true, true).unwrap();
    s.create_index(users, Key::str(b"age"), false, false).unwrap();
    let log = s.make_path(&[Key::str(b"log")]).unwrap();
    for i in 1..=50 {
        s.set(log, Key::Int(i), Some(Value::Key(Key::str(format!("entry {i}: all went well").as_bytes())))).unwrap();
    }
    let config = s.make_path(&[Key::str(b"config")]).unwrap();
    s.set(config, Key::str(b"theme"), Some(Value::Key(Key::str(b"dark")))).unwrap();
    s.set(ROOT, Key::str(b"counter"), Some(Value::Key(Key::Int(7)))).unwrap();
    let f = s.blob(encoding("return function(x) return x + 1 end ".repeat(50).as_bytes()).into(), true);
    s.set(ROOT, Key::str(b"f"), Some(f)).unwrap();
    s.commit();
    s
}

/// Bytes of the records in the pages (each page: a 16-byte header, a u32 record count).
fn record_bytes(pages: &[(u64, Option<Vec<u8>>)]) -> u64 {
    pages.iter().filter_map(|p| p.1.as_ref()).map(|b| b.len() as u64 - 20).sum()
}

fn node(s: &Store, key: &str) -> NodeId {
    match s.get(ROOT, &Key::str(key.as_bytes())) {
        Some(Value::Table(n)) => *n,
        _ => panic!("{key}"),
    }
}

fn names(st: &StoreStats) -> Vec<Key> {
    st.tables.iter().map(|t| t.key.clone()).collect()
}

#[test]
fn stats_match_a_count_of_the_written_pages() {
    let c = Compression { level: Some(Level::Default), threshold: 256 };
    let mut s = sample(c);
    let before = s.stats(ROOT);
    let pages = s.take_pages();
    let after = s.stats(ROOT);
    let raw = record_bytes(&sample(Compression::OFF).take_pages());
    // Totals: every record, as stored and as it would be without compression.
    assert_eq!(after.total.stored, record_bytes(&pages));
    assert_eq!(after.total.raw, raw);
    assert!(after.total.stored * 2 < after.total.raw, "{:?}", after.total);
    // Measured fresh (pages not taken yet) and from what was written: the same.
    assert_eq!(format!("{before:?}"), format!("{after:?}"));
    // Per table, in key order; records are the table's own keys.
    assert_eq!(names(&after), ["config", "log", "users"].map(|k| Key::str(k.as_bytes())));
    let [config, log, users] = [&after.tables[0], &after.tables[1], &after.tables[2]];
    assert_eq!((config.sizes.records, log.sizes.records, users.sizes.records), (1, 50, 3));
    assert_eq!(after.total.records, 54);
    // A table's bytes: its record and those below it (users: 1 + 3 records).
    let mut solo = Store::new();
    solo.compression = Compression::OFF;
    let t = solo.make_path(&[Key::str(b"log")]).unwrap();
    for i in 1..=50 {
        solo.set(t, Key::Int(i), Some(Value::Key(Key::str(format!("entry {i}: all went well").as_bytes())))).unwrap();
    }
    solo.commit();
    let solo_pages = solo.take_pages();
    let root_record = solo.stats(ROOT).total.raw - solo.stats(ROOT).tables[0].sizes.raw;
    assert_eq!(log.sizes.raw, record_bytes(&solo_pages) - root_record);
    assert_eq!(log.sizes.stored, log.sizes.raw, "short texts stay raw");
    assert!(users.sizes.stored < users.sizes.raw / 2, "bob's note is deflated: {:?}", users.sizes);
    let sum: u64 = after.tables.iter().map(|t| t.sizes.raw).sum();
    assert!(sum < after.total.raw, "the root's own record (counter, f) counts in the total only");
    // Indices: entries and memory, in the table's order of indices.
    let ix: Vec<(Key, bool, bool, u64)> = users.indices.iter().map(|i| (i.field.clone(), i.hash, i.unique, i.entries)).collect();
    assert_eq!(ix, [(Key::str(b"email"), true, true, 3), (Key::str(b"age"), false, false, 3)]);
    assert!(users.indices.iter().all(|i| i.bytes > 0));
    assert_eq!(users.sizes.index_bytes, users.indices.iter().map(|i| i.bytes).sum::<u64>());
    assert_eq!(after.total.index_bytes, users.sizes.index_bytes);
    // The same numbers after a reload (sizes read back from the pages).
    let mut back = Store::new();
    back.compression = Compression::OFF;
    let list: Vec<(u64, &[u8])> = pages.iter().filter_map(|(n, b)| Some((*n, b.as_deref()?))).collect();
    back.load_pages(&list).unwrap();
    assert_eq!(format!("{:?}", back.stats(ROOT)), format!("{after:?}"));
}

#[test]
fn stored_bytes_follow_what_is_written() {
    let mut s = sample(Compression { level: Some(Level::Best), threshold: 100 });
    s.take_pages();
    let packed = s.stats(ROOT);
    // A new setting changes nothing until the pages are written again.
    s.compression = Compression::OFF;
    assert_eq!(format!("{:?}", s.stats(ROOT)), format!("{packed:?}"));
    // Touching bob's record rewrites its page: now stored raw.
    let users = node(&s, "users");
    let bob = match s.get(users, &Key::str(b"bob")) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    s.set(bob, Key::str(b"age"), Some(Value::Key(Key::Int(40)))).unwrap();
    s.commit();
    let fresh = s.stats(ROOT);
    s.take_pages();
    let written = s.stats(ROOT);
    assert_eq!(format!("{fresh:?}"), format!("{written:?}"));
    let u = |st: &StoreStats| st.tables[2].sizes;
    assert_eq!(u(&written).raw, u(&packed).raw);
    assert!(u(&written).stored > u(&packed).stored + 1500, "{:?} vs {:?}", u(&written), u(&packed));
    // A table listed on its own: the tables in it.
    let st = s.stats(users);
    assert_eq!(names(&st), ["ann", "bob", "cyd"].map(|k| Key::str(k.as_bytes())));
    assert_eq!(st.tables[0].sizes.records, 3);
    assert_eq!(st.total.records, 3 + 4 + 3);
}

/// A path request: `u8 n`, then n wire strings.
fn path(keys: &[&str]) -> Vec<u8> {
    let mut r = vec![keys.len() as u8];
    for k in keys {
        r.push(5);
        r.extend_from_slice(&(k.len() as u32).to_le_bytes());
        r.extend_from_slice(k.as_bytes());
    }
    r
}

#[test]
fn the_report_through_the_protocol_and_in_lua() {
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    lua_ok(&mut inst, "Memory.users = { a = { n = 1 }, b = { n = 2, bio = string.rep('about me. ', 300) } } Memory.n = 5
        ext.createIndex('users', 'n')");
    // Lua sees what JS sees: the same report (as a table), with the table names added.
    lua_ok(&mut inst, "local s = ext.stats()
        assert(s.records == 2 and #s.tables == 1 and s.tables[1].table == 'Memory.users' and s.tables[1].path[1] == 'users')
        local u = s.tables[1]
        assert(u.records == 2 and u.rawBytes > 3000 and u.storedBytes < u.rawBytes / 4 and u.ratio == u.rawBytes / u.storedBytes)
        assert(s.compressionRatio == s.rawBytes / s.storedBytes and s.rawBytes > u.rawBytes)
        local ix = u.indexes[1]
        assert(#u.indexes == 1 and ix.field == 'n' and ix.type == 'btree' and ix.unique == false and ix.entries == 2 and ix.bytes > 0)
        assert(u.indexBytes == ix.bytes and s.indexBytes == ix.bytes)
        assert(s.luaHeap.limit == 512 * 1024 and s.luaHeap.used > 0 and s.luaHeap.peak >= s.luaHeap.used)
        assert(s.heapSize == s.luaHeap.limit and s.heapUsed > 0 and s.lastInstructions >= 0)
        assert(s.moduleMemory.heapUsed == s.moduleHeapUsed)
        assert(s.compression.level == 'default' and s.compression.threshold == 1024)
        local t = ext.stats('users')
        assert(#t.tables == 2 and t.tables[2].table == 'Memory.users.b' and t.records == 3, #t.tables .. tostring(t.tables[2].table) .. t.records)
        assert(#ext.stats(Memory.users.a).tables == 0)
        local e = ext.stats('nothing here')
        assert(#e.tables == 0 and e.records == 0 and e.compressionRatio == 1, e.rawBytes .. ' ' .. e.storedBytes)");
    lua_ok(&mut inst, "local ok, e = pcall(ext.stats, 'n') assert(not ok and e:find('not a table'), e)
        local ok2, e2 = pcall(ext.stats, 42) assert(not ok2, e2)
        local gone = ext.table('gone') Memory.gone = nil
        local ok3, e3 = pcall(ext.stats, gone) assert(not ok3 and e3:find('deleted'), e3)");
    // The setting as the report names it.
    for (code, name) in [(0u8, "off"), (1, "fast"), (3, "best"), (2, "default")] {
        let req = [&[code][..], &7u32.to_le_bytes()].concat();
        assert_eq!(call(&mut inst, cu::store_ops::OP_SET_COMPRESSION, &req).0, Status::Ok);
        lua_ok(&mut inst, &format!("local c = ext.stats().compression assert(c.level == '{name}' and c.threshold == 7, c.level)"));
    }
    // STATS_REPORT: one map; a path through a value is NOT_A_TABLE; a missing table has none.
    let (s, r) = call(&mut inst, cu::stats_report::OP_STATS_REPORT, &path(&[]));
    assert_eq!(s, Status::Ok);
    assert_eq!((&r[..4], r[4]), (&1u32.to_le_bytes()[..], 7));
    assert_eq!(call(&mut inst, 29, &path(&["n"])).0, Status::NotATable);
    assert_eq!(call(&mut inst, 29, &path(&["users", "zz"])).0, Status::Ok);
    assert_eq!(call(&mut inst, 29, &[1]).0, Status::BadArgument);
    assert_eq!(call(&mut inst, 29, &[&path(&[])[..], &[0]].concat()).0, Status::BadArgument);
    lua_ok(&mut inst, "assert(Memory.n == 5)");
}
