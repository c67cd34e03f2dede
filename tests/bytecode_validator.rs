//! The bytecode validator (core/bytecode/): hostile chunks, zero false rejects on real
//! dumps, a seeded mutation fuzz loop, and throughput. Needs the "persistence" feature
//! (scripts/test.sh runs `cargo test --all-features`).
#![cfg(feature = "persistence")]

use cu::bytecode::{validate_chunk, Rejection};
use cu::protocol::{dispatch, OP_COMPUTE};
use cu::runtime::{Instance, Status};
use std::path::Path;

mod common;
use common::Rng;

// ---------------------------------------------------------------------------------------
// Real dumps

/// A Lua string literal holding exactly `bytes`.
fn lua_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2 + 2);
    s.push('"');
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b == b' ' || (b.is_ascii_punctuation() && b != b'"' && b != b'\\') {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\{b:03}"));
        }
    }
    s.push('"');
    s
}

/// Runs `src` in a fresh instance and returns its first result, which must be a string.
fn run_for_string(inst: &mut Instance, src: &str) -> Vec<u8> {
    let name = "=dump";
    let mut req = vec![1u8];
    req.extend_from_slice(&(name.len() as u16).to_le_bytes());
    req.extend_from_slice(name.as_bytes());
    req.extend_from_slice(src.as_bytes());
    let mut reply = Vec::new();
    let status = dispatch(inst, OP_COMPUTE, &req, &mut reply);
    assert_eq!(status, Status::Ok, "{}", String::from_utf8_lossy(&reply));
    assert!(reply.len() >= 9 && reply[4] == 5, "not a string reply");
    let len = u32::from_le_bytes(reply[5..9].try_into().unwrap()) as usize;
    reply[9..9 + len].to_vec()
}

/// `string.dump(load(source), strip)` through Cu on the host.
fn dump_with_cu(inst: &mut Instance, source: &[u8], chunkname: &str, strip: bool) -> Vec<u8> {
    let src = format!(
        "local f = assert(load({}, {})) return string.dump(f, {strip})",
        lua_string(source),
        lua_string(chunkname.as_bytes())
    );
    run_for_string(inst, &src)
}

fn new_instance() -> Box<Instance> {
    Instance::new(8 << 20, 0, [1, 2]).unwrap()
}

fn lua_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    files.sort();
    files
}

/// Tricky functions: every construct whose code generation the rules look at.
fn generated_corpus() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, src: String| v.push((name.to_string(), src));
    add(
        "varargs",
        "local function f(a, ...) local t = {...} local n = select('#', ...) return a, n, ... end \
        local function g(...) return ... end local function h(...) return f(1, ...) end \
        local function k(a, b, ...) local x, y = ... return (...) end return f(1, 2, 3), g(), h(4), k(1)"
            .into(),
    );
    // > 256 constants: LOADKX, and constants past the k-bit limits of RK operands.
    let mut many = String::from("local t = {} local function f(x) local s = 0 ");
    for i in 0..300 {
        many.push_str(&format!("s = s + {i}.5 t.k{i} = 'v{i}' t['long key number {i} {}'] = {i} ", "x".repeat(40)));
    }
    for i in 0..300 {
        many.push_str(&format!("x = x .. 's{i}' if x == 'q{i}' then s = s - {i}.25 end s = s & {} ", 1000 + i));
    }
    many.push_str("return s, x:upper(), x:lower(), x.len(x) end return f('a')");
    add("many-constants", many);
    // > 255 locals is impossible (200), but many registers are not.
    let mut regs = String::from("local function f() ");
    for i in 0..190 {
        regs.push_str(&format!("local v{i} = {i} "));
    }
    regs.push_str("return v0 + v189, {v1, v2, v3} end return f()");
    add("many-registers", regs);
    add(
        "closures-in-loops",
        "local fs = {} for i = 1, 10 do fs[i] = function() return i end end \
        for i = 10, 1, -1.5 do fs[#fs + 1] = function() return i * 2 end end \
        for k, v in pairs({a = 1, b = 2}) do fs[#fs + 1] = function() return k, v end end \
        local j = 0 while j < 3 do local c = j fs[#fs + 1] = function() return c end j = j + 1 end \
        repeat local r = j fs[#fs + 1] = function() return r end j = j - 1 until r < 1 \
        return #fs"
            .into(),
    );
    add(
        "goto",
        "local n = 0 ::top:: n = n + 1 if n < 5 then goto top end \
        for i = 1, 3 do for j = 1, 3 do if j == 2 then goto continue end n = n + j ::continue:: end end \
        do local x = 1 local f = function() return x end if n > 0 then goto out end x = 2 end ::out:: \
        while true do local y = n local g = function() return y end if n > 2 then break end end return n"
            .into(),
    );
    add(
        "numeric-for",
        "local s = 0 for i = 1, 100 do s = s + i end for i = 1.0, 2.0, 0.25 do s = s + i end \
        for i = 10, 1, -1 do s = s - i end for i = math.maxinteger - 2, math.maxinteger do s = s + 1 end \
        for i = 1, 0 do error('no') end for i = 1, 3 do for j = i, 3 do s = s + i * j end end return s"
            .into(),
    );
    add(
        "generic-for",
        "local s = 0 for k, v in pairs({1, 2, 3, x = 4}) do s = s + v end \
        for i, v in ipairs({5, 6}) do s = s + i end for w in string.gmatch('a b c', '%a') do s = s + #w end \
        for a, b, c, d in next, {1} do s = s + 1 end for k in pairs({}) do break end \
        local function iter(t, i) if i < t then return i + 1 end end for i in iter, 5, 0 do s = s + i end return s"
            .into(),
    );
    add(
        "to-be-closed",
        "local log = {} local mt = {__close = function(o, e) log[#log + 1] = o.n end} \
        local function new(n) return setmetatable({n = n}, mt) end \
        do local a <close> = new(1) local b <close> = new(2) local c <const> = 3 end \
        local function f() local x <close> = new(3) return 1, 2 end f() \
        local function g() local x <close> = new(4) return f() end g() \
        for i = 1, 2 do local y <close> = new(10 + i) if i == 2 then break end end \
        local function h(...) local z <close> = new(5) return ... end h(1, 2) \
        local ok = pcall(function() local w <close> = new(6) error('x') end) \
        for k, v in pairs({1}), nil, nil, new(7) do end return #log"
            .into(),
    );
    let mut setlist = String::from("local t = {");
    for i in 0..130 {
        setlist.push_str(&format!("{i}, "));
    }
    setlist.push_str("} local function f(...) return {1, 2, ...}, {...}, {n = 1, ...}, {f and 1, ...} end ");
    setlist.push_str("local u = {table.unpack(t)} local w = {(table.unpack(t))} ");
    let mut big = String::from("{");
    for i in 0..600 {
        big.push_str(&format!("{i}, "));
    }
    big.push_str("x = 1, y = 2, [3.5] = 4, ...}");
    setlist.push_str(&format!("local function g(...) return {big} end "));
    setlist.push_str("return #t, #f(1, 2), #u, #w, #g(1, 2)");
    add("setlist", setlist);
    add(
        "methods",
        "local o = {v = 1} function o:get(x) return self.v + x end function o.static(x) return x end \
        local s = ('abc'):upper() .. o:get(1) .. o.static(2) \
        local very_long_method_name_that_is_longer_than_forty_characters_xx = 1 \
        o['a_method_name_that_is_definitely_longer_than_forty_bytes'] = function(self) return 7 end \
        return o:a_method_name_that_is_definitely_longer_than_forty_bytes(), s"
            .into(),
    );
    add("constants", "local a, b, c = 'short', 'a long string constant that has more than forty characters in it', [[long\nbracket]] \
        local i, f, g = 42, 3.25, -0.0 local h, m = math.maxinteger, 1e300 local n = 2^53 \
        local x = i + 1 local y = i - 1 local z = f * 2 local w = i // 3 local q = i % 5 local p = f ^ 2 local d = f / 3 \
        local bw = i & 7 | 8 ~ 9 local sh = i << 2 >> 1 local s2 = 1 << i local s3 = i >> 65 local s4 = i << -1 \
        local e = i + 1.5 local e2 = 1.5 - i local e3 = i * 1000000 local e4 = 3 - i local neg = -i local bn = ~i \
        local cmp = (i < 3) == (i <= 4) == (i > 5) == (i >= 6.5) == (f == 3.25) == (a == 'short') == (i ~= 1) \
        local l = #a + #b return a .. b .. c, x, y, z, w, q, p, d, bw, sh, s2, s3, s4, e, e2, e3, e4, neg, bn, cmp, l, g, h, m, n".into());
    add(
        "logic",
        "local function f(a, b, c) local x = a and b or c local y = not a local z = a == nil and 1 or 2 \
        if a and (b or c) then x = 1 elseif not b then x = 2 else x = 3 end \
        local t = {a or b, a and b, not c, a == b, a ~= b, a < 1 and 2} return x, y, z, t end \
        return f(1, 2, 3), f(nil, false, 1)"
            .into(),
    );
    add("upvalues", "local a = 1 local function f() local b = 2 return function() a = a + b return function() return a, b end end end \
        local g = f()() return g()".into());
    add("nested-deep", {
        let mut s = String::from("local x = 0 ");
        for _ in 0..40 {
            s.push_str("x = (function() ");
        }
        s.push_str("return x + 1 ");
        for _ in 0..40 {
            s.push_str("end)() ");
        }
        s.push_str("return x");
        s
    });
    add(
        "tailcalls",
        "local function f(n) if n == 0 then return 'done' end return f(n - 1) end \
        local function g(...) return select('#', ...) end local function h(...) return g(...) end \
        return f(10), h(1, 2, 3), (function(...) return ... end)(1)"
            .into(),
    );
    add(
        "strings-and-concat",
        "local a, b = 'x', 'y' local s = a .. b .. 1 .. 2.5 .. a local t = {} \
        for i = 1, 10 do t[#t + 1] = a .. i end return s, table.concat(t)"
            .into(),
    );
    add("integer-division-edge", "local x = 7 return x // 0.0, x % -3, -x // 2, x / 2, 3 % math.huge".into());
    add("empty", String::new());
    v
}

/// Every (name, source) of the zero-false-reject corpus.
fn corpus_sources() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for dir in ["test-harness/lua", "bench/workloads"] {
        for path in lua_files(dir) {
            let name = format!("@{}", path.file_name().unwrap().to_string_lossy());
            v.push((name, std::fs::read(&path).unwrap()));
        }
    }
    for (name, src) in generated_corpus() {
        v.push((format!("={name}"), src.into_bytes()));
    }
    v
}

/// Every dump of the corpus: (label, bytes), stripped and unstripped, by Cu's own Lua 5.4.9.
fn cu_dumps() -> Vec<(String, Vec<u8>)> {
    let mut inst = new_instance();
    let mut out = Vec::new();
    for (name, src) in corpus_sources() {
        for strip in [false, true] {
            let bytes = dump_with_cu(&mut inst, &src, &name, strip);
            out.push((format!("{name} strip={strip}"), bytes));
        }
    }
    out
}

/// The same corpus dumped by the system's lua5.4 (5.4.4), when there is one.
fn native_dumps() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(probe) = std::process::Command::new("lua5.4").arg("-v").output() else {
        eprintln!("lua5.4 not found: skipping the native corpus");
        return out;
    };
    if !probe.status.success() {
        return out;
    }
    let dir = std::env::temp_dir().join(format!("cu-bytecode-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script_file = dir.join("dump.lua");
    std::fs::write(
        &script_file,
        "local f = assert(io.open(arg[1], 'rb')) local s = f:read('a') f:close() \
         io.write(string.dump(assert(load(s, arg[2])), arg[3] == 'true'))",
    )
    .unwrap();
    for (n, (name, src)) in corpus_sources().into_iter().enumerate() {
        let file = dir.join(format!("{n}.lua"));
        std::fs::write(&file, &src).unwrap();
        for strip in [false, true] {
            let o = std::process::Command::new("lua5.4")
                .arg(&script_file)
                .arg(&file)
                .arg(&name)
                .arg(strip.to_string())
                .output()
                .unwrap();
            assert!(o.status.success(), "lua5.4 failed on {name}: {}", String::from_utf8_lossy(&o.stderr));
            out.push((format!("native {name} strip={strip}"), o.stdout));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn real_dumps_validate() {
    let mut failures = Vec::new();
    let cu = cu_dumps();
    let native = native_dumps();
    for (label, bytes) in cu.iter().chain(native.iter()) {
        match validate_chunk(bytes) {
            Ok(info) => assert_eq!(info.stripped, label.ends_with("strip=true"), "{label}"),
            Err(r) => failures.push(format!("{label}: {}", r.message())),
        }
    }
    eprintln!("validated {} Cu dumps and {} native lua5.4 dumps", cu.len(), native.len());
    assert!(failures.is_empty(), "{} false rejects:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// A chunk builder (ldump.c in miniature) and the hostile corpus

/// Opcodes (lopcodes.h, ORDER OP), written out independently of the validator's table.
#[allow(dead_code)]
mod op {
    pub const MOVE: u32 = 0;
    pub const LOADI: u32 = 1;
    pub const LOADK: u32 = 3;
    pub const LOADKX: u32 = 4;
    pub const LOADNIL: u32 = 8;
    pub const GETUPVAL: u32 = 9;
    pub const GETTABUP: u32 = 11;
    pub const GETFIELD: u32 = 14;
    pub const NEWTABLE: u32 = 19;
    pub const SELF: u32 = 20;
    pub const ADDK: u32 = 22;
    pub const BANDK: u32 = 29;
    pub const ADD: u32 = 34;
    pub const MMBIN: u32 = 46;
    pub const MMBINI: u32 = 47;
    pub const ADDI: u32 = 21;
    pub const MMBINK: u32 = 48;
    pub const CONCAT: u32 = 53;
    pub const CLOSE: u32 = 54;
    pub const TBC: u32 = 55;
    pub const JMP: u32 = 56;
    pub const EQ: u32 = 57;
    pub const CALL: u32 = 68;
    pub const TAILCALL: u32 = 69;
    pub const RETURN: u32 = 70;
    pub const RETURN0: u32 = 71;
    pub const RETURN1: u32 = 72;
    pub const FORLOOP: u32 = 73;
    pub const FORPREP: u32 = 74;
    pub const TFORPREP: u32 = 75;
    pub const TFORCALL: u32 = 76;
    pub const TFORLOOP: u32 = 77;
    pub const SETLIST: u32 = 78;
    pub const CLOSURE: u32 = 79;
    pub const VARARG: u32 = 80;
    pub const VARARGPREP: u32 = 81;
    pub const EXTRAARG: u32 = 82;
    pub const TM_ADD: u32 = 6;
    pub const TM_SUB: u32 = 7;
}

fn abc(o: u32, a: u32, b: u32, c: u32) -> u32 {
    o | a << 7 | b << 16 | c << 24
}
fn abck(o: u32, a: u32, b: u32, c: u32) -> u32 {
    abc(o, a, b, c) | 1 << 15
}
fn abx(o: u32, a: u32, bx: u32) -> u32 {
    o | a << 7 | bx << 15
}
fn asbx(o: u32, a: u32, sbx: i32) -> u32 {
    abx(o, a, (sbx + 65535) as u32)
}
fn iax(o: u32, ax: u32) -> u32 {
    o | ax << 7
}
fn sj(j: i32) -> u32 {
    op::JMP | ((j + 16_777_215) as u32) << 7
}

#[derive(Clone, Debug)]
enum K {
    Int(i64),
    Flt(f64),
    Str(Vec<u8>),
    /// A raw tag byte with nothing after it.
    Tag(u8),
    /// A string constant with an explicit tag (4 short, 0x14 long) and raw size field.
    RawStr(u8, u64, Vec<u8>),
}

#[derive(Clone, Debug)]
struct P {
    source: Option<Vec<u8>>,
    numparams: u8,
    is_vararg: u8,
    maxstacksize: u8,
    code: Vec<u32>,
    k: Vec<K>,
    upvalues: Vec<(u8, u8, u8)>,
    protos: Vec<P>,
    lineinfo: Vec<u8>,
    abslineinfo: Vec<(u64, u64)>,
    locvars: Vec<(Option<Vec<u8>>, u64, u64)>,
    /// Declared count of upvalue names, then the names.
    upvalue_names: (u64, Vec<Option<Vec<u8>>>),
}

impl P {
    /// A vararg main function: VARARGPREP, `body`, RETURN; one upvalue (_ENV).
    fn main(maxstack: u8, body: &[u32]) -> P {
        let mut code = vec![abc(op::VARARGPREP, 0, 0, 0)];
        code.extend_from_slice(body);
        code.push(abc(op::RETURN, 0, 1, 1));
        P {
            source: Some(b"=hostile".to_vec()),
            numparams: 0,
            is_vararg: 1,
            maxstacksize: maxstack,
            code,
            k: vec![],
            upvalues: vec![(1, 0, 0)],
            protos: vec![],
            lineinfo: vec![],
            abslineinfo: vec![],
            locvars: vec![],
            upvalue_names: (0, vec![]),
        }
    }
    /// A fixed-parameter function with exactly `code`.
    fn func(maxstack: u8, code: &[u32]) -> P {
        P { source: None, is_vararg: 0, upvalues: vec![], code: code.to_vec(), ..P::main(maxstack, &[]) }
    }
    /// Main with exactly `code` (no VARARGPREP/RETURN added).
    fn raw_main(maxstack: u8, code: &[u32]) -> P {
        P { code: code.to_vec(), ..P::main(maxstack, &[]) }
    }
    fn with_k(mut self, k: Vec<K>) -> P {
        self.k = k;
        self
    }
    fn with_protos(mut self, protos: Vec<P>) -> P {
        self.protos = protos;
        self
    }
    fn with_upvalues(mut self, u: Vec<(u8, u8, u8)>) -> P {
        self.upvalues = u;
        self
    }
}

/// ldump.c's encoding.
struct W(Vec<u8>);
impl W {
    fn size(&mut self, mut x: u64) {
        let mut buf = Vec::new();
        loop {
            buf.push((x & 0x7f) as u8);
            x >>= 7;
            if x == 0 {
                break;
            }
        }
        buf[0] |= 0x80;
        buf.reverse();
        self.0.extend_from_slice(&buf);
    }
    fn string(&mut self, s: &Option<Vec<u8>>) {
        match s {
            None => self.size(0),
            Some(s) => {
                self.size(s.len() as u64 + 1);
                self.0.extend_from_slice(s);
            }
        }
    }
    fn function(&mut self, f: &P) {
        self.string(&f.source);
        self.size(0);
        self.size(0);
        self.0.extend_from_slice(&[f.numparams, f.is_vararg, f.maxstacksize]);
        self.size(f.code.len() as u64);
        for i in &f.code {
            self.0.extend_from_slice(&i.to_le_bytes());
        }
        self.size(f.k.len() as u64);
        for k in &f.k {
            match k {
                K::Int(i) => {
                    self.0.push(3);
                    self.0.extend_from_slice(&i.to_le_bytes());
                }
                K::Flt(x) => {
                    self.0.push(0x13);
                    self.0.extend_from_slice(&x.to_le_bytes());
                }
                K::Str(s) => {
                    self.0.push(if s.len() <= 40 { 4 } else { 0x14 });
                    self.string(&Some(s.clone()));
                }
                K::Tag(t) => self.0.push(*t),
                K::RawStr(t, size, bytes) => {
                    self.0.push(*t);
                    self.size(*size);
                    self.0.extend_from_slice(bytes);
                }
            }
        }
        self.size(f.upvalues.len() as u64);
        for &(a, b, c) in &f.upvalues {
            self.0.extend_from_slice(&[a, b, c]);
        }
        self.size(f.protos.len() as u64);
        for p in &f.protos {
            self.function(p);
        }
        self.size(f.lineinfo.len() as u64);
        self.0.extend_from_slice(&f.lineinfo);
        self.size(f.abslineinfo.len() as u64);
        for &(pc, line) in &f.abslineinfo {
            self.size(pc);
            self.size(line);
        }
        self.size(f.locvars.len() as u64);
        for (name, s, e) in &f.locvars {
            self.string(name);
            self.size(*s);
            self.size(*e);
        }
        self.size(f.upvalue_names.0);
        for n in &f.upvalue_names.1 {
            self.string(n);
        }
    }
}

const HEADER: &[u8] = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08";

fn header() -> Vec<u8> {
    let mut h = HEADER.to_vec();
    h.extend_from_slice(&0x5678i64.to_le_bytes());
    h.extend_from_slice(&370.5f64.to_le_bytes());
    h
}

/// A whole chunk: header, the main closure's upvalue count, the main function.
fn chunk_n(nups: u8, main: &P) -> Vec<u8> {
    let mut w = W(header());
    w.0.push(nups);
    w.function(main);
    w.0
}

fn chunk(main: &P) -> Vec<u8> {
    chunk_n(main.upvalues.len() as u8, main)
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    rule: &'static str,
    function: &'static str,
    pc: Option<u32>,
}

fn case(name: &'static str, bytes: Vec<u8>, rule: &'static str, function: &'static str, pc: Option<u32>) -> Case {
    Case { name, bytes, rule, function, pc }
}

/// A numeric loop in main: R0..R2 set, FORPREP at pc 4, `body` (pc 5..), FORLOOP, RETURN.
fn numeric_loop(maxstack: u8, before: &[u32], body: &[u32]) -> P {
    let mut code = before.to_vec();
    code.extend_from_slice(&[asbx(1, 0, 1), asbx(1, 1, 3), asbx(1, 2, 1)]);
    let prep = code.len() as u32 + 1; // + VARARGPREP
    code.push(abx(op::FORPREP, 0, body.len() as u32));
    code.extend_from_slice(body);
    code.push(abx(op::FORLOOP, 0, body.len() as u32 + 1));
    let _ = prep;
    P::main(maxstack, &code)
}

/// A generic for loop in main: TFORPREP at pc 2, a one-instruction body, TFORCALL,
/// TFORLOOP, CLOSE, RETURN.
fn generic_loop(tforprep_bx: u32, body: u32) -> P {
    P::main(
        10,
        &[
            abc(op::LOADNIL, 0, 3, 0),
            abx(op::TFORPREP, 0, tforprep_bx),
            body,
            abc(op::TFORCALL, 0, 0, 1),
            abx(op::TFORLOOP, 0, 3),
            abc(op::CLOSE, 0, 0, 0),
        ],
    )
}

/// A child function capturing `(instack, idx)` from main.
fn capturing(instack: u8, idx: u8) -> P {
    P::func(2, &[abc(op::RETURN0, 0, 1, 0)]).with_upvalues(vec![(instack, idx, 0)])
}

fn hostile_corpus() -> Vec<Case> {
    use cu::bytecode::rule as r;
    let valid = P::main(2, &[]);
    let good = chunk(&valid);
    let mut v = Vec::new();

    // Header.
    let mut b = good.clone();
    b[3] = b'X';
    v.push(case("signature", b, r::HEADER_SIGNATURE, "chunk", None));
    v.push(case("text chunk", b"return 1".to_vec(), r::HEADER_SIGNATURE, "chunk", None));
    let mut b = good.clone();
    b[4] = 0x53;
    v.push(case("version 5.3", b, r::HEADER_VERSION, "chunk", None));
    let mut b = good.clone();
    b[5] = 1;
    v.push(case("format 1", b, r::HEADER_FORMAT, "chunk", None));
    let mut b = good.clone();
    b[8] = b'\n';
    v.push(case("LUAC_DATA", b, r::HEADER_DATA, "chunk", None));
    for (j, name) in [(12, "instruction size"), (13, "integer size"), (14, "number size")] {
        let mut b = good.clone();
        b[j] = 4 + (j as u8 - 11);
        v.push(case(name, b, r::HEADER_SIZES, "chunk", None));
    }
    let mut b = good.clone();
    b[15] ^= 1;
    v.push(case("LUAC_INT", b, r::HEADER_INT, "chunk", None));
    let mut b = good.clone();
    b[23 + 7] ^= 0x80;
    v.push(case("LUAC_NUM", b, r::HEADER_NUM, "chunk", None));

    // Truncation, varints, nesting, trailing bytes.
    v.push(case("truncated header", good[..10].to_vec(), r::TRUNCATED, "chunk", None));
    v.push(case("truncated function", good[..good.len() - 1].to_vec(), r::TRUNCATED, "main", None));
    let mut b = header();
    b.push(1);
    b.extend_from_slice(&[0x80, 0x80, 0x80, 1, 1, 2]); // source, lines, the three bytes
    b.extend_from_slice(&[0x7f, 0x7f, 0x7f, 0x80]); // 2^28 - 1 instructions
    v.push(case("2^28 instructions declared", b, r::TRUNCATED, "main", None));
    let mut b = header();
    b.push(1);
    b.extend_from_slice(&[0x80, 0x80, 0x80, 1, 1, 2]);
    b.extend_from_slice(&[0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x80]);
    v.push(case("varint overflow", b, r::VARINT_OVERFLOW, "main", None));
    let mut deep = P::func(2, &[abc(op::RETURN0, 0, 1, 0)]);
    for _ in 0..MAX_NESTING_TEST - 1 {
        deep = P::func(2, &[abc(op::RETURN0, 0, 1, 0)]).with_protos(vec![deep]);
    }
    let deep_main = P::main(2, &[]).with_protos(vec![deep]);
    let mut deep_path = String::from("main");
    for _ in 0..MAX_NESTING_TEST - 1 {
        deep_path.push_str(".0");
    }
    v.push(case("nesting 201", chunk(&deep_main), r::NESTING_DEPTH, leak(deep_path), None));
    let mut b = good.clone();
    b.push(0);
    v.push(case("trailing byte", b, r::TRAILING_BYTES, "chunk", None));

    // Constants and debug information as read.
    v.push(case(
        "constant tag 5",
        chunk(&valid.clone().with_k(vec![K::Int(1), K::Tag(5)])),
        r::CONSTANT_TAG,
        "main",
        None,
    ));
    v.push(case(
        "null string constant",
        chunk(&valid.clone().with_k(vec![K::RawStr(4, 0, vec![])])),
        r::CONSTANT_STRING,
        "main",
        None,
    ));
    v.push(case(
        "short tag on a long string",
        chunk(&valid.clone().with_k(vec![K::RawStr(4, 42, vec![b'x'; 41])])),
        r::CONSTANT_STRING,
        "main",
        None,
    ));
    let mut p = valid.clone();
    p.upvalue_names = (2, vec![Some(b"_ENV".to_vec())]);
    v.push(case("two names for one upvalue", chunk(&p), r::DEBUG_UPVALUE_NAMES, "main", None));

    // Prototype shape.
    v.push(case("main closure upvalues", chunk_n(2, &valid), r::MAIN_UPVALUES, "main", None));
    let mut p = valid.clone();
    p.is_vararg = 2;
    v.push(case("is_vararg 2", chunk(&p), r::VARARG_FLAG, "main", None));
    let mut p = valid.clone();
    p.numparams = 3;
    v.push(case("numparams > maxstacksize", chunk(&p), r::STACK_SIZE, "main", None));
    let many_upvalues = P::func(2, &[abc(op::RETURN0, 0, 1, 0)]).with_upvalues(vec![(0, 0, 0); 256]);
    v.push(case(
        "256 upvalues",
        chunk(&valid.clone().with_protos(vec![many_upvalues])),
        r::UPVALUE_COUNT,
        "main.0",
        None,
    ));
    v.push(case(
        "forged upvalue: instack 1, idx >= parent's maxstacksize",
        chunk(
            &P::main(2, &[abx(op::CLOSURE, 0, 0)])
                .with_protos(vec![capturing(1, 2)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::UPVALUE_DESC,
        "main.0",
        None,
    ));
    v.push(case(
        "forged upvalue: instack 0, idx >= parent's upvalue count",
        chunk(&P::main(2, &[abx(op::CLOSURE, 0, 0)]).with_protos(vec![capturing(0, 1)])),
        r::UPVALUE_DESC,
        "main.0",
        None,
    ));
    v.push(case(
        "upvalue instack 2",
        chunk(&valid.clone().with_protos(vec![capturing(2, 0)])),
        r::UPVALUE_DESC,
        "main.0",
        None,
    ));
    let mut kind4 = capturing(0, 0);
    kind4.upvalues[0].2 = 4;
    v.push(case("upvalue kind 4", chunk(&valid.clone().with_protos(vec![kind4])), r::UPVALUE_DESC, "main.0", None));
    let mut p = valid.clone();
    p.lineinfo = vec![0];
    v.push(case("lineinfo size", chunk(&p), r::DEBUG_LINEINFO, "main", None));
    let mut p = valid.clone();
    p.lineinfo = vec![0, 0];
    p.abslineinfo = vec![(2, 1)];
    v.push(case("abslineinfo pc out of the code", chunk(&p), r::DEBUG_ABSLINEINFO, "main", None));
    let mut p = valid.clone();
    p.lineinfo = vec![0, 0];
    p.abslineinfo = vec![(1, 1), (0, 1)];
    v.push(case("abslineinfo out of order", chunk(&p), r::DEBUG_ABSLINEINFO, "main", None));
    let mut p = P::main(2, &vec![asbx(1, 0, 0); 300]);
    p.lineinfo = vec![0; 302];
    p.abslineinfo = vec![(0, 1)];
    v.push(case("abslineinfo too sparse for getbaseline", chunk(&p), r::DEBUG_ABSLINEINFO, "main", None));
    let mut p = valid.clone();
    p.locvars = vec![(Some(b"x".to_vec()), 0, 3)];
    v.push(case("locvar past the code", chunk(&p), r::DEBUG_LOCVARS, "main", None));
    let mut p = valid.clone();
    p.locvars = vec![(None, 0, 1)];
    v.push(case("unnamed locvar", chunk(&p), r::DEBUG_LOCVARS, "main", None));

    // Instructions alone.
    v.push(case(
        "falls off the end",
        chunk(&P::raw_main(2, &[abc(op::VARARGPREP, 0, 0, 0), sj(-2)])),
        r::CODE_END,
        "main",
        Some(1),
    ));
    v.push(case("empty code", chunk(&P::raw_main(2, &[])), r::CODE_END, "main", None));
    v.push(case("opcode 83", chunk(&P::main(2, &[83])), r::OPCODE, "main", Some(1)));
    v.push(case("opcode 127", chunk(&P::main(2, &[127 | 5 << 7])), r::OPCODE, "main", Some(1)));
    v.push(case(
        "MOVE to a register past the frame",
        chunk(&P::main(2, &[abc(op::MOVE, 2, 0, 0)])),
        r::REGISTER,
        "main",
        Some(1),
    ));
    v.push(case(
        "CALL results past the frame",
        chunk(&P::main(4, &[abc(op::CALL, 1, 1, 5)])),
        r::REGISTER,
        "main",
        Some(1),
    ));
    v.push(case(
        "LOADNIL past the frame",
        chunk(&P::main(4, &[abc(op::LOADNIL, 2, 2, 0)])),
        r::REGISTER,
        "main",
        Some(1),
    ));
    v.push(case(
        "LOADK past sizek",
        chunk(&P::main(2, &[abx(op::LOADK, 0, 1)]).with_k(vec![K::Int(1)])),
        r::CONSTANT_INDEX,
        "main",
        Some(1),
    ));
    v.push(case(
        "LOADKX past sizek",
        chunk(&P::main(2, &[abx(op::LOADKX, 0, 0), iax(op::EXTRAARG, 300)]).with_k(vec![K::Int(1)])),
        r::CONSTANT_INDEX,
        "main",
        Some(1),
    ));
    v.push(case(
        "GETFIELD key is an integer",
        chunk(&P::main(2, &[abc(op::GETFIELD, 0, 0, 0)]).with_k(vec![K::Int(1)])),
        r::CONSTANT_TYPE,
        "main",
        Some(1),
    ));
    v.push(case(
        "GETTABUP key is a long string",
        chunk(&P::main(2, &[abc(op::GETTABUP, 0, 0, 0)]).with_k(vec![K::Str(vec![b'k'; 41])])),
        r::CONSTANT_TYPE,
        "main",
        Some(1),
    ));
    v.push(case(
        "ADDK with a string",
        chunk(
            &P::main(2, &[abc(op::ADDK, 0, 0, 0), abc(op::MMBINK, 0, 0, op::TM_ADD)])
                .with_k(vec![K::Str(b"1".to_vec())]),
        ),
        r::CONSTANT_TYPE,
        "main",
        Some(1),
    ));
    v.push(case(
        "BANDK with a float",
        chunk(&P::main(2, &[abc(op::BANDK, 0, 0, 0), abc(op::MMBINK, 0, 0, 13)]).with_k(vec![K::Flt(1.5)])),
        r::CONSTANT_TYPE,
        "main",
        Some(1),
    ));
    v.push(case(
        "GETUPVAL past the upvalues",
        chunk(&P::main(2, &[abc(op::GETUPVAL, 0, 1, 0)])),
        r::UPVALUE_INDEX,
        "main",
        Some(1),
    ));
    v.push(case("CLOSURE past sizep", chunk(&P::main(2, &[abx(op::CLOSURE, 0, 0)])), r::PROTO_INDEX, "main", Some(1)));
    v.push(case(
        "NEWTABLE hash size 2^31",
        chunk(&P::main(2, &[abc(op::NEWTABLE, 0, 32, 0), iax(op::EXTRAARG, 0)])),
        r::TABLE_SIZE,
        "main",
        Some(1),
    ));
    v.push(case(
        "NEWTABLE array size 2^32",
        chunk(&P::main(2, &[abck(op::NEWTABLE, 0, 0, 0), iax(op::EXTRAARG, 1 << 24)])),
        r::TABLE_SIZE,
        "main",
        Some(1),
    ));
    v.push(case(
        "SETLIST index wrapping an unsigned int",
        chunk(&P::main(
            3,
            &[
                abc(op::NEWTABLE, 0, 0, 0),
                iax(op::EXTRAARG, 0),
                asbx(op::LOADI, 1, 1),
                abck(op::SETLIST, 0, 1, 255),
                iax(op::EXTRAARG, (1 << 24) - 1),
            ],
        )),
        r::TABLE_SIZE,
        "main",
        Some(4),
    ));
    v.push(case(
        "CONCAT of 1 value",
        chunk(&P::main(2, &[abc(op::CONCAT, 0, 1, 0)])),
        r::CONCAT_COUNT,
        "main",
        Some(1),
    ));
    v.push(case(
        "CONCAT of 0 values",
        chunk(&P::main(2, &[abc(op::CONCAT, 0, 0, 0)])),
        r::CONCAT_COUNT,
        "main",
        Some(1),
    ));
    v.push(case(
        "vararg function without VARARGPREP",
        chunk(&P::raw_main(2, &[abc(op::RETURN, 0, 1, 1)])),
        r::VARARGPREP,
        "main",
        Some(0),
    ));
    v.push(case(
        "second VARARGPREP",
        chunk(&P::main(2, &[abc(op::VARARGPREP, 0, 0, 0)])),
        r::VARARGPREP,
        "main",
        Some(1),
    ));
    v.push(case(
        "VARARGPREP A != numparams",
        chunk(&P::raw_main(2, &[abc(op::VARARGPREP, 1, 0, 0), abc(op::RETURN, 0, 1, 1)])),
        r::VARARGPREP,
        "main",
        Some(0),
    ));
    v.push(case("jump back to VARARGPREP", chunk(&P::main(2, &[sj(-2)])), r::VARARGPREP, "main", Some(1)));
    v.push(case(
        "VARARGPREP in a fixed function",
        chunk(&valid.clone().with_protos(vec![P::func(2, &[abc(op::VARARGPREP, 0, 0, 0), abc(op::RETURN0, 0, 1, 0)])])),
        r::VARARGPREP,
        "main.0",
        Some(0),
    ));
    v.push(case(
        "VARARG in a fixed function",
        chunk(&valid.clone().with_protos(vec![P::func(2, &[abc(op::VARARG, 0, 0, 2), abc(op::RETURN0, 0, 1, 0)])])),
        r::VARARG_OP,
        "main.0",
        Some(0),
    ));
    v.push(case(
        "vararg RETURN with C 0",
        chunk(&P::raw_main(2, &[abc(op::VARARGPREP, 0, 0, 0), abc(op::RETURN, 0, 1, 0)])),
        r::VARARG_RETURN,
        "main",
        Some(1),
    ));
    v.push(case(
        "RETURN0 in a vararg function",
        chunk(&P::raw_main(2, &[abc(op::VARARGPREP, 0, 0, 0), abc(op::RETURN0, 0, 1, 0)])),
        r::VARARG_RETURN,
        "main",
        Some(1),
    ));
    v.push(case(
        "RETURN with C in a fixed function",
        chunk(&valid.clone().with_protos(vec![P::func(2, &[abc(op::RETURN, 0, 1, 1)])])),
        r::VARARG_RETURN,
        "main.0",
        Some(0),
    ));

    // Instructions and their neighbours.
    v.push(case(
        "LOADKX without EXTRAARG",
        chunk(&P::main(2, &[abx(op::LOADKX, 0, 0)]).with_k(vec![K::Int(1)])),
        r::EXTRAARG,
        "main",
        Some(1),
    ));
    v.push(case("lone EXTRAARG", chunk(&P::main(2, &[iax(op::EXTRAARG, 0)])), r::EXTRAARG, "main", Some(1)));
    v.push(case(
        "NEWTABLE without k but with an EXTRAARG size",
        chunk(&P::main(2, &[abc(op::NEWTABLE, 0, 0, 0), iax(op::EXTRAARG, 5)])),
        r::EXTRAARG,
        "main",
        Some(1),
    ));
    v.push(case(
        "EQ not followed by JMP",
        chunk(&P::main(2, &[abc(op::EQ, 0, 1, 0), abc(op::MOVE, 0, 1, 0)])),
        r::TEST_JUMP,
        "main",
        Some(1),
    ));
    v.push(case(
        "ADD without MMBIN",
        chunk(&P::main(2, &[abc(op::ADD, 0, 0, 1), abc(op::MOVE, 0, 1, 0)])),
        r::MMBIN_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case(
        "ADD with the SUB event",
        chunk(&P::main(2, &[abc(op::ADD, 0, 0, 1), abc(op::MMBIN, 0, 1, op::TM_SUB)])),
        r::MMBIN_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case(
        "lone MMBIN",
        chunk(&P::main(2, &[abc(op::MMBIN, 0, 1, op::TM_ADD)])),
        r::MMBIN_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case(
        "MMBIN with event 200",
        chunk(&P::main(2, &[abc(op::ADD, 0, 0, 1), abc(op::MMBIN, 0, 1, 200)])),
        r::MMBIN_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case("JMP out of the code", chunk(&P::main(2, &[sj(5)])), r::JUMP_TARGET, "main", Some(1)));
    v.push(case("JMP before the code", chunk(&P::main(2, &[sj(-5)])), r::JUMP_TARGET, "main", Some(1)));
    v.push(case(
        "JMP into an EXTRAARG",
        chunk(&P::main(2, &[abx(op::LOADKX, 0, 0), iax(op::EXTRAARG, 0), sj(-2)]).with_k(vec![K::Int(1)])),
        r::JUMP_TARGET,
        "main",
        Some(3),
    ));
    v.push(case("CALL B=0 without a top", chunk(&P::main(2, &[abc(op::CALL, 0, 0, 1)])), r::TOP_USE, "main", Some(1)));
    v.push(case(
        "VARARG C=0 followed by MOVE",
        chunk(&P::main(2, &[abc(op::VARARG, 1, 0, 0), abc(op::MOVE, 0, 1, 0)])),
        r::TOP_USE,
        "main",
        Some(2),
    ));
    v.push(case(
        "CALL B=0 as a jump target",
        chunk(&P::main(3, &[abc(op::VARARG, 2, 0, 0), abc(op::CALL, 0, 0, 1), sj(-2)])),
        r::TOP_USE,
        "main",
        Some(2),
    ));
    v.push(case(
        "CALL B=0 above the top's base",
        chunk(&P::main(3, &[abc(op::VARARG, 0, 0, 0), abc(op::CALL, 1, 0, 1)])),
        r::TOP_USE,
        "main",
        Some(2),
    ));
    v.push(case(
        "SELF key register not a loaded string",
        chunk(&P::main(4, &[abc(op::MOVE, 1, 0, 0), abc(op::SELF, 2, 0, 1)])),
        r::SELF_KEY,
        "main",
        Some(2),
    ));
    v.push(case(
        "SELF key LOADK of an integer",
        chunk(&P::main(4, &[abx(op::LOADK, 1, 0), abc(op::SELF, 2, 0, 1)]).with_k(vec![K::Int(7)])),
        r::SELF_KEY,
        "main",
        Some(2),
    ));
    // The wasmoon escape: FORPREP's Bx patched so that it lands on another instruction.
    v.push(case(
        "FORPREP patched to jump to a JMP",
        chunk(&numeric_loop(5, &[], &[sj(0)]).tap(|p| p.code[4] = abx(op::FORPREP, 0, 0))),
        r::FORPREP_PAIRING,
        "main",
        Some(4),
    ));
    v.push(case(
        "FORLOOP without FORPREP",
        chunk(&P::main(5, &[abx(op::FORLOOP, 0, 1)])),
        r::FORPREP_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case(
        "FORLOOP jumping back to the wrong place",
        chunk(&numeric_loop(5, &[], &[sj(0)]).tap(|p| p.code[6] = abx(op::FORLOOP, 0, 1))),
        r::FORPREP_PAIRING,
        "main",
        Some(4),
    ));
    v.push(case(
        "FORPREP and FORLOOP on different registers",
        chunk(&numeric_loop(6, &[], &[sj(0)]).tap(|p| p.code[6] = abx(op::FORLOOP, 1, 2))),
        r::FORPREP_PAIRING,
        "main",
        Some(4),
    ));
    v.push(case(
        "TFORPREP not to a TFORCALL",
        chunk(&generic_loop(0, asbx(op::LOADI, 5, 1))),
        r::TFORPREP_PAIRING,
        "main",
        Some(2),
    ));
    v.push(case(
        "TFORCALL without TFORLOOP",
        chunk(&P::main(10, &[abc(op::TFORCALL, 0, 0, 1)])),
        r::TFORPREP_PAIRING,
        "main",
        Some(1),
    ));
    v.push(case(
        "jump into a numeric loop's body",
        chunk(&numeric_loop(6, &[sj(5)], &[asbx(op::LOADI, 4, 1), asbx(op::LOADI, 4, 2)])),
        r::FOR_BODY,
        "main",
        Some(1),
    ));
    v.push(case(
        "loop body overwrites the loop counter",
        chunk(&numeric_loop(6, &[], &[abc(op::MOVE, 1, 4, 0)])),
        r::FOR_BODY,
        "main",
        Some(5),
    ));
    v.push(case(
        "loop body calls over the loop registers",
        chunk(&numeric_loop(6, &[], &[abc(op::CALL, 2, 1, 1)])),
        r::FOR_BODY,
        "main",
        Some(5),
    ));
    v.push(case(
        "loop body captures the loop counter",
        chunk(&numeric_loop(6, &[], &[abx(op::CLOSURE, 4, 0)]).with_protos(vec![capturing(1, 1)])),
        r::FOR_BODY,
        "main",
        Some(5),
    ));
    v.push(case(
        "overlapping loops",
        chunk(&P::main(
            10,
            &[
                abx(op::FORPREP, 0, 2),
                abx(op::FORPREP, 4, 2),
                asbx(op::LOADI, 9, 0),
                abx(op::FORLOOP, 0, 3),
                abx(op::FORLOOP, 4, 3),
            ],
        )),
        r::FOR_BODY,
        "main",
        Some(2),
    ));
    v.push(case(
        "upvalue open on the loop registers",
        chunk(
            &numeric_loop(6, &[abc(op::LOADNIL, 0, 5, 0), abx(op::CLOSURE, 4, 0)], &[sj(0)])
                .with_protos(vec![capturing(1, 2)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::FOR_BODY,
        "main",
        Some(6),
    ));

    // Flow analysis.
    v.push(case(
        "to-be-closed variables out of order",
        chunk(
            &P::main(2, &[abc(op::LOADNIL, 0, 1, 0), abc(op::TBC, 1, 0, 0), abc(op::TBC, 0, 0, 0)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::TBC,
        "main",
        Some(3),
    ));
    v.push(case(
        "RETURN without k leaves a to-be-closed variable",
        chunk(&P::main(2, &[abc(op::LOADNIL, 0, 0, 0), abc(op::TBC, 0, 0, 0)])),
        r::TBC,
        "main",
        Some(3),
    ));
    v.push(case(
        "TAILCALL with a pending to-be-closed variable",
        chunk(&P::raw_main(
            3,
            &[
                abc(op::VARARGPREP, 0, 0, 0),
                abc(op::LOADNIL, 0, 1, 0),
                abc(op::TBC, 0, 0, 0),
                abck(op::TAILCALL, 1, 1, 1),
                abck(op::RETURN, 1, 0, 1),
            ],
        )),
        r::TBC,
        "main",
        Some(3),
    ));
    v.push(case(
        "CALL frame below a to-be-closed variable",
        chunk(
            &P::main(3, &[abc(op::LOADNIL, 0, 2, 0), abc(op::TBC, 1, 0, 0), abc(op::CALL, 0, 1, 1)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::TBC,
        "main",
        Some(3),
    ));
    v.push(case(
        "RETURN without k leaves an upvalue open",
        chunk(&P::main(2, &[abx(op::CLOSURE, 0, 0)]).with_protos(vec![capturing(1, 0)])),
        r::OPEN_UPVALUE,
        "main",
        Some(2),
    ));
    v.push(case(
        "RETURN0 leaves an upvalue open",
        chunk(&valid.clone().with_protos(vec![P::func(2, &[abx(op::CLOSURE, 1, 0), abc(op::RETURN0, 0, 1, 0)])
            .with_protos(vec![capturing(1, 0)])
            .tap(|p| p.numparams = 1)])),
        r::OPEN_UPVALUE,
        "main.0",
        Some(1),
    ));
    // A tail-called C function that yields resumes the caller after its TAILCALL.
    v.push(case(
        "SETLIST after a TAILCALL, on a register that is no table",
        chunk(&P::main(2, &[abc(op::LOADNIL, 0, 1, 0), abc(op::TAILCALL, 1, 1, 1), abc(op::SETLIST, 0, 0, 0)])),
        r::SETLIST_TABLE,
        "main",
        Some(3),
    ));
    v.push(case(
        "MOVE from a register never written",
        chunk(&P::main(2, &[abc(op::MOVE, 0, 1, 0)])),
        r::REGISTER_INIT,
        "main",
        Some(1),
    ));
    v.push(case(
        "register left stale by a call",
        chunk(&P::main(4, &[abc(op::LOADNIL, 0, 3, 0), abc(op::CALL, 0, 1, 2), abc(op::MOVE, 1, 3, 0)])),
        r::REGISTER_INIT,
        "main",
        Some(3),
    ));
    v.push(case(
        "CLOSURE captures a register never written",
        chunk(
            &P::main(2, &[abx(op::CLOSURE, 0, 0)])
                .with_protos(vec![capturing(1, 1)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::REGISTER_INIT,
        "main",
        Some(1),
    ));
    v.push(case(
        "MMBINI reads the result its ADDI did not write",
        chunk(&P::main(2, &[asbx(op::LOADI, 1, 1), abc(op::ADDI, 0, 1, 128), abc(op::MMBINI, 0, 128, op::TM_ADD)])),
        r::REGISTER_INIT,
        "main",
        Some(3),
    ));
    v.push(case(
        "CALL frame over an open upvalue",
        chunk(
            &P::main(3, &[abc(op::LOADNIL, 0, 2, 0), abx(op::CLOSURE, 2, 0), abc(op::CALL, 0, 1, 1)])
                .with_protos(vec![capturing(1, 1)])
                .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::OPEN_UPVALUE,
        "main",
        Some(3),
    ));
    v.push(case(
        "SETLIST on a register that is no table",
        chunk(&P::main(2, &[asbx(op::LOADI, 0, 1), asbx(op::LOADI, 1, 2), abc(op::SETLIST, 0, 1, 0)])),
        r::SETLIST_TABLE,
        "main",
        Some(3),
    ));
    v.push(case(
        "SETLIST after the table was overwritten",
        chunk(&P::main(
            2,
            &[
                abc(op::NEWTABLE, 0, 0, 0),
                iax(op::EXTRAARG, 0),
                asbx(op::LOADI, 0, 7),
                asbx(op::LOADI, 1, 2),
                abc(op::SETLIST, 0, 1, 0),
            ],
        )),
        r::SETLIST_TABLE,
        "main",
        Some(5),
    ));
    v.push(case(
        "SETLIST on a table an upvalue can replace",
        chunk(
            &P::main(
                3,
                &[
                    abc(op::NEWTABLE, 0, 0, 0),
                    iax(op::EXTRAARG, 0),
                    abx(op::CLOSURE, 2, 0),
                    asbx(op::LOADI, 1, 2),
                    abc(op::SETLIST, 0, 1, 0),
                ],
            )
            .with_protos(vec![capturing(1, 0)])
            .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
        ),
        r::SETLIST_TABLE,
        "main",
        Some(5),
    ));
    v
}

const MAX_NESTING_TEST: usize = 200;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}
impl Tap for P {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

/// Valid chunks built the same way, so each hostile case differs from an accepted one.
fn valid_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut deep = P::func(2, &[abc(op::RETURN0, 0, 1, 0)]);
    for _ in 0..MAX_NESTING_TEST - 2 {
        deep = P::func(2, &[abc(op::RETURN0, 0, 1, 0)]).with_protos(vec![deep]);
    }
    let mut lines = P::main(2, &vec![asbx(op::LOADI, 0, 0); 300]);
    lines.lineinfo = vec![0; 302];
    lines.abslineinfo = vec![(0, 1), (128, 1), (256, 1)];
    vec![
        ("minimal", chunk(&P::main(2, &[]))),
        ("nesting 200", chunk(&P::main(2, &[]).with_protos(vec![deep]))),
        ("numeric loop", chunk(&numeric_loop(6, &[], &[asbx(op::LOADI, 4, 1), asbx(op::LOADI, 5, 2)]))),
        ("generic loop", chunk(&generic_loop(1, asbx(op::LOADI, 5, 1)))),
        ("closure", chunk(&P::main(2, &[abx(op::CLOSURE, 0, 0)]).with_protos(vec![capturing(0, 0)]))),
        (
            "SELF after LOADK",
            chunk(
                &P::main(4, &[abc(op::LOADNIL, 0, 0, 0), abx(op::LOADK, 1, 0), abc(op::SELF, 2, 0, 1)])
                    .with_k(vec![K::Str(b"m".to_vec())]),
            ),
        ),
        (
            "SETLIST after NEWTABLE",
            chunk(&P::main(
                2,
                &[abc(op::NEWTABLE, 0, 0, 0), iax(op::EXTRAARG, 0), asbx(op::LOADI, 1, 2), abc(op::SETLIST, 0, 1, 0)],
            )),
        ),
        ("abslineinfo every 128", chunk(&lines)),
        (
            "to-be-closed closed by RETURN k",
            chunk(
                &P::main(2, &[abc(op::LOADNIL, 0, 1, 0), abc(op::TBC, 0, 0, 0), abc(op::TBC, 1, 0, 0)])
                    .tap(|p| *p.code.last_mut().unwrap() = abck(op::RETURN, 0, 1, 1)),
            ),
        ),
    ]
}

#[test]
fn built_valid_chunks_validate() {
    for (name, bytes) in valid_corpus() {
        if let Err(r) = validate_chunk(&bytes) {
            panic!("{name}: {}", r.message());
        }
    }
}

#[test]
fn hostile_chunks_are_rejected_by_their_rule() {
    let cases = hostile_corpus();
    let mut wrong = Vec::new();
    for c in &cases {
        match validate_chunk(&c.bytes) {
            Ok(_) => wrong.push(format!("{}: accepted", c.name)),
            Err(Rejection { rule, function, pc, detail }) => {
                if rule != c.rule || function != c.function || pc != c.pc {
                    wrong.push(format!(
                        "{}: got {rule} at {function} pc {pc:?} ({detail}), expected {} at {} pc {:?}",
                        c.name, c.rule, c.function, c.pc
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} hostile cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    // Every rule has at least one hostile chunk.
    let missing: Vec<_> = cu::bytecode::rule::ALL.iter().filter(|r| !cases.iter().any(|c| c.rule == **r)).collect();
    assert!(missing.is_empty(), "rules without a hostile chunk: {missing:?}");
    eprintln!("{} hostile chunks rejected by the expected rule at the expected place", cases.len());
}

#[test]
fn rejection_message_format() {
    let r = validate_chunk(&chunk(&P::main(2, &[abc(op::MOVE, 2, 0, 0)]))).unwrap_err();
    assert!(r.message().starts_with("bad bytecode: rule register at main pc 1: "), "{}", r.message());
    let r = validate_chunk(b"").unwrap_err();
    assert!(r.message().starts_with("bad bytecode: rule header-signature at chunk: "), "{}", r.message());
}

#[test]
fn every_prefix_is_rejected() {
    for (label, bytes) in cu_dumps().iter().take(6) {
        for n in 0..bytes.len() {
            assert!(validate_chunk(&bytes[..n]).is_err(), "{label}: prefix of {n} bytes accepted");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Seeded mutation fuzzing

/// On the shared splitmix64 (tests/common).
impl Rng {
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Where each function's code array sits in a valid chunk (a minimal lundump walk), and
/// where its numparams/is_vararg/maxstacksize bytes are.
fn code_arrays(bytes: &[u8]) -> (Vec<(usize, usize)>, Vec<usize>) {
    struct R<'a> {
        b: &'a [u8],
        p: usize,
        out: Vec<(usize, usize)>,
        shapes: Vec<usize>,
    }
    impl R<'_> {
        fn byte(&mut self) -> u8 {
            self.p += 1;
            self.b[self.p - 1]
        }
        fn size(&mut self) -> usize {
            let mut x = 0usize;
            loop {
                let b = self.byte();
                x = x << 7 | (b & 0x7f) as usize;
                if b & 0x80 != 0 {
                    return x;
                }
            }
        }
        fn string(&mut self) {
            let n = self.size();
            if n > 0 {
                self.p += n - 1;
            }
        }
        fn function(&mut self) {
            self.string();
            self.size();
            self.size();
            self.shapes.push(self.p);
            self.p += 3;
            let n = self.size();
            self.out.push((self.p, n));
            self.p += 4 * n;
            for _ in 0..self.size() {
                match self.byte() {
                    3 | 0x13 => self.p += 8,
                    4 | 0x14 => self.string(),
                    _ => {}
                }
            }
            let n = self.size();
            self.p += 3 * n;
            for _ in 0..self.size() {
                self.function();
            }
            let n = self.size();
            self.p += n;
            for _ in 0..self.size() {
                self.size();
                self.size();
            }
            for _ in 0..self.size() {
                self.string();
                self.size();
                self.size();
            }
            for _ in 0..self.size() {
                self.string();
            }
        }
    }
    let mut r = R { b: bytes, p: HEADER.len() + 16 + 1, out: Vec::new(), shapes: Vec::new() };
    r.function();
    assert_eq!(r.p, bytes.len());
    (r.out, r.shapes)
}

const HEADER_LEN: usize = 15 + 16 + 1;

/// One random change to `b`: raw byte edits, or instruction edits inside a code array.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>, arrays: &[(usize, usize)], shapes: &[usize]) {
    let body = |rng: &mut Rng, len: usize| {
        if len > HEADER_LEN && rng.chance(95) {
            HEADER_LEN + rng.index(len - HEADER_LEN)
        } else {
            rng.index(len.max(1))
        }
    };
    let instr = |rng: &mut Rng| -> Option<usize> {
        let (off, n) = arrays[rng.index(arrays.len())];
        (n > 0).then(|| off + 4 * rng.index(n))
    };
    let get = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let put = |b: &mut Vec<u8>, at: usize, w: u32| b[at..at + 4].copy_from_slice(&w.to_le_bytes());
    match rng.index(16) {
        0 if !b.is_empty() => {
            let at = body(rng, b.len());
            b[at] ^= 1 << rng.index(8);
        }
        1 if !b.is_empty() => {
            let at = body(rng, b.len());
            b[at] = rng.next() as u8;
        }
        2 => {
            let at = body(rng, b.len());
            b.truncate(at);
        }
        3 => {
            let at = body(rng, b.len());
            for _ in 0..1 + rng.index(8) {
                b.insert(at.min(b.len()), rng.next() as u8);
            }
        }
        4 if b.len() > HEADER_LEN => {
            let at = body(rng, b.len());
            let n = (1 + rng.index(8)).min(b.len() - at);
            b.drain(at..at + n);
        }
        // Instruction edits keep the chunk parseable, so the code rules see them.
        5 | 6 => {
            if let Some(at) = instr(rng) {
                let w = get(b, at);
                put(b, at, (w & !0x7f) | rng.index(83) as u32);
            }
        }
        7 | 8 => {
            if let Some(at) = instr(rng) {
                let w = get(b, at);
                let (shift, width) = [(7, 8), (16, 8), (24, 8), (15, 1), (15, 17), (7, 25)][rng.index(6)];
                let mask = ((1u64 << width) - 1) as u32;
                let old = (w >> shift) & mask;
                let new = match rng.index(4) {
                    0 => rng.next() as u32 & mask,
                    1 => old.wrapping_add(1) & mask,
                    2 => old.wrapping_sub(1) & mask,
                    _ => old ^ (1 << rng.index(width as usize)),
                };
                put(b, at, (w & !(mask << shift)) | new << shift);
            }
        }
        9 | 10 => {
            if let (Some(from), Some(to)) = (instr(rng), instr(rng)) {
                let w = get(b, from);
                put(b, to, w);
            }
        }
        11 => {
            if let (Some(x), Some(y)) = (instr(rng), instr(rng)) {
                let (wx, wy) = (get(b, x), get(b, y));
                put(b, x, wy);
                put(b, y, wx);
            }
        }
        12 if !shapes.is_empty() && rng.chance(50) => {
            // numparams, is_vararg or maxstacksize, nudged.
            let at = shapes[rng.index(shapes.len())] + rng.index(3);
            b[at] = match rng.index(3) {
                0 => b[at].wrapping_add(1),
                1 => b[at].wrapping_sub(1),
                _ => rng.next() as u8,
            };
        }
        12 => {
            // Flip a bit in a small count or descriptor byte right after a code array.
            let (off, n) = arrays[rng.index(arrays.len())];
            let at = off + 4 * n + rng.index(24);
            if at < b.len() {
                b[at] ^= 1 << rng.index(8);
            }
        }
        _ => {
            if let Some(at) = instr(rng) {
                let w = get(b, at);
                put(b, at, w ^ 1 << rng.index(32));
            }
        }
    }
}

struct FuzzStats {
    mutants: usize,
    accepted: usize,
    unchanged: usize,
    ran: usize,
    by_rule: std::collections::BTreeMap<&'static str, usize>,
}

/// Mutates the real dumps `count` times; every accepted mutant goes to `run`.
fn fuzz(seed: u64, count: usize, mut run: impl FnMut(&[u8])) -> FuzzStats {
    type Layout = (Vec<(usize, usize)>, Vec<usize>);
    let seeds: Vec<(Vec<u8>, Layout)> = cu_dumps()
        .into_iter()
        .map(|(_, b)| {
            let layout = code_arrays(&b);
            (b, layout)
        })
        .collect();
    let mut rng = Rng(seed);
    let mut st = FuzzStats { mutants: 0, accepted: 0, unchanged: 0, ran: 0, by_rule: Default::default() };
    for _ in 0..count {
        let (orig, (arrays, shapes)) = &seeds[rng.index(seeds.len())];
        let mut b = orig.clone();
        for _ in 0..1 + rng.index(3) {
            if b.len() != orig.len() {
                // Byte offsets moved: only raw edits from here on.
                mutate(&mut rng, &mut b, &[(0, 0)], &[]);
            } else {
                let shapes: &[usize] = if std::env::var("CU_FUZZ_NOSHAPES").is_ok() { &[] } else { shapes };
                mutate(&mut rng, &mut b, arrays, shapes);
            }
        }
        st.mutants += 1;
        match validate_chunk(&b) {
            Ok(_) if &b == orig => st.unchanged += 1,
            Ok(_) => {
                st.accepted += 1;
                run(&b);
                st.ran += 1;
            }
            Err(r) => *st.by_rule.entry(r.rule).or_default() += 1,
        }
    }
    st
}

/// Runs accepted chunks through Lua's `load` (which validates again, then undumps) and
/// `pcall`, in instances with a small heap and an instruction budget. Each instance serves a
/// few chunks (a mutant may wreck the globals). Removed first: `debug.setlocal`, which breaks
/// the VM's invariants from plain Lua (docs/SECURITY.md), and `table.move`.
struct Runner {
    inst: Option<Box<Instance>>,
    uses: usize,
    statuses: std::collections::BTreeMap<String, usize>,
}

impl Runner {
    fn new() -> Runner {
        Runner { inst: None, uses: 0, statuses: Default::default() }
    }

    fn run(&mut self, chunk: &[u8]) {
        if let Ok(dir) = std::env::var("CU_FUZZ_LAST") {
            // Debugging a hang or crash: the chunks run by the current instance are in this
            // directory, in order (replay them with CU_REPLAY).
            if self.inst.is_none() || self.uses >= 32 {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
            }
            std::fs::write(format!("{dir}/{:03}.bin", self.uses % 32), chunk).unwrap();
        }
        if self.uses >= 32 {
            self.retire();
        }
        let inst = self.inst.get_or_insert_with(|| {
            let mut inst = Instance::new(2 << 20, 50_000, [3, 4]).unwrap();
            let mut reply = Vec::new();
            // table.move's C loop runs unbudgeted: a mutated constant can make it spin for
            // billions of iterations (a runtime issue, not a bytecode one).
            let setup = b"debug.setlocal = nil table.move = nil";
            assert_eq!(inst.compute(setup, b"=setup", false, &mut reply), Status::Ok);
            inst
        });
        self.uses += 1;
        let src = format!(
            "local f, e = load({}, '=mutant', 'b') if not f then return 'load failed: ' .. tostring(e) end \
             local ok = pcall(f) return ok and 'returned' or 'raised'",
            lua_string(chunk)
        );
        let mut reply = Vec::new();
        let status = inst.compute(src.as_bytes(), b"=fuzz", false, &mut reply);
        let outcome = match status {
            Status::Ok => {
                let text = String::from_utf8_lossy(reply.get(9..).unwrap_or_default()).into_owned();
                assert!(!text.starts_with("load failed"), "Lua refused an accepted chunk: {text}");
                text
            }
            other => {
                // The harness itself failed (budget, memory, os.exit, wrecked globals):
                // start the next chunk in a fresh instance.
                self.retire();
                format!("{other:?}")
            }
        };
        *self.statuses.entry(outcome).or_default() += 1;
    }

    /// A full collection (which walks every object the mutants left behind), then
    /// `lua_close` (which frees them all).
    fn retire(&mut self) {
        if let Some(mut inst) = self.inst.take() {
            inst.collect();
        }
        self.uses = 0;
    }
}

#[test]
fn mutation_fuzz() {
    // CU_FUZZ_SEED and CU_FUZZ_COUNT run other or longer campaigns.
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let count = env("CU_FUZZ_COUNT").unwrap_or(if cfg!(debug_assertions) { 10_000 } else { 100_000 }) as usize;
    let seed = env("CU_FUZZ_SEED").unwrap_or(0x5eed_c0de);
    let t = std::time::Instant::now();
    let mut runner = Runner::new();
    let st = fuzz(seed, count, |chunk| runner.run(chunk));
    eprintln!(
        "{} mutants in {:.1?}: {} accepted and run ({:?}), {} unchanged; rejections by rule: {:?}",
        st.mutants,
        t.elapsed(),
        st.accepted,
        runner.statuses,
        st.unchanged,
        st.by_rule
    );
    assert_eq!(st.mutants, count);
    runner.retire();
    assert_eq!(st.ran, st.accepted);
    assert!(st.accepted > count / 20, "too few mutants get through to the deep checks");
}

/// The hostile corpus through Lua's `load`: refused, with the validator's message.
#[test]
fn hostile_chunks_are_refused_by_load() {
    let mut inst = new_instance();
    for c in hostile_corpus() {
        if c.bytes.first() != Some(&0x1b) {
            continue; // a text chunk: Lua's own mode check refuses it first
        }
        let src = format!("local f, e = load({}, '=hostile', 'b') return f and 'loaded' or e", lua_string(&c.bytes));
        let out = String::from_utf8_lossy(&run_for_string(&mut inst, &src)).into_owned();
        assert!(out.contains(&format!("rule {} at", c.rule)), "{}: {out}", c.name);
    }
    // And the real dumps load and run.
    let out = run_for_string(
        &mut inst,
        "local f = assert(load(string.dump(function(...) local t = {...} for i = 1, #t do t[i] = t[i] * 2 end \
         return table.concat(t, ',') end), '=ok', 'b')) return f(1, 2, 3)",
    );
    assert_eq!(out, b"2,4,6");
}

// ---------------------------------------------------------------------------------------
// Throughput

#[test]
fn throughput() {
    let dumps = cu_dumps();
    let total: usize = dumps.iter().map(|(_, b)| b.len()).sum();
    let rounds = if cfg!(debug_assertions) { 3 } else { 50 };
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        for (_, b) in &dumps {
            assert!(validate_chunk(std::hint::black_box(b)).is_ok());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!("validated {} bytes x {rounds} in {secs:.3}s: {:.1} MB/s", total, (total * rounds) as f64 / secs / 1e6);
}

#[test]
fn security_doc_lists_every_rule() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/SECURITY.md")).unwrap();
    let section = &doc[doc.find("## Bytecode validator").expect("section")..];
    for r in cu::bytecode::rule::ALL {
        assert!(section.contains(&format!("| `{r}` |")), "docs/SECURITY.md does not list rule {r}");
    }
}

/// Crafted worst cases stay linear: deep loop nests, long jump chains, big flow problems.
#[test]
fn pathological_chunks_are_fast() {
    let k = 60_000u32;
    // k nested numeric loops on the same registers (rejected, but only after the nesting
    // analysis ran over the whole function).
    let mut code = vec![abc(op::VARARGPREP, 0, 0, 0)];
    for j in 0..k {
        code.push(abx(op::FORPREP, 0, 2 * (k - 1 - j)));
    }
    for j in 0..k {
        code.push(abx(op::FORLOOP, 0, 2 * j + 1));
    }
    code.push(abc(op::RETURN, 0, 1, 1));
    let nested = chunk(&P::raw_main(4, &code));
    // A long chain of forward jumps over closures and to-be-closed variables.
    let mut code = vec![abc(op::VARARGPREP, 0, 0, 0), abc(op::LOADNIL, 0, 250, 0)];
    for j in 0..k {
        code.push(abx(op::CLOSURE, 251, 0));
        code.push(sj(if j % 2 == 0 { 1 } else { 0 }));
        code.push(abc(op::CLOSE, 0, 0, 0));
    }
    code.push(abck(op::RETURN, 0, 1, 1));
    let flow = chunk(&P::raw_main(253, &code).with_protos(vec![capturing(1, 3)]));
    for (name, bytes) in [("nested loops", &nested), ("jump chain", &flow)] {
        let t = std::time::Instant::now();
        let r = validate_chunk(bytes);
        let dt = t.elapsed();
        eprintln!("{name}: {} bytes in {dt:.2?}: {:?}", bytes.len(), r.as_ref().map_err(|e| e.rule));
        assert!(dt < std::time::Duration::from_secs(5), "{name} took {dt:?}");
    }
    assert_eq!(validate_chunk(&nested).unwrap_err().rule, cu::bytecode::rule::FOR_BODY);
    assert!(validate_chunk(&flow).is_ok());
}

/// Debugging aid: CU_REPLAY=dir runs the chunks a fuzz instance ran (CU_FUZZ_LAST), in
/// order, in one instance.
#[test]
fn replay_fuzz_chunks() {
    let Ok(dir) = std::env::var("CU_REPLAY") else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut runner = Runner::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        eprintln!("{}: {:?}", f.display(), validate_chunk(&bytes).map_err(|r| r.message()));
        runner.run(&bytes);
        eprintln!("  ran: {:?}", runner.statuses);
    }
    runner.retire();
}
