//! path.rs: where the encoder is in the value graph, and the error messages built from it.
//!
//! The path is a chain of `Path` nodes on the Rust stack (no heap: an error unwinds over
//! them). It is rendered only when an error is raised (docs/FORMAT.md, "Error paths"):
//!
//! | step | rendered | example |
//! | --- | --- | --- |
//! | root | the root's name | `root`, `Memory` |
//! | string key that is a name | `.key` | `root.cfg` |
//! | other string key | `["key"]`, cut after 32 bytes, with `"`, `\` and bytes outside printable ASCII as `\ddd` | `root["a b"]`, `root["\034"]` |
//! | integer, float, boolean key | `[k]` | `root.list[3]`, `root[1.5]`, `root[true]` |
//! | any other key | `[type]` | `root[table]` |
//! | a key itself | ` key` | `root.t key` |
//! | upvalue n of a function | ` upvalue n`, then ` (name)` when known | `root.f upvalue 2 (co)` |
//! | a metatable | ` metatable` | `root.obj metatable.__index` |
//!
//! Paths longer than 24 steps show their first and last 12 steps around ` ... `.
//!
//! Messages are built by Lua (`lua_pushfstring`, `lua_concat`): numbers are written as
//! `tostring` writes them, and no Rust formatting code is needed.

use crate::lua::*;
use core::ffi::{c_char, c_int, CStr};

extern "C" {
    fn lua_pushfstring(l: *mut lua_State, fmt: *const c_char, ...) -> *const c_char;
    fn strcmp(a: *const c_char, b: *const c_char) -> c_int;
}

#[derive(Clone, Copy)]
pub(crate) enum Step {
    Root,
    /// Array item `[i]`.
    Index(i64),
    /// The value under the key at this stack index.
    Field(c_int),
    /// A key itself.
    Key,
    /// Upvalue n and its name (from `lua_getupvalue`, valid while the function is).
    Upvalue(c_int, *const c_char),
    Metatable,
}

pub(crate) struct Path<'p> {
    pub up: Option<&'p Path<'p>>,
    pub step: Step,
}

impl<'p> Path<'p> {
    pub fn root() -> Path<'static> {
        Path { up: None, step: Step::Root }
    }
    pub fn then(&'p self, step: Step) -> Path<'p> {
        Path { up: Some(self), step }
    }
}

const SHOWN: usize = 12;

/// Pushes the rendering of the steps from the root to `p`, the `i`th of `n`.
unsafe fn push_steps(l: *mut lua_State, p: &Path, i: usize, n: usize, root: &[u8]) {
    match p.up {
        Some(up) => push_steps(l, up, i - 1, n, root),
        None => push_bytes(l, b""),
    }
    if n > 2 * SHOWN && i >= SHOWN && i < n - SHOWN {
        if i == SHOWN {
            push_bytes(l, b" ... ");
            lua_concat(l, 2);
        }
        return;
    }
    match p.step {
        Step::Root => push_bytes(l, root),
        Step::Index(i) => index(l, i),
        Step::Field(k) => push_key(l, k),
        Step::Key => push_bytes(l, b" key"),
        Step::Upvalue(n, name) => {
            if name.is_null() || *name == 0 || strcmp(name, c"(no name)".as_ptr()) == 0 {
                fstring(l, c" upvalue %d", n);
            } else {
                lua_pushfstring(l, c" upvalue %d (%s)".as_ptr(), n, name);
            }
        }
        Step::Metatable => push_bytes(l, b" metatable"),
    }
    lua_concat(l, 2);
}

unsafe fn index(l: *mut lua_State, i: i64) {
    lua_pushfstring(l, c"[%I]".as_ptr(), i);
}

/// Pushes `fmt` with the one argument `arg` (a `%d` or a `%s`).
unsafe fn fstring<T>(l: *mut lua_State, fmt: &CStr, arg: T) {
    lua_pushfstring(l, fmt.as_ptr(), arg);
}

/// Pushes `.name`, `["text"]` or `[k]` for the key at `k`. No metamethod runs.
unsafe fn push_key(l: *mut lua_State, k: c_int) {
    let t = lua_type(l, k);
    if t == LUA_TNUMBER {
        if lua_isinteger(l, k) != 0 {
            index(l, lua_tointegerx(l, k, core::ptr::null_mut()));
        } else {
            lua_pushfstring(l, c"[%f]".as_ptr(), lua_tonumberx(l, k, core::ptr::null_mut()));
        }
    } else if t != LUA_TSTRING {
        let name = if t != LUA_TBOOLEAN {
            lua_typename(l, t)
        } else if lua_toboolean(l, k) != 0 {
            c"true".as_ptr()
        } else {
            c"false".as_ptr()
        };
        fstring(l, c"[%s]", name);
    } else {
        let s = string_bytes(l, k);
        // A Lua name (not checked against reserved words: `t.end` still reads well) holds
        // no NUL: Lua's copy ends at its end.
        if s.first().is_some_and(|c| !c.is_ascii_digit()) && s.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_') {
            fstring(l, c".%s", s.as_ptr());
            return;
        }
        // At most 32 bytes, 4 each escaped, and a NUL.
        let mut buf = [0u8; 32 * 4 + 1];
        let mut n = 0;
        for &c in s.iter().take(32) {
            let esc = [b'\\', b'0' + c / 100, b'0' + c / 10 % 10, b'0' + c % 10];
            let text: &[u8] = if c.is_ascii_graphic() && c != b'"' && c != b'\\' || c == b' ' { &[c] } else { &esc };
            for &b in text {
                // SAFETY: at most 32 * 4 bytes are put.
                *buf.get_unchecked_mut(n) = b;
                n += 1;
            }
        }
        let more = if s.len() > 32 { c"..." } else { c"" };
        lua_pushfstring(l, c"[\"%s%s\"]".as_ptr(), buf.as_ptr(), more.as_ptr());
    }
}

pub(crate) unsafe fn push_bytes(l: *mut lua_State, s: &[u8]) {
    lua_pushlstring(l, s.as_ptr() as *const c_char, s.len());
}

/// Raises the string on top of the stack.
pub(crate) unsafe fn raise_top(l: *mut lua_State) -> ! {
    lua_error(l);
    // SAFETY: lua_error does not return.
    core::hint::unreachable_unchecked()
}

/// Raises `msg`.
pub(crate) unsafe fn raise(l: *mut lua_State, msg: &CStr) -> ! {
    lua_pushstring(l, msg.as_ptr());
    raise_top(l)
}

/// Raises "cannot serialize `what` at `path``why`".
#[inline(never)]
pub(crate) unsafe fn raise_encode(l: *mut lua_State, what: *const c_char, path: &Path, root: &[u8], why: &CStr) -> ! {
    lua_checkstack(l, 8);
    fstring(l, c"cannot serialize %s at ", what);
    let mut n = 0;
    let mut node = Some(path);
    while let Some(p) = node {
        n += 1;
        node = p.up;
    }
    push_steps(l, path, n - 1, n, root);
    lua_pushstring(l, why.as_ptr());
    lua_concat(l, 3);
    raise_top(l)
}

/// Raises "cannot deserialize: `msg`".
#[inline(never)]
pub(crate) unsafe fn raise_decode(l: *mut lua_State, msg: &CStr) -> ! {
    lua_checkstack(l, 8);
    fstring(l, c"cannot deserialize: %s", msg.as_ptr());
    raise_top(l)
}

/// Raises "cannot deserialize: `before`" + the string on top of the stack + "`after` (body
/// byte `at`)".
#[inline(never)]
pub(crate) unsafe fn raise_decode_around(l: *mut lua_State, before: &CStr, after: &CStr, at: usize) -> ! {
    lua_checkstack(l, 8);
    fstring(l, c"cannot deserialize: %s", before.as_ptr());
    lua_rotate(l, -2, 1);
    lua_pushfstring(l, c"%s (body byte %I)".as_ptr(), after.as_ptr(), at as i64);
    lua_concat(l, 3);
    raise_top(l)
}
