//! persist.rs: the ops that move functions and values in and out of an instance as bytes:
//! SERIALIZE (run a chunk, encode its first result with the codec), DESERIALIZE (decode
//! into a global), LOAD_BYTECODE (validate a raw Lua 5.4 chunk, load it into a global) and
//! PERSIST_FUNCTION (compile a function expression and store it in `Memory`).
//! Each runs as one protected call; a stage marker tells which step failed, so the failure
//! gets its own status (NOT_SERIALIZABLE, BAD_DATA, BAD_BYTECODE, LUA_SYNTAX).

use crate::codec::{self, EncodeOptions};
use crate::lua::*;
use crate::protocol::{split_name, split_named};
use crate::runtime::{Instance, Status};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

/// SERIALIZE request flag: keep debug info (line numbers, local names) in function dumps.
pub const SERIALIZE_KEEP_DEBUG: u8 = 1;
/// SERIALIZE request flag: never compress.
pub const SERIALIZE_NO_COMPRESSION: u8 = 2;
/// SERIALIZE request flag: a `u32` compression threshold (bytes) starts the body.
pub const SERIALIZE_THRESHOLD: u8 = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Compiling,
    Running,
    Encoding,
    Decoding,
    Validating,
    Storing,
    NotAFunction,
    /// Finding (or making) the table of PERSIST_FUNCTION's path.
    Path,
}

/// What a protected step reads and writes. Owned by the op's Rust frame, below the
/// protected call, so a Lua error never skips its destructor.
struct Job<'a> {
    input: &'a [u8],
    /// NUL-terminated: the chunk name (SERIALIZE) or the global to set.
    name: Vec<u8>,
    options: EncodeOptions,
    out: Vec<u8>,
    /// PERSIST_FUNCTION's table path (`Memory`, `Memory.fns`, `fns`).
    table: &'a [u8],
    stage: Stage,
}

impl<'a> Job<'a> {
    fn new(input: &'a [u8], name: &[u8]) -> Self {
        let mut n = Vec::with_capacity(name.len() + 1);
        for &b in name {
            if b != 0 {
                n.push(b);
            }
        }
        n.push(0);
        Job { input, name: n, options: EncodeOptions::default(), out: Vec::new(), table: b"", stage: Stage::Compiling }
    }

    /// Runs `step` protected and turns a failure into the status of the stage it stopped in.
    fn run(&mut self, inst: &mut Instance, step: lua_CFunction, reply: &mut Vec<u8>) -> Status {
        let (status, _) = inst.call_protected(step, self as *mut Job as *mut c_void, reply);
        if status != Status::LuaRuntime {
            return status;
        }
        match self.stage {
            Stage::Compiling => Status::LuaSyntax,
            Stage::Encoding => Status::NotSerializable,
            Stage::Decoding => Status::BadData,
            Stage::Validating => Status::BadBytecode,
            Stage::NotAFunction => Status::NotAFunction,
            Stage::Path => Status::NotATable,
            Stage::Running | Stage::Storing => Status::LuaRuntime,
        }
    }
}

/// # Safety
/// Argument 1 of a protected step is the `Job` its op passed.
unsafe fn job<'a>(l: *mut lua_State) -> &'a mut Job<'a> {
    &mut *(lua_touserdata(l, 1) as *mut Job)
}

/// SERIALIZE: `u8 flags, u16 name_len, chunk name, [u32 threshold,] source` → the codec's
/// bytes of the chunk's first result.
pub fn serialize(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    let Some((&flags, name, mut source)) = split_named(request) else {
        return crate::protocol::bad_argument(reply, "SERIALIZE request is truncated");
    };
    let mut threshold = Some(codec::DEFAULT_COMPRESS_THRESHOLD);
    if flags & SERIALIZE_THRESHOLD != 0 {
        let Some((t, rest)) = source.split_first_chunk::<4>() else {
            return crate::protocol::bad_argument(reply, "SERIALIZE request is truncated");
        };
        threshold = Some(u32::from_le_bytes(*t) as usize);
        source = rest;
    }
    let mut job = Job::new(source, if name.is_empty() { b"=serialize" } else { name });
    job.options.strip = flags & SERIALIZE_KEEP_DEBUG == 0;
    job.options.compress_threshold = if flags & SERIALIZE_NO_COMPRESSION != 0 { None } else { threshold };
    let status = job.run(inst, serialize_step, reply);
    if status == Status::Ok {
        *reply = core::mem::take(&mut job.out);
    }
    status
}

/// Compiles the job's source (a syntax error raises while the stage is Compiling) and
/// calls it, leaving its first result on the stack.
unsafe fn run_source(l: *mut lua_State, job: &mut Job) {
    if luaL_loadbufferx(l, job.input.as_ptr() as *const c_char, job.input.len(), job.name.as_ptr() as *const c_char, c"t".as_ptr()) != LUA_OK {
        lua_error(l);
    }
    job.stage = Stage::Running;
    lua_callk(l, 0, 1, 0, None);
}

unsafe extern "C" fn serialize_step(l: *mut lua_State) -> c_int {
    let job = job(l);
    run_source(l, job);
    job.stage = Stage::Encoding;
    codec::encode(l, -1, &job.options, &mut job.out);
    0
}

/// DESERIALIZE: `u8 0, u16 name_len, global name, bytes` → decodes into the global.
pub fn deserialize(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    into_global(inst, request, reply, ["DESERIALIZE request is truncated", "DESERIALIZE needs a global name"], Stage::Decoding, deserialize_step)
}

unsafe extern "C" fn deserialize_step(l: *mut lua_State) -> c_int {
    let job = job(l);
    codec::decode(l, job.input);
    job.stage = Stage::Storing;
    lua_setglobal(l, job.name.as_ptr() as *const c_char);
    0
}

/// LOAD_BYTECODE: `u8 0, u16 name_len, global name, chunk` → validates the Lua 5.4 binary
/// chunk and stores the function in the global.
pub fn load_bytecode(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    into_global(inst, request, reply, ["LOAD_BYTECODE request is truncated", "LOAD_BYTECODE needs a global name"], Stage::Validating, load_bytecode_step)
}

/// The shape DESERIALIZE and LOAD_BYTECODE share: `u8 0, u16 name_len, global name, bytes`,
/// `step` turns the bytes into a value and stores it in the global; replies `u32 0`.
/// `errors`: the messages for a truncated request and for an empty name.
fn into_global(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>, errors: [&str; 2], stage: Stage, step: lua_CFunction) -> Status {
    let Some((_, name, bytes)) = split_named(request) else {
        return crate::protocol::bad_argument(reply, errors[0]);
    };
    if name.is_empty() {
        return crate::protocol::bad_argument(reply, errors[1]);
    }
    let mut job = Job::new(bytes, name);
    job.stage = stage;
    let status = job.run(inst, step, reply);
    ok_reply(status, reply)
}

unsafe extern "C" fn load_bytecode_step(l: *mut lua_State) -> c_int {
    let job = job(l);
    // The chunk name shows in errors and tracebacks: "=name".
    let mut chunk_name: [u8; 64] = [0; 64];
    chunk_name[0] = b'=';
    let n = (job.name.len() - 1).min(62);
    chunk_name[1..1 + n].copy_from_slice(&job.name[..n]);
    if crate::bytecode_gate::load_validated(l, job.input, chunk_name.as_ptr() as *const c_char) != LUA_OK {
        return lua_error(l);
    }
    job.stage = Stage::Storing;
    lua_setglobal(l, job.name.as_ptr() as *const c_char);
    0
}

/// The reply of an op that returns nothing: `u32 0`.
fn ok_reply(status: Status, reply: &mut Vec<u8>) -> Status {
    if status == Status::Ok {
        reply.clear();
        reply.extend_from_slice(&0u32.to_le_bytes());
    }
    status
}

/// PERSIST_FUNCTION: `u8 flags, u16 table_len, table, u16 key_len, key, source` where the
/// source is an expression giving a function (`function(x) ... end`). The function goes
/// through the codec and the validator (a full round trip) into `Memory[key]`; flags as
/// SERIALIZE's. The table is a path (`Memory`, `Memory.fns`, `fns`), created if missing.
pub fn persist_function(inst: &mut Instance, request: &[u8], reply: &mut Vec<u8>) -> Status {
    let Some((&flags, table, rest)) = split_named(request) else {
        return crate::protocol::bad_argument(reply, "PERSIST_FUNCTION request is truncated");
    };
    let Some((key, source)) = split_name(rest) else {
        return crate::protocol::bad_argument(reply, "PERSIST_FUNCTION request is truncated");
    };
    if key.is_empty() {
        return crate::protocol::bad_argument(reply, "persistFunction: the name must not be empty");
    }
    let mut code = Vec::with_capacity(source.len() + 8);
    code.extend_from_slice(b"return ");
    code.extend_from_slice(source);
    let mut chunk_name = b"=".to_vec();
    chunk_name.extend_from_slice(table);
    chunk_name.push(b'.');
    chunk_name.extend_from_slice(key);
    let mut job = Job::new(&code, &chunk_name);
    job.out = key.to_vec();
    job.table = table;
    job.options.strip = flags & SERIALIZE_KEEP_DEBUG == 0;
    if flags & SERIALIZE_NO_COMPRESSION != 0 {
        job.options.compress_threshold = None;
    }
    let status = job.run(inst, persist_function_step, reply);
    ok_reply(status, reply)
}

unsafe extern "C" fn persist_function_step(l: *mut lua_State) -> c_int {
    let job = job(l);
    run_source(l, job);
    if lua_type(l, -1) != LUA_TFUNCTION {
        job.stage = Stage::NotAFunction;
        return luaL_error(l, c"persistFunction: the code must evaluate to a function, not a %s".as_ptr(), lua_typename(l, lua_type(l, -1)));
    }
    job.stage = Stage::Path;
    let path = crate::store_lua::path_from_text(job.table);
    let node = crate::store_lua::make_path(l, path);
    // function, key
    lua_pushlstring(l, job.out.as_ptr() as *const c_char, job.out.len());
    let top = lua_gettop(l);
    job.stage = Stage::Encoding;
    crate::store_lua::set(l, node, top, top - 1, job.options);
    // Read it back: the round trip through the codec and the bytecode validator.
    job.stage = Stage::Decoding;
    let key = crate::store::Key::str(&job.out);
    crate::store_lua::push_value(l, node, &key);
    drop(key);
    0
}
