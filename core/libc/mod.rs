//! libc/: the C library functions Lua's sources call, for the freestanding wasm build.
//! The host build uses the system libc; the formatter and strtod are built on both so host
//! tests can compare them with glibc (math.rs and trig.rs likewise).
pub mod format;
pub mod strtod;
#[cfg(target_arch = "wasm32")]
mod printf_abi;
#[cfg(target_arch = "wasm32")]
mod string;
pub mod math;
pub mod trig;
#[cfg(target_arch = "wasm32")]
mod stdlib;
