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

use crate::lua::*;
use core::ffi::{c_char, c_int, CStr};

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
const MAX_STEPS: usize = 2 * super::MAX_DEPTH as usize + 8;

/// Pushes the rendering of `path`.
pub(crate) unsafe fn push_path(l: *mut lua_State, path: &Path, root: &[u8]) {
    let mut steps: [*const Path; MAX_STEPS] = [core::ptr::null(); MAX_STEPS];
    let mut n = 0;
    let mut node = Some(path);
    while let Some(p) = node {
        if n < MAX_STEPS {
            steps[n] = p;
            n += 1;
        }
        node = p.up;
    }
    steps[..n].reverse();
    lua_pushlstring(l, c"".as_ptr(), 0);
    for (i, &p) in steps[..n].iter().enumerate() {
        if n > 2 * SHOWN && i >= SHOWN && i < n - SHOWN {
            if i == SHOWN {
                push_bytes(l, b" ... ");
                lua_concat(l, 2);
            }
            continue;
        }
        push_step(l, (*p).step, root);
        lua_concat(l, 2);
    }
}

unsafe fn push_step(l: *mut lua_State, step: Step, root: &[u8]) {
    match step {
        Step::Root => push_bytes(l, root),
        Step::Index(i) => {
            let mut buf = [0u8; 24];
            push_bytes(l, bracket(&mut buf, itoa(i, &mut [0u8; 20])));
        }
        Step::Field(k) => push_key(l, k),
        Step::Key => push_bytes(l, b" key"),
        Step::Upvalue(n, name) => {
            push_bytes(l, b" upvalue ");
            push_bytes(l, itoa(n as i64, &mut [0u8; 20]));
            let name = if name.is_null() { &b""[..] } else { CStr::from_ptr(name).to_bytes() };
            if !name.is_empty() && name != b"(no name)" {
                push_bytes(l, b" (");
                push_bytes(l, name);
                push_bytes(l, b")");
                lua_concat(l, 5);
            } else {
                lua_concat(l, 2);
            }
        }
        Step::Metatable => push_bytes(l, b" metatable"),
    }
}

/// Pushes `.name`, `["text"]` or `[k]` for the key at `k`. No metamethod runs.
unsafe fn push_key(l: *mut lua_State, k: c_int) {
    match lua_type(l, k) {
        LUA_TSTRING => {
            let s = string_bytes(l, k);
            if is_name(s) {
                push_bytes(l, b".");
                push_bytes(l, s);
                lua_concat(l, 2);
            } else {
                // `["` + at most 32 bytes, 4 each escaped + `..."]`
                let mut buf = [0u8; 2 + 32 * 4 + 5];
                buf[..2].copy_from_slice(b"[\"");
                let mut n = 2;
                for &c in s.iter().take(32) {
                    if c.is_ascii_graphic() && c != b'"' && c != b'\\' || c == b' ' {
                        buf[n] = c;
                        n += 1;
                    } else {
                        buf[n..n + 4].copy_from_slice(&[b'\\', b'0' + c / 100, b'0' + c / 10 % 10, b'0' + c % 10]);
                        n += 4;
                    }
                }
                if s.len() > 32 {
                    buf[n..n + 3].copy_from_slice(b"...");
                    n += 3;
                }
                buf[n..n + 2].copy_from_slice(b"\"]");
                push_bytes(l, &buf[..n + 2]);
            }
        }
        LUA_TNUMBER => {
            // lua_tolstring converts the copy in place: no metamethod.
            push_bytes(l, b"[");
            lua_pushvalue(l, k);
            lua_tolstring(l, -1, core::ptr::null_mut());
            push_bytes(l, b"]");
            lua_concat(l, 3);
        }
        LUA_TBOOLEAN => push_bytes(l, if lua_toboolean(l, k) != 0 { b"[true]" } else { b"[false]" }),
        t => {
            push_bytes(l, b"[");
            lua_pushstring(l, lua_typename(l, t));
            push_bytes(l, b"]");
            lua_concat(l, 3);
        }
    }
}

/// A Lua name (not checked against reserved words: `t.end` still reads well).
fn is_name(s: &[u8]) -> bool {
    match s.split_first() {
        Some((&c, rest)) => {
            (c.is_ascii_alphabetic() || c == b'_') && rest.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        None => false,
    }
}

fn itoa(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn bracket<'b>(buf: &'b mut [u8; 24], digits: &[u8]) -> &'b [u8] {
    buf[0] = b'[';
    buf[1..1 + digits.len()].copy_from_slice(digits);
    buf[1 + digits.len()] = b']';
    &buf[..digits.len() + 2]
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
pub(crate) unsafe fn raise(l: *mut lua_State, msg: &[u8]) -> ! {
    push_bytes(l, msg);
    raise_top(l)
}

/// Raises "cannot serialize `what` at `path``why`".
pub(crate) unsafe fn raise_encode(l: *mut lua_State, what: &[u8], path: &Path, root: &[u8], why: &[u8]) -> ! {
    lua_checkstack(l, 8);
    push_bytes(l, b"cannot serialize ");
    push_bytes(l, what);
    push_bytes(l, b" at ");
    push_path(l, path, root);
    push_bytes(l, why);
    lua_concat(l, 5);
    raise_top(l)
}

/// Raises "cannot deserialize: `msg`", then " (body byte `at`)" when given.
pub(crate) unsafe fn raise_decode(l: *mut lua_State, msg: &[u8], at: Option<usize>) -> ! {
    lua_checkstack(l, 8);
    push_decode_prefix(l, msg);
    if let Some(at) = at {
        push_at(l, at);
        lua_concat(l, 2);
    }
    raise_top(l)
}

/// Pushes "cannot deserialize: `msg`".
pub(crate) unsafe fn push_decode_prefix(l: *mut lua_State, msg: &[u8]) {
    push_bytes(l, b"cannot deserialize: ");
    push_bytes(l, msg);
    lua_concat(l, 2);
}

/// Pushes " (body byte N)".
pub(crate) unsafe fn push_at(l: *mut lua_State, at: usize) {
    push_bytes(l, b" (body byte ");
    push_bytes(l, itoa(at as i64, &mut [0u8; 20]));
    push_bytes(l, b")");
    lua_concat(l, 3);
}
