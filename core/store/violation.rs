//! violation.rs: schema violations (schema.rs) as shown to people and to JS: the text of an
//! error message (`schema violation: users.u1.age: max (expected 150, got 200); ...`) and
//! the wire values of a reply, an array of `{ path, rule, expected, got }`.

use super::schema::{Shown, Violation};
use super::wire::{put_key, put_str, put_u32, put_value};
use super::{Key, Store, Value};
use crate::wire::{TAG_ARRAY, TAG_MAP, TAG_NIL};
use alloc::vec::Vec;

/// Violations listed in a message; the rest are counted.
const LISTED: usize = 10;

extern "C" {
    fn snprintf(buf: *mut u8, n: usize, fmt: *const u8, ...) -> i32;
}

/// A number as Lua's `tostring` writes it.
fn number(out: &mut Vec<u8>, k: &Key) {
    let mut buf = [0u8; 32];
    let n = match k {
        // SAFETY: the buffer's size is passed, the formats are NUL-terminated and match the
        // argument types.
        Key::Int(i) => unsafe { snprintf(buf.as_mut_ptr(), buf.len(), c"%lld".as_ptr() as *const u8, *i) },
        Key::Float(f) => unsafe { snprintf(buf.as_mut_ptr(), buf.len(), c"%.14g".as_ptr() as *const u8, *f) },
        _ => 0,
    };
    let s = &buf[..(n.max(0) as usize).min(buf.len() - 1)];
    out.extend_from_slice(s);
    if matches!(k, Key::Float(_)) && s.iter().all(|c| c.is_ascii_digit() || *c == b'-') {
        out.extend_from_slice(b".0");
    }
}

/// A path from `Memory`: `users.u1.tags[2]`.
pub fn path_text(out: &mut Vec<u8>, path: &[Key]) {
    for (i, k) in path.iter().enumerate() {
        match k.bytes() {
            Some(s) => {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(s);
            }
            None => {
                out.push(b'[');
                key_text(out, k);
                out.push(b']');
            }
        }
    }
}

/// A key as Lua shows it: strings as they are.
pub fn key_text(out: &mut Vec<u8>, k: &Key) {
    match k {
        Key::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Key::Str(_) | Key::Short(..) => out.extend_from_slice(k.bytes().unwrap_or_default()),
        _ => number(out, k),
    }
}

/// A value in a message: strings quoted (long ones cut), lists in braces.
fn shown_text(out: &mut Vec<u8>, store: &Store, v: &Shown) {
    match v {
        Shown::Nil => out.extend_from_slice(b"nil"),
        Shown::Text(t) => shown_text(out, store, &Shown::Key(Key::str(t.as_bytes()))),
        Shown::Key(k @ (Key::Str(_) | Key::Short(..))) => {
            let s = k.bytes().unwrap_or_default();
            out.push(b'"');
            out.extend_from_slice(&s[..s.len().min(40)]);
            out.extend_from_slice(if s.len() > 40 { b"...\"" } else { b"\"" });
        }
        Shown::Key(k) => key_text(out, k),
        Shown::Table(n) => {
            out.push(b'{');
            for i in 1..=store.border(*n) {
                if i > 1 {
                    out.extend_from_slice(b", ");
                }
                match store.get(*n, &Key::Int(i)) {
                    Some(Value::Key(k)) => shown_text(out, store, &Shown::Key(k.clone())),
                    _ => out.extend_from_slice(b"?"),
                }
            }
            out.push(b'}');
        }
    }
}

/// `schema violation: <path>: <rule> (expected <x>, got <y>); ...`
pub fn message(store: &Store, violations: &[Violation]) -> Vec<u8> {
    let mut out = b"schema violation: ".to_vec();
    for (i, v) in violations.iter().take(LISTED).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"; ");
        }
        path_text(&mut out, &v.path);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.rule.as_bytes());
        out.extend_from_slice(b" (expected ");
        shown_text(&mut out, store, &v.expected);
        out.extend_from_slice(b", got ");
        shown_text(&mut out, store, &v.got);
        out.push(b')');
    }
    if violations.len() > LISTED {
        out.extend_from_slice(b"; and ");
        number(&mut out, &Key::Int((violations.len() - LISTED) as i64));
        out.extend_from_slice(b" more");
    }
    out
}

fn put_shown(out: &mut Vec<u8>, store: &Store, v: &Shown) {
    match v {
        Shown::Nil => out.push(TAG_NIL),
        Shown::Key(k) => put_key(out, k),
        Shown::Text(t) => put_str(out, t.as_bytes()),
        Shown::Table(n) => put_value(out, store, Some(&Value::Table(*n))),
    }
}

/// The violations as a wire array of maps `{ path, rule, expected, got }` (an empty map for
/// none: the wire has no empty array).
pub fn put_violations(out: &mut Vec<u8>, store: &Store, violations: &[Violation]) {
    if violations.is_empty() {
        out.push(TAG_MAP);
        return put_u32(out, 0);
    }
    out.push(TAG_ARRAY);
    put_u32(out, violations.len() as u32);
    for v in violations {
        out.push(TAG_MAP);
        put_u32(out, 4);
        put_str(out, b"path");
        let mut p = Vec::new();
        path_text(&mut p, &v.path);
        put_str(out, &p);
        put_str(out, b"rule");
        put_str(out, v.rule.as_bytes());
        put_str(out, b"expected");
        put_shown(out, store, &v.expected);
        put_str(out, b"got");
        put_shown(out, store, &v.got);
    }
}
