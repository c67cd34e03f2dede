//! bytecode/: the Lua 5.4 binary-chunk validator. Lua's manual warns that maliciously
//! crafted bytecode can crash the interpreter (wasmoon was escaped through a patched
//! FORPREP and a forged upvalue descriptor), so Cu checks every binary chunk before
//! `lua_load(.., "b")` sees it.
//!
//! * `reader.rs` mirrors lundump.c (`checkHeader`, `loadFunction`, `loadCode`,
//!   `loadConstants`, `loadUpvalues`, `loadProtos`, `loadDebug`) over the raw bytes and
//!   records where each prototype's parts lie (a small owned model, every allocation
//!   bounded by the input); it also checks each prototype's shape and debug information;
//! * `rules.rs` checks each prototype's code against what lvm.c, ldo.c, lfunc.c and
//!   ldebug.c assume without checking (operand ranges, instruction pairings, the state the
//!   VM relies on between instructions);
//! * `opcodes.rs` is lopcodes.h/lopcodes.c, with a table of what each opcode's operands are.
//!
//! Every rejection names a stable rule id (`rule::*`, listed in docs/SECURITY.md), the
//! function ("main", "main.0", "main.0.3": KPROTO indices from the main function down, or
//! "chunk" for the header and the chunk's end) and, for code rules, the 0-based pc. When a
//! chunk breaks several rules, the first in this order is reported: format (in reading
//! order), then shape and debug information (prototype by prototype), then code (prototype
//! by prototype, pass by pass). Nothing here panics on any input: there is no unchecked
//! indexing of input-derived positions, and no recursion.
//!
//! The code is written for size (it is compiled to wasm): a failure is a message id and two
//! numbers, rendered only when it reaches the caller; operands are described by a table.

mod opcodes;
mod reader;
mod rules;

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
            put_decimal(&mut s, pc);
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

/// "No prototype" (the chunk as a whole) and "no pc".
pub(crate) const NONE: u32 = u32::MAX;

macro_rules! messages {
    ($($id:ident = $rule:ident, $text:expr;)*) => {
        /// Every way a check can fail: a rule and a detail template whose `{}` take the
        /// failure's two numbers in turn. One small id per error site keeps the sites cheap.
        #[derive(Clone, Copy)]
        #[repr(u8)]
        pub(crate) enum Msg { $($id),* }
        static MESSAGES: &[(&str, &str)] = &[$((rule::$rule, $text)),*];
    };
}

messages! {
    // reader.rs
    Signature = HEADER_SIGNATURE, "not a binary chunk";
    Version = HEADER_VERSION, "version byte {} (Lua 5.4 is 84)";
    Format = HEADER_FORMAT, "format {} (expected 0)";
    Data = HEADER_DATA, "corrupted chunk (LUAC_DATA)";
    Sizes = HEADER_SIZES, "a type size is {} (expected {})";
    Int = HEADER_INT, "integer format mismatch";
    Num = HEADER_NUM, "float format mismatch";
    Truncated = TRUNCATED, "input ends early (reading at byte {})";
    Count = TRUNCATED, "{} items declared but only {} bytes left";
    Varint = VARINT_OVERFLOW, "integer overflow at byte {}";
    Nesting = NESTING_DEPTH, "functions nested deeper than 200";
    Trailing = TRAILING_BYTES, "{} bytes after the main function";
    Tag = CONSTANT_TAG, "constant {}: unknown tag {}";
    NullString = CONSTANT_STRING, "constant {}: null string";
    StringTag = CONSTANT_STRING, "constant {}: tag {} does not match the string's length";
    UpvalueNames = DEBUG_UPVALUE_NAMES, "{} upvalue names for {} upvalues";
    MainUpvalues = MAIN_UPVALUES, "the main closure has {} upvalues but its prototype {}";
    VarargFlag = VARARG_FLAG, "is_vararg is {}";
    StackSize = STACK_SIZE, "{} parameters in a frame of {} registers";
    UpvalueCount = UPVALUE_COUNT, "{} upvalues (at most 255)";
    UpvalueDesc = UPVALUE_DESC, "upvalue {} (instack {}): kind, or index in the enclosing function, out of range";
    LineInfo = DEBUG_LINEINFO, "{} lineinfo entries for {} instructions";
    AbsLineInfo = DEBUG_ABSLINEINFO, "absolute line info entry {} (pc {}): missing, out of order or out of range";
    LocVars = DEBUG_LOCVARS, "local {} unnamed or ending at pc {}, out of range";
    // rules.rs
    CodeEmpty = CODE_END, "empty code";
    CodeEnd = CODE_END, "code ends with opcode {}, not a return";
    Opcode = OPCODE, "opcode {} (there are 83)";
    Register = REGISTER, "register {} outside the frame of {} registers";
    KIndex = CONSTANT_INDEX, "constant {} of {}";
    KType = CONSTANT_TYPE, "constant {} has the wrong type (tag {})";
    UpIndex = UPVALUE_INDEX, "upvalue {} of {}";
    ProtoIndex = PROTO_INDEX, "prototype {} of {}";
    HashSize = TABLE_SIZE, "hash size 2^{} too large";
    ArraySize = TABLE_SIZE, "array size {} * 256 + {} too large";
    ConcatCount = CONCAT_COUNT, "CONCAT of {} values";
    VarargPrep = VARARGPREP, "VARARGPREP {} not alone at the start of a vararg function of {} parameters";
    VarargJump = VARARGPREP, "jumps back to VARARGPREP";
    VarargOp = VARARG_OP, "VARARG in a function that is not vararg";
    VarargC = VARARG_RETURN, "C is {} where the function needs {} (RETURN0 and RETURN1 only in fixed functions)";
    NoExtra = EXTRAARG, "opcode {} not followed by EXTRAARG";
    BadExtra = EXTRAARG, "EXTRAARG {} not owned by LOADKX, NEWTABLE or SETLIST with k";
    TestJump = TEST_JUMP, "test not followed by JMP";
    MmbinNext = MMBIN_PAIRING, "opcode {} not followed by its metamethod instruction";
    MmbinPrev = MMBIN_PAIRING, "metamethod event {} does not follow a matching arithmetic instruction";
    JumpTarget = JUMP_TARGET, "goes to pc {}, outside the code or onto an EXTRAARG";
    TopUse = TOP_USE, "register {} counts up to a top that the instruction before (setting it from register {}) does not leave";
    SelfKey = SELF_KEY, "SELF key register {} is not a string loaded just before";
    ForPairing = FORPREP_PAIRING, "numeric for loop on register {} is not paired (Bx {})";
    TForPairing = TFORPREP_PAIRING, "generic for loop on register {} is not paired";
    ForOverlap = FOR_BODY, "loop overlaps the loop of the FORPREP at pc {}";
    ForJump = FOR_BODY, "jumps to pc {} inside the loop of the FORPREP at pc {}";
    ForWrite = FOR_BODY, "writes or captures the internal registers of the loop of the FORPREP at pc {}";
    ForOpen = FOR_BODY, "an upvalue is open on the loop's internal registers";
    Init = REGISTER_INIT, "reads or captures register {}, which this call has not written on every path";
    Tbc = TBC, "to-be-closed variable at or above register {} pending here";
    Open = OPEN_UPVALUE, "upvalue open at or above register {} here";
    SetlistTable = SETLIST_TABLE, "register {} may not hold the table NEWTABLE made";
}

/// A failure, boxed: `Result<(), Fail>` is one word, so every `?` on the many checks stays a
/// branch.
pub(crate) struct Fail(alloc::boxed::Box<FailInfo>);

pub(crate) struct FailInfo {
    msg: Msg,
    /// Index in `Chunk::protos`, or NONE for the chunk as a whole.
    pub proto: u32,
    /// Instruction index, or NONE.
    pc: u32,
    args: [u32; 2],
}

impl Fail {
    #[cold]
    #[inline(never)]
    pub(crate) fn new(msg: Msg, proto: u32, pc: u32, a: u32, b: u32) -> Fail {
        Fail(alloc::boxed::Box::new(FailInfo { msg, proto, pc, args: [a, b] }))
    }

    pub(crate) fn proto(&self) -> u32 {
        self.0.proto
    }

    #[inline(never)]
    fn into_rejection(self, protos: &[reader::Proto]) -> Rejection {
        let f = *self.0;
        let (rule, text) = MESSAGES[f.msg as usize];
        // Each "{}" of the (ASCII) template takes the next number.
        let mut detail = String::new();
        let mut args = f.args.iter();
        for &c in text.as_bytes() {
            match c {
                b'{' => put_decimal(&mut detail, args.next().copied().unwrap_or(0)),
                b'}' => {}
                _ => detail.push(c as char),
            }
        }
        Rejection { rule, function: path(protos, f.proto), pc: (f.pc != NONE).then_some(f.pc), detail }
    }
}

/// Appends `v` in decimal.
fn put_decimal(out: &mut String, v: u32) {
    let mut unit = 1_000_000_000;
    while unit > 0 {
        if v >= unit || unit == 1 {
            out.push((b'0' + (v / unit % 10) as u8) as char);
        }
        unit /= 10;
    }
}

/// "main.2.1" for a prototype index (the parent chain is at most `MAX_NESTING` long).
fn path(protos: &[reader::Proto], idx: u32) -> String {
    if idx == NONE {
        return String::from("chunk");
    }
    // The KPROTO indices from the function up, then written from main down.
    let mut up = [0u32; MAX_NESTING];
    let mut n = 0;
    let mut idx = idx;
    while let Some(f) = protos.get(idx as usize).filter(|f| f.parent != NONE) {
        let Some(slot) = up.get_mut(n) else { break };
        *slot = f.index;
        n += 1;
        idx = f.parent;
    }
    let mut s = String::from("main");
    for i in up.get(..n).unwrap_or_default().iter().rev() {
        s.push('.');
        put_decimal(&mut s, *i);
    }
    s
}

/// Parses `bytes` as lundump.c does and checks every prototype. Never panics.
pub fn validate_chunk(bytes: &[u8]) -> Result<ChunkInfo, Rejection> {
    let mut chunk = reader::Chunk::new(bytes);
    let result = chunk.undump().and_then(|()| rules::check_chunk(&chunk));
    match result {
        Ok(()) => Ok(ChunkInfo {
            protos: chunk.protos.len(),
            main_upvalues: chunk.main_nupvalues,
            stripped: !chunk.debug,
            instructions: chunk.instructions,
        }),
        Err(fail) => Err(fail.into_rejection(&chunk.protos)),
    }
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
            Proto { parent: NONE, ..Proto::default() },
            Proto { parent: 0, index: 2, ..Proto::default() },
            Proto { parent: 1, index: 0, ..Proto::default() },
        ];
        assert_eq!(path(&protos, 2), "main.2.0");
        assert_eq!(path(&protos, 0), "main");
        assert_eq!(path(&protos, NONE), "chunk");
        assert_eq!(path(&protos, 9), "main");
    }

    #[test]
    fn templates_take_the_numbers_in_turn() {
        let r = Fail::new(Msg::Register, NONE, 3, 7, 5).into_rejection(&[]);
        assert_eq!((r.rule, r.function.as_str(), r.pc), (rule::REGISTER, "chunk", Some(3)));
        assert_eq!(r.detail, "register 7 outside the frame of 5 registers");
        assert_eq!(
            r.message(),
            "bad bytecode: rule register at chunk pc 3: register 7 outside the frame of 5 registers"
        );
    }
}
