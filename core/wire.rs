//! wire.rs: Lua values to the wire format JS decodes (tags in docs/ARCHITECTURE.md, "Wire
//! values"). Reading never calls into Lua code (no metamethods, no number-to-string
//! conversion), so encoding cannot raise a Lua error or allocate in the Lua heap.

use crate::lua::*;
use crate::ptrmap::PtrMap;
use alloc::vec::Vec;
use core::ffi::c_int;

pub const TAG_NIL: u8 = 0;
pub const TAG_FALSE: u8 = 1;
pub const TAG_TRUE: u8 = 2;
pub const TAG_INT: u8 = 3;
pub const TAG_FLOAT: u8 = 4;
pub const TAG_STRING: u8 = 5;
pub const TAG_ARRAY: u8 = 6;
pub const TAG_MAP: u8 = 7;
pub const TAG_REF: u8 = 8;
pub const TAG_OPAQUE: u8 = 9;

/// Tables nested deeper than this do not cross to JS (a CONVERSION error).
pub const MAX_DEPTH: u32 = 200;

#[derive(Debug, PartialEq, Eq)]
pub enum WireError {
    TooDeep,
}

/// Appends wire values to a reply, remembering the tables already sent so that shared
/// tables and cycles become references.
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    seen: PtrMap,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Encoder { out, seen: PtrMap::new() }
    }

    pub fn put_u32(&mut self, n: u32) {
        self.out.extend_from_slice(&n.to_le_bytes());
    }

    pub fn put_string(&mut self, s: &[u8]) {
        self.out.push(TAG_STRING);
        self.put_u32(s.len() as u32);
        self.out.extend_from_slice(s);
    }

    pub fn put_nil(&mut self) {
        self.out.push(TAG_NIL);
    }

    pub fn put_int(&mut self, n: i64) {
        self.out.push(TAG_INT);
        self.out.extend_from_slice(&n.to_le_bytes());
    }

    /// Encodes the value at `idx`.
    ///
    /// # Safety
    /// `l` must be a valid state and `idx` an acceptable index.
    pub unsafe fn value(&mut self, l: *mut lua_State, idx: c_int) -> Result<(), WireError> {
        let idx = lua_absindex(l, idx);
        self.value_at(l, idx, 0)
    }

    unsafe fn value_at(&mut self, l: *mut lua_State, idx: c_int, depth: u32) -> Result<(), WireError> {
        match lua_type(l, idx) {
            LUA_TNIL | LUA_TNONE => self.out.push(TAG_NIL),
            LUA_TBOOLEAN => self.out.push(if lua_toboolean(l, idx) != 0 { TAG_TRUE } else { TAG_FALSE }),
            LUA_TNUMBER => {
                if lua_isinteger(l, idx) != 0 {
                    self.put_int(lua_tointegerx(l, idx, core::ptr::null_mut()));
                } else {
                    self.out.push(TAG_FLOAT);
                    let n = lua_tonumberx(l, idx, core::ptr::null_mut());
                    self.out.extend_from_slice(&n.to_le_bytes());
                }
            }
            LUA_TSTRING => self.put_string(string_bytes(l, idx)),
            LUA_TTABLE => self.table(l, idx, depth)?,
            t => self.opaque(l, idx, t),
        }
        Ok(())
    }

    unsafe fn table(&mut self, l: *mut lua_State, idx: c_int, depth: u32) -> Result<(), WireError> {
        // An external table: a snapshot of its contents (nil once deleted).
        #[cfg(feature = "persistence")]
        if let Some(node) = crate::store_lua::proxy_node(l, idx) {
            let store = &crate::runtime::instance_of(l).store;
            match node {
                Some(n) => crate::store::wire::put_value(self.out, store, Some(&crate::store::Value::Table(n))),
                None => self.out.push(TAG_NIL),
            }
            return Ok(());
        }
        let key = lua_topointer(l, idx) as usize;
        if let Some(i) = self.seen.get(key) {
            self.out.push(TAG_REF);
            self.put_u32(i);
            return Ok(());
        }
        if depth >= MAX_DEPTH || lua_checkstack(l, 3) == 0 {
            return Err(WireError::TooDeep);
        }
        let index = self.seen.len() as u32;
        self.seen.insert(key, index);

        // An array is a table whose keys are exactly 1..n for some n >= 1.
        let n = lua_rawlen(l, idx);
        let mut count: u64 = 0;
        let mut array = n > 0;
        lua_pushnil(l);
        while lua_next(l, idx) != 0 {
            count += 1;
            if array {
                let mut isint = 0;
                let k = lua_tointegerx(l, -2, &mut isint);
                array = isint != 0 && lua_type(l, -2) == LUA_TNUMBER && k >= 1 && (k as u64) <= n;
            }
            lua_pop(l, 1);
        }
        array = array && count == n;

        self.out.push(if array { TAG_ARRAY } else { TAG_MAP });
        self.put_u32(count as u32);
        if array {
            for i in 1..=n as i64 {
                lua_rawgeti(l, idx, i);
                let r = self.value_at(l, lua_gettop(l), depth + 1);
                lua_pop(l, 1);
                r?;
            }
        } else {
            lua_pushnil(l);
            while lua_next(l, idx) != 0 {
                let top = lua_gettop(l);
                let r = self.value_at(l, top - 1, depth + 1).and_then(|_| self.value_at(l, top, depth + 1));
                if r.is_err() {
                    lua_pop(l, 2);
                    return r;
                }
                lua_pop(l, 1);
            }
        }
        Ok(())
    }

    /// Functions, userdata and threads cross as their kind and a `tostring`-like text built
    /// here (calling `__tostring` could run Lua code).
    unsafe fn opaque(&mut self, l: *mut lua_State, idx: c_int, t: c_int) {
        let name = core::ffi::CStr::from_ptr(lua_typename(l, t)).to_bytes();
        let mut text = Vec::with_capacity(name.len() + 20);
        text.extend_from_slice(name);
        text.extend_from_slice(b": 0x");
        let p = lua_topointer(l, idx) as usize;
        let digits = (usize::BITS - p.leading_zeros()).div_ceil(4).max(1);
        for i in (0..digits).rev() {
            text.push(b"0123456789abcdef"[(p >> (4 * i)) & 15]);
        }
        self.out.push(TAG_OPAQUE);
        self.out.push(t as u8);
        self.put_u32(text.len() as u32);
        self.out.extend_from_slice(&text);
    }
}
