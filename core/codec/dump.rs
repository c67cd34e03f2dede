//! dump.rs: the encoder (as Lua's ldump.c). Every `dump_X` here has its `load_X` in
//! undump.rs reading exactly what it writes (docs/FORMAT.md).
//!
//! Bookkeeping lives in a Lua table on the stack, never in Rust collections (a Lua error
//! unwinds over this code): `seen` maps each string, table and function already written to
//! its object index, each upvalue already written (its `lua_upvalueid`, a light userdata)
//! to its upvalue index, and each bytecode fingerprint (an integer) to where that bytecode
//! was first written, so closures of one prototype share it. (The three kinds of keys
//! cannot collide.)

use super::path::{raise_encode, Path, Step};
use super::*;
use core::ffi::{c_char, c_int, c_void, CStr};

struct Dumper<'a> {
    l: *mut lua_State,
    out: &'a mut Vec<u8>,
    /// Offset of the body in `out`.
    base: usize,
    strip: bool,
    root: &'a [u8],
    seen: c_int,
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
        super::path::raise(l, c"cannot serialize: Lua stack overflow");
    }
    let top = lua_gettop(l);
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
        names: top + 2,
        globals: top + 3,
        objects: 0,
        upvalues: 0,
    };
    d.dump_value(idx, &Path::root(), 0);
    lua_settop(l, top);
}

/// `lua_dump`'s writer: appends to the `Vec<u8>` at `ud`.
unsafe extern "C" fn writer(_l: *mut lua_State, p: *const c_void, sz: usize, ud: *mut c_void) -> c_int {
    // SAFETY: `ud` is the encoder's output vector; Lua hands `sz` readable bytes at `p`.
    let out = &mut *(ud as *mut Vec<u8>);
    out.extend_from_slice(core::slice::from_raw_parts(p as *const u8, sz));
    0
}

impl Dumper<'_> {
    #[inline(never)]
    fn put(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    /// `tag` followed by a `u32`.
    #[inline(never)]
    fn put_tagged(&mut self, tag: u8, v: u32) {
        let b = v.to_le_bytes();
        self.put(&[tag, b[0], b[1], b[2], b[3]]);
    }

    #[inline(never)]
    unsafe fn fail(&self, what: *const c_char, path: &Path, why: &CStr) -> ! {
        raise_encode(self.l, what, path, self.root, why)
    }

    /// `t[k]` for the key `k` on top of the stack (popped): the integer, or -1 if absent.
    #[inline(never)]
    unsafe fn get_int(&self, t: c_int) -> i64 {
        let found = lua_rawget(self.l, t) == LUA_TNUMBER;
        let v = lua_tointegerx(self.l, -1, core::ptr::null_mut());
        lua_pop(self.l, 1);
        if found {
            v
        } else {
            -1
        }
    }

    /// `t[k] = v` for the key `k` on top of the stack (popped).
    #[inline(never)]
    unsafe fn set_int(&self, t: c_int, v: i64) {
        lua_pushinteger(self.l, v);
        lua_rawset(self.l, t);
    }

    /// Gives the object at `idx` the next object index.
    #[inline(never)]
    unsafe fn register(&mut self, idx: c_int) {
        lua_pushvalue(self.l, idx);
        self.set_int(self.seen, self.objects as i64);
        self.objects += 1;
    }

    unsafe fn dump_value(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        let t = lua_type(l, idx);
        match t {
            LUA_TNIL => self.put_u8(TAG_NIL),
            LUA_TBOOLEAN => self.put_u8(TAG_FALSE + (lua_toboolean(l, idx) != 0) as u8),
            LUA_TNUMBER => {
                let (tag, bits) = if lua_isinteger(l, idx) != 0 {
                    (TAG_INT, lua_tointegerx(l, idx, core::ptr::null_mut()) as u64)
                } else {
                    (TAG_FLOAT, lua_tonumberx(l, idx, core::ptr::null_mut()).to_bits())
                };
                let b = bits.to_le_bytes();
                self.put(&[tag, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
            LUA_TSTRING | LUA_TTABLE | LUA_TFUNCTION => {
                if lua_rawequal(l, idx, self.globals) != 0 {
                    return self.put_u8(TAG_GLOBALS);
                }
                // Written before: a reference.
                lua_pushvalue(l, idx);
                let index = self.get_int(self.seen);
                if index >= 0 {
                    return self.put_tagged(TAG_REF, index as u32);
                }
                if t == LUA_TSTRING {
                    let s = string_bytes(l, idx);
                    if s.len() > u32::MAX as usize {
                        self.fail(c"string".as_ptr(), path, c" (longer than 4 GiB)");
                    }
                    self.register(idx);
                    self.put_tagged(TAG_STRING, s.len() as u32);
                    return self.put(s);
                }
                // A built-in: its name.
                lua_pushvalue(l, idx);
                if lua_rawget(l, self.names) == LUA_TSTRING {
                    self.register(idx);
                    let name = string_bytes(l, -1);
                    self.put(&[TAG_BUILTIN, name.len() as u8]);
                    self.put(name);
                    return lua_pop(l, 1);
                }
                lua_pop(l, 1);
                let table = t == LUA_TTABLE;
                if !table && lua_iscfunction(l, idx) != 0 {
                    self.fail(c"C function".as_ptr(), path, c" (only standard library C functions can be serialized)");
                }
                if depth >= MAX_DEPTH || lua_checkstack(l, 8) == 0 {
                    let what = lua_typename(l, t);
                    let why = if depth >= MAX_DEPTH { c" (nested deeper than 200 levels)" } else { c" (Lua stack overflow)" };
                    self.fail(what, path, why);
                }
                self.register(idx);
                if table {
                    self.dump_table(idx, path, depth + 1);
                } else {
                    self.dump_function(idx, path, depth + 1);
                }
            }
            LUA_TLIGHTUSERDATA => self.fail(c"light userdata".as_ptr(), path, c""),
            // userdata, thread
            _ => self.fail(lua_typename(l, t), path, c""),
        }
    }

    /// The table at `idx` (registered); `depth` is its children's.
    unsafe fn dump_table(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        // The array part: keys 1..n, all present.
        let mut n: i64 = 0;
        while lua_rawgeti(l, idx, n + 1) != LUA_TNIL {
            lua_pop(l, 1);
            n += 1;
        }
        lua_pop(l, 1);
        let pairs = self.pairs(idx, n, None, depth);
        if n > u32::MAX as i64 || pairs > u32::MAX as u64 {
            self.fail(c"table".as_ptr(), path, c" (more than 2^32 entries)");
        }
        self.put_tagged(TAG_TABLE, n as u32);
        self.put(&(pairs as u32).to_le_bytes());
        for i in 0..n {
            lua_rawgeti(l, idx, i + 1);
            self.dump_top(&path.then(Step::Index(i + 1)), depth);
        }
        if self.pairs(idx, n, Some((path, pairs)), depth) != pairs {
            self.fail(c"table".as_ptr(), path, c" (it changed while being serialized)");
        }
        if lua_getmetatable(l, idx) == 0 {
            lua_pushnil(l);
        }
        self.dump_top(&path.then(Step::Metatable), depth);
    }

    /// Writes the value on top of the stack and pops it.
    #[inline(never)]
    unsafe fn dump_top(&mut self, path: &Path, depth: u32) {
        self.dump_value(lua_gettop(self.l), path, depth);
        lua_pop(self.l, 1);
    }

    /// Counts the pairs of the table at `idx` outside its array part `1..=n`, writing them
    /// when given the table's path and how many there were.
    unsafe fn pairs(&mut self, idx: c_int, n: i64, write: Option<(&Path, u64)>, depth: u32) -> u64 {
        let l = self.l;
        let mut count: u64 = 0;
        lua_pushnil(l);
        while lua_next(l, idx) != 0 {
            let v = lua_gettop(l);
            let i = lua_tointegerx(l, v - 1, core::ptr::null_mut());
            if lua_isinteger(l, v - 1) == 0 || i < 1 || i > n {
                if let Some((path, pairs)) = write {
                    if count == pairs {
                        self.fail(c"table".as_ptr(), path, c" (it changed while being serialized)");
                    }
                    self.dump_value(v - 1, &path.then(Step::Key), depth);
                    self.dump_value(v, &path.then(Step::Field(v - 1)), depth);
                }
                count += 1;
            }
            lua_pop(l, 1);
        }
        count
    }

    /// The Lua function at `idx` (registered as `self.objects - 1`); `depth` is its
    /// upvalues'.
    unsafe fn dump_function(&mut self, idx: c_int, path: &Path, depth: u32) {
        let l = self.l;
        let mark = self.out.len();
        self.put_tagged(TAG_FUNCTION, 0);
        let code = self.out.len();
        lua_pushvalue(l, idx);
        let status = lua_dump(l, writer, &mut *self.out as *mut Vec<u8> as *mut c_void, self.strip as c_int);
        lua_pop(l, 1);
        let len = self.out.len() - code;
        if status != 0 || len > u32::MAX as usize {
            self.fail(c"function".as_ptr(), path, c" (lua_dump failed)");
        }
        // SAFETY: the record's length field is the 4 bytes before `code`.
        unsafe { (self.out.as_mut_ptr().add(code - 4) as *mut [u8; 4]).write((len as u32).to_le_bytes()) };
        // When an earlier function has this bytecode, a TAG_CLONE naming it replaces the
        // record; otherwise the bytecode is remembered: its fingerprint → the object index
        // in the high half, the body offset of the bytecode in the low half.
        // SAFETY: `code` is at most the length.
        let bytecode = unsafe { self.out.get_unchecked(code..) };
        let fingerprint = ((len as u64) << 32 | checksum::adler32(bytecode) as u64) as i64;
        lua_pushinteger(l, fingerprint);
        let seen = self.get_int(self.seen);
        if seen >= 0 {
            let (first, at) = ((seen >> 32) as u32, (seen as u32) as usize + self.base);
            if self.out.get(at..at + len) == Some(bytecode) {
                self.out.truncate(mark);
                self.put_tagged(TAG_CLONE, first);
            }
        } else {
            lua_pushinteger(l, fingerprint);
            self.set_int(self.seen, ((self.objects as i64 - 1) << 32) | (code - self.base) as i64);
        }
        // Upvalues: their count, then each.
        let count = self.out.len();
        self.put_u8(0);
        let mut i = 0;
        loop {
            let name = lua_getupvalue(l, idx, i + 1);
            if name.is_null() {
                break;
            }
            i += 1;
            let id = lua_upvalueid(l, idx, i);
            lua_pushlightuserdata(l, id);
            let index = self.get_int(self.seen);
            if index >= 0 {
                self.put_tagged(UPVAL_SHARED, index as u32);
                lua_pop(l, 1);
            } else {
                lua_pushlightuserdata(l, id);
                self.set_int(self.seen, self.upvalues as i64);
                self.upvalues += 1;
                self.put_u8(UPVAL_FRESH);
                self.dump_top(&path.then(Step::Upvalue(i, name)), depth);
            }
        }
        self.out[count] = i as u8;
    }
}
