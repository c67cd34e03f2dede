//! bytecode/: the Lua 5.4 binary-chunk validator. Lua's manual warns that maliciously
//! crafted bytecode can crash the interpreter (wasmoon was escaped through a patched
//! FORPREP and a forged upvalue descriptor), so Cu checks every binary chunk before
//! `lua_load(.., "b")` sees it.
//!
//! * `reader.rs` mirrors lundump.c (`checkHeader`, `loadFunction`, `loadCode`,
//!   `loadConstants`, `loadUpvalues`, `loadProtos`, `loadDebug`) over the raw bytes and
//!   builds a small owned model of each prototype, bounding every allocation by the input;
//! * `rules.rs` checks each prototype against what lvm.c, ldo.c, lfunc.c and ldebug.c
//!   assume without checking (operand ranges, instruction pairings, the state the VM relies
//!   on between instructions);
//! * `opcodes.rs` is lopcodes.h/lopcodes.c.
//!
//! Every rejection names a stable rule id (`rule::*`, listed in docs/SECURITY.md), the
//! function ("main", "main.0", "main.0.3": KPROTO indices from the main function down, or
//! "chunk" for the header and the chunk's end) and, for code rules, the 0-based pc.
//! Nothing here panics on any input: there is no unchecked indexing of input-derived
//! positions, and no recursion.

mod opcodes;
mod reader;
mod rules;

use crate::text::{put_decimal, Detail};
use alloc::string::String;

pub use reader::MAX_NESTING;

/// Stable rule ids, one per check (docs/SECURITY.md, "Bytecode validator").
pub mod rule {
    // The chunk's format (reader.rs).
    pub const HEADER_SIGNATURE: &str = "header-signature";
    pub const HEADER_VERSION: &str = "header-version";
    pub const HEADER_FORMAT: &str = "header-format";
    pub const HEADER_DATA: &str = "header-data";
    pub const HEADER_SIZES: &str = "header-sizes";
    pub const HEADER_INT: &str = "header-int";
    pub const HEADER_NUM: &str = "header-num";
    pub const TRUNCATED: &str = "truncated";
    pub const VARINT_OVERFLOW: &str = "varint-overflow";
    pub const NESTING_DEPTH: &str = "nesting-depth";
    pub const TRAILING_BYTES: &str = "trailing-bytes";
    pub const CONSTANT_TAG: &str = "constant-tag";
    pub const CONSTANT_STRING: &str = "constant-string";
    pub const DEBUG_UPVALUE_NAMES: &str = "debug-upvalue-names";
    // Prototype shape (rules.rs).
    pub const MAIN_UPVALUES: &str = "main-upvalues";
    pub const VARARG_FLAG: &str = "vararg-flag";
    pub const STACK_SIZE: &str = "stack-size";
    pub const UPVALUE_COUNT: &str = "upvalue-count";
    pub const UPVALUE_DESC: &str = "upvalue-desc";
    pub const DEBUG_LINEINFO: &str = "debug-lineinfo";
    pub const DEBUG_ABSLINEINFO: &str = "debug-abslineinfo";
    pub const DEBUG_LOCVARS: &str = "debug-locvars";
    // Instructions, one at a time.
    pub const CODE_END: &str = "code-end";
    pub const OPCODE: &str = "opcode";
    pub const REGISTER: &str = "register";
    pub const CONSTANT_INDEX: &str = "constant-index";
    pub const CONSTANT_TYPE: &str = "constant-type";
    pub const UPVALUE_INDEX: &str = "upvalue-index";
    pub const PROTO_INDEX: &str = "proto-index";
    pub const TABLE_SIZE: &str = "table-size";
    pub const CONCAT_COUNT: &str = "concat-count";
    pub const VARARGPREP: &str = "varargprep";
    pub const VARARG_OP: &str = "vararg-op";
    pub const VARARG_RETURN: &str = "vararg-return";
    // Instructions and their neighbours.
    pub const EXTRAARG: &str = "extraarg";
    pub const TEST_JUMP: &str = "test-jump";
    pub const MMBIN_PAIRING: &str = "mmbin-pairing";
    pub const JUMP_TARGET: &str = "jump-target";
    pub const TOP_USE: &str = "top-use";
    pub const SELF_KEY: &str = "self-key";
    pub const FORPREP_PAIRING: &str = "forprep-pairing";
    pub const TFORPREP_PAIRING: &str = "tforprep-pairing";
    pub const FOR_BODY: &str = "for-body";
    // Flow analysis (the state the VM keeps between instructions).
    pub const TBC: &str = "tbc";
    pub const OPEN_UPVALUE: &str = "open-upvalue";
    pub const SETLIST_TABLE: &str = "setlist-table";
    pub const REGISTER_INIT: &str = "register-init";

    /// Every rule id.
    pub const ALL: &[&str] = &[
        HEADER_SIGNATURE,
        HEADER_VERSION,
        HEADER_FORMAT,
        HEADER_DATA,
        HEADER_SIZES,
        HEADER_INT,
        HEADER_NUM,
        TRUNCATED,
        VARINT_OVERFLOW,
        NESTING_DEPTH,
        TRAILING_BYTES,
        CONSTANT_TAG,
        CONSTANT_STRING,
        DEBUG_UPVALUE_NAMES,
        MAIN_UPVALUES,
        VARARG_FLAG,
        STACK_SIZE,
        UPVALUE_COUNT,
        UPVALUE_DESC,
        DEBUG_LINEINFO,
        DEBUG_ABSLINEINFO,
        DEBUG_LOCVARS,
        CODE_END,
        OPCODE,
        REGISTER,
        CONSTANT_INDEX,
        CONSTANT_TYPE,
        UPVALUE_INDEX,
        PROTO_INDEX,
        TABLE_SIZE,
        CONCAT_COUNT,
        VARARGPREP,
        VARARG_OP,
        VARARG_RETURN,
        EXTRAARG,
        TEST_JUMP,
        MMBIN_PAIRING,
        JUMP_TARGET,
        TOP_USE,
        SELF_KEY,
        FORPREP_PAIRING,
        TFORPREP_PAIRING,
        FOR_BODY,
        TBC,
        OPEN_UPVALUE,
        SETLIST_TABLE,
        REGISTER_INIT,
    ];
}

/// Why a chunk was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Stable rule id (`rule::*`), e.g. "forprep-pairing".
    pub rule: &'static str,
    /// The function: "main", "main.2.1" (KPROTO indices), or "chunk".
    pub function: String,
    /// 0-based instruction index, for code rules.
    pub pc: Option<u32>,
    pub detail: String,
}

impl Rejection {
    /// "bad bytecode: rule forprep-pairing at main.2 pc 7: ..."
    pub fn message(&self) -> String {
        let mut s = String::from("bad bytecode: rule ");
        s.push_str(self.rule);
        s.push_str(" at ");
        s.push_str(&self.function);
        if let Some(pc) = self.pc {
            s.push_str(" pc ");
            put_decimal(&mut s, pc as i64);
        }
        s.push_str(": ");
        s.push_str(&self.detail);
        s
    }
}

impl core::fmt::Display for Rejection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

/// What a valid chunk holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Number of prototypes, the main function included.
    pub protos: usize,
    /// Upvalues of the main closure (the byte after the header).
    pub main_upvalues: u8,
    /// No debug information anywhere (`string.dump(f, true)`).
    pub stripped: bool,
    /// Total instructions over all prototypes.
    pub instructions: usize,
}

/// A failure before the function path is known as a string. Boxed: `Result<_, Fail>` is
/// one word, so every `?` on the validator's many checks stays a branch (no copying).
pub(crate) struct Fail(alloc::boxed::Box<FailInfo>);

pub(crate) struct FailInfo {
    pub rule: &'static str,
    /// Index in `Chunk::protos`, or None for the chunk as a whole.
    pub proto: Option<u32>,
    pub pc: Option<u32>,
    pub detail: Detail,
}

impl Fail {
    #[cold]
    #[inline(never)]
    pub(crate) fn new(rule: &'static str, proto: Option<u32>, pc: Option<u32>, detail: Detail) -> Fail {
        Fail(alloc::boxed::Box::new(FailInfo { rule, proto, pc, detail }))
    }

    pub(crate) fn chunk(rule: &'static str, detail: Detail) -> Fail {
        Fail::new(rule, None, None, detail)
    }

    fn into_rejection(self, protos: &[reader::Proto]) -> Rejection {
        let f = *self.0;
        Rejection { rule: f.rule, function: path(protos, f.proto), pc: f.pc, detail: f.detail.render() }
    }
}

/// "main.2.1" for a prototype index (the parent chain is at most `MAX_NESTING` long).
fn path(protos: &[reader::Proto], idx: Option<u32>) -> String {
    let Some(mut idx) = idx else { return String::from("chunk") };
    let mut parts: alloc::vec::Vec<u32> = alloc::vec::Vec::new();
    while let Some(f) = protos.get(idx as usize) {
        match f.parent {
            Some(parent) if parts.len() <= MAX_NESTING => {
                parts.push(f.index);
                idx = parent;
            }
            _ => break,
        }
    }
    let mut s = String::from("main");
    for i in parts.iter().rev() {
        s.push('.');
        put_decimal(&mut s, *i as i64);
    }
    s
}

/// Parses `bytes` as lundump.c does and checks every prototype. Never panics.
pub fn validate_chunk(bytes: &[u8]) -> Result<ChunkInfo, Rejection> {
    let chunk = match reader::undump(bytes) {
        Ok(chunk) => chunk,
        // The partial model only serves to name the function.
        Err((fail, protos)) => return Err(fail.into_rejection(&protos)),
    };
    rules::check_chunk(&chunk).map_err(|fail| fail.into_rejection(&chunk.protos))?;
    let stripped = chunk.protos.iter().all(|f| {
        !f.has_source && f.sizelineinfo == 0 && f.abslineinfo.is_empty() && f.locvars.is_empty() && f.upvalue_names == 0
    });
    Ok(ChunkInfo {
        protos: chunk.protos.len(),
        main_upvalues: chunk.main_nupvalues,
        stripped,
        instructions: chunk.protos.iter().map(|f| f.code.len()).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> alloc::vec::Vec<u8> {
        let mut h = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08".to_vec();
        h.extend_from_slice(&0x5678i64.to_le_bytes());
        h.extend_from_slice(&370.5f64.to_le_bytes());
        h
    }

    /// Header, 1 upvalue, a main function whose code count is the varint `count`.
    fn with_code_count(count: &[u8]) -> alloc::vec::Vec<u8> {
        let mut b = header();
        b.push(1);
        b.extend_from_slice(&[0x80, 0x80, 0x80, 0, 1, 2]);
        b.extend_from_slice(count);
        b
    }

    #[test]
    fn varints_follow_load_unsigned() {
        // INT_MAX >> 7 = 0xffffff: a value that already reaches it cannot take another byte,
        // so the largest int is 0x7fffff7f.
        let r = validate_chunk(&with_code_count(&[0x07, 0x7f, 0x7f, 0x7e, 0xff])).unwrap_err();
        assert_eq!(r.rule, rule::TRUNCATED); // 0x7fffff7f instructions do not fit
        let r = validate_chunk(&with_code_count(&[0x07, 0x7f, 0x7f, 0x7f, 0xff])).unwrap_err();
        assert_eq!(r.rule, rule::VARINT_OVERFLOW);
        let r = validate_chunk(&with_code_count(&[0x08, 0x00, 0x00, 0x00, 0x80])).unwrap_err();
        assert_eq!(r.rule, rule::VARINT_OVERFLOW);
        let r = validate_chunk(&with_code_count(&[0x7f, 0x7f, 0x7f])).unwrap_err();
        assert_eq!(r.rule, rule::TRUNCATED); // unterminated
                                             // Leading zero groups are allowed, as in lundump.
        let r = validate_chunk(&with_code_count(&[0x00, 0x00, 0x81])).unwrap_err();
        assert_eq!((r.rule, r.function.as_str()), (rule::TRUNCATED, "main"));
    }

    #[test]
    fn paths_name_nested_functions() {
        use reader::Proto;
        let protos = [
            Proto::default(),
            Proto { parent: Some(0), index: 2, ..Proto::default() },
            Proto { parent: Some(1), index: 0, ..Proto::default() },
        ];
        assert_eq!(path(&protos, Some(2)), "main.2.0");
        assert_eq!(path(&protos, Some(0)), "main");
        assert_eq!(path(&protos, None), "chunk");
        assert_eq!(path(&protos, Some(9)), "main");
    }
}
