//! Any bytes: decoding a value must succeed or fail cleanly (never crash), and leave the
//! instance usable (a decoded value may carry finalizers: they run under the instruction
//! budget, and may fail as they like). The first input byte picks how the rest is used: as a whole encoding
//! (bit 0 set), or as a body behind a correct header so the checksum does not stop it,
//! compressed (bit 1 set: the body's length is the next two bytes, the rest a DEFLATE
//! stream) or not.
#![no_main]

use cu::codec::{self, decode_global};
use cu::runtime::{Instance, Status};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static INSTANCE: RefCell<Box<Instance>> = RefCell::new(Instance::new(8 << 20, 1_000_000, [1, 2]).unwrap());
}

fn with_header(flags: u8, body_len: usize, payload: &[u8]) -> Vec<u8> {
    let mut v = codec::MAGIC.to_vec();
    v.extend_from_slice(&[codec::VERSION, flags, codec::LUA_VERSION, 0]);
    v.extend_from_slice(&(body_len as u32).to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(payload);
    codec::fix_checksum(&mut v);
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode & 1 != 0 {
        rest.to_vec()
    } else if mode & 2 != 0 {
        let Some((len, stream)) = rest.split_at_checked(2) else { return };
        with_header(codec::FLAG_DEFLATE, u16::from_le_bytes([len[0], len[1]]) as usize, stream)
    } else {
        with_header(0, rest.len(), rest)
    };
    INSTANCE.with(|cell| {
        let mut inst = cell.borrow_mut();
        if let Err(e) = decode_global(&mut inst, b"W", &bytes) {
            assert!(!e.message.is_empty(), "{e:?}");
        }
        let mut reply = Vec::new();
        inst.compute(b"W = nil collectgarbage()", b"=fuzz", false, &mut reply);
        assert_eq!(inst.compute(b"return 1", b"=fuzz", false, &mut reply), Status::Ok);
    });
});
