//! Stored modules and JS values into Lua (issue 7) on the host: ops 31–34 and
//! `ext.saveModule`/`deleteModule`/`modules`, `require` through the stored-module searcher
//! (nested, circular, cached in package.loaded, replaced), errors with the module's name and
//! line, bad names, transactions, the modules through storage pages (damaged and forged
//! pages included); SET_GLOBAL (op 30) and COMPUTE's arguments; every one of them under
//! failing allocations.
#![cfg(feature = "persistence")]

use cu::modules::{OP_DELETE_MODULE, OP_GET_MODULE, OP_MODULES, OP_SAVE_MODULE};
use cu::runtime::{Instance, Status};
use cu::store::{Key, Store, Value};
use cu::values_in::{COMPUTE_ARGS, OP_SET_GLOBAL};

mod common;
use common::{call, fails, ok, run, take_pages_request};

fn new() -> Box<Instance> {
    Instance::new(0, 1_000_000, [1, 2]).unwrap()
}

/// `u8 0, u16 name_len, name, body`.
fn named(name: &[u8], body: &[u8]) -> Vec<u8> {
    [&[0u8][..], &(name.len() as u16).to_le_bytes(), name, body].concat()
}

fn save(inst: &mut Instance, name: &str, src: &str) -> (Status, String) {
    let (s, r) = call(inst, OP_SAVE_MODULE, &named(name.as_bytes(), src.as_bytes()));
    (s, String::from_utf8_lossy(&r).into_owned())
}

fn saved(inst: &mut Instance, name: &str, src: &str) {
    let (s, r) = save(inst, name, src);
    assert_eq!((s, &r[..]), (Status::Ok, "\0\0\0\0"), "{name}");
}

/// A wire string.
fn ws(s: &[u8]) -> Vec<u8> {
    [&[5u8][..], &(s.len() as u32).to_le_bytes(), s].concat()
}

/// GET_MODULE's source (None: not stored).
fn get(inst: &mut Instance, name: &str) -> Option<Vec<u8>> {
    let (s, r) = call(inst, OP_GET_MODULE, &named(name.as_bytes(), b""));
    assert_eq!(s, Status::Ok);
    match r[4] {
        0 => None,
        _ => Some(r[9..].to_vec()),
    }
}

/// MODULES's names.
fn names(inst: &mut Instance) -> Vec<String> {
    let (s, r) = call(inst, OP_MODULES, &[]);
    assert_eq!(s, Status::Ok);
    let mut out = Vec::new();
    let mut p = 4;
    while p < r.len() {
        let n = u32::from_le_bytes(r[p + 1..p + 5].try_into().unwrap()) as usize;
        if r[p] == 3 {
            // (An integer key: only damaged pages hold one.)
            out.push(i64::from_le_bytes(r[p + 1..p + 9].try_into().unwrap()).to_string());
            p += 9;
            continue;
        }
        assert_eq!(r[p], 5);
        out.push(String::from_utf8(r[p + 5..p + 5 + n].to_vec()).unwrap());
        p += 5 + n;
    }
    assert_eq!(u32::from_le_bytes(r[..4].try_into().unwrap()) as usize, out.len());
    out
}

#[test]
fn saved_modules_are_required_listed_read_and_deleted() {
    let mut a = new();
    assert!(names(&mut a).is_empty() && get(&mut a, "util").is_none());
    saved(&mut a, "util", "local M = {} function M.double(x) return 2 * x end Memory.loads = (Memory.loads or 0) + 1 return M");
    saved(&mut a, "app.main", "local u = require('util') return { run = function() return u.double(21) end, args = { ... } }");
    saved(&mut a, "flag", "answer = 42");
    assert_eq!(names(&mut a), ["app.main", "flag", "util"]);
    assert_eq!(get(&mut a, "flag").unwrap(), b"answer = 42");
    // Nested requires; the module gets its name and ":stored:"; it runs with the globals.
    ok(&mut a, "local m, extra = require('app.main') assert(m.run() == 42 and extra == ':stored:')
                assert(m.args[1] == 'app.main' and m.args[2] == ':stored:' and Memory.loads == 1)
                assert(require('flag') == true and answer == 42 and package.loaded.flag == true)");
    // Cached in package.loaded: required again, not run again.
    ok(&mut a, "assert(require('util') == package.loaded.util and Memory.loads == 1)");
    // Replacing a module clears package.loaded: the next require runs the new source.
    saved(&mut a, "util", "return { double = function(x) return 3 * x end }");
    ok(&mut a, "assert(package.loaded.util == nil and require('util').double(2) == 6)");
    // ... but a module that required the old one keeps what it got.
    ok(&mut a, "assert(require('app.main').run() == 42)");
    // package.preload comes first.
    ok(&mut a, "package.preload.util = function() return 'preloaded' end package.loaded.util = nil assert(require('util') == 'preloaded')");
    // Deleting: true when it existed, and package.loaded is cleared.
    let (s, r) = call(&mut a, OP_DELETE_MODULE, &named(b"flag", b""));
    assert_eq!((s, &r[..]), (Status::Ok, &[1, 0, 0, 0, 2][..]));
    let (s, r) = call(&mut a, OP_DELETE_MODULE, &named(b"flag", b""));
    assert_eq!((s, &r[..]), (Status::Ok, &[1, 0, 0, 0, 1][..]));
    ok(&mut a, "assert(package.loaded.flag == nil and not pcall(require, 'flag'))");
    assert_eq!(names(&mut a), ["app.main", "util"]);
    // Nothing of it shows in Memory or the change set.
    ok(&mut a, "for k in pairs(Memory) do assert(k == 'loads', k) end");
    a.check_store().unwrap();
}

#[test]
fn errors_name_the_module_and_the_line() {
    let mut a = new();
    // A syntax error at save: LUA_SYNTAX with the line, nothing stored.
    let (s, r) = save(&mut a, "broken", "local x = 1\nreturn +");
    assert_eq!(s, Status::LuaSyntax);
    assert!(r.contains("broken:2:"), "{r}");
    assert!(get(&mut a, "broken").is_none() && names(&mut a).is_empty());
    // A runtime error inside a module: LUA_RUNTIME with its name and line, and a traceback
    // through require.
    saved(&mut a, "boom", "local M = {}\n\nerror('exploded')\nreturn M");
    let r = fails(&mut a, "require('boom')", Status::LuaRuntime, "boom:3: exploded");
    assert!(r.contains("in function 'require'"), "{r}");
    saved(&mut a, "later", "return { f = function()\n  error('in f')\nend }");
    fails(&mut a, "require('later').f()", Status::LuaRuntime, "later:2: in f");
    // A missing module: Lua's message, listing every searcher.
    let r = fails(&mut a, "require('nowhere')", Status::LuaRuntime, "module 'nowhere' not found:");
    assert!(r.contains("no field package.preload['nowhere']\n\tno stored module 'nowhere'"), "{r}");
    // Binary chunks are never sources.
    let (s, r) = save(&mut a, "bin", "\x1bLua");
    assert_eq!(s, Status::LuaSyntax, "{r}");
    // The budget runs inside modules.
    saved(&mut a, "spin", "while true do end");
    fails(&mut a, "require('spin')", Status::InstructionLimit, "instruction limit");
    // Circular requires behave as in Lua: endless unless a module registers itself first.
    saved(&mut a, "a", "return require('b')");
    saved(&mut a, "b", "return require('a')");
    let (s, _) = run(&mut a, "require('a')");
    assert!(matches!(s, Status::LuaRuntime | Status::LuaMemory), "{s:?}");
    saved(&mut a, "a", "local M = { name = 'a' } package.loaded.a = M M.b = require('b') return M");
    saved(&mut a, "b", "return { a = require('a') }");
    ok(&mut a, "local a = require('a') assert(a.b.a == a)");
    ok(&mut a, "return 1");
}

#[test]
fn bad_requests_are_bad_arguments() {
    let mut a = new();
    let long = vec![b'n'; 256];
    for name in [&b""[..], &long, b"a\0b"] {
        for op in [OP_SAVE_MODULE, OP_DELETE_MODULE, OP_GET_MODULE] {
            let (s, r) = call(&mut a, op, &named(name, b""));
            assert_eq!(s, Status::BadArgument, "op {op}");
            assert!(String::from_utf8_lossy(&r).contains("1 to 255 bytes"));
        }
    }
    saved(&mut a, std::str::from_utf8(&long[..255]).unwrap(), "return 1");
    for (op, req) in [
        (OP_SAVE_MODULE, &[0u8, 5][..]),
        (OP_GET_MODULE, &[0, 1, 0, b'x', b'y'][..]),
        (OP_DELETE_MODULE, &[0, 1, 0, b'x', b'y'][..]),
        (OP_MODULES, &[0][..]),
    ] {
        assert_eq!(call(&mut a, op, req).0, Status::BadArgument, "op {op}");
    }
    ok(&mut a, "assert(require(string.rep('n', 255)) == 1)");
}

#[test]
fn lua_saves_deletes_and_lists_modules_in_its_transaction() {
    let mut a = new();
    ok(&mut a, "ext.saveModule('m1', 'return 1') ext.saveModule('m0', 'return 0')
                local n = ext.modules() assert(#n == 2 and n[1] == 'm0' and n[2] == 'm1')
                assert(require('m1') == 1)
                ext.saveModule('m1', 'return 11') assert(require('m1') == 11)
                assert(ext.deleteModule('m0') == true and ext.deleteModule('m0') == false)");
    assert_eq!(names(&mut a), ["m1"]);
    // A call that fails leaves nothing it saved or deleted.
    fails(&mut a, "ext.saveModule('m2', 'return 2') ext.deleteModule('m1') error('undo')", Status::LuaRuntime, "undo");
    assert_eq!(names(&mut a), ["m1"]);
    assert_eq!(get(&mut a, "m1").unwrap(), b"return 11");
    // Syntax errors and bad arguments raise (pcall catches them).
    ok(&mut a, "local ok, e = pcall(ext.saveModule, 'm3', 'return +') assert(not ok and e:find('m3:1:'), e)
                for _, bad in ipairs({ '', ('x'):rep(256), 'a\\0b' }) do
                  local ok, e = pcall(ext.saveModule, bad, 'x') assert(not ok and e:find('1 to 255 bytes'), e)
                end
                local ok, e = pcall(ext.saveModule, {}, 'x') assert(not ok and e:find('string expected, got table'), e)
                local ok, e = pcall(ext.saveModule, 'm3', {}) assert(not ok and e:find('string expected, got table'), e)
                assert(not pcall(ext.deleteModule, nil) and #ext.modules() == 1)");
    a.check_store().unwrap();
}

/// A LOAD_PAGES request of every page of `s`.
fn pages_request(s: &mut Store) -> Vec<u8> {
    let pages = s.take_pages();
    let mut req = (pages.len() as u32).to_le_bytes().to_vec();
    for (p, b) in pages {
        let b = b.unwrap();
        req.extend_from_slice(&p.to_le_bytes());
        req.extend_from_slice(&(b.len() as u32).to_le_bytes());
        req.extend_from_slice(&b);
    }
    req
}

#[test]
fn modules_are_saved_in_the_pages_and_damage_is_refused() {
    let mut a = new();
    let big = format!("local t = {{}}\n{}return t", "t[#t + 1] = 'a line of a long module that deflates well'\n".repeat(400));
    saved(&mut a, "big", &big);
    saved(&mut a, "small", "return 'small'");
    let req = take_pages_request(&mut a);
    assert!(!req.windows(30).any(|w| w == &big.as_bytes()[20..50]), "a long source is stored deflated");
    let mut b = new();
    assert_eq!(call(&mut b, 22, &req).0, Status::Ok);
    assert_eq!(names(&mut b), ["big", "small"]);
    assert_eq!(get(&mut b, "big").unwrap(), big.as_bytes());
    ok(&mut b, "assert(#require('big') == 400 and require('small') == 'small')");
    // Damaged pages: BAD_DATA, the store empty and working.
    let mut bad = req.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(call(&mut b, 22, &bad).0, Status::BadData);
    assert!(names(&mut b).is_empty());
    fails(&mut b, "package.loaded.big, package.loaded.small = nil require('big')", Status::LuaRuntime, "no stored module 'big'");
    // Pages that pass every check but hold what saveModule never stores: a source that
    // does not compile (a normal Lua error at require), a value that is not a string (no
    // module).
    let mut s = Store::new();
    let t = s.system_table(b"modules", true).unwrap();
    s.set(t, Key::str(b"bad"), Some(Value::Key(Key::str(b"return +")))).unwrap();
    s.set(t, Key::str(b"num"), Some(Value::Key(Key::Int(5)))).unwrap();
    s.set(t, Key::Int(7), Some(Value::Key(Key::str(b"return 7")))).unwrap();
    let inner = s.new_node();
    s.set(t, Key::str(b"tab"), Some(Value::Table(inner))).unwrap();
    s.commit();
    let mut c = new();
    assert_eq!(call(&mut c, 22, &pages_request(&mut s)).0, Status::Ok);
    assert_eq!(names(&mut c), ["7", "bad", "num", "tab"]);
    assert!(get(&mut c, "num").is_none() && get(&mut c, "tab").is_none());
    fails(&mut c, "require('tab')", Status::LuaRuntime, "no stored module 'tab'");
    fails(&mut c, "require('bad')", Status::LuaRuntime, "error loading module 'bad' from the database:\n\tbad:1:");
    fails(&mut c, "require('num')", Status::LuaRuntime, "no stored module 'num'");
    ok(&mut c, "assert(#ext.modules() == 4 and ext.deleteModule('num') == true and ext.modules()[2] == 'bad')");
    // A system area whose `modules` is not a table holds no modules.
    let mut s = Store::new();
    let root = s.system_root();
    s.set(root, Key::str(b"modules"), Some(Value::Key(Key::str(b"not a table")))).unwrap();
    s.set(root, Key::str(b"other"), Some(Value::Key(Key::Int(1)))).unwrap();
    s.commit();
    let mut d = new();
    assert_eq!(call(&mut d, 22, &pages_request(&mut s)).0, Status::Ok);
    assert!(names(&mut d).is_empty() && get(&mut d, "x").is_none());
    fails(&mut d, "require('x')", Status::LuaRuntime, "no stored module 'x'");
    fails(&mut c, "require(7)", Status::LuaRuntime, "no stored module '7'");
}

// ---- JS values into Lua ----------------------------------------------------------------

fn wi(i: i64) -> Vec<u8> {
    [&[3u8][..], &i.to_le_bytes()].concat()
}
fn wf(f: f64) -> Vec<u8> {
    [&[4u8][..], &f.to_le_bytes()].concat()
}
/// A wire array (tag 6) or map (tag 7) of `n` elements.
fn wt(tag: u8, n: u32, items: &[&[u8]]) -> Vec<u8> {
    let mut v = [&[tag][..], &n.to_le_bytes()].concat();
    items.iter().for_each(|i| v.extend_from_slice(i));
    v
}

/// A COMPUTE request (every result) with arguments.
fn compute_args(args: &[&[u8]], src: &str) -> Vec<u8> {
    let mut r = vec![1 | COMPUTE_ARGS, 2, 0, b'=', b't'];
    r.extend_from_slice(&(args.len() as u32).to_le_bytes());
    args.iter().for_each(|a| r.extend_from_slice(a));
    r.extend_from_slice(src.as_bytes());
    r
}

#[test]
fn globals_and_arguments_take_every_value_kind() {
    let mut a = new();
    let map = wt(7, 3, &[&ws(b"name"), &ws(b"Ann"), &wi(1), &ws(b"int key"), &wf(2.0), &ws(b"float key")]);
    let arr = wt(6, 3, &[&wi(1), &[0], &wt(6, 1, &[&[2]])]);
    let kinds: [(&str, Vec<u8>, &str); 10] = [
        ("n", vec![0], "n == nil"),
        ("f", vec![1], "f == false"),
        ("t", vec![2], "t == true"),
        ("i", wi(i64::MIN), "math.type(i) == 'integer' and i == math.mininteger"),
        ("x", wf(-0.0), "math.type(x) == 'float' and 1 / x < 0"),
        ("s", ws(b"caf\xc3\xa9\0\xff"), "s == 'caf\\u{e9}\\0\\xff'"),
        ("m", map.clone(), "m.name == 'Ann' and m[1] == 'int key' and m[2] == 'float key' and (function() for k, v in pairs(m) do if v == 'float key' then return math.type(k) == 'integer' end end end)()"),
        ("a", arr.clone(), "#a == 3 and a[1] == 1 and a[2] == nil and a[3][1] == true"),
        ("e", wt(7, 0, &[]), "next(e) == nil"),
        ("G", ws(b"over"), "G == 'over'"),
    ];
    for (name, value, check) in &kinds {
        let (s, r) = call(&mut a, OP_SET_GLOBAL, &named(name.as_bytes(), value));
        assert_eq!((s, &r[..]), (Status::Ok, &[0u8, 0, 0, 0][..]), "{name}");
        ok(&mut a, &format!("assert({check})"));
    }
    // _G's __newindex runs, as for `name = value`.
    ok(&mut a, "setmetatable(_G, { __newindex = function(t, k, v) rawset(t, k, { v }) end })");
    assert_eq!(call(&mut a, OP_SET_GLOBAL, &named(b"wrapped", &wi(5))).0, Status::Ok);
    ok(&mut a, "assert(wrapped[1] == 5) setmetatable(_G, { __newindex = function() error('no globals') end })");
    let (s, r) = call(&mut a, OP_SET_GLOBAL, &named(b"refused", &wi(5)));
    assert!(s == Status::LuaRuntime && String::from_utf8_lossy(&r).contains("no globals"));
    ok(&mut a, "setmetatable(_G, nil)");
    // Arguments: `...` of the chunk, nil holes kept.
    let (s, r) = call(&mut a, 1, &compute_args(&[&wi(7), &[0], &map, &arr, &[0]], "local a, b, m, t, z = ... assert(select('#', ...) == 5 and a == 7 and b == nil and m.name == 'Ann' and #t == 3) return a * 2, ..."));
    assert_eq!(s, Status::Ok, "{}", String::from_utf8_lossy(&r));
    assert_eq!(&r[..4], &6u32.to_le_bytes());
    assert_eq!(&r[4..13], &wi(14)[..]);
    let (s, r) = call(&mut a, 1, &compute_args(&[], "return select('#', ...)"));
    assert_eq!((s, &r[4..]), (Status::Ok, &wi(0)[..]));
    // A syntax error with arguments is still LUA_SYNTAX; an error in the chunk LUA_RUNTIME.
    assert_eq!(call(&mut a, 1, &compute_args(&[&wi(1)], "return +")).0, Status::LuaSyntax);
    assert_eq!(call(&mut a, 1, &compute_args(&[&wi(1)], "error(...)")).0, Status::LuaRuntime);
}

#[test]
fn bad_globals_and_arguments_are_refused() {
    let mut a = new();
    for name in [&b"Memory"[..], b"_home", b""] {
        let (s, r) = call(&mut a, OP_SET_GLOBAL, &named(name, &wi(1)));
        assert_eq!(s, Status::BadArgument);
        assert!(String::from_utf8_lossy(&r).contains("bad name (empty, Memory or _home)"));
    }
    assert_eq!(call(&mut a, OP_SET_GLOBAL, &named(b"a\0b", &wi(1))).0, Status::Ok);
    ok(&mut a, "assert(_G['a\\0b'] == 1)");
    for value in [vec![], vec![9, 6, 0, 0, 0, 0], [&wi(1)[..], &[0]].concat(), wt(7, 1, &[&[0], &[2]]), vec![3, 1]] {
        let (s, r) = call(&mut a, OP_SET_GLOBAL, &named(b"x", &value));
        assert_eq!(s, Status::BadArgument, "{value:?}");
        assert!(String::from_utf8_lossy(&r).contains("bad request"));
    }
    assert_eq!(call(&mut a, OP_SET_GLOBAL, &[0, 9]).0, Status::BadArgument);
    let (s, r) = call(&mut a, 1, &compute_args(&[&wt(7, 1, &[&wf(f64::NAN), &[2]])], "return 1"));
    assert_eq!(s, Status::BadArgument);
    assert!(String::from_utf8_lossy(&r).contains("compute: bad args"));
    let mut many = vec![1 | COMPUTE_ARGS, 0, 0];
    many.extend_from_slice(&4097u32.to_le_bytes());
    many.extend(std::iter::repeat_n(2u8, 4097));
    assert_eq!(call(&mut a, 1, &many).0, Status::BadArgument);
    let mut most = vec![1 | COMPUTE_ARGS, 0, 0];
    most.extend_from_slice(&4096u32.to_le_bytes());
    most.extend(std::iter::repeat_n(2u8, 4096));
    most.extend_from_slice(b"return select('#', ...)");
    let (s, r) = call(&mut a, 1, &most);
    assert_eq!((s, &r[4..]), (Status::Ok, &wi(4096)[..]));
    ok(&mut a, "assert(Memory ~= nil and x == nil)");
}

// ---- failing allocations ---------------------------------------------------------------

#[test]
fn a_small_heap_runs_out_cleanly() {
    let mut a = Instance::new(64 * 1024, 0, [1, 2]).unwrap();
    // A module too large to compile in the heap: LUA_MEMORY, nothing stored.
    let big = format!("return {{ {} }}", (0..20_000).map(|i| format!("'s{i}'")).collect::<Vec<_>>().join(", "));
    let (s, r) = save(&mut a, "big", &big);
    assert_eq!(s, Status::LuaMemory, "{r}");
    assert!(r.contains("not enough memory") && get(&mut a, "big").is_none());
    // More arguments than the stack can take there: an error, not a trap.
    let mut most = vec![1 | COMPUTE_ARGS, 0, 0];
    most.extend_from_slice(&4096u32.to_le_bytes());
    most.extend(std::iter::repeat_n(&ws(&[b'x'; 8])[..], 4096).flatten());
    most.extend_from_slice(b"return select('#', ...)");
    let (s, r) = call(&mut a, 1, &most);
    assert!(matches!(s, Status::LuaMemory | Status::LuaRuntime) && String::from_utf8_lossy(&r).contains("not enough memory"), "{s:?}");
    saved(&mut a, "small", "return 'small'");
    ok(&mut a, "assert(require('small') == 'small')");
}

#[test]
fn every_new_op_survives_failed_allocations_atomically() {
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    saved(&mut inst, "dep", "return { v = 1 }");
    let arr = wt(6, 2, &[&ws(b"one"), &wt(7, 1, &[&ws(b"k"), &wf(1.5)])]);
    let steps: [(u32, Vec<u8>); 4] = [
        (OP_SAVE_MODULE, named(b"mod", b"local d = require('dep') return { n = d.v + 1, s = ('x'):rep(100) }")),
        (1, [&[0u8, 2, 0][..], b"=t", b"package.loaded.mod, package.loaded.dep = nil return require('mod').n"].concat()),
        (OP_SET_GLOBAL, named(b"g", &arr)),
        (1, compute_args(&[&arr, &ws(b"two")], "local t, s = ... return t[2].k, s")),
    ];
    for (op, req) in &steps {
        let (mut clean, mut failed) = (0, 0);
        for n in 1.. {
            ok(&mut inst, "collectgarbage()");
            inst.fail_allocation(n);
            let (status, _) = call(&mut inst, *op, req);
            inst.fail_allocation(0);
            assert!(matches!(status, Status::Ok | Status::LuaMemory | Status::LuaRuntime), "op {op} with allocation {n} failing gave {status:?}");
            if *op == OP_SAVE_MODULE {
                // Stored whole or not at all.
                assert_eq!(get(&mut inst, "mod").is_some(), status == Status::Ok, "allocation {n}");
                call(&mut inst, OP_DELETE_MODULE, &named(b"mod", b""));
            }
            clean = if status == Status::Ok { clean + 1 } else { 0 };
            failed += (status != Status::Ok) as u32;
            if clean == 3 {
                break;
            }
            assert!(n < 5000);
        }
        assert!(failed > 3, "op {op}: only {failed} allocations failed the op");
        if *op == OP_SAVE_MODULE {
            saved(&mut inst, "mod", "return { n = 2 }");
        }
    }
    ok(&mut inst, "assert(g[1] == 'one' and g[2].k == 1.5)");
    inst.check_store().unwrap();
}
