//! memory_table.rs: `Memory` (alias `_home`), the persisted root table, in its first form:
//! every value assigned to one of its fields is serialized right away with the codec (so a
//! value that cannot be persisted fails at the assignment, naming its path), and the bytes
//! are kept beside the live value. `lua.persistFunction` stores a function here after a
//! full round trip through the codec and the bytecode validator. Nested tables are copied
//! when assigned; changing them in place later is not seen (the external-table milestone
//! replaces this file with tables kept outside the Lua heap).

use crate::codec::{self, EncodeOptions};
use crate::lua::*;
use crate::runtime::instance_of;
use core::ffi::{c_char, c_int};

/// Registry key (a light userdata address) of the `persist(key, value, flags)` function
/// the Lua side below returns.
static PERSIST: u8 = 0;

pub(crate) fn persist_key() -> *const core::ffi::c_void {
    &PERSIST as *const u8 as *const core::ffi::c_void
}

/// The Lua side, run once at start-up with the two C functions below as arguments.
const MEMORY_LUA: &str = r#"
local encode, decode = ...
local live, bytes = {}, {}
local function path(k) return type(k) == 'string' and 'Memory.' .. k or 'Memory[' .. tostring(k) .. ']' end
local Memory = setmetatable({}, {
  __name = 'Memory',
  __index = live,
  __newindex = function(_, k, v)
    if v == nil then live[k], bytes[k] = nil, nil return end
    bytes[k] = encode(v, path(k), 0)
    live[k] = v
  end,
  __pairs = function() return next, live, nil end,
  __len = function() return #live end,
})
_G.Memory, _G._home = Memory, Memory
return function(k, v, flags)
  local b = encode(v, path(k), flags)
  live[k], bytes[k] = decode(b), b
end
"#;

/// Creates `Memory` and keeps `persist` in the registry (run under the start-up pcall).
///
/// # Safety
/// `l` is a state being opened by `Instance::new`, in a protected call.
pub(crate) unsafe fn open(l: *mut lua_State) {
    if luaL_loadbufferx(l, MEMORY_LUA.as_ptr() as *const c_char, MEMORY_LUA.len(), c"=Memory".as_ptr(), c"t".as_ptr()) != LUA_OK {
        lua_error(l);
    }
    lua_pushcfunction(l, encode_to_string);
    lua_pushcfunction(l, decode_from_string);
    lua_callk(l, 2, 1, 0, None);
    lua_rawsetp(l, LUA_REGISTRYINDEX, persist_key());
}

/// Flags of `encode`'s third argument (and of PERSIST_FUNCTION requests).
pub const KEEP_DEBUG: i64 = 1;
pub const NO_COMPRESSION: i64 = 2;

/// `encode(value, path, flags) -> string`: the codec's bytes, or an error naming the path.
unsafe extern "C" fn encode_to_string(l: *mut lua_State) -> c_int {
    let flags = luaL_optinteger(l, 3, 0);
    let mut options = EncodeOptions { strip: flags & KEEP_DEBUG == 0, ..EncodeOptions::default() };
    if flags & NO_COMPRESSION != 0 {
        options.compress_threshold = None;
    }
    let inst = instance_of(l);
    let (mark, out) = inst.scratch_push();
    lua_settop(l, 2);
    let root: &[u8] = if lua_type(l, 2) == LUA_TSTRING { string_bytes(l, 2) } else { b"value" };
    codec::encode_named(l, 1, root, &options, &mut *out);
    lua_pushlstring(l, (*out).as_ptr() as *const c_char, (*out).len());
    instance_of(l).scratch_pop(mark);
    1
}

/// `decode(string) -> value`.
unsafe extern "C" fn decode_from_string(l: *mut lua_State) -> c_int {
    if lua_type(l, 1) != LUA_TSTRING {
        return luaL_error(l, c"decode: bytes must be a string".as_ptr());
    }
    // The string stays on the stack (and so alive and unchanged) while it is decoded.
    codec::decode(l, string_bytes(l, 1));
    1
}
