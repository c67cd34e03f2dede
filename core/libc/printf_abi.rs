//! wasm32-only C ABI entry points for the formatter and strtod: csrc/cu_printf.c's variadic
//! snprintf family hands its `va_list` to `cu_vsnprintf`, and `strtod` maps to `cu_strtod`.

use super::format::{vformat, Args};
use super::strtod::strtod_erange;

extern "C" {
    /// The C library's `errno` (defined on the C side).
    static mut errno: i32;
}

const ERANGE: i32 = 34;

/// clang's wasm32 `va_list`: a pointer to the arguments laid out in order, each at its natural
/// alignment (int/long/pointer 4 bytes, long long/double 8 bytes).
struct VaList(*const u8);

impl VaList {
    /// Reads the next argument as a `T`.
    ///
    /// # Safety
    /// The next argument in the list must have type `T` (after C's default promotions).
    unsafe fn next<T: Copy>(&mut self) -> T {
        let pad = (self.0 as usize).wrapping_neg() & (core::mem::align_of::<T>() - 1);
        // SAFETY: the caller guarantees a `T` follows, at its natural alignment.
        unsafe {
            let p = self.0.add(pad) as *const T;
            self.0 = p.add(1) as *const u8;
            p.read()
        }
    }
}

// SAFETY: a `VaList` is only made by `cu_vsnprintf`, whose caller guarantees the arguments
// match the format, so a `%s` argument is null or a NUL-terminated string.
unsafe impl Args for VaList {
    fn int(&mut self) -> i32 {
        // SAFETY: (all six) `cu_vsnprintf`'s caller guarantees the arguments match the format,
        // and the formatter asks for exactly the type each conversion takes.
        unsafe { self.next() }
    }
    fn uint(&mut self) -> u32 {
        // SAFETY: see `int`.
        unsafe { self.next() }
    }
    fn long_long(&mut self) -> i64 {
        // SAFETY: see `int`.
        unsafe { self.next() }
    }
    fn double(&mut self) -> f64 {
        // SAFETY: see `int`.
        unsafe { self.next() }
    }
    fn ptr(&mut self) -> usize {
        // SAFETY: see `int`.
        unsafe { self.next() }
    }
    fn cstr(&mut self) -> *const u8 {
        // SAFETY: see `int`.
        unsafe { self.next() }
    }
}

/// Length of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` must point at a NUL-terminated string.
unsafe fn c_len(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the string is readable up to its NUL.
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}

/// C `vsnprintf` over clang's wasm32 `va_list`.
///
/// # Safety
/// `fmt` must be a NUL-terminated format string; `ap` must hold arguments matching it as C's
/// `vsnprintf` requires; `buf` must be writable for `n` bytes (it may be null when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn cu_vsnprintf(
    buf: *mut u8,
    n: usize,
    fmt: *const u8,
    ap: *const u8,
) -> i32 {
    // SAFETY: the caller guarantees `fmt` is NUL-terminated and `buf` writable for `n` bytes.
    let (fmt, out): (&[u8], &mut [u8]) = unsafe {
        let fmt = core::slice::from_raw_parts(fmt, c_len(fmt));
        (
            fmt,
            if n == 0 || buf.is_null() {
                &mut []
            } else {
                core::slice::from_raw_parts_mut(buf, n)
            },
        )
    };
    vformat(out, fmt, &mut VaList(ap)) as i32
}

/// C `strtod` in the "C" locale; sets `errno` to ERANGE on overflow or underflow as glibc.
///
/// # Safety
/// `s` must be a NUL-terminated string; `end` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn cu_strtod(s: *const u8, end: *mut *mut u8) -> f64 {
    // SAFETY: the caller guarantees `s` is NUL-terminated and `end` null or writable; `errno`
    // is a plain C int (single-threaded wasm).
    unsafe {
        let (v, used, erange) = strtod_erange(core::slice::from_raw_parts(s, c_len(s)));
        if !end.is_null() {
            *end = s.add(used) as *mut u8;
        }
        if erange {
            core::ptr::addr_of_mut!(errno).write(ERANGE);
        }
        v
    }
}
