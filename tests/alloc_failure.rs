//! Allocation-failure tests (after Lua's ltests.c): every entry point is run with its Nth
//! Lua allocation failing, for every N up to the point where it no longer allocates.
//! Each run must end in a clean status (never a crash), leave the instance usable, and
//! give every byte of the arena back once the garbage is collected.

use cu::protocol::{dispatch, OP_COMPUTE, OP_GC, OP_OUTPUT, OP_STATS};
use cu::runtime::{Instance, Status};

fn compute_request(src: &str) -> Vec<u8> {
    let mut r = vec![1u8, 2, 0];
    r.extend_from_slice(b"=t");
    r.extend_from_slice(src.as_bytes());
    r
}

/// A workload touching the parser, tables, strings, closures, coroutines, errors, string
/// buffers and the result encoder.
const WORKLOAD: &str = r#"
    local t = {}
    for i = 1, 40 do t[i] = string.format("%d:%5.2f", i, i / 3) end
    local s = table.concat(t, ",")
    local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    co(1) co(2)
    local ok, e = pcall(error, { code = 1 })
    print(#s, ok)
    local m = setmetatable({}, { __index = function(_, k) return k .. "!" end })
    return s:sub(1, 20), m.x, { nested = { 1, 2, 3 }, [true] = "yes" }, select('#', string.byte(s, 1, -1))
"#;

#[test]
fn creation_fails_cleanly_at_every_allocation() {
    let mut n = 1;
    loop {
        match Instance::new_failing_at(0, 0, [1, 2], n) {
            Err(status) => assert_eq!(status, Status::LuaMemory, "allocation {n}"),
            Ok(mut inst) => {
                // The countdown ran past creation: creation is covered, and the instance works.
                let mut reply = Vec::new();
                assert_eq!(dispatch(&mut inst, OP_COMPUTE, &compute_request("return 1"), &mut reply), Status::Ok);
                break;
            }
        }
        n += 1;
        assert!(n < 5000, "creation never stopped allocating");
    }
    assert!(n > 40, "creation made only {n} allocations?");
}

#[test]
fn every_op_survives_a_failed_allocation_without_leaking() {
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    let mut reply = Vec::new();
    let request = compute_request(WORKLOAD);
    // Warm up: the first run grows Lua's string table and caches for good.
    assert_eq!(dispatch(&mut inst, OP_COMPUTE, &request, &mut reply), Status::Ok);
    dispatch(&mut inst, OP_OUTPUT, &[], &mut reply);
    dispatch(&mut inst, OP_GC, &[], &mut reply);
    let baseline = inst.heap_used();
    let mut failures = 0;
    for n in 1.. {
        for op in [OP_COMPUTE, OP_OUTPUT, OP_STATS, OP_GC] {
            inst.fail_allocation(n);
            let req: &[u8] = if op == OP_COMPUTE { &request } else { &[] };
            let status = dispatch(&mut inst, op, req, &mut reply);
            inst.fail_allocation(0);
            assert!(
                matches!(status, Status::Ok | Status::LuaMemory | Status::LuaRuntime),
                "op {op} with allocation {n} failing gave {status:?}"
            );
            if op == OP_COMPUTE && status != Status::Ok {
                failures += 1;
            }
        }
        dispatch(&mut inst, OP_OUTPUT, &[], &mut reply);
        dispatch(&mut inst, OP_GC, &[], &mut reply);
        // Lua's string cache may keep a few strings alive; nothing accumulates.
        assert!(inst.heap_used() <= baseline + 512, "allocation {n}: {} > {baseline}", inst.heap_used());
        // The instance still computes correctly.
        assert_eq!(dispatch(&mut inst, OP_COMPUTE, &compute_request("return 6 * 7"), &mut reply), Status::Ok);
        assert_eq!(&reply[4..13], &[3, 42, 0, 0, 0, 0, 0, 0, 0]);
        if failures < n as usize {
            break; // the workload ran to the end with allocation n failing: all covered
        }
    }
    assert!(failures > 50, "only {failures} allocation points exercised");
}

/// External tables under failing Lua allocations: each call is atomic (all of its writes or
/// none), the store's invariants hold, and the instance keeps working.
#[cfg(feature = "persistence")]
#[test]
fn external_tables_stay_atomic_when_allocations_fail() {
    const STORE_WORKLOAD: &str = r#"
        local users = ext.table('users')
        Memory.run = (Memory.run or 0) + 1
        local r = Memory.run
        for i = 1, 8 do users['u' .. r .. '_' .. i] = { age = i, name = 'n' .. i, tags = { 'a', 'b' } } end
        if r == 1 then ext.createIndex('users', 'age', 'btree') end
        local rows = ext.query('users', { field = 'age', op = '>=', value = 4, limit = 5 })
        local n = 0 Memory.counter = Memory.counter or function() n = n + 1 return n end
        Memory.counter()
        Memory.last = { run = r, found = #rows, keys = ext.count('users') }
        return #rows
    "#;
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    let mut reply = Vec::new();
    let request = compute_request(STORE_WORKLOAD);
    let check = compute_request(
        "local r = Memory.run return ext.count('users') == 8 * r and (r == 1 or Memory.last.run == r) and #ext.query('users', { field = 'age', op = '=', value = 3 }) == r",
    );
    assert_eq!(dispatch(&mut inst, OP_COMPUTE, &request, &mut reply), Status::Ok);
    let failures = atomic_under_failing_allocations(&mut inst, &request, &check);
    assert!(failures > 30, "only {failures} allocation points exercised");
}

/// Runs `request` with the nth Lua allocation from its start failing, for n = 1, 2, ...
/// until it succeeds. After each run the store is whole and `check` (a compute) returns
/// true: a failed call left none of its writes. Returns the number of failed runs.
#[cfg(feature = "persistence")]
fn atomic_under_failing_allocations(inst: &mut Instance, request: &[u8], check: &[u8]) -> usize {
    let mut reply = Vec::new();
    for n in 1.. {
        inst.fail_allocation(n);
        let status = dispatch(inst, OP_COMPUTE, request, &mut reply);
        inst.fail_allocation(0);
        assert!(matches!(status, Status::Ok | Status::LuaMemory | Status::LuaRuntime), "allocation {n}: {status:?} {}", String::from_utf8_lossy(&reply));
        inst.check_store().unwrap_or_else(|e| panic!("allocation {n}: {e}"));
        assert_eq!(dispatch(inst, OP_COMPUTE, check, &mut reply), Status::Ok, "allocation {n}");
        assert_eq!(reply[4], 2, "allocation {n}: a failed call left part of its writes (reply {reply:?})");
        if status == Status::Ok {
            return n as usize - 1;
        }
    }
    unreachable!()
}

/// Schemas and a migration under failing Lua allocations: defining, writing, catching a
/// violation with pcall, migrating and rolling back from Lua are each all or nothing.
#[cfg(feature = "persistence")]
#[test]
fn schemas_and_migrations_stay_atomic_when_allocations_fail() {
    const SCHEMA_WORKLOAD: &str = r#"
        Memory.run = (Memory.run or 0) + 1
        local r = Memory.run
        ext.defineSchema('users', { fields = { name = { type = 'string', required = true }, n = { type = 'integer', default = r } } })
        local users = ext.table('users')
        for i = 1, 6 do users['u' .. r .. '_' .. i] = { name = 'n' .. i } end
        assert(not pcall(function() users.bad = { n = 'x' } end) and users.bad == nil)
        ext.migrate('users', { version = r + 1, up = 'function(x) x.seen = true return x end', down = 'function(x) x.seen = nil return x end' })
        ext.rollbackMigration('users')
        ext.migrate('users', { version = r + 1, up = 'function(x) x.v = (x.v or 0) + 1 return x end' })
        return #ext.validateTable('users')
    "#;
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    let mut reply = Vec::new();
    let request = compute_request(SCHEMA_WORKLOAD);
    let check = compute_request(
        "local r = Memory.run local s, v = ext.schema('users') return ext.count('users') == 6 * r and v == r + 1 and #ext.migrations('users') == 2 * r and Memory.users.u1_1.v == r",
    );
    assert_eq!(dispatch(&mut inst, OP_COMPUTE, &request, &mut reply), Status::Ok, "{}", String::from_utf8_lossy(&reply));
    let failures = atomic_under_failing_allocations(&mut inst, &request, &check);
    assert!(failures > 30, "only {failures} allocation points exercised");
}
