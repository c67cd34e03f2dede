//! Cu: Lua 5.4 compiled to WebAssembly with persistent external storage.
//! Crate root. On wasm32 the crate is `no_std`: it brings its own allocator, panic handler and
//! the libc pieces Lua needs; on the host it links the system libc so `cargo test` runs Lua
//! natively.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;


pub mod arena;
#[cfg(feature = "persistence")]
pub mod bytecode;
mod bytecode_gate;
#[cfg(feature = "persistence")]
pub mod codec;
mod current;
#[cfg(target_arch = "wasm32")]
mod exports;
pub mod host;
pub mod index;
pub mod store;
pub mod libc;
pub mod lua;
#[cfg(target_arch = "wasm32")]
mod module_heap;
pub mod output;
#[cfg(feature = "persistence")]
pub mod migrate;
#[cfg(feature = "persistence")]
pub mod modules;
#[cfg(feature = "persistence")]
mod persist;
pub mod protocol;
mod ptrmap;
pub mod runtime;
#[cfg(feature = "persistence")]
mod schema_lua;
#[cfg(feature = "persistence")]
pub mod schema_ops;
#[cfg(feature = "persistence")]
pub mod stats_report;
#[cfg(feature = "persistence")]
mod store_lua;
#[cfg(feature = "persistence")]
pub mod store_ops;
pub mod values_in;
pub mod wire;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: module_heap::ModuleHeap = module_heap::ModuleHeap;

/// A panic is a bug in Cu: trap, and glue.js marks the instance dead.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
