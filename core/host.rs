//! host.rs: what the module asks of its host, the module's whole import list: two clocks
//! (`env.cu_now`) and the local time zone's offset (`env.cu_local_offset`). glue.js
//! provides them in the browser and Node; the host build (cargo test) answers from std, in UTC.

/// Which clock `now_ms` reads.
#[derive(Clone, Copy)]
pub enum Clock {
    /// Milliseconds since the Unix epoch (`Date.now()`).
    Wall = 0,
    /// Milliseconds of a monotonic clock (`performance.now()`).
    Monotonic = 1,
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "env")]
extern "C" {
    fn cu_now(kind: i32) -> f64;
    fn cu_local_offset(t: f64) -> f64;
}

/// Reads one of the host's clocks, in milliseconds.
pub fn now_ms(clock: Clock) -> f64 {
    // SAFETY: a plain import (wasm) or the Rust function below (host); no pointers.
    #[allow(unused_unsafe)]
    unsafe { cu_now(clock as i32) }
}

/// Seconds east of UTC of the local time zone at Unix time `t` (seconds).
pub fn local_offset(t: f64) -> f64 {
    // SAFETY: as above.
    #[allow(unused_unsafe)]
    unsafe { cu_local_offset(t) }
}

#[cfg(not(target_arch = "wasm32"))]
#[no_mangle]
pub extern "C" fn cu_now(kind: i32) -> f64 {
    use std::time::{Instant, SystemTime, UNIX_EPOCH};
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if kind == 0 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    } else {
        START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[no_mangle]
pub extern "C" fn cu_local_offset(_t: f64) -> f64 {
    0.0
}
