//! protocol.rs: decodes a request and runs its op on an instance (the ops table in
//! docs/ARCHITECTURE.md). exports.rs moves the bytes; this file gives them meaning, and
//! runs on the host too so the protocol is tested there.

#[cfg(feature = "persistence")]
use crate::persist;
use crate::runtime::{Instance, Status};
use crate::wire::Encoder;
use alloc::vec::Vec;

pub const OP_COMPUTE: u32 = 1;
pub const OP_OUTPUT: u32 = 2;
pub const OP_STATS: u32 = 3;
pub const OP_GC: u32 = 4;
pub const OP_SERIALIZE: u32 = 5;
pub const OP_DESERIALIZE: u32 = 6;
pub const OP_LOAD_BYTECODE: u32 = 7;
pub const OP_PERSIST_FUNCTION: u32 = 8;

/// Bytes the module's own heap has handed out (0 on the host, where the system allocates).
pub(crate) fn module_heap_used() -> usize {
    #[cfg(target_arch = "wasm32")]
    return crate::module_heap::in_use();
    #[cfg(not(target_arch = "wasm32"))]
    0
}

/// COMPUTE request flag: return every value instead of the first.
pub const COMPUTE_ALL: u8 = 1;

/// Runs `op` with `request`; the reply replaces `reply`'s contents.
pub fn dispatch(inst: &mut Instance, op: u32, request: &[u8], reply: &mut Vec<u8>) -> Status {
    reply.clear();
    #[cfg(feature = "persistence")]
    if op != crate::store_ops::OP_BATCH && op != crate::store_ops::OP_BATCH_ABORT {
        crate::store_ops::abandon_batch(inst);
    }
    // (OUTPUT is asked for between a migration's chunks when its function printed.)
    #[cfg(feature = "persistence")]
    if op != crate::migrate::OP_MIGRATE && op != crate::migrate::OP_MIGRATE_ABORT && op != OP_OUTPUT {
        crate::migrate::abandon(inst);
    }
    match op {
        OP_COMPUTE => match split_named(request) {
            Some((flags, name, rest)) => match crate::values_in::split_args(*flags, rest) {
                Some((args, source)) => inst.compute_with(source, name, args, *flags & COMPUTE_ALL != 0, reply),
                None => bad_argument(reply, "compute: bad args (over 4096, or malformed)"),
            },
            None => bad_argument(reply, "COMPUTE request is truncated"),
        },
        crate::values_in::OP_SET_GLOBAL => crate::values_in::set_global(inst, request, reply),
        #[cfg(feature = "persistence")]
        crate::modules::OP_SAVE_MODULE..=crate::modules::OP_GET_MODULE => crate::modules::dispatch(inst, op, request, reply),
        OP_OUTPUT => {
            *reply = inst.output.take();
            Status::Ok
        }
        OP_STATS => {
            let mut enc = Encoder::new(reply);
            enc.put_u32(5);
            enc.put_int(inst.heap_used() as i64);
            enc.put_int(inst.heap_size() as i64);
            enc.put_int(inst.heap_peak() as i64);
            enc.put_int(inst.used as i64);
            enc.put_int(module_heap_used() as i64);
            Status::Ok
        }
        #[cfg(feature = "persistence")]
        OP_SERIALIZE => persist::serialize(inst, request, reply),
        #[cfg(feature = "persistence")]
        OP_DESERIALIZE => persist::deserialize(inst, request, reply),
        #[cfg(feature = "persistence")]
        OP_LOAD_BYTECODE => persist::load_bytecode(inst, request, reply),
        #[cfg(feature = "persistence")]
        OP_PERSIST_FUNCTION => persist::persist_function(inst, request, reply),
        #[cfg(feature = "persistence")]
        9..=22 | crate::store_ops::OP_SET_COMPRESSION => crate::store_ops::dispatch(inst, op, request, reply),
        #[cfg(feature = "persistence")]
        23..=25 => crate::schema_ops::dispatch(inst, op, request, reply),
        #[cfg(feature = "persistence")]
        26..=27 => crate::migrate::dispatch(inst, op, request, reply),
        #[cfg(feature = "persistence")]
        crate::stats_report::OP_STATS_REPORT => crate::stats_report::report(inst, request, reply),
        OP_GC => {
            inst.collect();
            Encoder::new(reply).put_u32(0);
            Status::Ok
        }
        _ => bad_argument(reply, "unknown op"),
    }
}

/// `u8 flags, u16 name_len, name, rest`.
pub(crate) fn split_named(req: &[u8]) -> Option<(&u8, &[u8], &[u8])> {
    let (flags, rest) = req.split_first()?;
    let (name, rest) = split_name(rest)?;
    Some((flags, name, rest))
}

/// `u16 name_len, name, rest`.
pub(crate) fn split_name(req: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u16::from_le_bytes(req.get(..2)?.try_into().ok()?) as usize;
    Some((req.get(2..2 + len)?, &req[2 + len..]))
}

/// The error reply for a malformed request.
pub fn bad_argument(reply: &mut Vec<u8>, message: &str) -> Status {
    error_reply(reply, message.as_bytes());
    Status::BadArgument
}

/// An error reply: `u32 2`, the message, nil (no traceback).
pub fn error_reply(reply: &mut Vec<u8>, message: &[u8]) {
    reply.clear();
    let mut enc = Encoder::new(reply);
    enc.put_u32(2);
    enc.put_string(message);
    enc.put_nil();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compute_request(flags: u8, name: &str, src: &str) -> Vec<u8> {
        let mut r = vec![flags];
        r.extend_from_slice(&(name.len() as u16).to_le_bytes());
        r.extend_from_slice(name.as_bytes());
        r.extend_from_slice(src.as_bytes());
        r
    }

    #[test]
    fn compute_output_stats() {
        let mut inst = Instance::new(0, 0, [7, 9]).unwrap();
        let mut reply = Vec::new();
        let req = compute_request(COMPUTE_ALL, "=t", "print('hi') io.write('x') return 1, 'a'");
        assert_eq!(dispatch(&mut inst, OP_COMPUTE, &req, &mut reply), Status::Ok);
        assert_eq!(reply, [&[2, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0][..], b"a"].concat());
        assert_eq!(dispatch(&mut inst, OP_OUTPUT, &[], &mut reply), Status::Ok);
        assert_eq!(reply, [&[1, 4, 0, 0, 0][..], b"hi\nx"].concat());
        assert_eq!(dispatch(&mut inst, OP_STATS, &[], &mut reply), Status::Ok);
        assert_eq!(&reply[..5], &[5, 0, 0, 0, 3]);
    }

    #[test]
    fn malformed_requests_are_bad_arguments() {
        let mut inst = Instance::new(0, 0, [7, 9]).unwrap();
        let mut reply = Vec::new();
        assert_eq!(dispatch(&mut inst, OP_COMPUTE, &[1, 5], &mut reply), Status::BadArgument);
        assert_eq!(dispatch(&mut inst, OP_COMPUTE, &[1, 5, 0, b'a'], &mut reply), Status::BadArgument);
        assert_eq!(dispatch(&mut inst, 99, &[], &mut reply), Status::BadArgument);
        let req = compute_request(0, "=t", "return 5");
        assert_eq!(dispatch(&mut inst, OP_COMPUTE, &req, &mut reply), Status::Ok);
    }
}
