//! External tables from Lua (core/store_lua.rs) and through the protocol (core/store_ops.rs),
//! on the host: `Memory` at any depth, the table library and `next`/`pairs`/`ipairs`/`#`
//! through metamethods, copies in, functions and closures as blobs whose upvalue changes
//! persist, one transaction per call (rollback on error), `ext.query`/`ext.createIndex`,
//! the change set, the batch engine (atomic, not atomic, chunks, abort) and queries.
#![cfg(feature = "persistence")]

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};
use cu::store_ops::*;

mod common;
use common::{fails, ok};

fn new() -> Box<Instance> {
    Instance::new(0, 0, [3, 4]).unwrap()
}





#[test]
fn memory_behaves_like_a_table() {
    let mut a = new();
    ok(&mut a, "Memory.users = { u1 = { name = 'Ann', age = 30, tags = { 'a', 'b' } } }");
    ok(&mut a, "Memory.users.u1.age = 31 assert(Memory.users.u1.age == 31 and _home.users.u1.name == 'Ann')");
    ok(&mut a, "assert(Memory.users == Memory.users and Memory.users.u1 == ext.table('users').u1)");
    ok(&mut a, "assert(ext.table('Memory.users.u1') == Memory.users.u1 and type(Memory.users) == 'table')");
    ok(&mut a, r#"
        local t = Memory.users.u1.tags
        assert(#t == 2 and t[1] == 'a')
        table.insert(t, 'c') table.insert(t, 1, 'z')
        assert(table.concat(t, ',') == 'z,a,b,c')
        table.sort(t) assert(table.concat(t, ',') == 'a,b,c,z')
        assert(table.remove(t) == 'z' and #t == 3)
        local n = 0 for i, v in ipairs(t) do n = n + i end assert(n == 6)
        local keys = {} for k, v in pairs(Memory.users.u1) do keys[#keys + 1] = k end
        table.sort(keys) assert(table.concat(keys, ',') == 'age,name,tags')
        local k, v = next(Memory.users) assert(k == 'u1' and v == Memory.users.u1)
        assert(next(Memory.users, 'u1') == nil and next({}) == nil)
        assert(ext.count('users') == 1 and ext.keys('users.u1')[1] == 'age')"#);
    // Copies in: changing the source later does not reach the store.
    ok(&mut a, "local src = { x = 1 } Memory.c = src src.x = 2 assert(Memory.c.x == 1) Memory.d = Memory.c Memory.d.x = 3 assert(Memory.c.x == 1)");
    // Values keep their types; keys normalize as in Lua.
    ok(&mut a, "Memory.v = { f = 1.0, i = 1, s = 'x\\0y', b = false, nan = 0/0 } local v = Memory.v
        assert(math.type(v.f) == 'float' and math.type(v.i) == 'integer' and v.s == 'x\\0y' and v.b == false and v.nan ~= v.nan)
        Memory.v[2.0] = 'two' assert(Memory.v[2] == 'two')");
    fails(&mut a, "Memory[0/0] = 1", Status::LuaRuntime, "keys are booleans, numbers");
    fails(&mut a, "Memory[{}] = 1", Status::LuaRuntime, "keys are booleans, numbers");
    fails(&mut a, "Memory.x.y = 1", Status::LuaRuntime, "attempt to index");
    fails(&mut a, "Memory.h = io.stdout", Status::LuaRuntime, "Memory.h");
    // A deleted table's proxy reads nil and refuses writes.
    fails(&mut a, "local u = Memory.users.u1 Memory.users.u1 = nil assert(u.name == nil) u.name = 'x'", Status::LuaRuntime, "deleted");
}

#[test]
fn functions_closures_and_blobs() {
    let mut a = new();
    ok(&mut a, "local n = 0 Memory.counter = function() n = n + 1 return n end");
    ok(&mut a, "assert(Memory.counter() == 1 and Memory.counter() == 2)");
    ok(&mut a, "assert(Memory.counter() == 3)");
    // A failed call rolls the upvalue change back with everything else.
    fails(&mut a, "Memory.counter() error('boom')", Status::LuaRuntime, "boom");
    ok(&mut a, "assert(Memory.counter() == 4)");
    // Tables with metatables, cycles and table keys go in whole, through the codec.
    ok(&mut a, "Memory.m = setmetatable({}, { __index = function(_, k) return k .. '!' end }) assert(Memory.m.hi == 'hi!')");
    ok(&mut a, "local t = { name = 'loop' } t.self = t Memory.cyc = t assert(Memory.cyc.self.self.name == 'loop')");
    ok(&mut a, "Memory.tk = { [{}] = 1, [math.sin] = 2 } local n = 0 for k, v in pairs(Memory.tk) do n = n + v end assert(n == 3)");
    ok(&mut a, "Memory.rec = { onSave = function(r) return r.x * 2 end, x = 21 } assert(Memory.rec.onSave(Memory.rec) == 42)");
}

#[test]
fn a_failed_call_rolls_back_its_changes() {
    let mut a = new();
    ok(&mut a, "Memory.users = { u1 = { age = 30 } } ext.createIndex('users', 'age', 'btree')");
    fails(&mut a, "Memory.users.u1.age = 31 Memory.users.u2 = { age = 5 } Memory.other = 1 ext.dropIndex('users', 'age') error('no')", Status::LuaRuntime, "no");
    ok(&mut a, "assert(Memory.users.u1.age == 30 and Memory.users.u2 == nil and Memory.other == nil)");
    ok(&mut a, "local r = ext.query('users', { field = 'age', op = '=', value = 30, explain = true }) assert(r.type == 'btree' and r.index == 'age')");
    // pcall inside the call does not undo: only the call's outcome counts.
    ok(&mut a, "pcall(function() Memory.p = 1 error('x') end) assert(Memory.p == 1)");
    ok(&mut a, "assert(Memory.p == 1)");
}

#[test]
fn lua_queries_and_unique_indices() {
    let mut a = new();
    ok(&mut a, r#"
        local users = ext.table('users')
        for i = 1, 50 do users['u' .. i] = { age = i % 10, name = 'n' .. i, email = 'e' .. i } end
        ext.createIndex('users', 'age', 'btree')
        ext.createIndex(users, 'email', 'hash', { unique = true })
        local rows, cursor = ext.query('users', { field = 'age', op = '>=', value = 8, limit = 4, order = 'desc' })
        assert(#rows == 4 and rows[1].value.age == 9 and rows[1].key == 'u9' and cursor)
        local more = ext.query('users', { field = 'age', op = '>=', value = 8, limit = 100, order = 'desc', cursor = cursor })
        assert(#more == 6, #more)
        assert(ext.query('users', { where = { { field = 'age', op = 'between', value = { 2, 3 } },
                                             { field = 'name', op = 'startsWith', value = 'n1' } }, count = true }) == 2)
        assert(ext.query('users', { field = 'email', op = 'in', value = { 'e1', 'e2', 'x' }, explain = true }).type == 'hash')
        assert(#ext.query('users', { field = 'name', op = 'contains', value = '4' }) == 14)
        assert(#ext.query('users', { field = 'age', op = '!=', value = 1 }) == 45)"#);
    fails(&mut a, "Memory.users.u1.email = 'e2'", Status::LuaRuntime, "unique index");
    fails(&mut a, "Memory.users.zz = { email = 'e3' }", Status::LuaRuntime, "unique index");
    fails(&mut a, "ext.query('users', { field = 'age', op = '~~', value = 1 })", Status::LuaRuntime, "unknown operator");
    ok(&mut a, "assert(Memory.users.u1.email == 'e1' and Memory.users.zz == nil)");
}

// ---------------------------------------------------------------- protocol

fn path(out: &mut Vec<u8>, keys: &[&str]) {
    out.push(keys.len() as u8);
    for k in keys {
        string(out, k);
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.push(5);
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn int(out: &mut Vec<u8>, i: i64) {
    out.push(3);
    out.extend_from_slice(&i.to_le_bytes());
}

/// `{ age = n }` as a wire map.
fn record(out: &mut Vec<u8>, age: i64) {
    out.push(7);
    out.extend_from_slice(&1u32.to_le_bytes());
    string(out, "age");
    int(out, age);
}

fn op(inst: &mut Instance, op: u32, req: &[u8]) -> (Status, Vec<u8>) {
    let mut reply = Vec::new();
    let s = dispatch(inst, op, req, &mut reply);
    (s, reply)
}

/// A batch op: 1 set, 2 get, 3 update, 4 delete.
fn batch_op(out: &mut Vec<u8>, kind: u8, key: &str, age: Option<i64>) {
    out.push(kind);
    path(out, &["users"]);
    string(out, key);
    if let Some(a) = age {
        record(out, a);
    }
}

fn batch(flags: u8, ops: &[(u8, &str, Option<i64>)]) -> Vec<u8> {
    let mut r = vec![flags];
    r.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for &(k, key, age) in ops {
        batch_op(&mut r, k, key, age);
    }
    r
}

#[test]
fn get_set_delete_keys_count_and_changes() {
    let mut a = new();
    let mut req = Vec::new();
    path(&mut req, &["users", "u1"]);
    string(&mut req, "age");
    int(&mut req, 30);
    assert_eq!(op(&mut a, OP_STORE_SET, &req).0, Status::Ok);
    ok(&mut a, "assert(Memory.users.u1.age == 30)");
    let mut req = Vec::new();
    path(&mut req, &["users", "u1"]);
    string(&mut req, "age");
    assert_eq!(op(&mut a, OP_STORE_GET, &req).1, [&1u32.to_le_bytes()[..], &[3], &30i64.to_le_bytes()].concat());
    let mut req = Vec::new();
    path(&mut req, &["users"]);
    assert_eq!(op(&mut a, OP_STORE_COUNT, &req).1, [&1u32.to_le_bytes()[..], &[3], &1i64.to_le_bytes()].concat());
    // Through a value that is not a table.
    let mut req = Vec::new();
    path(&mut req, &["users", "u1", "age"]);
    string(&mut req, "x");
    int(&mut req, 1);
    assert_eq!(op(&mut a, OP_STORE_SET, &req).0, Status::NotATable);
    // Truncated and trailing requests are bad arguments, and change nothing.
    assert_eq!(op(&mut a, OP_STORE_SET, &req[..req.len() - 3]).0, Status::BadArgument);
    let mut long = req.clone();
    long.push(0);
    assert_eq!(op(&mut a, OP_STORE_GET, &long).0, Status::BadArgument);
    let (s, changes) = op(&mut a, OP_TAKE_CHANGES, &[]);
    assert_eq!(s, Status::Ok);
    // Memory.users and users.u1 (created by the path), u1.age; the Lua assertion changed nothing.
    assert_eq!(u32::from_le_bytes(changes[..4].try_into().unwrap()), 12);
    assert_eq!(op(&mut a, OP_TAKE_CHANGES, &[]).1, 0u32.to_le_bytes());
    let mut req = Vec::new();
    path(&mut req, &["users"]);
    string(&mut req, "u1");
    assert_eq!(op(&mut a, OP_STORE_DELETE, &req).1, [&1u32.to_le_bytes()[..], &[2]].concat());
    assert_eq!(op(&mut a, OP_STORE_DELETE, &req).1, [&1u32.to_le_bytes()[..], &[1]].concat());
}

#[test]
fn batches_are_atomic_or_not_and_chunked() {
    let mut a = new();
    let idx = {
        let mut r = Vec::new();
        path(&mut r, &["users"]);
        r.extend_from_slice(&[1, 5, 3, 0, 0, 0, b'a', b'g', b'e', 2, 1]);
        r
    };
    assert_eq!(op(&mut a, OP_CREATE_INDEX, &idx).0, Status::Ok, "unique hash index on age");
    // Atomic: the unique violation of op 2 and the update of a missing key (op 3) roll all back.
    let req = batch(BATCH_ATOMIC | BATCH_FIRST | BATCH_LAST, &[(1, "u1", Some(30)), (1, "u2", Some(30)), (3, "nope", Some(1)), (2, "u1", None)]);
    let (s, r) = op(&mut a, OP_BATCH, &req);
    assert_eq!(s, Status::Ok);
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("unique index") && text.contains("not found"), "{text}");
    ok(&mut a, "assert(Memory.users == nil or next(Memory.users) == nil)");
    // Not atomic: successes stay.
    let req = batch(BATCH_FIRST | BATCH_LAST, &[(1, "u1", Some(30)), (1, "u2", Some(30)), (3, "u1", Some(31)), (4, "u9", None)]);
    assert_eq!(op(&mut a, OP_BATCH, &req).0, Status::Ok);
    ok(&mut a, "assert(Memory.users.u1.age == 31 and Memory.users.u2 == nil)");
    // Chunks: one transaction; an abort rolls every chunk back.
    assert_eq!(op(&mut a, OP_BATCH, &batch(BATCH_ATOMIC | BATCH_FIRST, &[(1, "c1", Some(1))])).0, Status::Ok);
    assert_eq!(op(&mut a, OP_BATCH, &batch(BATCH_ATOMIC, &[(1, "c2", Some(2))])).0, Status::Ok);
    assert_eq!(op(&mut a, OP_BATCH_ABORT, &[]).0, Status::Ok);
    ok(&mut a, "assert(Memory.users.c1 == nil and Memory.users.c2 == nil)");
    assert_eq!(op(&mut a, OP_BATCH, &batch(BATCH_ATOMIC | BATCH_FIRST, &[(1, "c1", Some(1))])).0, Status::Ok);
    assert_eq!(op(&mut a, OP_BATCH, &batch(BATCH_ATOMIC | BATCH_LAST, &[(1, "c2", Some(2))])).0, Status::Ok);
    ok(&mut a, "assert(Memory.users.c1.age == 1 and Memory.users.c2.age == 2)");
    // Another op arriving mid-batch rolls the open batch back first.
    assert_eq!(op(&mut a, OP_BATCH, &batch(BATCH_FIRST, &[(1, "d1", Some(1))])).0, Status::Ok);
    ok(&mut a, "assert(Memory.users.d1 == nil)");
    assert_eq!(op(&mut a, OP_BATCH, &batch(0, &[(1, "d1", Some(1))])).0, Status::BadArgument);
    // A malformed op fails the whole request.
    let mut bad = batch(BATCH_FIRST | BATCH_LAST, &[(1, "e1", Some(1))]);
    bad[5] = 9;
    assert_eq!(op(&mut a, OP_BATCH, &bad).0, Status::BadArgument);
    ok(&mut a, "assert(Memory.users.e1 == nil)");
}

#[test]
fn query_op() {
    let mut a = new();
    ok(&mut a, "local u = ext.table('users') for i = 1, 20 do u[i] = { age = i } end ext.createIndex(u, 'age', 'btree')");
    // age >= 15, limit 2, offset 1, explain.
    let mut q = Vec::new();
    path(&mut q, &["users"]);
    let flags = q.len();
    q.push(2);
    q.extend_from_slice(&2u32.to_le_bytes());
    q.extend_from_slice(&1u32.to_le_bytes());
    q.push(1);
    path(&mut q, &["age"]);
    q.push(6);
    int(&mut q, 15);
    let (s, r) = op(&mut a, OP_QUERY, &q);
    assert_eq!(s, Status::Ok);
    assert_eq!(u32::from_le_bytes(r[..4].try_into().unwrap()), 6);
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("btree") && text.contains("examined"), "{text}");
    q[flags] = 0; // not explain
    let (_, r) = op(&mut a, OP_QUERY, &q);
    // nil plan, a cursor, then keys 16 and 17.
    assert_eq!(r[4], 0);
    assert!(r.windows(9).any(|w| w == [&[3][..], &16i64.to_le_bytes()].concat()));
    assert!(!r.windows(9).any(|w| w == [&[3][..], &15i64.to_le_bytes()].concat()));
    let n = q.len();
    q[n - 10] = 77; // the operator
    assert_eq!(op(&mut a, OP_QUERY, &q).0, Status::BadArgument);
}
