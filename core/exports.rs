//! exports.rs: every export of the module (the table in docs/ARCHITECTURE.md), each a thin
//! check → call → status shell. Requests arrive in pieces through the 64 KiB I/O buffer
//! (`cu_push`), `cu_call` runs one, and the reply leaves in pieces (`cu_pull`).

use crate::protocol::{bad_argument, dispatch};
use crate::runtime::{Instance, Status};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// Size of the I/O buffer shared with JS.
pub const IO_BUFFER_SIZE: usize = 64 * 1024;
/// Largest request accepted (a 200 KB script is ordinary; this guards the module's memory).
pub const MAX_REQUEST: usize = 64 << 20;

struct Globals {
    buffer: [u8; IO_BUFFER_SIZE],
    instance: Option<Box<Instance>>,
    request: Vec<u8>,
    reply: Vec<u8>,
}

struct Cell(UnsafeCell<Globals>);
// SAFETY: wasm32-unknown-unknown without atomics runs one thread.
unsafe impl Sync for Cell {}
static GLOBALS: Cell = Cell(UnsafeCell::new(Globals {
    buffer: [0; IO_BUFFER_SIZE],
    instance: None,
    request: Vec::new(),
    reply: Vec::new(),
}));

fn globals() -> &'static mut Globals {
    // SAFETY: one thread, and exports never re-enter each other (JS calls them one at a time
    // and Lua code cannot call back into JS), so only one reference is live at a time.
    unsafe { &mut *GLOBALS.0.get() }
}

#[no_mangle]
pub extern "C" fn cu_buffer() -> *mut u8 {
    globals().buffer.as_mut_ptr()
}

#[no_mangle]
pub extern "C" fn cu_init(heap_size: u32, instruction_limit: f64, seed_lo: u32, seed_hi: u32) -> i32 {
    let g = globals();
    g.instance = None;
    g.request = Vec::new();
    if instruction_limit.is_nan() || instruction_limit < 0.0 {
        return bad_argument(&mut g.reply, "instructionLimit must be a number >= 0") as i32;
    }
    match Instance::new(heap_size as usize, instruction_limit as u64, [seed_lo, seed_hi]) {
        Ok(inst) => {
            g.instance = Some(inst);
            g.reply.clear();
            Status::Ok as i32
        }
        Err(Status::BadArgument) => bad_argument(&mut g.reply, "heapSize must be between 64 KiB and 1 GiB") as i32,
        Err(s) => {
            bad_argument(&mut g.reply, "not enough memory for the Lua heap");
            s as i32
        }
    }
}

#[no_mangle]
pub extern "C" fn cu_push(len: u32) -> i32 {
    let g = globals();
    let len = len as usize;
    if len > IO_BUFFER_SIZE || g.request.len() + len > MAX_REQUEST {
        g.request = Vec::new();
        return bad_argument(&mut g.reply, "request too large") as i32;
    }
    g.request.extend_from_slice(&g.buffer[..len]);
    Status::Ok as i32
}

#[no_mangle]
pub extern "C" fn cu_call(op: u32) -> i32 {
    let g = globals();
    let request = core::mem::take(&mut g.request);
    let status = match g.instance.as_deref_mut() {
        Some(inst) => dispatch(inst, op, &request, &mut g.reply),
        None => {
            bad_argument(&mut g.reply, "no Lua state: call cu_init first");
            Status::NotInitialized
        }
    };
    status as i32
}

#[no_mangle]
pub extern "C" fn cu_reply_size() -> u32 {
    globals().reply.len() as u32
}

#[no_mangle]
pub extern "C" fn cu_pull(offset: u32) -> u32 {
    let g = globals();
    let from = (offset as usize).min(g.reply.len());
    let n = (g.reply.len() - from).min(IO_BUFFER_SIZE);
    g.buffer[..n].copy_from_slice(&g.reply[from..from + n]);
    if from + n == g.reply.len() && g.reply.capacity() > IO_BUFFER_SIZE {
        // A large reply has been read whole: give its memory back.
        g.reply = Vec::new();
    }
    n as u32
}

#[no_mangle]
pub extern "C" fn cu_output_size() -> u32 {
    globals().instance.as_ref().map_or(0, |i| i.output.len() as u32)
}

#[no_mangle]
pub extern "C" fn cu_fail_alloc(n: u32) {
    if let Some(inst) = globals().instance.as_deref_mut() {
        inst.fail_allocation(n);
    }
}

#[no_mangle]
pub extern "C" fn cu_close() {
    let g = globals();
    g.instance = None;
    g.request = Vec::new();
    g.reply = Vec::new();
}
