//! undump.rs: the decoder (as Lua's lundump.c). Every `load_X` here reads what `dump_X` in
//! dump.rs writes (docs/FORMAT.md).
//!
//! Nothing in the input is trusted: every length is checked against the bytes left before
//! anything is allocated, nesting is bounded by `MAX_DEPTH`, references must point back,
//! bytecode goes through the validator (`bytecode_gate::load_validated`), and an upvalue
//! count must match the loaded closure. Bookkeeping lives in a Lua table on the stack,
//! `objects`: object index + 1 → the object, -(upvalue index + 1) → closure object index ×
//! 256 + upvalue number, and each Lua function loaded → where its bytecode is in the body
//! (offset × 2^32 + length).

use super::path::raise_decode_around;
use super::*;
use core::ffi::{c_char, c_int, CStr};

pub(crate) struct Header {
    pub flags: u8,
    pub body_len: u32,
}

/// Checks the header of `bytes` (a whole encoding).
pub(crate) fn load_header(bytes: &[u8], limit: usize) -> Result<Header, &'static CStr> {
    let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
        return Err(c"the input is shorter than a header");
    };
    let (flags, body_len) = (h[5], u32::from_le_bytes([h[8], h[9], h[10], h[11]]));
    Err(if h[0..4] != MAGIC {
        c"not a serialized Lua value (bad magic)"
    } else if h[4] == 0 || h[4] > VERSION {
        c"unsupported format version"
    } else if u32::from_le_bytes([h[12], h[13], h[14], h[15]]) != checksum::of_encoding(bytes) {
        c"checksum mismatch (the data is corrupt)"
    } else if flags & !FLAG_DEFLATE != 0 {
        c"unknown header flags"
    } else if h[6] != LUA_VERSION {
        c"the value was serialized for another Lua version"
    } else if h[7] != 0 {
        c"reserved header byte is not zero"
    } else if body_len as usize > limit {
        c"the value is larger than this instance can hold"
    } else if flags & FLAG_DEFLATE == 0 && bytes.len() - HEADER_LEN != body_len as usize {
        c"the body length does not match the header"
    } else {
        return Ok(Header { flags, body_len });
    })
}

struct Loader<'a> {
    l: *mut lua_State,
    body: &'a [u8],
    pos: usize,
    /// The inflated body's owner (null when the body is the caller's bytes).
    guard: *mut Buffer,
    objects: c_int,
    /// The built-in registry's name → value table, once needed (its slot holds nil before).
    values: c_int,
    globals: c_int,
    nobjects: u32,
    nupvalues: u32,
}

/// Decodes `body` and pushes the value. `guard` is freed before any error is raised.
pub(crate) unsafe fn load_body(l: *mut lua_State, body: &[u8], guard: *mut Buffer) {
    if lua_checkstack(l, 16) == 0 {
        free_buffer(guard);
        super::path::raise(l, c"cannot deserialize: Lua stack overflow");
    }
    let top = lua_gettop(l);
    lua_createtable(l, 0, 0);
    lua_pushnil(l);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    let mut s = Loader {
        l,
        body,
        pos: 0,
        guard,
        objects: top + 1,
        values: top + 2,
        globals: top + 3,
        nobjects: 0,
        nupvalues: 0,
    };
    s.load_value(0);
    if s.pos != body.len() {
        s.fail_at(c"bytes left after the value", s.pos);
    }
    lua_copy(l, -1, top + 1);
    lua_settop(l, top + 1);
}

impl<'a> Loader<'a> {
    #[inline(never)]
    unsafe fn fail_at(&self, msg: &CStr, at: usize) -> ! {
        lua_checkstack(self.l, 8);
        lua_pushstring(self.l, c"".as_ptr());
        self.fail_around(msg, c"", at)
    }

    /// Raises "`before`" + the string on top of the stack + "`after`" (at `at`).
    unsafe fn fail_around(&self, before: &CStr, after: &CStr, at: usize) -> ! {
        free_buffer(self.guard);
        raise_decode_around(self.l, before, after, at)
    }

    /// The next `n` bytes (where they start: `n` are readable there).
    #[inline(never)]
    unsafe fn take(&mut self, n: usize) -> *const u8 {
        if n > self.body.len() - self.pos {
            self.fail_at(c"truncated input", self.pos);
        }
        self.pos += n;
        self.body.as_ptr().add(self.pos - n)
    }

    /// Pushes the next `n` bytes as a string.
    unsafe fn push_string(&mut self, n: usize) {
        lua_pushlstring(self.l, self.take(n) as *const c_char, n);
    }

    fn remaining(&self) -> usize {
        self.body.len() - self.pos
    }

    unsafe fn load_u8(&mut self) -> u8 {
        *self.take(1)
    }
    #[inline(never)]
    unsafe fn load_u32(&mut self) -> u32 {
        u32::from_le(core::ptr::read_unaligned(self.take(4) as *const u32))
    }
    unsafe fn load_u64(&mut self) -> u64 {
        u64::from_le(core::ptr::read_unaligned(self.take(8) as *const u64))
    }
    /// A `u32` that must be below `limit` (else `msg`, at `at`).
    #[inline(never)]
    unsafe fn load_index(&mut self, at: usize, limit: u32, msg: &CStr) -> u32 {
        let index = self.load_u32();
        if index >= limit {
            self.fail_at(msg, at);
        }
        index
    }

    unsafe fn load_value(&mut self, depth: u32) {
        let l = self.l;
        let at = self.pos;
        match self.load_u8() {
            TAG_NIL => lua_pushnil(l),
            TAG_FALSE => lua_pushboolean(l, 0),
            TAG_TRUE => lua_pushboolean(l, 1),
            TAG_INT => lua_pushinteger(l, self.load_u64() as i64),
            TAG_FLOAT => lua_pushnumber(l, f64::from_bits(self.load_u64())),
            TAG_STRING => {
                let len = self.load_u32() as usize;
                self.push_string(len);
                self.register();
            }
            TAG_TABLE => self.load_table(depth),
            TAG_FUNCTION => self.load_function(depth, false),
            TAG_CLONE => self.load_function(depth, true),
            TAG_BUILTIN => self.load_builtin(),
            TAG_GLOBALS => lua_pushvalue(l, self.globals),
            TAG_REF => {
                let index = self.load_index(self.pos, self.nobjects, c"reference to an object not yet decoded");
                lua_rawgeti(l, self.objects, index as lua_Integer + 1);
            }
            _ => self.fail_at(c"unknown value tag", at),
        }
    }

    /// Gives the value on top of the stack the next object index.
    #[inline(never)]
    unsafe fn register(&mut self) {
        lua_pushvalue(self.l, -1);
        self.nobjects += 1;
        lua_rawseti(self.l, self.objects, self.nobjects as lua_Integer);
    }

    unsafe fn load_builtin(&mut self) {
        let l = self.l;
        let at = self.pos;
        let len = self.load_u8() as usize;
        let name = self.take(len);
        if lua_type(l, self.values) == LUA_TNIL {
            cfuncs::push_values(l);
            lua_copy(l, -1, self.values);
            lua_pop(l, 1);
        }
        lua_pushlstring(l, name as *const c_char, len);
        lua_pushvalue(l, -1);
        if lua_rawget(l, self.values) == LUA_TNIL {
            lua_pop(l, 1);
            self.fail_around(c"unknown built-in '", c"' (not in this instance's standard library)", at);
        }
        lua_copy(l, -1, -2);
        lua_pop(l, 1);
        self.register();
    }

    /// Checks the depth and the stack before a table or function at `depth`.
    #[inline(never)]
    unsafe fn enter(&self, depth: u32) {
        if depth >= MAX_DEPTH {
            self.fail_at(c"nested deeper than 200 levels", self.pos);
        }
        if lua_checkstack(self.l, 8) == 0 {
            self.fail_at(c"Lua stack overflow", self.pos);
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
            self.fail_at(c"a table declares more entries than the input holds", at);
        }
        const HINT: usize = 1 << 24;
        lua_createtable(l, narray.min(HINT) as c_int, npairs.min(HINT) as c_int);
        let t = lua_gettop(l);
        self.register();
        for i in 0..narray {
            self.load_value(depth + 1);
            lua_rawseti(l, t, i as lua_Integer + 1);
        }
        for _ in 0..npairs {
            let at = self.pos;
            self.load_value(depth + 1);
            match lua_type(l, -1) {
                LUA_TNIL => self.fail_at(c"nil table key", at),
                LUA_TNUMBER if lua_tonumberx(l, -1, core::ptr::null_mut()).is_nan() => {
                    self.fail_at(c"NaN table key", at)
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
            _ => self.fail_at(c"a metatable that is not a table", at),
        }
    }

    unsafe fn load_function(&mut self, depth: u32, clone: bool) {
        let l = self.l;
        self.enter(depth);
        let at = self.pos;
        let (offset, len) = if clone {
            let of = self.load_u32();
            lua_rawgeti(l, self.objects, of as lua_Integer + 1);
            let found = lua_rawget(l, self.objects) == LUA_TNUMBER;
            let packed = lua_tointegerx(l, -1, core::ptr::null_mut()) as u64;
            lua_pop(l, 1);
            if !found {
                self.fail_at(c"a clone of an object that is not a function", at);
            }
            ((packed >> 32) as usize, (packed as u32) as usize)
        } else {
            let len = self.load_u32() as usize;
            let offset = self.pos;
            self.take(len);
            (offset, len)
        };
        let Some(code) = offset.checked_add(len).and_then(|end| self.body.get(offset..end)) else {
            self.fail_at(c"bad bytecode reference", at);
        };
        let status = crate::bytecode_gate::load_validated(l, code, c"=(serialized)".as_ptr());
        if status != LUA_OK {
            // stack: ..., message
            if lua_type(l, -1) != LUA_TSTRING {
                lua_pop(l, 1);
                lua_pushstring(l, c"?".as_ptr());
            }
            self.fail_around(c"bytecode rejected: ", c"", at);
        }
        let f = lua_gettop(l);
        let object = self.nobjects;
        self.register();
        lua_pushvalue(l, f);
        lua_pushinteger(l, ((offset as u64) << 32 | len as u64) as lua_Integer);
        lua_rawset(l, self.objects);
        // Upvalues: the count must match the closure's.
        let at = self.pos;
        let nups = self.load_u8() as c_int;
        if (nups > 0 && lua_upvalueid(l, f, nups).is_null()) || !lua_upvalueid(l, f, nups + 1).is_null() {
            self.fail_at(c"upvalue count does not match the bytecode", at);
        }
        for i in 0..nups {
            self.load_upvalue(f, object, i + 1, depth);
        }
    }

    unsafe fn load_upvalue(&mut self, f: c_int, object: u32, i: c_int, depth: u32) {
        let l = self.l;
        let at = self.pos;
        match self.load_u8() {
            UPVAL_FRESH => {
                let record = (object as lua_Integer) << 8 | i as lua_Integer;
                lua_pushinteger(l, record);
                self.nupvalues += 1;
                lua_rawseti(l, self.objects, -(self.nupvalues as lua_Integer));
                self.load_value(depth + 1);
                lua_setupvalue(l, f, i);
            }
            UPVAL_SHARED => {
                let index = self.load_index(at, self.nupvalues, c"reference to an upvalue not yet decoded");
                lua_rawgeti(l, self.objects, -(index as lua_Integer + 1));
                let record = lua_tointegerx(l, -1, core::ptr::null_mut());
                lua_pop(l, 1);
                lua_rawgeti(l, self.objects, (record >> 8) + 1);
                lua_upvaluejoin(l, f, i, -1, (record & 0xff) as c_int);
                lua_pop(l, 1);
            }
            _ => self.fail_at(c"unknown upvalue kind", at),
        }
    }
}
