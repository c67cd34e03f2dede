//! stdlib.rs: `abort`, and `time` and `clock` of <time.h>, for the wasm build.

/// Lua calls abort only after an unprotected error with no panic handler; Cu always runs
/// Lua protected, so reaching this is a bug: trap, and glue.js marks the instance dead.
#[no_mangle]
pub extern "C" fn abort() -> ! {
    core::arch::wasm32::unreachable()
}

/// C's `time`: whole seconds since the Unix epoch from the host clock.
///
/// # Safety
/// `t` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn time(t: *mut i64) -> i64 {
    let now = (crate::host::now_ms(crate::host::Clock::Wall) / 1000.0) as i64;
    if !t.is_null() {
        // SAFETY: non-null `t` is writable (C contract).
        *t = now;
    }
    now
}

/// C's `clock`: microseconds (CLOCKS_PER_SEC is 1,000,000) of the host's monotonic clock.
/// ltablib.c mixes it into its sort pivot randomisation.
#[no_mangle]
pub extern "C" fn clock() -> i64 {
    (crate::host::now_ms(crate::host::Clock::Monotonic) * 1000.0) as i64
}
