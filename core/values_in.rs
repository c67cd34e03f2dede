//! values_in.rs: JS values into Lua, for SET_GLOBAL (op 30) and COMPUTE's arguments
//! (docs/ARCHITECTURE.md). They arrive as wire values (tags 0–7, written by glue.js as it
//! writes values for external tables: README "Values going in") and become plain Lua
//! values: arrays and maps become fresh tables, strings Lua strings (any bytes).
//!
//! A request is walked twice by the same code: first checked without touching Lua (any fault
//! is BAD_ARGUMENT before the call), then pushed inside a protected call, where the only
//! failure left is running out of Lua heap. Pushing holds nothing owned, so a Lua error may
//! unwind through it.

use crate::lua::*;
use crate::protocol::{bad_argument, split_named};
use crate::runtime::{Instance, Status};
use crate::store::wire::Reader;
use crate::wire::{TAG_ARRAY, TAG_FALSE, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_NIL, TAG_STRING, TAG_TRUE};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int};

pub const OP_SET_GLOBAL: u32 = 30;
/// COMPUTE request flag: the arguments (`u32 n`, n wire values) follow the chunk name.
pub const COMPUTE_ARGS: u8 = 2;
/// Most arguments a COMPUTE request may pass to its chunk.
pub const MAX_ARGS: u32 = 4096;
/// Deepest nesting of tables in a value (as the wire format allows).
const MAX_DEPTH: usize = 200;

/// A walk over wire values (read with the store's wire `Reader`): checks them, and pushes
/// them too when `l` is not null.
struct Walk<'a> {
    r: Reader<'a>,
    l: *mut lua_State,
}

impl Walk<'_> {
    fn new(bytes: &[u8], l: *mut lua_State) -> Walk<'_> {
        Walk { r: Reader::new(bytes), l }
    }

    /// One value at `depth` tables deep; a `key` may not be nil, NaN or a table.
    ///
    /// # Safety
    /// `l` is null, or a state in a protected call whose stack has room for one value.
    unsafe fn value(&mut self, depth: usize, key: bool) -> Option<()> {
        let tag = self.r.u8().ok()?;
        let l = self.l;
        let push = !l.is_null();
        match tag {
            TAG_NIL | TAG_FALSE | TAG_TRUE if !key || tag != TAG_NIL => {
                if push && tag == TAG_NIL {
                    lua_pushnil(l);
                } else if push {
                    lua_pushboolean(l, (tag == TAG_TRUE) as c_int);
                }
            }
            TAG_INT | TAG_FLOAT => {
                let x = self.r.u64().ok()?;
                let f = f64::from_bits(x);
                if key && f.is_nan() && tag == TAG_FLOAT {
                    return None;
                }
                if push && tag == TAG_INT {
                    lua_pushinteger(l, x as i64);
                } else if push {
                    lua_pushnumber(l, f);
                }
            }
            TAG_STRING => {
                let n = self.r.u32().ok()? as usize;
                let s = self.r.take(n).ok()?;
                if push {
                    lua_pushlstring(l, s.as_ptr() as *const c_char, n);
                }
            }
            TAG_ARRAY | TAG_MAP if !key && depth < MAX_DEPTH => {
                let n = self.r.u32().ok()?;
                // Every element takes a byte at least: a count past the end is malformed.
                if n as usize > self.r.bytes.len() - self.r.pos {
                    return None;
                }
                let map = (tag == TAG_MAP) as c_int;
                if push {
                    if lua_checkstack(l, 3) == 0 {
                        luaL_error(l, c"not enough memory".as_ptr());
                    }
                    let hint = n.min(1 << 20) as c_int;
                    lua_createtable(l, hint * (1 - map), hint * map);
                }
                for i in 1..=n {
                    if map != 0 {
                        self.value(depth + 1, true)?;
                    }
                    self.value(depth + 1, false)?;
                    if push && map != 0 {
                        lua_rawset(l, -3);
                    } else if push {
                        lua_rawseti(l, -2, i as i64);
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }
}

/// Checks `u32 n` and n wire values at the front of `bytes` (n at most `MAX_ARGS`); the
/// length they take.
fn check_args(bytes: &[u8]) -> Option<usize> {
    let mut w = Walk::new(bytes, core::ptr::null_mut());
    let n = w.r.u32().ok()?;
    if n > MAX_ARGS {
        return None;
    }
    for _ in 0..n {
        // SAFETY: a null state: nothing is pushed.
        unsafe { w.value(0, false)? };
    }
    Some(w.r.pos)
}

/// COMPUTE's arguments and source: with `COMPUTE_ARGS` in `flags`, `rest` starts with the
/// arguments (checked); otherwise there are none (an empty slice).
pub(crate) fn split_args(flags: u8, rest: &[u8]) -> Option<(&[u8], &[u8])> {
    if flags & COMPUTE_ARGS == 0 {
        return Some((&[], rest));
    }
    check_args(rest).map(|n| (&rest[..n], &rest[n..]))
}

/// Pushes arguments checked by `split_args` (a protected C function: the light userdata
/// argument points at their slice); returns them.
///
/// # Safety
/// Called by Lua with that argument.
pub(crate) unsafe extern "C" fn push_args(l: *mut lua_State) -> c_int {
    // SAFETY: `compute_with` passed a pointer to its slice of the request, which outlives
    // this call.
    let bytes = *(lua_touserdata(l, 1) as *const &[u8]);
    lua_settop(l, 0);
    let mut w = Walk::new(bytes, l);
    let n = w.r.u32().unwrap_or(0);
    if lua_checkstack(l, n as c_int + 1) == 0 {
        luaL_error(l, c"not enough memory".as_ptr());
    }
    for _ in 0..n {
        // (Checked already: this pushes every value.)
        w.value(0, false);
    }
    lua_gettop(l)
}

/// SET_GLOBAL: `u8 0, u16 name_len, name, wire value` → `u32 0`; the global `name` holds
/// the value. It runs as the chunk `local k, v = ... _ENV[k] = v` with the name and the value
/// as arguments: as `name = value` would in Lua (`_G`'s `__newindex` runs), in a call.
pub fn set_global(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    let Some((_, name, value)) = split_named(request) else {
        return bad_argument(reply, "setGlobal: bad request");
    };
    if name.is_empty() || name == b"Memory" || name == b"_home" {
        return bad_argument(reply, "setGlobal: bad name (empty, Memory or _home)");
    }
    let mut args = 2u32.to_le_bytes().to_vec();
    args.push(TAG_STRING);
    args.extend_from_slice(&(name.len() as u32).to_le_bytes());
    args.extend_from_slice(name);
    args.extend_from_slice(value);
    if check_args(&args) != Some(args.len()) {
        return bad_argument(reply, "setGlobal: bad request");
    }
    inst.compute_with(b"local k, v = ... _ENV[k] = v", b"=setGlobal", &args, false, reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: &[&[u8]]) -> Vec<u8> {
        let mut r = (values.len() as u32).to_le_bytes().to_vec();
        values.iter().for_each(|v| r.extend_from_slice(v));
        r
    }

    #[test]
    fn arguments_are_checked_before_lua_sees_them() {
        let int = [&[TAG_INT][..], &7i64.to_le_bytes()].concat();
        let a = args(&[&int, &[TAG_NIL], &[TAG_ARRAY, 1, 0, 0, 0, TAG_TRUE]]);
        assert_eq!(check_args(&a), Some(a.len()));
        let with_source = [&a[..], b"return ..."].concat();
        assert_eq!(split_args(COMPUTE_ARGS, &with_source), Some((&a[..], &b"return ..."[..])));
        assert_eq!(split_args(0, b"return 1"), Some((&[][..], &b"return 1"[..])));
        let nan = [&[TAG_FLOAT][..], &f64::NAN.to_le_bytes()].concat();
        for bad in [
            args(&[&[TAG_INT, 1]]),                                // truncated
            args(&[&[9, 6, 0, 0, 0, 0]]),                          // an opaque value
            args(&[&[8, 0, 0, 0, 0]]),                             // a reference
            args(&[&[TAG_MAP, 1, 0, 0, 0, TAG_NIL, TAG_TRUE]]),   // a nil key
            args(&[&[&[TAG_MAP, 1, 0, 0, 0][..], &nan, &[TAG_TRUE]].concat()]), // a NaN key
            args(&[&[TAG_MAP, 1, 0, 0, 0, TAG_MAP, 0, 0, 0, 0, TAG_TRUE]]), // a table key
            args(&[&[TAG_ARRAY, 255, 255, 255, 255, TAG_TRUE]]),  // a count past the end
            args(&[&[TAG_STRING, 9, 0, 0, 0, b'x']]),             // a string past the end
            (MAX_ARGS + 1).to_le_bytes().to_vec(),
            vec![1, 0],
        ] {
            assert_eq!(check_args(&bad), None, "{bad:?}");
        }
        // 200 nested tables pass, 201 do not.
        let nested = |d: usize| {
            let mut v = Vec::new();
            for _ in 0..d {
                v.extend_from_slice(&[TAG_ARRAY, 1, 0, 0, 0]);
            }
            v.push(TAG_TRUE);
            args(&[&v])
        };
        assert!(check_args(&nested(200)).is_some());
        assert_eq!(check_args(&nested(201)), None);
    }
}
