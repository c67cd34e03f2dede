//! instance.rs: the codec over an `Instance`, for protocol code and tests: each function is
//! one protected call of the instance (its instruction budget applies to finalizers that
//! run meanwhile), and failures come back as a status and a message.

use super::{decode, encode_named, EncodeOptions};
use crate::lua::*;
use crate::runtime::{Instance, Status};
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_int, c_void};


/// Why an encode or decode failed: `status` is `LuaRuntime` for a value that cannot be
/// serialized or bytes that cannot be decoded (`message` says which, and where), `LuaMemory`
/// when the Lua heap ran out, `InstructionLimit`/`LuaExit` when a finalizer ran away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    pub status: Status,
    pub message: String,
}

struct EncodeArgs<'a> {
    name: &'a [u8],
    opts: &'a EncodeOptions,
    out: &'a mut Vec<u8>,
}

struct DecodeArgs<'a> {
    name: &'a [u8],
    bytes: &'a [u8],
}

/// Encodes the global `name` (read raw) and appends the encoding to `out` (left as it was on
/// failure). Error paths start at `name`: `Memory.cfg.handler upvalue 2`.
pub fn encode_global(inst: &mut Instance, name: &[u8], opts: &EncodeOptions, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    let mut args = EncodeArgs { name, opts, out };
    let result = call(inst, encode_entry, &mut args as *mut EncodeArgs as *mut c_void);
    if result.is_err() {
        args.out.truncate(start);
    }
    result
}

/// Decodes `bytes` and stores the value in the global `name` (raw set).
pub fn decode_global(inst: &mut Instance, name: &[u8], bytes: &[u8]) -> Result<(), CodecError> {
    let mut args = DecodeArgs { name, bytes };
    call(inst, decode_entry, &mut args as *mut DecodeArgs as *mut c_void)
}

/// Runs `entry(args)` as a protected call of `inst`.
fn call(inst: &mut Instance, entry: lua_CFunction, args: *mut c_void) -> Result<(), CodecError> {
    let mut reply = Vec::new();
    match inst.call_protected(entry, args, &mut reply).0 {
        Status::Ok => Ok(()),
        status => Err(CodecError { status, message: error_message(&reply) }),
    }
}

/// The message of an error reply (`u32 2`, then the message as a wire string).
fn error_message(reply: &[u8]) -> String {
    let text = match reply.get(4..9) {
        Some([crate::wire::TAG_STRING, a, b, c, d]) => {
            let len = u32::from_le_bytes([*a, *b, *c, *d]) as usize;
            reply.get(9..9 + len)
        }
        _ => None,
    };
    String::from_utf8_lossy(text.unwrap_or(b"(no message)")).into_owned()
}

unsafe extern "C" fn encode_entry(l: *mut lua_State) -> c_int {
    // SAFETY: `call` passes an `EncodeArgs` that outlives this call.
    let args = &mut *(lua_touserdata(l, 1) as *mut EncodeArgs);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushlstring(l, args.name.as_ptr() as *const _, args.name.len());
    lua_rawget(l, -2);
    encode_named(l, -1, args.name, args.opts, args.out);
    0
}

unsafe extern "C" fn decode_entry(l: *mut lua_State) -> c_int {
    // SAFETY: `call` passes a `DecodeArgs` that outlives this call.
    let args = &*(lua_touserdata(l, 1) as *const DecodeArgs);
    lua_rawgeti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushlstring(l, args.name.as_ptr() as *const _, args.name.len());
    decode(l, args.bytes);
    lua_rawset(l, -3);
    0
}
