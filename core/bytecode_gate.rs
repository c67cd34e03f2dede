//! bytecode_gate.rs: Lua's `luai_verifycode` hook (csrc/cu_config.h) sees every binary chunk
//! `load` or `lua_load` accepts, just before it becomes callable. Crafted bytecode can crash
//! the interpreter, and this build has no bytecode validator, so binary chunks are refused:
//! `load(string.dump(f))` returns nil and this message. Source chunks are unaffected.

use crate::lua::{lua_State, lua_error, lua_pushstring};

/// # Safety
/// Called by Lua's undump inside a protected parser with a valid state.
#[no_mangle]
pub unsafe extern "C" fn cu_verify_chunk(l: *mut lua_State, _proto: *mut core::ffi::c_void) {
    lua_pushstring(l, c"binary chunks are refused: Cu loads Lua source only".as_ptr());
    lua_error(l);
}
