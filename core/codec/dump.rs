//! dump.rs: the encoder (as Lua's ldump.c). Every `dump_X` here has its `load_X` in
//! undump.rs reading exactly what it writes (docs/FORMAT.md).
//!
//! Bookkeeping lives in Lua tables on the stack, never in Rust collections (a Lua error
//! unwinds over this code): `seen` maps each string, table and function already written to
//! its object index, `upvals` maps each upvalue already written (its `lua_upvalueid`, a light
//! userdata) to its upvalue index, and `protos` maps a bytecode fingerprint to where that
//! bytecode was first written, so closures of one prototype share it.

use super::path::{raise_encode, Path, Step};
use super::*;
use core::ffi::{c_int, c_void};

struct Dumper<'a> {
    l: *mut lua_State,
    out: &'a mut Vec<u8>,
    /// Offset of the body in `out`.
    base: usize,
    strip: bool,
    root: &'a [u8],
    seen: c_int,
    upvals: c_int,
    protos: c_int,
    names: c_int,
    globals: c_int,
    /// Objects (strings, tables, functions, built-ins) written so far.
    objects: u32,
    /// Fresh upvalues written so far.
    upvalues: u32,
}

/// Writes the body for the value at absolute index `idx`; the stack is left as it was.
pub(crate) unsafe fn dump_body(l: *mut lua_State, idx: c_int, root: &[u8], strip: bool, out: &mut Vec<u8>) {
    if lua_checkstack(l, 16) == 0 {
        super::path::raise(l, b"cannot serialize: Lua stack overflow");
    }
    let top = lua_gettop(l);
    lua_createtable(l, 0, 0);
    lua_createtable(l, 0, 0);
    lua_createtable(l, 0, 0);
    cfuncs::push_names(l);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    let base = out.len();
    let mut d = Dumper {
        l,
        out,
        base,
        strip,
        root,
        seen: top + 1,
        upvals: top + 2,
        protos: top + 3,
        names: top + 4,
        globals: top + 5,
        objects: 0,
        upvalues: 0,
    };
    d.dump_value(idx, &Path::root(), 0);
    lua_settop(l, top);
}

/// Fills the header reserved at `out[start..start + HEADER_LEN]`, the payload following it.
pub(crate) fn dump_header(out: &mut [u8], start: usize, flags: u8, body_len: u32) {
    let h = &mut out[start..start + HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = flags;
    h[6] = LUA_VERSION;
    h[7] = 0;
    h[8..12].copy_from_slice(&body_len.to_le_bytes());
    let sum = checksum::of_encoding(&out[start..]);
    out[start + 12..start + 16].copy_from_slice(&sum.to_le_bytes());
}

/// `lua_dump`'s writer: appends to the `Vec<u8>` at `ud`.
unsafe extern "C" fn writer(_l: *mut lua_State, p: *const c_void, sz: usize, ud: *mut c_void) -> c_int {
    // SAFETY: `ud` is the encoder's output vector; Lua hands `sz` readable bytes at `p`.
    let out = &mut *(ud as *mut Vec<u8>);
    out.extend_from_slice(core::slice::from_raw_parts(p as *const u8, sz));
    0
}

impl Dumper<'_> {
    fn dump_u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn dump_u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn dump_i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn dump_f64(&mut self, v: f64) {
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    unsafe fn fail(&self, what: &[u8], path: &Path, why: &[u8]) -> ! {
        raise_encode(self.l, what, path, self.root, why)
    }

    unsafe fn dump_value(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        match lua_type(l, idx) {
            LUA_TNIL => self.dump_u8(TAG_NIL),
            LUA_TBOOLEAN => self.dump_u8(if lua_toboolean(l, idx) != 0 { TAG_TRUE } else { TAG_FALSE }),
            LUA_TNUMBER => {
                if lua_isinteger(l, idx) != 0 {
                    self.dump_u8(TAG_INT);
                    self.dump_i64(lua_tointegerx(l, idx, core::ptr::null_mut()));
                } else {
                    self.dump_u8(TAG_FLOAT);
                    self.dump_f64(lua_tonumberx(l, idx, core::ptr::null_mut()));
                }
            }
            LUA_TSTRING => {
                if !self.dump_ref(idx) {
                    self.dump_string(idx, path);
                }
            }
            LUA_TTABLE => {
                if lua_rawequal(l, idx, self.globals) != 0 {
                    self.dump_u8(TAG_GLOBALS);
                } else if !self.dump_ref(idx) && !self.dump_builtin(idx) {
                    self.dump_table(idx, path, depth);
                }
            }
            LUA_TFUNCTION => {
                if !self.dump_ref(idx) && !self.dump_builtin(idx) {
                    if lua_iscfunction(l, idx) != 0 {
                        self.fail(b"C function", path, b" (only standard library C functions can be serialized)");
                    }
                    self.dump_function(idx, path, depth);
                }
            }
            LUA_TLIGHTUSERDATA => self.fail(b"light userdata", path, b""),
            LUA_TUSERDATA => self.fail(b"userdata", path, b""),
            LUA_TTHREAD => self.fail(b"thread", path, b""),
            _ => self.fail(b"value", path, b""),
        }
    }

    /// Gives the object at `idx` the next object index.
    unsafe fn register(&mut self, idx: c_int) {
        lua_pushvalue(self.l, idx);
        lua_pushinteger(self.l, self.objects as lua_Integer);
        lua_rawset(self.l, self.seen);
        self.objects += 1;
    }

    /// Writes a reference if the object at `idx` was written before.
    unsafe fn dump_ref(&mut self, idx: c_int) -> bool {
        lua_pushvalue(self.l, idx);
        let found = lua_rawget(self.l, self.seen) == LUA_TNUMBER;
        let index = lua_tointegerx(self.l, -1, core::ptr::null_mut());
        lua_pop(self.l, 1);
        if found {
            self.dump_u8(TAG_REF);
            self.dump_u32(index as u32);
        }
        found
    }

    /// Writes a built-in by name if the value at `idx` is one.
    unsafe fn dump_builtin(&mut self, idx: c_int) -> bool {
        lua_pushvalue(self.l, idx);
        let found = lua_rawget(self.l, self.names) == LUA_TSTRING;
        if found {
            self.register(idx);
            let name = string_bytes(self.l, -1);
            self.dump_u8(TAG_BUILTIN);
            self.dump_u8(name.len() as u8);
            self.out.extend_from_slice(name);
        }
        lua_pop(self.l, 1);
        found
    }

    unsafe fn dump_string(&mut self, idx: c_int, path: &Path) {
        let s = string_bytes(self.l, idx);
        if s.len() > u32::MAX as usize {
            self.fail(b"string", path, b" (longer than 4 GiB)");
        }
        self.register(idx);
        self.dump_u8(TAG_STRING);
        self.dump_u32(s.len() as u32);
        self.out.extend_from_slice(s);
    }

    unsafe fn enter(&self, what: &[u8], path: &Path, depth: u32) {
        if depth >= MAX_DEPTH {
            self.fail(what, path, b" (nested deeper than 200 levels)");
        }
        if lua_checkstack(self.l, 8) == 0 {
            self.fail(what, path, b" (Lua stack overflow)");
        }
    }

    unsafe fn dump_table(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        self.enter(b"table", path, depth);
        self.register(idx);
        self.dump_u8(TAG_TABLE);
        // The array part: keys 1..n, all present.
        let mut n: i64 = 0;
        while lua_rawgeti(l, idx, n + 1) != LUA_TNIL {
            lua_pop(l, 1);
            n += 1;
        }
        lua_pop(l, 1);
        let mut pairs: u64 = 0;
        lua_pushnil(l);
        while lua_next(l, idx) != 0 {
            lua_pop(l, 1);
            if !in_array(l, -1, n) {
                pairs += 1;
            }
        }
        if n > u32::MAX as i64 || pairs > u32::MAX as u64 {
            self.fail(b"table", path, b" (more than 2^32 entries)");
        }
        self.dump_u32(n as u32);
        self.dump_u32(pairs as u32);
        for i in 1..=n {
            lua_rawgeti(l, idx, i);
            self.dump_value(lua_gettop(l), &path.then(Step::Index(i)), depth + 1);
            lua_pop(l, 1);
        }
        let mut written: u64 = 0;
        lua_pushnil(l);
        while lua_next(l, idx) != 0 {
            let v = lua_gettop(l);
            if !in_array(l, v - 1, n) {
                if written == pairs {
                    self.fail(b"table", path, b" (it changed while being serialized)");
                }
                self.dump_value(v - 1, &path.then(Step::Key), depth + 1);
                self.dump_value(v, &path.then(Step::Field(v - 1)), depth + 1);
                written += 1;
            }
            lua_pop(l, 1);
        }
        if written != pairs {
            self.fail(b"table", path, b" (it changed while being serialized)");
        }
        if lua_getmetatable(l, idx) != 0 {
            self.dump_value(lua_gettop(l), &path.then(Step::Metatable), depth + 1);
            lua_pop(l, 1);
        } else {
            self.dump_u8(TAG_NIL);
        }
    }

    unsafe fn dump_function(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        self.enter(b"function", path, depth);
        let object = self.objects;
        self.register(idx);
        let mark = self.out.len();
        self.dump_u8(TAG_FUNCTION);
        self.dump_u32(0);
        let code = self.out.len();
        lua_pushvalue(l, idx);
        let status = lua_dump(l, writer, &mut *self.out as *mut Vec<u8> as *mut c_void, self.strip as c_int);
        lua_pop(l, 1);
        let len = self.out.len() - code;
        if status != 0 || len > u32::MAX as usize {
            self.fail(b"function", path, b" (lua_dump failed)");
        }
        self.patch_u32(code - 4, len as u32);
        self.dump_clone(object, mark, code, len);
        // Upvalues.
        let mut ar: lua_Debug = core::mem::zeroed();
        lua_pushvalue(l, idx);
        lua_getinfo(l, c">u".as_ptr(), &mut ar);
        let nups = ar.nups as c_int;
        self.dump_u8(ar.nups);
        for i in 1..=nups {
            self.dump_upvalue(idx, i, path, depth);
        }
    }

    /// When an earlier function has the bytecode just written at `code`, replaces the
    /// `TAG_FUNCTION` record at `mark` with a `TAG_CLONE` naming it; otherwise remembers it.
    unsafe fn dump_clone(&mut self, object: u32, mark: usize, code: usize, len: usize) {
        let l = self.l;
        let sum = checksum::adler32(&self.out[code..]);
        let fingerprint = ((len as u64) << 32 | sum as u64) as lua_Integer;
        lua_pushinteger(l, fingerprint);
        if lua_rawget(l, self.protos) == LUA_TNUMBER {
            // object index in the high half, body offset of the bytecode in the low half
            let seen = lua_tointegerx(l, -1, core::ptr::null_mut()) as u64;
            let (first, at) = ((seen >> 32) as u32, (seen as u32) as usize + self.base);
            if self.out.get(at..at + len) == Some(&self.out[code..]) {
                self.out.truncate(mark);
                self.dump_u8(TAG_CLONE);
                self.dump_u32(first);
            }
        } else {
            let at = (code - self.base) as u64;
            lua_pushinteger(l, fingerprint);
            lua_pushinteger(l, ((object as u64) << 32 | at) as lua_Integer);
            lua_rawset(l, self.protos);
        }
        lua_pop(l, 1);
    }

    unsafe fn dump_upvalue(&mut self, f: c_int, i: c_int, path: &Path, depth: u32) {
        let l = self.l;
        let id = lua_upvalueid(l, f, i);
        lua_pushlightuserdata(l, id);
        let shared = lua_rawget(l, self.upvals) == LUA_TNUMBER;
        let index = lua_tointegerx(l, -1, core::ptr::null_mut());
        lua_pop(l, 1);
        if shared {
            self.dump_u8(UPVAL_SHARED);
            self.dump_u32(index as u32);
            return;
        }
        lua_pushlightuserdata(l, id);
        lua_pushinteger(l, self.upvalues as lua_Integer);
        lua_rawset(l, self.upvals);
        self.upvalues += 1;
        self.dump_u8(UPVAL_FRESH);
        let name = lua_getupvalue(l, f, i);
        if name.is_null() {
            self.fail(b"function", path, b" (its upvalues do not match its prototype)");
        }
        self.dump_value(lua_gettop(l), &path.then(Step::Upvalue(i, name)), depth + 1);
        lua_pop(l, 1);
    }
}

/// Whether the key at `k` is an integer in 1..=n (written in the array part).
unsafe fn in_array(l: *mut lua_State, k: c_int, n: i64) -> bool {
    if lua_isinteger(l, k) == 0 {
        return false;
    }
    let i = lua_tointegerx(l, k, core::ptr::null_mut());
    i >= 1 && i <= n
}
