//! The value codec (core/codec, docs/FORMAT.md): round trips of every value kind, error
//! paths, compression, golden fixtures, hostile input (a seeded mutation fuzz loop),
//! allocation failures, and a timing of a 10 KB function.
//!
//! Values are built by Lua code into the global `V`, encoded with `encode_global`, decoded
//! with `decode_global` into `W` (usually in a second instance, whose globals differ), and
//! checked there by Lua assertions.
#![cfg(feature = "persistence")]

use cu::codec::{self, decode_global, encode_global, CodecError, EncodeOptions};
use cu::runtime::{Instance, Status};
use std::path::PathBuf;

fn new_instance() -> Box<Instance> {
    Instance::new(8 << 20, 0, [1, 2]).unwrap()
}

/// Runs `src`, which must succeed.
fn run(inst: &mut Instance, src: &str) {
    let mut reply = Vec::new();
    let status = inst.compute(src.as_bytes(), b"=t", false, &mut reply);
    assert_eq!(status, Status::Ok, "{src}\n{}", String::from_utf8_lossy(&reply));
}

/// Runs `src` in a fresh instance, then encodes the global `V`.
fn encode_with(src: &str, opts: &EncodeOptions) -> Vec<u8> {
    let mut a = new_instance();
    run(&mut a, src);
    encode_v(&mut a, opts)
}

fn encode_v(inst: &mut Instance, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = encode_global(inst, b"V", opts, &mut out) {
        panic!("encode failed: {e:?}");
    }
    out
}

fn encode(src: &str) -> Vec<u8> {
    encode_with(src, &EncodeOptions::default())
}

/// The error of encoding `V` after running `src`.
fn encode_error(src: &str) -> CodecError {
    let mut a = new_instance();
    run(&mut a, src);
    let mut out = vec![7u8];
    let Err(e) = encode_global(&mut a, b"V", &EncodeOptions::default(), &mut out) else {
        panic!("encode should fail: {src}");
    };
    assert_eq!(out, [7u8], "a failed encode leaves `out` as it was");
    run(&mut a, "assert(select('#', ...) == 0) return 1");
    e
}

/// Decodes `bytes` into `W` of a fresh instance (with `marker = "B"`) and runs `check`.
fn decode_and_check(bytes: &[u8], check: &str) {
    let mut b = new_instance();
    run(&mut b, "marker = 'B'");
    if let Err(e) = decode_global(&mut b, b"W", bytes) {
        panic!("decode failed: {e:?}");
    }
    run(&mut b, check);
}

/// Builds `V` with `setup`, round-trips it, and runs `check` on `W`.
fn round_trip(setup: &str, check: &str) {
    for opts in [
        EncodeOptions::default(),
        EncodeOptions { strip: false, compress_threshold: None },
        EncodeOptions { strip: true, compress_threshold: Some(0) },
    ] {
        let bytes = encode_with(&format!("marker = 'A' {setup}"), &opts);
        decode_and_check(&bytes, check);
    }
}

#[test]
fn scalars_round_trip() {
    round_trip("V = nil", "assert(W == nil)");
    round_trip("V = true", "assert(W == true)");
    round_trip("V = false", "assert(W == false)");
    for i in ["0", "-1", "42", "math.maxinteger", "math.mininteger"] {
        round_trip(&format!("V = {i}"), &format!("assert(math.type(W) == 'integer' and W == {i})"));
    }
    round_trip("V = 1.0", "assert(math.type(W) == 'float' and W == 1)");
    round_trip("V = ''", "assert(W == '')");
    round_trip("V = 'a\\0b\\255\\254c'", "assert(W == 'a\\0b\\255\\254c' and #W == 6)");
    round_trip("V = string.rep('xy\\0', 5000)", "assert(W == string.rep('xy\\0', 5000))");
}

#[test]
fn floats_are_bit_exact() {
    let values = [
        "0.0", "-0.0", "1/0", "-1/0", "0/0", "-(0/0)", "math.pi", "2^-1074", "-2^1023 * 1.5", "math.huge",
        "string.unpack('<d', '\\1\\0\\0\\0\\0\\0\\248\\127')", // a NaN with a payload
        "string.unpack('<d', '\\255\\255\\255\\255\\255\\255\\255\\255')",
    ];
    let list = values.map(|v| format!("{{ v = {v}, bits = string.pack('<d', {v}) }}")).join(", ");
    round_trip(
        &format!("V = {{ {list} }}"),
        &format!(
            "assert(#W == {}) for i, e in ipairs(W) do \
               assert(math.type(e.v) == 'float', i) \
               assert(string.pack('<d', e.v) == e.bits, i) end",
            values.len()
        ),
    );
}

#[test]
fn tables_with_any_keys_and_metatables() {
    round_trip(
        "local k = { name = 'key' }
         V = { 10, 20, 30, nil, 50, [1.5] = 'f', [true] = 't', [false] = 'f2', [k] = 'tk', [-7] = 'neg',
               [2^53] = 'big', [math.mininteger] = 'min', ['a b'] = 1, [''] = 'empty', kk = k,
               nested = { { { deep = true } } } }",
        "assert(W[1] == 10 and W[2] == 20 and W[3] == 30 and W[4] == nil and W[5] == 50)
         assert(W[1.5] == 'f' and W[true] == 't' and W[false] == 'f2' and W[-7] == 'neg')
         assert(W[2^53] == 'big' and W[math.mininteger] == 'min' and W['a b'] == 1 and W[''] == 'empty')
         assert(W[W.kk] == 'tk' and W.kk.name == 'key')
         assert(W.nested[1][1].deep == true)
         local n = 0 for _ in pairs(W) do n = n + 1 end assert(n == 15, n)",
    );
    round_trip(
        "local mt = { __index = function(t, k) return k .. '!' end, __name = 'Thing' }
         local a, b = setmetatable({}, mt), setmetatable({ x = 1 }, mt)
         V = { a = a, b = b, weak = setmetatable({}, { __mode = 'k' }) }",
        "assert(W.a.foo == 'foo!' and W.b.x == 1 and W.b.y == 'y!')
         assert(getmetatable(W.a) == getmetatable(W.b))
         assert(getmetatable(W.weak).__mode == 'k')",
    );
    // A protected metatable is still written (raw), and comes back protected.
    round_trip(
        "V = setmetatable({}, { __metatable = 'locked', __index = { v = 3 } })",
        "assert(getmetatable(W) == 'locked' and W.v == 3)",
    );
    // An empty table and a table with only hash keys.
    round_trip("V = { {}, { a = 1 } }", "assert(next(W[1]) == nil and W[2].a == 1)");
}

#[test]
fn shared_references_and_cycles() {
    round_trip(
        "local a = { name = 'a' } a.self = a
         local b = { a = a } a.b = b
         V = { a, a, { a }, b, s1 = 'shared string', s2 = 'shared string' }",
        "local a = W[1]
         assert(W[2] == a and W[3][1] == a and a.self == a and a.b == W[4] and W[4].a == a)
         assert(a.name == 'a' and W.s1 == W.s2)",
    );
    round_trip("V = {} V[V] = V", "assert(W[W] == W)");
    round_trip(
        "local mt = {} mt.__index = mt mt.me = setmetatable({}, mt) V = mt.me",
        "assert(getmetatable(W).me == W and W.me == W)",
    );
}

#[test]
fn closures_keep_their_upvalues() {
    // A counter continues its count.
    round_trip(
        "local n = 0 V = function() n = n + 1 return n end V() V()",
        "assert(W() == 3 and W() == 4)",
    );
    // Two closures sharing an upvalue stay shared.
    round_trip(
        "local n = 10
         V = { inc = function() n = n + 1 end, get = function() return n end }",
        "assert(W.get() == 10) W.inc() W.inc() assert(W.get() == 12)",
    );
    // A closure capturing itself.
    round_trip(
        "local function count(k) if k == 0 then return 0 end return 1 + count(k - 1) end V = count",
        "assert(W(10) == 10) assert(debug.getupvalue(W, 1) ~= nil)",
    );
    // The shared upvalue's value holds the other closure (it is decoded before the value
    // is set).
    round_trip(
        "local n local function get() return n end local function set(v) n = v end
         n = { set } V = get",
        "local t = W() assert(type(t) == 'table') t[1](5) assert(W() == 5)",
    );
    // Nested closures, upvalues of upvalues, varargs.
    round_trip(
        "local function make(base) local calls = 0
           return function(...) calls = calls + 1 return base + select('#', ...), calls end end
         V = { make(1), make(100) }",
        "local a, n = W[1](1, 2) assert(a == 3 and n == 1) assert(W[2]() == 100)",
    );
}

#[test]
fn globals_are_the_decoding_instances() {
    round_trip("V = function() return marker end", "assert(W() == 'B')");
    round_trip("local g = _G V = function() return g.marker end", "assert(W() == 'B')");
    round_trip("V = { env = _G, [_G] = 1 }", "assert(W.env == _G and W[_G] == 1)");
    round_trip("V = _G", "assert(W == _G)");
    // An _ENV that is not the globals is a table like any other.
    round_trip(
        "V = (function() local _ENV = { x = 5 } return function() return x end end)()",
        "assert(W() == 5) assert(debug.getupvalue(W, 1) ~= _G)",
    );
}

#[test]
fn c_functions_and_libraries_by_name() {
    round_trip(
        "V = { print, math.sin, string.format, table.insert, io.write, os.time, coroutine.wrap, pcall,
               debug.sethook, utf8.char, require, s = string, m = math }",
        "assert(W[1] == print and W[2] == math.sin and W[3] == string.format and W[4] == table.insert)
         assert(W[5] == io.write and W[6] == os.time and W[7] == coroutine.wrap and W[8] == pcall)
         assert(W[9] == debug.sethook and W[10] == utf8.char and W[11] == require)
         assert(W.s == string and W.m == math)",
    );
    round_trip(
        "local sin, fmt, str = math.sin, string.format, string
         V = function(x) return fmt('%.1f', sin(x)) .. str.rep('!', 2) end",
        "assert(W(0) == '0.0!!') assert(select(2, debug.getupvalue(W, 2)) == math.sin)",
    );
    // Encodings of built-ins do not depend on the instance's hash seed.
    let src = "V = { print, math.sin, string, io.write, table.unpack }";
    let mut a = Instance::new(8 << 20, 0, [1, 2]).unwrap();
    let mut b = Instance::new(8 << 20, 0, [99, 12345]).unwrap();
    run(&mut a, src);
    run(&mut b, src);
    assert_eq!(encode_v(&mut a, &EncodeOptions::default()), encode_v(&mut b, &EncodeOptions::default()));
}

#[test]
fn unserializable_values_name_their_path() {
    let cases = [
        ("V = { cfg = { out = io.stdout } }", "cannot serialize userdata at V.cfg.out"),
        ("V = { list = { 1, 2, io.stdout } }", "cannot serialize userdata at V.list[3]"),
        ("V = { co = coroutine.create(print) }", "cannot serialize thread at V.co"),
        ("V = { gen = coroutine.wrap(function() end) }", "cannot serialize C function at V.gen (only standard library C functions can be serialized)"),
        ("V = string.gmatch('a', 'a')", "cannot serialize C function at V "),
        ("local co = coroutine.create(print) V = { cfg = { handler = function() return co end } }", "cannot serialize thread at V.cfg.handler upvalue 1 (co)"),
        ("V = { ['a b\\n\"'] = io.stdout }", "cannot serialize userdata at V[\"a b\\010\\034\"]"),
        ("V = { [io.stdout] = 1 }", "cannot serialize userdata at V key"),
        ("V = { [2.5] = io.stdout, [true] = {} }", "cannot serialize userdata at V[2.5]"),
        ("V = setmetatable({}, { __index = io.stderr })", "cannot serialize userdata at V metatable.__index"),
        ("V = { [{}] = io.stdout }", "cannot serialize userdata at V[table]"),
    ];
    for (src, want) in cases {
        let e = encode_error(src);
        assert_eq!(e.status, Status::LuaRuntime, "{src}");
        assert!(e.message.starts_with(want), "{src}\n got: {}\nwant: {want}", e.message);
    }
    // The root is named after the global.
    let mut a = new_instance();
    run(&mut a, "local co = coroutine.create(print) Memory = { cfg = { handler = function() return 1, co end } }");
    let e = encode_global(&mut a, b"Memory", &EncodeOptions::default(), &mut Vec::new()).unwrap_err();
    assert_eq!(e.message, "cannot serialize thread at Memory.cfg.handler upvalue 1 (co)");
    // Stripped functions have lost their upvalue names.
    let bytes = encode("local co = 1 V = function() return co end");
    let mut b = new_instance();
    decode_global(&mut b, b"V", &bytes).unwrap();
    run(&mut b, "debug.setupvalue(V, 1, coroutine.create(print)) X = { f = V }");
    let e = encode_global(&mut b, b"X", &EncodeOptions::default(), &mut Vec::new()).unwrap_err();
    assert_eq!(e.message, "cannot serialize thread at X.f upvalue 1");
}

#[test]
fn nesting_is_limited_to_200_levels() {
    let nest = |n: usize| format!("V = {{}} local t = V for i = 2, {n} do t.a = {{}} t = t.a end");
    let bytes = encode(&nest(200));
    decode_and_check(&bytes, "local n = 0 local t = W while t do n = n + 1 t = t.a end assert(n == 200)");
    let e = encode_error(&nest(201));
    assert!(e.message.starts_with("cannot serialize table at V.a.a.a"), "{}", e.message);
    assert!(e.message.contains(".a ... .a") && e.message.ends_with(".a.a (nested deeper than 200 levels)"), "{}", e.message);
    // Functions count as levels too.
    let e = encode_error("local f = function() end for i = 1, 300 do local g = f f = function() return g end end V = f");
    assert!(e.message.contains("upvalue 1 (g) upvalue 1 (g)") && e.message.contains("nested deeper"), "{}", e.message);
}

#[test]
fn strip_drops_debug_information() {
    let src = "V = function(t)\n  local x = t.a\n  return x.b\nend";
    let stripped = encode(src);
    let full = encode_with(src, &EncodeOptions { strip: false, compress_threshold: None });
    assert!(full.len() > stripped.len() + 10, "{} vs {}", full.len(), stripped.len());
    decode_and_check(
        &stripped,
        "local ok, e = pcall(W, {}) assert(not ok and e:find('^%?:') and not e:find('t:3'), e)",
    );
    decode_and_check(
        &full,
        "local ok, e = pcall(W, {}) assert(not ok and e:find('^t:3: attempt to index a nil value %(local \\'x\\'%)'), e)
         assert(debug.getinfo(W, 'S').linedefined == 1)",
    );
}

#[test]
fn closures_of_one_prototype_share_their_bytecode() {
    let one = encode("V = { function(a) return a * 2 + 1 end }");
    let many = encode_with(
        "V = {} for i = 1, 50 do V[i] = function(a) return a * 2 + i end end",
        &EncodeOptions { strip: true, compress_threshold: None },
    );
    assert!(many.len() < one.len() + 50 * 30, "{} bytes", many.len());
    decode_and_check(&many, "for i = 1, 50 do assert(W[i](1) == 2 + i) end assert(W[1] ~= W[2])");
}

fn flags(bytes: &[u8]) -> u8 {
    bytes[5]
}

#[test]
fn compression_threshold() {
    let src = "V = { string.rep('abc', 3000), f = function(x) return x end }";
    let plain = encode_with(src, &EncodeOptions { strip: true, compress_threshold: None });
    let packed = encode(src);
    assert_eq!(flags(&plain), 0);
    assert_eq!(flags(&packed), codec::FLAG_DEFLATE);
    assert!(packed.len() < plain.len() / 10, "{} vs {}", packed.len(), plain.len());
    let body = plain.len() - codec::HEADER_LEN;
    let at = |t: usize| flags(&encode_with(src, &EncodeOptions { strip: true, compress_threshold: Some(t) }));
    assert_eq!(at(body), 0, "a body of exactly the threshold stays plain");
    assert_eq!(at(body - 1), codec::FLAG_DEFLATE);
    for bytes in [&plain, &packed] {
        decode_and_check(bytes, "assert(W[1] == string.rep('abc', 3000) and W.f(4) == 4)");
    }
    // Small values stay plain under the default threshold; incompressible ones stay plain.
    assert_eq!(flags(&encode("V = string.rep('a', 1000)")), 0);
    let noise = encode("local t = {} math.randomseed(7) for i = 1, 4000 do t[i] = string.char(math.random(0, 255)) end V = table.concat(t)");
    assert_eq!(flags(&noise), 0);
}

#[test]
fn header_layout() {
    let bytes = encode("V = 5");
    assert_eq!(&bytes[0..4], &codec::MAGIC);
    assert_eq!(bytes[4], codec::VERSION);
    assert_eq!(bytes[5], 0);
    assert_eq!(bytes[6], 0x54);
    assert_eq!(bytes[7], 0);
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 9);
    assert_eq!(u32::from_le_bytes(bytes[12..16].try_into().unwrap()), codec::checksum(&bytes));
    assert_eq!(&bytes[16..], &[3, 5, 0, 0, 0, 0, 0, 0, 0]);
}

// ---- golden fixtures --------------------------------------------------------------------

/// (file, Lua building V, encode options (strip, compress), check on W).
const FIXTURES: &[(&str, &str, bool, bool, &str)] = &[
    (
        "scalars",
        "V = { 0, -1, math.maxinteger, math.mininteger, 1.5, -0.0, 1/0, -1/0, 0/0, '', 'a\\0b\\255', true, false }",
        true,
        false,
        "assert(W[1] == 0 and W[2] == -1 and W[3] == math.maxinteger and W[4] == math.mininteger)
         assert(W[5] == 1.5 and string.pack('<d', W[6]) == string.pack('<d', -0.0) and W[7] == 1/0 and W[8] == -1/0)
         assert(W[9] ~= W[9] and W[10] == '' and W[11] == 'a\\0b\\255' and W[12] == true and W[13] == false)
         assert(#W == 13)",
    ),
    (
        "graph",
        "local a = { name = 'a' } a.self = a
         local mt = { __index = function(t, k) return k .. '!' end }
         V = { a, a, [1.5] = 'f', [true] = 't', [a] = 'by table', obj = setmetatable({ x = 1 }, mt), two = setmetatable({}, mt) }",
        true,
        false,
        "assert(W[1] == W[2] and W[1].self == W[1] and W[1].name == 'a')
         assert(W[1.5] == 'f' and W[true] == 't' and W[W[1]] == 'by table')
         assert(W.obj.x == 1 and W.obj.y == 'y!' and getmetatable(W.obj) == getmetatable(W.two))",
    ),
    (
        "closures",
        "local n = 0
         local sin = math.sin
         local function fact(k) if k <= 1 then return 1 end return k * fact(k - 1) end
         V = { inc = function() n = n + 1 return n end, get = function() return n end,
               fact = fact, env = function() return marker end, sin = function(x) return sin(x) end,
               lib = string, print = print }
         V.inc()",
        true,
        false,
        "assert(W.get() == 1 and W.inc() == 2 and W.get() == 2)
         assert(W.fact(5) == 120 and W.env() == 'B' and W.sin(0) == 0)
         assert(W.lib == string and W.print == print)",
    ),
    (
        "debuginfo",
        "V = function(t)\n  local x = t.a\n  return x.b\nend",
        false,
        false,
        "local ok, e = pcall(W, {}) assert(not ok and e:find('^t:3:'), e)",
    ),
    (
        "compressed",
        "V = {} for i = 1, 200 do V[i] = { id = i, name = 'item ' .. i, f = function() return i end } end",
        true,
        true,
        "assert(#W == 200) for i = 1, 200 do assert(W[i].id == i and W[i].name == 'item ' .. i and W[i].f() == i) end",
    ),
];

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codec").join(format!("{name}.bin"))
}

/// Writes the fixtures: run once with `cargo test --test codec -- --ignored write_fixtures`,
/// then check them in. Never rewrite an existing fixture: they pin format version 1.
#[test]
#[ignore]
fn write_fixtures() {
    std::fs::create_dir_all(fixture_path("x").parent().unwrap()).unwrap();
    for &(name, src, strip, compress, _) in FIXTURES {
        let path = fixture_path(name);
        if path.exists() {
            continue;
        }
        let opts = EncodeOptions { strip, compress_threshold: if compress { Some(1024) } else { None } };
        let bytes = encode_with(&format!("marker = 'A' {src}"), &opts);
        assert_eq!(flags(&bytes) == codec::FLAG_DEFLATE, compress, "{name}");
        std::fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn golden_fixtures_decode() {
    for &(name, _, _, compress, check) in FIXTURES {
        let bytes = std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        assert_eq!(bytes[4], 1, "{name} pins format version 1");
        assert_eq!(flags(&bytes) == codec::FLAG_DEFLATE, compress, "{name}");
        decode_and_check(&bytes, check);
    }
}

// ---- hostile input ----------------------------------------------------------------------

/// Decodes `bytes`, which must fail with a message containing `want`; the instance must
/// stay usable and its heap must come back to where it was.
fn decode_fails(inst: &mut Instance, bytes: &[u8], want: &str) {
    // A first failure may grow caches for good (the error record, the string table, Lua's
    // list of call frames, which the check below also deepens).
    assert!(decode_global(inst, b"W", bytes).is_err(), "should fail with {want}");
    run(inst, "assert(W == nil) return 1");
    inst.collect();
    let before = inst.heap_used();
    let e = decode_global(inst, b"W", bytes).expect_err("decode should fail");
    assert_eq!(e.status, Status::LuaRuntime, "{e:?}");
    assert!(e.message.contains(want), "got: {}\nwant: {want}", e.message);
    run(inst, "assert(W == nil) return 1");
    inst.collect();
    // (Lua's GC may also shrink a stack the decode grew: the heap can end lower.)
    assert!(inst.heap_used() <= before, "decode leaked in the Lua heap: {} > {before}", inst.heap_used());
}

/// An encoding of `body` with a correct header.
fn with_header(body: &[u8]) -> Vec<u8> {
    let mut v = codec::MAGIC.to_vec();
    v.extend_from_slice(&[codec::VERSION, 0, 0x54, 0]);
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(body);
    codec::fix_checksum(&mut v);
    v
}

#[test]
fn malformed_headers_are_refused() {
    let mut inst = new_instance();
    let good = encode("V = { 1, 2, 'x' }");
    decode_global(&mut inst, b"W", &good).unwrap();
    run(&mut inst, "W = nil");
    decode_fails(&mut inst, b"", "shorter than a header");
    decode_fails(&mut inst, &good[..15], "shorter than a header");
    let mutate = |at: usize, v: u8, fix: bool| {
        let mut b = good.clone();
        b[at] = v;
        if fix {
            codec::fix_checksum(&mut b);
        }
        b
    };
    decode_fails(&mut inst, &mutate(0, b'X', true), "bad magic");
    decode_fails(&mut inst, &mutate(4, 2, true), "unsupported format version");
    decode_fails(&mut inst, &mutate(4, 0, true), "unsupported format version");
    decode_fails(&mut inst, &mutate(5, 4, true), "unknown header flags");
    decode_fails(&mut inst, &mutate(6, 0x53, true), "another Lua version");
    decode_fails(&mut inst, &mutate(7, 1, true), "reserved header byte");
    decode_fails(&mut inst, &mutate(20, 0x55, false), "checksum mismatch");
    decode_fails(&mut inst, &mutate(8, 1, true), "body length does not match");
    decode_fails(&mut inst, &mutate(11, 0x7f, true), "larger than this instance can hold");
    let mut extra = good.clone();
    extra.push(0);
    decode_fails(&mut inst, &extra, "checksum mismatch");
    codec::fix_checksum(&mut extra);
    decode_fails(&mut inst, &extra, "body length does not match");
    // Compressed payloads: corrupt stream, wrong declared length, trailing bytes.
    let packed = encode("V = string.rep('abc', 3000)");
    assert_eq!(flags(&packed), codec::FLAG_DEFLATE);
    let mut bad = packed.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x5a;
    codec::fix_checksum(&mut bad);
    decode_fails(&mut inst, &bad, "compressed payload is corrupt");
    for delta in [-1i64, 1] {
        let mut bad = packed.clone();
        let len = u32::from_le_bytes(bad[8..12].try_into().unwrap()) as i64 + delta;
        bad[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        codec::fix_checksum(&mut bad);
        decode_fails(&mut inst, &bad, "compressed payload is corrupt");
    }
    let mut bad = packed.clone();
    bad.push(0);
    codec::fix_checksum(&mut bad);
    decode_fails(&mut inst, &bad, "compressed payload is corrupt");
}

#[test]
fn malformed_bodies_are_refused() {
    let mut inst = new_instance();
    let cases: &[(&[u8], &str)] = &[
        (&[], "truncated input"),
        (&[99], "unknown value tag"),
        (&[0, 0], "bytes left after the value"),
        (&[3, 1, 2], "truncated input"),
        (&[5, 0xff, 0xff, 0xff, 0xff, b'a'], "truncated input"),
        (&[5, 10, 0, 0, 0, b'a'], "truncated input"),
        (&[6, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], "declares more entries than the input holds"),
        (&[6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f], "declares more entries than the input holds"),
        (&[6, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0], "nil table key"),
        (&[6, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 2, 0], "NaN table key"),
        (&[6, 0, 0, 0, 0, 0, 0, 0, 0, 2], "metatable that is not a table"),
        (&[6, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1, 0, 0, 0, b'k', 1, 11, 1, 0, 0, 0], "metatable that is not a table"),
        (&[6, 0, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0], "bytes left after the value"),
        (&[11, 0, 0, 0, 0], "reference to an object not yet decoded"),
        (&[6, 1, 0, 0, 0, 0, 0, 0, 0, 11, 1, 0, 0, 0, 0], "reference to an object not yet decoded"),
        (&[8, 0, 0, 0, 0], "a clone of an object that is not a function"),
        (&[6, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0], "a clone of an object that is not a function"),
        (&[9, 3, b'f', b'o', b'o'], "unknown built-in 'foo'"),
        (&[9, 9, b'f', b'o', b'o'], "truncated input"),
        (&[7, 4, 0, 0, 0, 1, 2, 3, 4], "bytecode rejected"),
        (&[7, 0xff, 0xff, 0xff, 0xff], "truncated input"),
    ];
    for &(body, want) in cases {
        decode_fails(&mut inst, &with_header(body), want);
    }
    // Deep nesting: 100,000 nested tables and metatables.
    let mut deep = Vec::new();
    for _ in 0..100_000 {
        deep.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0]);
    }
    decode_fails(&mut inst, &with_header(&deep), "nested deeper than 200 levels");
    let mut deep = Vec::new();
    for _ in 0..100_000 {
        deep.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    decode_fails(&mut inst, &with_header(&deep), "nested deeper than 200 levels");
    // A function record's upvalue count must match its bytecode, and its upvalue records
    // must be well-formed.
    let f = encode_with("local a, b = 1, 2 V = function() return a + b end", &EncodeOptions { strip: true, compress_threshold: None });
    let body = &f[codec::HEADER_LEN..];
    let code_len = u32::from_le_bytes(body[1..5].try_into().unwrap()) as usize;
    let nups_at = 5 + code_len;
    assert_eq!(body[nups_at], 2);
    for (at, v, want) in [
        (nups_at, 1u8, "upvalue count does not match"),
        (nups_at, 3, "upvalue count does not match"),
        (nups_at + 1, 7, "unknown upvalue kind"),
        (nups_at + 1, 1, "reference to an upvalue not yet decoded"),
    ] {
        let mut b = body.to_vec();
        b[at] = v;
        decode_fails(&mut inst, &with_header(&b), want);
    }
    // Every truncation of real encodings fails cleanly.
    for src in [
        "V = { 1, 'two', { 3 }, x = 1.5, [true] = false }",
        "local n = 0 V = { function() n = n + 1 return n end, math.sin, _G }",
    ] {
        let plain = encode_with(src, &EncodeOptions { strip: true, compress_threshold: None });
        let body = &plain[codec::HEADER_LEN..];
        for cut in 0..body.len() {
            let b = with_header(&body[..cut]);
            assert!(decode_global(&mut inst, b"W", &b).is_err(), "cut at {cut}");
        }
        decode_global(&mut inst, b"W", &plain).unwrap();
    }
    run(&mut inst, "return 1");
}

/// xorshift64*: the fuzz loop's seeded randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Real encodings to mutate.
fn fuzz_corpus() -> Vec<Vec<u8>> {
    let plain = EncodeOptions { strip: true, compress_threshold: None };
    let full = EncodeOptions { strip: false, compress_threshold: None };
    let sources = [
        ("V = { 1, -2, 3.5, 'str', true, false, { nested = { deep = 'x' } }, [1.5] = 0/0, [false] = -0.0 }", plain),
        ("local a = { } a.self = a V = { a, a, setmetatable({ 1 }, { __index = a }), s = 'shared', t = 'shared' }", plain),
        ("local n = 0 local function f(k) if k == 0 then return n end return f(k - 1) end V = { inc = function() n = n + 1 end, f = f, env = function() return marker end }", plain),
        ("local sin = math.sin V = { sin, print, string, _G, function(x) return sin(x) end }", plain),
        ("V = {} for i = 1, 5 do V[i] = function() return i end end", plain),
        ("local up = { 1, 2 } V = function(a, b, ...) local t = { ... } return a + b + #t + up[1] end", full),
        ("V = { string.rep('ab', 40), { { { {} } } }, [{}] = {} }", plain),
    ];
    sources.iter().map(|(src, opts)| encode_with(src, opts)).collect()
}

/// One to four random edits of `base`.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = b.len();
        match rng.below(9) {
            0 | 1 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            2 => {
                let i = rng.below(n);
                b[i] = rng.next() as u8;
            }
            3 => {
                let i = rng.below(n + 1);
                b.insert(i, rng.next() as u8);
            }
            4 if n > 1 => {
                let i = rng.below(n);
                b.remove(i);
            }
            5 => b.truncate(rng.below(n + 1)),
            6 if n >= 4 => {
                let i = rng.below(n - 3);
                let v: u32 = match rng.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => u32::MAX,
                    3 => 0x7fff_ffff,
                    4 => rng.below(n) as u32,
                    _ => rng.next() as u32,
                };
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            7 if n > 8 => {
                // Duplicate a slice somewhere else.
                let from = rng.below(n);
                let len = 1 + rng.below((n - from).min(32));
                let chunk = b[from..from + len].to_vec();
                let at = rng.below(b.len() + 1);
                b.splice(at..at, chunk);
            }
            _ => {
                let i = rng.below(n);
                b[i] = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 0xff][rng.below(11)];
            }
        }
        if b.is_empty() {
            break;
        }
    }
    b
}

/// At least 100,000 mutants of real encodings, each decoded into one instance: every one
/// must decode or fail cleanly (a crash would abort the test process). Bodies are mutated
/// under a fixed-up header (checksum and length), so the decoder's body checks are what
/// is exercised; one in eight keeps the raw header. Decoded values may carry finalizers
/// (mutated bytecode, validated): they run under the instance's instruction budget.
#[test]
fn fuzz_decode_mutants() {
    let corpus = fuzz_corpus();
    let mut inst = Instance::new(8 << 20, 1_000_000, [1, 2]).unwrap();
    run(&mut inst, "marker = 'B'");
    // CODEC_FUZZ_SEED and CODEC_FUZZ_MUTANTS run a longer campaign.
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut rng = Rng(env("CODEC_FUZZ_SEED", 0x00c0_ffee_1234_5678) | 1);
    let (mut ok, mut failed) = (0u32, 0u32);
    let start = std::time::Instant::now();
    let mutants = env("CODEC_FUZZ_MUTANTS", 100_000).max(100_000) as u32;
    for i in 0..mutants {
        let base = &corpus[rng.below(corpus.len())];
        let bytes = if rng.below(8) == 0 {
            let mut m = mutate(&mut rng, base);
            if rng.below(2) == 0 {
                codec::fix_checksum(&mut m);
            }
            m
        } else {
            let body = mutate(&mut rng, &base[codec::HEADER_LEN..]);
            if rng.below(16) == 0 {
                // Compressed: the decoder must also cope with mutants behind DEFLATE.
                let packed = miniz_oxide::deflate::compress_to_vec(&body, 6);
                let mut v = with_header(&packed);
                v[5] = codec::FLAG_DEFLATE;
                v[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
                codec::fix_checksum(&mut v);
                v
            } else {
                with_header(&body)
            }
        };
        match decode_global(&mut inst, b"W", &bytes) {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(e.status != Status::Ok && !e.message.is_empty(), "mutant {i}: {e:?}");
                failed += 1;
            }
        }
        if i % 4096 == 0 {
            let mut reply = Vec::new();
            inst.compute(b"W = nil collectgarbage()", b"=t", false, &mut reply);
        }
    }
    let mut reply = Vec::new();
    inst.compute(b"W = nil collectgarbage()", b"=t", false, &mut reply);
    run(&mut inst, "return 1");
    eprintln!("fuzz: {mutants} mutants, {ok} decoded, {failed} refused, {:?}", start.elapsed());
    assert!(ok > 1000 && failed > 10_000, "{ok} decoded, {failed} refused: the mutator is off");
}

// ---- allocation failures ----------------------------------------------------------------

/// Encoding and decoding with the Nth Lua allocation failing, for every N: each run ends in
/// LUA_MEMORY, the instance stays usable, and the heap comes back to its baseline.
#[test]
fn allocation_failures_are_clean() {
    let src = "local n = 0 local a = { 'x' } a.self = a
               V = { a, f = function() n = n + 1 return n, a end, s = string.rep('q', 100), sin = math.sin,
                     m = setmetatable({}, { __index = a }), [2.5] = { 1, 2, 3 } }";
    let mut inst = Instance::new(1 << 20, 0, [1, 2]).unwrap();
    run(&mut inst, src);
    let good = encode_v(&mut inst, &EncodeOptions { strip: true, compress_threshold: Some(64) });
    assert_eq!(flags(&good), codec::FLAG_DEFLATE);
    // Warm up (the registry of built-ins is built once and kept).
    decode_global(&mut inst, b"W", &good).unwrap();
    run(&mut inst, "W = nil");
    inst.collect();
    let baseline = inst.heap_used();
    let mut done = [false, false];
    for n in 1..10_000u32 {
        for (which, finished) in done.iter_mut().enumerate() {
            if *finished {
                continue;
            }
            inst.fail_allocation(n);
            let result = if which == 0 {
                let mut out = Vec::new();
                encode_global(&mut inst, b"V", &EncodeOptions::default(), &mut out).map(|_| out.len())
            } else {
                decode_global(&mut inst, b"W", &good).map(|_| 0)
            };
            inst.fail_allocation(0);
            match result {
                Ok(_) => *finished = true,
                Err(e) => assert_eq!(e.status, Status::LuaMemory, "allocation {n}: {e:?}"),
            }
            run(&mut inst, "W = nil");
            inst.collect();
            let used = inst.heap_used();
            assert!(used <= baseline, "allocation {n} ({}) leaked: {used} > {baseline}", ["encode", "decode"][which]);
        }
        if done == [true, true] {
            assert!(n > 20, "only {n} allocations?");
            return;
        }
    }
    panic!("never finished");
}

/// The registry of built-ins is built at an instance's first encode: an allocation failing
/// while it is built leaves no half-built registry behind.
#[test]
fn registry_build_survives_allocation_failures() {
    let src = "V = { print, math.sin, string }";
    let good = encode(src);
    for n in 1..2000u32 {
        let mut inst = Instance::new(1 << 20, 0, [1, 2]).unwrap();
        run(&mut inst, src);
        inst.fail_allocation(n);
        let result = encode_global(&mut inst, b"V", &EncodeOptions::default(), &mut Vec::new());
        inst.fail_allocation(0);
        match result {
            Ok(()) => {
                assert!(n > 10, "only {n} allocations?");
                return;
            }
            Err(e) => assert_eq!(e.status, Status::LuaMemory, "allocation {n}: {e:?}"),
        }
        assert_eq!(encode_v(&mut inst, &EncodeOptions::default()), good, "allocation {n}");
        decode_global(&mut inst, b"W", &good).unwrap();
        run(&mut inst, "assert(W[1] == print and W[2] == math.sin and W[3] == string)");
    }
    panic!("never finished");
}

// ---- timing -----------------------------------------------------------------------------

/// Serializes a function with ~10 KB of bytecode and loads it back (validation included):
/// `cargo test --release --test codec -- --nocapture timing`.
#[test]
fn timing_of_a_10kb_function() {
    let mut body = String::from("local k = 0 V = function(x) local t = {}\n");
    for i in 0..200 {
        body.push_str(&format!("t[{i}] = x * {i} + k - {}\n", i * 3));
    }
    body.push_str("return t end");
    let mut inst = new_instance();
    run(&mut inst, &body);
    let opts = EncodeOptions { strip: true, compress_threshold: None };
    let bytes = encode_v(&mut inst, &opts);
    let code_len = u32::from_le_bytes(bytes[17..21].try_into().unwrap());
    assert!((9_000..12_000).contains(&code_len), "bytecode of {code_len} bytes");
    // The median of 201 rounds (the machine may be busy).
    let median = |f: &mut dyn FnMut()| {
        let mut times: Vec<_> = (0..201)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        times.sort();
        times[100]
    };
    let mut out = Vec::new();
    let encode_time = median(&mut || {
        out.clear();
        encode_global(&mut inst, b"V", &opts, &mut out).unwrap();
    });
    let plain = out.clone();
    let decode_time = median(&mut || decode_global(&mut inst, b"W", &plain).unwrap());
    let packed = encode_v(&mut inst, &EncodeOptions::default());
    let encode_packed = median(&mut || {
        out.clear();
        encode_global(&mut inst, b"V", &EncodeOptions::default(), &mut out).unwrap();
    });
    let decode_packed = median(&mut || decode_global(&mut inst, b"W", &packed).unwrap());
    run(&mut inst, "assert(W(2)[10] == 20 + 0 - 30)");
    eprintln!(
        "10 KB function ({code_len} bytes of bytecode): encode {encode_time:?}, decode+validate+load {decode_time:?}; \
         compressed ({} bytes): encode {encode_packed:?}, decode {decode_packed:?}",
        packed.len()
    );
}
