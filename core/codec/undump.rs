//! undump.rs: the decoder (as Lua's lundump.c). Every `load_X` here reads what `dump_X` in
//! dump.rs writes (docs/FORMAT.md).
//!
//! Nothing in the input is trusted: every length is checked against the bytes left before
//! anything is allocated, nesting is bounded by `MAX_DEPTH`, references must point back,
//! bytecode goes through the validator (`bytecode_gate::load_validated`), and an upvalue
//! count must match the loaded closure. Bookkeeping lives in Lua tables on the stack:
//! `objects` (object index + 1 → the object), `upvals` (upvalue index + 1 → closure
//! object index × 256 + upvalue number) and `protos` (object index → where its bytecode is
//! in the body, offset × 2^32 + length).

use super::path::{push_at, push_decode_prefix, raise_decode, raise_top};
use super::*;
use core::ffi::c_int;

pub(crate) struct Header {
    pub flags: u8,
    pub body_len: u32,
}

/// Checks the header of `bytes` (a whole encoding).
pub(crate) fn load_header(bytes: &[u8], limit: usize) -> Result<Header, &'static [u8]> {
    let h = bytes.get(..HEADER_LEN).ok_or(&b"the input is shorter than a header"[..])?;
    if h[0..4] != MAGIC {
        return Err(b"not a serialized Lua value (bad magic)");
    }
    if h[4] == 0 || h[4] > VERSION {
        return Err(b"unsupported format version");
    }
    let stored = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
    if stored != checksum::of_encoding(bytes) {
        return Err(b"checksum mismatch (the data is corrupt)");
    }
    let flags = h[5];
    if flags & !FLAG_DEFLATE != 0 {
        return Err(b"unknown header flags");
    }
    if h[6] != LUA_VERSION {
        return Err(b"the value was serialized for another Lua version");
    }
    if h[7] != 0 {
        return Err(b"reserved header byte is not zero");
    }
    let body_len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if body_len as usize > limit {
        return Err(b"the value is larger than this instance can hold");
    }
    if flags & FLAG_DEFLATE == 0 && bytes.len() - HEADER_LEN != body_len as usize {
        return Err(b"the body length does not match the header");
    }
    Ok(Header { flags, body_len })
}

struct Loader<'a> {
    l: *mut lua_State,
    body: &'a [u8],
    pos: usize,
    /// The inflated body's owner (null when the body is the caller's bytes).
    guard: *mut Buffer,
    objects: c_int,
    upvals: c_int,
    protos: c_int,
    /// The built-in registry's name → value table, once needed (its slot holds nil before).
    values: c_int,
    have_values: bool,
    globals: c_int,
    nobjects: u32,
    nupvalues: u32,
}

/// Decodes `body` and pushes the value. `guard` is freed before any error is raised.
pub(crate) unsafe fn load_body(l: *mut lua_State, body: &[u8], guard: *mut Buffer) {
    if lua_checkstack(l, 16) == 0 {
        free_buffer(guard);
        super::path::raise(l, b"cannot deserialize: Lua stack overflow");
    }
    let top = lua_gettop(l);
    lua_createtable(l, 0, 0);
    lua_createtable(l, 0, 0);
    lua_createtable(l, 0, 0);
    lua_pushnil(l);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    let mut s = Loader {
        l,
        body,
        pos: 0,
        guard,
        objects: top + 1,
        upvals: top + 2,
        protos: top + 3,
        values: top + 4,
        have_values: false,
        globals: top + 5,
        nobjects: 0,
        nupvalues: 0,
    };
    s.load_value(0);
    if s.pos != body.len() {
        s.fail(b"bytes left after the value");
    }
    lua_copy(l, -1, top + 1);
    lua_settop(l, top + 1);
}

impl<'a> Loader<'a> {
    unsafe fn fail(&self, msg: &[u8]) -> ! {
        self.fail_at(msg, self.pos)
    }

    unsafe fn fail_at(&self, msg: &[u8], at: usize) -> ! {
        free_buffer(self.guard);
        raise_decode(self.l, msg, Some(at))
    }

    unsafe fn take(&mut self, n: usize) -> &'a [u8] {
        let body: &'a [u8] = self.body;
        match body.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                bytes
            }
            None => self.fail(b"truncated input"),
        }
    }

    fn remaining(&self) -> usize {
        self.body.len().saturating_sub(self.pos)
    }

    unsafe fn load_u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    unsafe fn load_u32(&mut self) -> u32 {
        let b = self.take(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    unsafe fn load_i64(&mut self) -> i64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8));
        i64::from_le_bytes(a)
    }
    unsafe fn load_f64(&mut self) -> f64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8));
        f64::from_bits(u64::from_le_bytes(a))
    }

    unsafe fn load_value(&mut self, depth: u32) {
        let l = self.l;
        let at = self.pos;
        match self.load_u8() {
            TAG_NIL => lua_pushnil(l),
            TAG_FALSE => lua_pushboolean(l, 0),
            TAG_TRUE => lua_pushboolean(l, 1),
            TAG_INT => {
                let v = self.load_i64();
                lua_pushinteger(l, v)
            }
            TAG_FLOAT => {
                let v = self.load_f64();
                lua_pushnumber(l, v)
            }
            TAG_STRING => self.load_string(),
            TAG_TABLE => self.load_table(depth),
            TAG_FUNCTION => self.load_function(depth, false),
            TAG_CLONE => self.load_function(depth, true),
            TAG_BUILTIN => self.load_builtin(),
            TAG_GLOBALS => lua_pushvalue(l, self.globals),
            TAG_REF => self.load_ref(),
            _ => self.fail_at(b"unknown value tag", at),
        }
    }

    /// Gives the value on top of the stack the next object index.
    unsafe fn register(&mut self) {
        lua_pushvalue(self.l, -1);
        lua_rawseti(self.l, self.objects, self.nobjects as lua_Integer + 1);
        self.nobjects += 1;
    }

    unsafe fn load_ref(&mut self) {
        let at = self.pos;
        let index = self.load_u32();
        if index >= self.nobjects {
            self.fail_at(b"reference to an object not yet decoded", at);
        }
        lua_rawgeti(self.l, self.objects, index as lua_Integer + 1);
    }

    unsafe fn load_builtin(&mut self) {
        let l = self.l;
        let at = self.pos;
        let len = self.load_u8() as usize;
        let name = self.take(len);
        if !self.have_values {
            cfuncs::push_values(l);
            lua_copy(l, -1, self.values);
            lua_pop(l, 1);
            self.have_values = true;
        }
        lua_pushlstring(l, name.as_ptr() as *const _, name.len());
        lua_pushvalue(l, -1);
        if lua_rawget(l, self.values) == LUA_TNIL {
            free_buffer(self.guard);
            // stack: name, nil
            push_decode_prefix(l, b"unknown built-in '");
            lua_pushvalue(l, -3);
            super::path::push_bytes(l, b"' (not in this instance's standard library)");
            push_at(l, at);
            lua_concat(l, 4);
            raise_top(l);
        }
        lua_copy(l, -1, -2);
        lua_pop(l, 1);
        self.register();
    }

    unsafe fn load_string(&mut self) {
        let len = self.load_u32() as usize;
        let s = self.take(len);
        lua_pushlstring(self.l, s.as_ptr() as *const _, s.len());
        self.register();
    }

    unsafe fn enter(&self, depth: u32) {
        if depth >= MAX_DEPTH {
            self.fail(b"nested deeper than 200 levels");
        }
        if lua_checkstack(self.l, 8) == 0 {
            self.fail(b"Lua stack overflow");
        }
    }

    unsafe fn load_table(&mut self, depth: u32) {
        let l = self.l;
        self.enter(depth);
        let at = self.pos;
        let narray = self.load_u32() as usize;
        let npairs = self.load_u32() as usize;
        // Each item takes at least a byte, each pair two.
        if narray > self.remaining() || npairs > self.remaining() / 2 {
            self.fail_at(b"a table declares more entries than the input holds", at);
        }
        const HINT: usize = 1 << 24;
        lua_createtable(l, narray.min(HINT) as c_int, npairs.min(HINT) as c_int);
        let t = lua_gettop(l);
        self.register();
        for i in 1..=narray {
            self.load_value(depth + 1);
            lua_rawseti(l, t, i as lua_Integer);
        }
        for _ in 0..npairs {
            let at = self.pos;
            self.load_value(depth + 1);
            match lua_type(l, -1) {
                LUA_TNIL => self.fail_at(b"nil table key", at),
                LUA_TNUMBER if lua_isinteger(l, -1) == 0 => {
                    let k = lua_tonumberx(l, -1, core::ptr::null_mut());
                    if k.is_nan() {
                        self.fail_at(b"NaN table key", at);
                    }
                }
                _ => {}
            }
            self.load_value(depth + 1);
            lua_rawset(l, t);
        }
        let at = self.pos;
        self.load_value(depth + 1);
        match lua_type(l, -1) {
            LUA_TNIL => lua_pop(l, 1),
            LUA_TTABLE => {
                lua_setmetatable(l, t);
            }
            _ => self.fail_at(b"a metatable that is not a table", at),
        }
    }

    unsafe fn load_function(&mut self, depth: u32, clone: bool) {
        let l = self.l;
        self.enter(depth);
        let at = self.pos;
        let (offset, len) = if clone {
            let of = self.load_u32();
            lua_pushinteger(l, of as lua_Integer);
            let found = lua_rawget(l, self.protos) == LUA_TNUMBER;
            let packed = lua_tointegerx(l, -1, core::ptr::null_mut()) as u64;
            lua_pop(l, 1);
            if !found {
                self.fail_at(b"a clone of an object that is not a function", at);
            }
            ((packed >> 32) as usize, (packed as u32) as usize)
        } else {
            let len = self.load_u32() as usize;
            let offset = self.pos;
            self.take(len);
            (offset, len)
        };
        let Some(code) = offset.checked_add(len).and_then(|end| self.body.get(offset..end)) else {
            self.fail_at(b"bad bytecode reference", at);
        };
        let status = crate::bytecode_gate::load_validated(l, code, c"=(serialized)".as_ptr());
        if status != LUA_OK {
            // stack: ..., message
            free_buffer(self.guard);
            if lua_type(l, -1) != LUA_TSTRING {
                lua_pop(l, 1);
                lua_pushstring(l, c"?".as_ptr());
            }
            push_decode_prefix(l, b"bytecode rejected: ");
            lua_rotate(l, -2, 1);
            push_at(l, at);
            lua_concat(l, 3);
            raise_top(l);
        }
        let f = lua_gettop(l);
        let object = self.nobjects;
        self.register();
        lua_pushinteger(l, ((offset as u64) << 32 | len as u64) as lua_Integer);
        lua_rawseti(l, self.protos, object as lua_Integer);
        // Upvalues.
        let at = self.pos;
        let nups = self.load_u8();
        let mut ar: lua_Debug = core::mem::zeroed();
        lua_pushvalue(l, f);
        lua_getinfo(l, c">u".as_ptr(), &mut ar);
        if nups != ar.nups {
            self.fail_at(b"upvalue count does not match the bytecode", at);
        }
        for i in 1..=nups as c_int {
            self.load_upvalue(f, object, i, depth);
        }
    }

    unsafe fn load_upvalue(&mut self, f: c_int, object: u32, i: c_int, depth: u32) {
        let l = self.l;
        let at = self.pos;
        match self.load_u8() {
            UPVAL_FRESH => {
                let record = (object as lua_Integer) << 8 | i as lua_Integer;
                lua_pushinteger(l, record);
                lua_rawseti(l, self.upvals, self.nupvalues as lua_Integer + 1);
                self.nupvalues += 1;
                self.load_value(depth + 1);
                if lua_setupvalue(l, f, i).is_null() {
                    self.fail_at(b"upvalue count does not match the bytecode", at);
                }
            }
            UPVAL_SHARED => {
                let index = self.load_u32();
                if index >= self.nupvalues {
                    self.fail_at(b"reference to an upvalue not yet decoded", at);
                }
                lua_rawgeti(l, self.upvals, index as lua_Integer + 1);
                let record = lua_tointegerx(l, -1, core::ptr::null_mut());
                lua_pop(l, 1);
                lua_rawgeti(l, self.objects, (record >> 8) + 1);
                let n = (record & 0xff) as c_int;
                if lua_upvalueid(l, f, i).is_null() || lua_upvalueid(l, -1, n).is_null() {
                    self.fail_at(b"upvalue count does not match the bytecode", at);
                }
                lua_upvaluejoin(l, f, i, -1, n);
                lua_pop(l, 1);
            }
            _ => self.fail_at(b"unknown upvalue kind", at),
        }
    }
}
