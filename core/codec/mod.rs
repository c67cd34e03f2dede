//! codec: the value serializer for persistence. Encodes a Lua value graph (tables with any
//! keys, metatables, shared references and cycles, Lua functions with their upvalues,
//! standard library C functions by name) to bytes, and back, inside the module.
//! The byte format is documented in docs/FORMAT.md.
//!
//! Layout, as Lua's ldump.c/lundump.c: `dump.rs` writes (`dump_*`), `undump.rs` reads
//! (`load_*`), name for name; `cfuncs.rs` is the by-name registry of standard library
//! values; `deflate.rs` and `inflate.rs` are raw DEFLATE and `checksum.rs` Adler-32; `path.rs` renders the location
//! of an unserializable value for the error message; `instance.rs` is the safe API over an
//! `Instance`.
//!
//! Both directions run inside a protected call (they allocate in the Lua heap, so they can
//! raise). A Lua error unwinds over Rust frames without running destructors, so while Lua
//! may raise, the codec owns no Rust heap value: the encoder writes into the caller's `out`,
//! its bookkeeping lives in Lua tables on the stack, and the decoder's inflated body is owned
//! by a Lua userdata whose `__gc` frees it (and which the codec frees itself on its own
//! errors).

mod cfuncs;
mod checksum;
mod deflate;
mod dump;
mod inflate;
mod instance;
mod path;
mod repack;
mod undump;

pub use instance::{decode_global, encode_global, CodecError};
pub(crate) use checksum::adler32;
pub(crate) use deflate::deflate;
pub use deflate::Level;
pub(crate) use repack::{pack, unpack};
pub(crate) use inflate::inflate;

use crate::lua::*;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ffi::{c_int, c_void};

/// First four bytes of every encoding.
pub const MAGIC: [u8; 4] = *b"\x1bCuV";
/// The format version this code writes; it reads every version from 1 up to this one.
pub const VERSION: u8 = 1;
/// Header flag: the payload is the body compressed with raw DEFLATE (RFC 1951).
pub const FLAG_DEFLATE: u8 = 1;
/// Header byte naming the Lua version whose bytecode the encoding holds (LUAC_VERSION).
pub const LUA_VERSION: u8 = 0x54;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 16;
/// Deepest nesting of tables, functions and metatables either direction accepts.
pub const MAX_DEPTH: u32 = 200;
/// Default `EncodeOptions::compress_threshold`.
pub const DEFAULT_COMPRESS_THRESHOLD: usize = 1024;
/// Largest body a decode accepts when the state's heap size is unknown; with Cu's arena it
/// is 4 times the Lua heap (a decoded value takes at least about as much heap as its body).
pub const MAX_BODY: usize = 256 << 20;

// Value tags (docs/FORMAT.md, "Values").
pub(crate) const TAG_NIL: u8 = 0;
pub(crate) const TAG_FALSE: u8 = 1;
pub(crate) const TAG_TRUE: u8 = 2;
pub(crate) const TAG_INT: u8 = 3;
pub(crate) const TAG_FLOAT: u8 = 4;
pub(crate) const TAG_STRING: u8 = 5;
pub(crate) const TAG_TABLE: u8 = 6;
pub(crate) const TAG_FUNCTION: u8 = 7;
pub(crate) const TAG_CLONE: u8 = 8;
pub(crate) const TAG_BUILTIN: u8 = 9;
pub(crate) const TAG_GLOBALS: u8 = 10;
pub(crate) const TAG_REF: u8 = 11;

// Upvalue kinds (docs/FORMAT.md, "Upvalues").
pub(crate) const UPVAL_FRESH: u8 = 0;
pub(crate) const UPVAL_SHARED: u8 = 1;

/// How `encode` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Drop debug information (line numbers, local and upvalue names, source name) from the
    /// bytecode of Lua functions. Default true.
    pub strip: bool,
    /// Bodies longer than this many bytes are deflated when that makes them smaller.
    /// Default `Some(1024)`; `None` never compresses.
    pub compress_threshold: Option<usize>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { strip: true, compress_threshold: Some(DEFAULT_COMPRESS_THRESHOLD) }
    }
}

/// Encodes the value at stack index `idx` and appends the encoding to `out`. Errors name
/// the path from `root` to the offending value (see `encode_named`).
///
/// # Safety
/// Protected: call from inside a `lua_CFunction` run by `lua_pcall` on a valid state. On
/// error it raises a Lua error whose message names the path, and `out` holds a partial
/// encoding after its original length: truncate it. The stack is as it was on success.
pub unsafe fn encode(l: *mut lua_State, idx: c_int, opts: &EncodeOptions, out: &mut Vec<u8>) {
    encode_named(l, idx, b"root", opts, out)
}

/// `encode`, naming the root `root` in error paths (`Memory.cfg.handler upvalue 2`).
///
/// # Safety
/// As `encode`.
pub unsafe fn encode_named(l: *mut lua_State, idx: c_int, root: &[u8], opts: &EncodeOptions, out: &mut Vec<u8>) {
    let idx = lua_absindex(l, idx);
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    dump::dump_body(l, idx, root, opts.strip, out);
    let body_len = out.len() - start - HEADER_LEN;
    if body_len > u32::MAX as usize {
        out.truncate(start);
        path::raise(l, c"cannot serialize: the encoding exceeds 4 GiB");
    }
    let mut flags = 0;
    if opts.compress_threshold.is_some_and(|t| body_len > t) {
        // No Lua call until `packed` is dropped. (The fast level: `serialize` is on the
        // caller's path; stored values follow the instance's level, core/store/pages.rs.)
        // SAFETY: the body follows the header, within `out`.
        let packed = deflate::deflate(out.get_unchecked(start + HEADER_LEN..), Level::Fast);
        if packed.len() < body_len {
            out.truncate(start + HEADER_LEN);
            out.extend_from_slice(&packed);
            flags = FLAG_DEFLATE;
        }
    }
    // The header: magic, version, flags, Lua version, reserved, body length, checksum.
    let h = out.get_unchecked_mut(start..);
    h[..8].copy_from_slice(&[MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, flags, LUA_VERSION, 0]);
    h[8..12].copy_from_slice(&(body_len as u32).to_le_bytes());
    let sum = checksum::of_encoding(h);
    h[12..16].copy_from_slice(&sum.to_le_bytes());
}

/// Decodes `bytes` (one whole encoding) and pushes the value.
///
/// # Safety
/// Protected like `encode`: it raises a Lua error with a clear message on bad input,
/// leaving nothing behind once the protected call returns.
pub unsafe fn decode(l: *mut lua_State, bytes: &[u8]) {
    let header = match undump::load_header(bytes, body_limit(l)) {
        Ok(h) => h,
        Err(msg) => path::raise_decode(l, msg),
    };
    let payload = &bytes[HEADER_LEN..];
    if header.flags & FLAG_DEFLATE == 0 {
        undump::load_body(l, payload, core::ptr::null_mut());
        return;
    }
    // The inflated body belongs to a userdata (freed by the codec, or by its __gc if Lua
    // raises out of the decode).
    let guard = push_buffer(l);
    let len = header.body_len as usize;
    if let Ok(layout) = Layout::from_size_align(len.max(1), 1) {
        (*guard).ptr = alloc::alloc::alloc_zeroed(layout);
        (*guard).size = layout.size();
    }
    // SAFETY: the buffer holds `len` initialized bytes until `free_buffer`, after the last
    // use of `body`.
    if (*guard).ptr.is_null() || !inflate::inflate(payload, core::slice::from_raw_parts_mut((*guard).ptr, len)) {
        free_buffer(guard);
        path::raise_decode(l, c"the compressed payload is corrupt");
    }
    undump::load_body(l, core::slice::from_raw_parts((*guard).ptr, len), guard);
    free_buffer(guard);
    // value, guard → value
    lua_rotate(l, -2, 1);
    lua_pop(l, 1);
}

/// The largest body `decode` accepts in this state.
unsafe fn body_limit(l: *mut lua_State) -> usize {
    let mut ud: *mut c_void = core::ptr::null_mut();
    let f = lua_getallocf(l, &mut ud);
    if f as usize == crate::arena::lua_alloc as lua_Alloc as usize && !ud.is_null() {
        // SAFETY: a state made by `Instance` has its Arena as the allocator's data.
        let heap = (*(ud as *const crate::arena::Arena)).size();
        heap.saturating_mul(4).clamp(1 << 20, u32::MAX as usize)
    } else {
        MAX_BODY
    }
}

/// A Rust-heap byte buffer owned by a Lua userdata.
#[repr(C)]
pub(crate) struct Buffer {
    ptr: *mut u8,
    /// The allocation's size.
    size: usize,
}

/// Pushes an empty `Buffer` userdata whose `__gc` frees what it will own.
unsafe fn push_buffer(l: *mut lua_State) -> *mut Buffer {
    let b = lua_newuserdatauv(l, core::mem::size_of::<Buffer>(), 0) as *mut Buffer;
    b.write(Buffer { ptr: core::ptr::null_mut(), size: 0 });
    lua_createtable(l, 0, 1);
    lua_pushcfunction(l, buffer_gc);
    lua_setfield(l, -2, c"__gc".as_ptr());
    lua_setmetatable(l, -2);
    b
}

/// Frees what a `Buffer` owns (idempotent; null is ignored).
pub(crate) unsafe fn free_buffer(b: *mut Buffer) {
    if !b.is_null() && !(*b).ptr.is_null() {
        // SAFETY: ptr and size are an allocation of `decode`'s, with alignment 1.
        alloc::alloc::dealloc((*b).ptr, Layout::from_size_align_unchecked((*b).size, 1));
        (*b).ptr = core::ptr::null_mut();
    }
}

unsafe extern "C" fn buffer_gc(l: *mut lua_State) -> c_int {
    free_buffer(lua_touserdata(l, 1) as *mut Buffer);
    0
}

/// Builds the standard-library registry of this state now rather than at the first
/// encode or decode that needs it (which would miss library functions a script removed
/// before then).
///
/// # Safety
/// Protected, like `encode`.
pub unsafe fn prepare(l: *mut lua_State) {
    cfuncs::push_names(l);
    lua_pop(l, 1);
}

/// Adler-32 of an encoding's checked bytes (docs/FORMAT.md): bytes 0..12 of the header,
/// then the payload. Tests use it to keep mutated encodings well-formed.
pub fn checksum(encoding: &[u8]) -> u32 {
    checksum::of_encoding(encoding)
}

/// Rewrites the checksum field of `encoding` to match its contents (for tests and tools).
pub fn fix_checksum(encoding: &mut [u8]) {
    if encoding.len() >= HEADER_LEN {
        let sum = checksum::of_encoding(encoding);
        encoding[12..16].copy_from_slice(&sum.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Instance, Status};

    /// The raw API keeps the stack balanced: `encode` leaves it as it was, `decode` pushes
    /// exactly one value.
    unsafe extern "C" fn balanced(l: *mut lua_State) -> c_int {
        let out = &mut *(lua_touserdata(l, 1) as *mut Vec<u8>);
        lua_createtable(l, 0, 0);
        lua_pushstring(l, c"v".as_ptr());
        lua_setfield(l, -2, c"k".as_ptr());
        lua_pushinteger(l, 7);
        let top = lua_gettop(l);
        encode(l, -2, &EncodeOptions::default(), out);
        assert_eq!(lua_gettop(l), top);
        decode(l, out);
        assert_eq!(lua_gettop(l), top + 1);
        assert_eq!(lua_type(l, -1), LUA_TTABLE);
        assert_eq!(lua_getfield(l, -1, c"k".as_ptr()), LUA_TSTRING);
        prepare(l);
        assert_eq!(lua_gettop(l), top + 2);
        0
    }

    #[test]
    fn raw_api_keeps_the_stack_balanced() {
        let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
        let mut out = Vec::new();
        let mut reply = Vec::new();
        let (status, _) = inst.call_protected(balanced, &mut out as *mut Vec<u8> as *mut c_void, &mut reply);
        assert_eq!(status, Status::Ok, "{}", alloc::string::String::from_utf8_lossy(&reply));
        assert!(out.len() > HEADER_LEN);
    }
}
