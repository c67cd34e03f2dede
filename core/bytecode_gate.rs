//! bytecode_gate.rs: Lua's `luai_verifycode` hook (csrc/cu_config.h) sees every binary chunk
//! Lua's undump accepts, just before it becomes callable. Crafted bytecode can crash the
//! interpreter, so the gate lets a chunk through only when Cu's validator (core/bytecode/)
//! has just checked its bytes and opened the gate for that one load: `load` (csrc/cu_load.c)
//! and `load_validated` (the codec, `lua.loadBytecode`) do so. Anything else is refused.
//! Without the "persistence" feature there is no validator and every binary chunk is refused.

use crate::lua::*;
use core::ffi::c_void;
#[cfg(feature = "persistence")]
use core::ffi::{c_char, c_int};

#[cfg(feature = "persistence")]
/// Checks `bytes` and, when valid, opens the gate for the next undump of this instance.
/// Otherwise pushes the rejection message. Returns whether the chunk is valid.
///
/// # Safety
/// `l` is a thread of an Instance's state, in a protected call (pushing may raise).
unsafe fn validate_and_open(l: *mut lua_State, bytes: &[u8]) -> bool {
    match crate::bytecode::validate_chunk(bytes) {
        Ok(_) => {
            crate::runtime::instance_of(l).chunk_gate_open = true;
            true
        }
        Err(rejection) => {
            let message = rejection.message();
            lua_pushlstring(l, message.as_ptr() as *const c_char, message.len());
            false
        }
    }
}

#[cfg(feature = "persistence")]
/// csrc/cu_load.c: validation for Lua's `load`.
///
/// # Safety
/// `s` is valid for `len` bytes; otherwise as `validate_and_open`.
#[no_mangle]
pub unsafe extern "C" fn cu_validate_for_load(l: *mut lua_State, s: *const u8, len: usize) -> c_int {
    validate_and_open(l, core::slice::from_raw_parts(s, len)) as c_int
}

#[cfg(feature = "persistence")]
/// csrc/cu_load.c: closes the gate after a load, whatever happened.
///
/// # Safety
/// `l` is a thread of an Instance's state.
#[no_mangle]
pub unsafe extern "C" fn cu_gate_close(l: *mut lua_State) {
    crate::runtime::instance_of(l).chunk_gate_open = false;
}

#[cfg(feature = "persistence")]
/// Validates `bytes` as a Lua 5.4 binary chunk and loads it (mode "b"), pushing the
/// function; returns lua_load's status, or LUA_ERRSYNTAX with the rejection message pushed.
///
/// # Safety
/// `l` is a thread of an Instance's state, in a protected call; `name` is NUL-terminated.
pub(crate) unsafe fn load_validated(l: *mut lua_State, bytes: &[u8], name: *const c_char) -> c_int {
    if !validate_and_open(l, bytes) {
        return LUA_ERRSYNTAX;
    }
    let mut rest: &[u8] = bytes;
    let status = lua_load(l, read_once, &mut rest as *mut &[u8] as *mut c_void, name, c"b".as_ptr());
    cu_gate_close(l);
    status
}

#[cfg(feature = "persistence")]
/// lua_load reader handing over the whole slice at once.
unsafe extern "C" fn read_once(_l: *mut lua_State, data: *mut c_void, size: *mut usize) -> *const c_char {
    // SAFETY: `data` is the `&[u8]` load_validated passed, alive for the whole lua_load.
    let rest = &mut *(data as *mut &[u8]);
    *size = rest.len();
    let p = rest.as_ptr() as *const c_char;
    *rest = &[];
    p
}

/// The `luai_verifycode` hook: passes a chunk only through an open gate (one use).
///
/// # Safety
/// Called by Lua's undump inside a protected parser with a valid state.
#[no_mangle]
pub unsafe extern "C" fn cu_verify_chunk(l: *mut lua_State, _proto: *mut c_void) {
    let inst = crate::runtime::instance_of(l);
    if inst.chunk_gate_open {
        inst.chunk_gate_open = false;
        return;
    }
    #[cfg(feature = "persistence")]
    let message = c"binary chunk refused: it did not pass Cu's bytecode validator";
    #[cfg(not(feature = "persistence"))]
    let message = c"binary chunk refused: this build of Cu loads Lua source only";
    lua_pushstring(l, message.as_ptr());
    lua_error(l);
}
