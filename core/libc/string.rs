//! string.rs: the <string.h> functions Lua calls that Rust's compiler_builtins does not
//! provide (it has memcpy, memmove, memset and memcmp). "C" locale: strcoll is strcmp.
//!
//! # Safety (all functions)
//! Arguments follow the C standard's contracts: NUL-terminated strings, valid ranges.

use core::ffi::{c_char, c_int};

#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: `s` is NUL-terminated (C contract).
    while *s.add(n) != 0 {
        n += 1;
    }
    n
}

#[no_mangle]
pub unsafe extern "C" fn strcmp(a: *const c_char, b: *const c_char) -> c_int {
    strncmp(a, b, usize::MAX)
}

#[no_mangle]
pub unsafe extern "C" fn strncmp(a: *const c_char, b: *const c_char, n: usize) -> c_int {
    for i in 0..n {
        // SAFETY: both strings are NUL-terminated and we stop at the first NUL.
        let (x, y) = (*a.add(i) as u8, *b.add(i) as u8);
        if x != y || x == 0 {
            return x as c_int - y as c_int;
        }
    }
    0
}

#[no_mangle]
pub unsafe extern "C" fn strcoll(a: *const c_char, b: *const c_char) -> c_int {
    strcmp(a, b)
}

#[no_mangle]
pub unsafe extern "C" fn strcpy(d: *mut c_char, s: *const c_char) -> *mut c_char {
    // SAFETY: `d` has room for strlen(s) + 1 bytes (C contract); the ranges don't overlap.
    core::ptr::copy_nonoverlapping(s, d, strlen(s) + 1);
    d
}

#[no_mangle]
pub unsafe extern "C" fn strchr(s: *const c_char, c: c_int) -> *mut c_char {
    let c = c as u8;
    let mut p = s;
    loop {
        // SAFETY: `p` stays inside the NUL-terminated string (the NUL itself can match).
        let x = *p as u8;
        if x == c {
            return p as *mut c_char;
        }
        if x == 0 {
            return core::ptr::null_mut();
        }
        p = p.add(1);
    }
}

#[no_mangle]
pub unsafe extern "C" fn memchr(s: *const u8, c: c_int, n: usize) -> *mut u8 {
    // SAFETY: `s` is valid for `n` bytes (C contract).
    let bytes = core::slice::from_raw_parts(s, n);
    match bytes.iter().position(|&b| b == c as u8) {
        Some(i) => s.add(i) as *mut u8,
        None => core::ptr::null_mut(),
    }
}

/// Bytes of a NUL-terminated string, without the NUL.
unsafe fn cstr<'a>(s: *const c_char) -> &'a [u8] {
    // SAFETY: `s` is NUL-terminated.
    core::slice::from_raw_parts(s as *const u8, strlen(s))
}

#[no_mangle]
pub unsafe extern "C" fn strspn(s: *const c_char, accept: *const c_char) -> usize {
    let set = cstr(accept);
    cstr(s).iter().take_while(|b| set.contains(b)).count()
}

#[no_mangle]
pub unsafe extern "C" fn strpbrk(s: *const c_char, accept: *const c_char) -> *mut c_char {
    let set = cstr(accept);
    match cstr(s).iter().position(|b| set.contains(b)) {
        Some(i) => s.add(i) as *mut c_char,
        None => core::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn strstr(h: *const c_char, n: *const c_char) -> *mut c_char {
    let (hay, needle) = (cstr(h), cstr(n));
    if needle.is_empty() {
        return h as *mut c_char;
    }
    match hay.windows(needle.len()).position(|w| w == needle) {
        Some(i) => h.add(i) as *mut c_char,
        None => core::ptr::null_mut(),
    }
}
