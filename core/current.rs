//! current.rs: the instance whose call is running, for the C entry points that get no
//! `lua_State` (the print channel, the string-hash seed). One per thread on the host, so
//! parallel `cargo test` threads each see their own; one global in the single-threaded module.

use crate::runtime::Instance;
use core::ptr;

#[cfg(target_arch = "wasm32")]
mod slot {
    use super::*;
    struct Slot(core::cell::Cell<*mut Instance>);
    // SAFETY: wasm32-unknown-unknown without the atomics feature has one thread.
    unsafe impl Sync for Slot {}
    static CURRENT: Slot = Slot(core::cell::Cell::new(ptr::null_mut()));
    pub fn get() -> *mut Instance {
        CURRENT.0.get()
    }
    pub fn set(p: *mut Instance) {
        CURRENT.0.set(p)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod slot {
    use super::*;
    std::thread_local!(static CURRENT: core::cell::Cell<*mut Instance> = const { core::cell::Cell::new(ptr::null_mut()) });
    pub fn get() -> *mut Instance {
        CURRENT.with(|c| c.get())
    }
    pub fn set(p: *mut Instance) {
        CURRENT.with(|c| c.set(p))
    }
}

pub use slot::{get, set};
