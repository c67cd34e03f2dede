//! Any bytes: `validate_chunk` must return (Ok or a Rejection) without panicking, and an
//! accepted chunk must keep being accepted (the validator is a pure function).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = cu::bytecode::validate_chunk(data) {
        assert!(info.protos >= 1);
        assert_eq!(cu::bytecode::validate_chunk(data), Ok(info));
    }
});
