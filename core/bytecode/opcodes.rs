//! opcodes.rs: Lua 5.4's instruction set as lopcodes.h/lopcodes.c define it: opcode numbers
//! (ORDER OP), argument fields, and what each opcode's operands are (in the spirit of
//! lopcodes.c's `luaP_opmodes`), for the checks in rules.rs.

#![allow(dead_code)] // the full list, whether or not a rule names every opcode

pub const OP_MOVE: u8 = 0;
pub const OP_LOADI: u8 = 1;
pub const OP_LOADF: u8 = 2;
pub const OP_LOADK: u8 = 3;
pub const OP_LOADKX: u8 = 4;
pub const OP_LOADFALSE: u8 = 5;
pub const OP_LFALSESKIP: u8 = 6;
pub const OP_LOADTRUE: u8 = 7;
pub const OP_LOADNIL: u8 = 8;
pub const OP_GETUPVAL: u8 = 9;
pub const OP_SETUPVAL: u8 = 10;
pub const OP_GETTABUP: u8 = 11;
pub const OP_GETTABLE: u8 = 12;
pub const OP_GETI: u8 = 13;
pub const OP_GETFIELD: u8 = 14;
pub const OP_SETTABUP: u8 = 15;
pub const OP_SETTABLE: u8 = 16;
pub const OP_SETI: u8 = 17;
pub const OP_SETFIELD: u8 = 18;
pub const OP_NEWTABLE: u8 = 19;
pub const OP_SELF: u8 = 20;
pub const OP_ADDI: u8 = 21;
pub const OP_ADDK: u8 = 22;
pub const OP_SUBK: u8 = 23;
pub const OP_MULK: u8 = 24;
pub const OP_MODK: u8 = 25;
pub const OP_POWK: u8 = 26;
pub const OP_DIVK: u8 = 27;
pub const OP_IDIVK: u8 = 28;
pub const OP_BANDK: u8 = 29;
pub const OP_BORK: u8 = 30;
pub const OP_BXORK: u8 = 31;
pub const OP_SHRI: u8 = 32;
pub const OP_SHLI: u8 = 33;
pub const OP_ADD: u8 = 34;
pub const OP_SUB: u8 = 35;
pub const OP_MUL: u8 = 36;
pub const OP_MOD: u8 = 37;
pub const OP_POW: u8 = 38;
pub const OP_DIV: u8 = 39;
pub const OP_IDIV: u8 = 40;
pub const OP_BAND: u8 = 41;
pub const OP_BOR: u8 = 42;
pub const OP_BXOR: u8 = 43;
pub const OP_SHL: u8 = 44;
pub const OP_SHR: u8 = 45;
pub const OP_MMBIN: u8 = 46;
pub const OP_MMBINI: u8 = 47;
pub const OP_MMBINK: u8 = 48;
pub const OP_UNM: u8 = 49;
pub const OP_BNOT: u8 = 50;
pub const OP_NOT: u8 = 51;
pub const OP_LEN: u8 = 52;
pub const OP_CONCAT: u8 = 53;
pub const OP_CLOSE: u8 = 54;
pub const OP_TBC: u8 = 55;
pub const OP_JMP: u8 = 56;
pub const OP_EQ: u8 = 57;
pub const OP_LT: u8 = 58;
pub const OP_LE: u8 = 59;
pub const OP_EQK: u8 = 60;
pub const OP_EQI: u8 = 61;
pub const OP_LTI: u8 = 62;
pub const OP_LEI: u8 = 63;
pub const OP_GTI: u8 = 64;
pub const OP_GEI: u8 = 65;
pub const OP_TEST: u8 = 66;
pub const OP_TESTSET: u8 = 67;
pub const OP_CALL: u8 = 68;
pub const OP_TAILCALL: u8 = 69;
pub const OP_RETURN: u8 = 70;
pub const OP_RETURN0: u8 = 71;
pub const OP_RETURN1: u8 = 72;
pub const OP_FORLOOP: u8 = 73;
pub const OP_FORPREP: u8 = 74;
pub const OP_TFORPREP: u8 = 75;
pub const OP_TFORCALL: u8 = 76;
pub const OP_TFORLOOP: u8 = 77;
pub const OP_SETLIST: u8 = 78;
pub const OP_CLOSURE: u8 = 79;
pub const OP_VARARG: u8 = 80;
pub const OP_VARARGPREP: u8 = 81;
pub const OP_EXTRAARG: u8 = 82;

/// `NUM_OPCODES`.
pub const NUM_OPCODES: u8 = 83;

/// `OFFSET_sJ` (sJ is 25 bits).
pub const OFFSET_SJ: u32 = ((1 << 25) - 1) >> 1;

/// `GET_OPCODE`.
#[inline]
pub fn op(i: u32) -> u8 {
    (i & 0x7f) as u8
}
/// `GETARG_A`.
#[inline]
pub fn a(i: u32) -> i32 {
    ((i >> 7) & 0xff) as i32
}
/// `GETARG_k`.
#[inline]
pub fn k(i: u32) -> bool {
    (i >> 15) & 1 != 0
}
/// `GETARG_B`.
#[inline]
pub fn b(i: u32) -> i32 {
    ((i >> 16) & 0xff) as i32
}
/// `GETARG_C`.
#[inline]
pub fn c(i: u32) -> i32 {
    (i >> 24) as i32
}
/// `GETARG_Bx`.
#[inline]
pub fn bx(i: u32) -> u32 {
    i >> 15
}
/// `GETARG_Ax`.
#[inline]
pub fn ax(i: u32) -> u32 {
    i >> 7
}

/// Tag methods (ltm.h, ORDER TM) that the MMBIN family may carry.
pub const TM_ADD: i32 = 6;
pub const TM_SUB: i32 = 7;
pub const TM_SHL: i32 = 16;
pub const TM_SHR: i32 = 17;

// What an opcode's operands are (the pairings with other instructions are left to
// rules.rs).
/// A is a register.
pub const RA: u32 = 1;
/// B is a register, read.
pub const RB: u32 = 1 << 1;
/// C is a register, read.
pub const RC: u32 = 1 << 2;
/// C is RK(C): a constant with k, else a register (read).
pub const RK: u32 = 1 << 3;
/// A is an upvalue.
pub const UA: u32 = 1 << 4;
/// B is an upvalue.
pub const UB: u32 = 1 << 5;
/// B is a constant (of the type below, if any).
pub const KB: u32 = 1 << 6;
/// C is a constant (of the type below unless KB).
pub const KC: u32 = 1 << 7;
/// Bx is a constant.
pub const KBX: u32 = 1 << 8;
/// R[A] is read.
pub const XA: u32 = 1 << 9;
/// R[A], and the registers of the ranges from A, are written (on some path).
pub const WA: u32 = 1 << 10;
/// ... on every path.
pub const IA: u32 = 1 << 11;
/// The type a constant operand needs (bits 12..15): TYPED, then a string (tag 4 or 0x14) or
/// else a number (3 or 0x13), and EXACT: only the variant whose tag is 4 or 3 (a short
/// string, an integer).
pub const TYPED: u32 = 4 << 12;
pub const EXACT: u32 = 1 << 12;
pub const STRING: u32 = TYPED | 2 << 12;
pub const SHORT_STRING: u32 = STRING | EXACT;
pub const NUMBER: u32 = TYPED;
pub const INTEGER: u32 = TYPED | EXACT;

/// Registers written on one edge out of the instruction only (bits 29..31): A, A..A+3 or
/// A+2, on the natural sequel or (ON_SKIP) on the other edge.
pub const EDGE_A: u32 = 1 << 29;
pub const EDGE_A3: u32 = 2 << 29;
pub const EDGE_A2: u32 = 3 << 29;
pub const ON_SKIP: u32 = 1 << 31;

/// Register ranges from A: up to two terms (bits 15..22 and 22..29), each the register
/// A + b * B + c * C + k, the highest register of the range, for `top_register`.
const fn term(b: u32, c: u32, k: i32) -> u32 {
    64 | b | c << 1 | ((k + 4) as u32) << 2
}
const fn ranges(first: u32, second: u32) -> u32 {
    first << 15 | second << 22
}

/// The highest register of the ranges from A in `operands` (-1 if none).
pub fn top_register(operands: u32, i: u32) -> i32 {
    let term = |t: u32| {
        if t & 64 == 0 {
            return -1;
        }
        a(i) + (t & 1) as i32 * b(i) + (t >> 1 & 1) as i32 * c(i) + (t >> 2 & 15) as i32 - 4
    };
    term(operands >> 15 & 127).max(term(operands >> 22 & 127))
}

const LOAD: u32 = RA | WA | IA;
const UNARY: u32 = RA | RB | WA | IA;
const ARITH: u32 = RA | RB | WA | ON_SKIP | EDGE_A;
const TEST: u32 = RA | XA;

/// Operands of each opcode (ORDER OP). (RETURN and RETURN0 with no values may name A =
/// maxstacksize, one past the last register.)
pub static OPERANDS: [u32; NUM_OPCODES as usize] = [
    UNARY,                                                 // MOVE
    LOAD,                                                  // LOADI
    LOAD,                                                  // LOADF
    LOAD | KBX,                                            // LOADK
    LOAD,                                                  // LOADKX
    LOAD,                                                  // LOADFALSE
    LOAD,                                                  // LFALSESKIP
    LOAD,                                                  // LOADTRUE
    WA | IA | ranges(term(1, 0, 0), 0),                    // LOADNIL
    LOAD | UB,                                             // GETUPVAL
    RA | UB | XA,                                          // SETUPVAL
    LOAD | UB | KC | SHORT_STRING,                         // GETTABUP
    UNARY | RC,                                            // GETTABLE
    UNARY,                                                 // GETI
    UNARY | KC | SHORT_STRING,                             // GETFIELD
    UA | KB | SHORT_STRING | RK,                           // SETTABUP
    RA | RB | RK | XA,                                     // SETTABLE
    RA | RK | XA,                                          // SETI
    RA | KB | SHORT_STRING | RK | XA,                      // SETFIELD
    RA,                                                    // NEWTABLE
    RB | RK | STRING | WA | IA | ranges(term(0, 0, 1), 0), // SELF
    ARITH,                                                 // ADDI
    ARITH | KC | NUMBER,                                   // ADDK
    ARITH | KC | NUMBER,                                   // SUBK
    ARITH | KC | NUMBER,                                   // MULK
    ARITH | KC | NUMBER,                                   // MODK
    ARITH | KC | NUMBER,                                   // POWK
    ARITH | KC | NUMBER,                                   // DIVK
    ARITH | KC | NUMBER,                                   // IDIVK
    ARITH | KC | INTEGER,                                  // BANDK
    ARITH | KC | INTEGER,                                  // BORK
    ARITH | KC | INTEGER,                                  // BXORK
    ARITH,                                                 // SHRI
    ARITH,                                                 // SHLI
    ARITH | RC,                                            // ADD
    ARITH | RC,                                            // SUB
    ARITH | RC,                                            // MUL
    ARITH | RC,                                            // MOD
    ARITH | RC,                                            // POW
    ARITH | RC,                                            // DIV
    ARITH | RC,                                            // IDIV
    ARITH | RC,                                            // BAND
    ARITH | RC,                                            // BOR
    ARITH | RC,                                            // BXOR
    ARITH | RC,                                            // SHL
    ARITH | RC,                                            // SHR
    TEST | RB,                                             // MMBIN
    TEST,                                                  // MMBINI
    TEST | KB,                                             // MMBINK
    UNARY,                                                 // UNM
    UNARY,                                                 // BNOT
    UNARY,                                                 // NOT
    UNARY,                                                 // LEN
    ranges(term(1, 0, -1), 0),                             // CONCAT
    RA,                                                    // CLOSE
    TEST,                                                  // TBC
    0,                                                     // JMP
    TEST | RB,                                             // EQ
    TEST | RB,                                             // LT
    TEST | RB,                                             // LE
    TEST | KB,                                             // EQK
    TEST,                                                  // EQI
    TEST,                                                  // LTI
    TEST,                                                  // LEI
    TEST,                                                  // GTI
    TEST,                                                  // GEI
    TEST,                                                  // TEST
    RA | RB | WA | EDGE_A,                                 // TESTSET
    RA | ranges(term(1, 0, -1), term(0, 1, -2)),           // CALL
    RA | ranges(term(1, 0, -1), 0),                        // TAILCALL
    ranges(term(1, 0, -2), term(0, 0, -1)),                // RETURN
    ranges(term(0, 0, -1), 0),                             // RETURN0
    TEST,                                                  // RETURN1
    WA | ranges(term(0, 0, 3), 0) | ON_SKIP | EDGE_A3,     // FORLOOP
    WA | ranges(term(0, 0, 3), 0) | EDGE_A3,               // FORPREP
    ranges(term(0, 0, 3), 0),                              // TFORPREP
    ranges(term(0, 0, 6), term(0, 1, 3)),                  // TFORCALL
    ranges(term(0, 0, 4), 0) | ON_SKIP | EDGE_A2,          // TFORLOOP
    RA | ranges(term(1, 0, 0), 0),                         // SETLIST
    RA,                                                    // CLOSURE
    RA | ranges(term(0, 1, -2), 0),                        // VARARG
    0,                                                     // VARARGPREP
    0,                                                     // EXTRAARG
];

/// The instruction's operands (none for an opcode past the last).
pub fn operands(i: u32) -> u32 {
    OPERANDS.get(op(i) as usize).copied().unwrap_or(0)
}

/// Is `o` a RETURN-family opcode?
pub fn is_return(o: u8) -> bool {
    (OP_RETURN..=OP_RETURN1).contains(&o)
}

/// Does this instruction own the EXTRAARG word after it?
pub fn has_extra(i: u32) -> bool {
    matches!(op(i), OP_LOADKX | OP_NEWTABLE) || (op(i) == OP_SETLIST && k(i))
}

/// `isOT`: the instruction leaves `L->top` set for the next one.
pub fn is_ot(i: u32) -> bool {
    match op(i) {
        OP_CALL | OP_VARARG => c(i) == 0,
        o => o == OP_TAILCALL,
    }
}

/// `isIT`: the instruction takes its count from `L->top` (B == 0). VARARGPREP is IT too
/// (it reads the argument count left by the call), but it is checked on its own.
pub fn is_it(i: u32) -> bool {
    matches!(op(i), OP_CALL | OP_TAILCALL | OP_RETURN | OP_SETLIST | OP_VARARGPREP) && b(i) == 0
}

/// Does metamethod instruction `mm` with event `tm` complete arithmetic/bitwise opcode
/// `arith`, as lcode.c pairs them (`finishbinexpval`, `finishbinexpneg`, `codebini`)?
pub fn pairs(arith: u8, mm: u8, tm: i32) -> bool {
    // The metamethod opcode, and the events allowed as bits.
    let (want, events) = match arith {
        // `x + I` and `x - I` (coded as ADDI with -I) both use ADDI.
        OP_ADDI => (OP_MMBINI, 1 << TM_ADD | 1 << TM_SUB),
        // `x >> I`, and `x << I` coded as `x >> -I`.
        OP_SHRI => (OP_MMBINI, 1 << TM_SHR | 1 << TM_SHL),
        OP_SHLI => (OP_MMBINI, 1 << TM_SHL),
        // By position: ADD..SHR and ADDK..BXORK are in ORDER TM from TM_ADD.
        OP_ADDK..=OP_BXORK => (OP_MMBINK, 1 << ((arith - OP_ADDK) as i32 + TM_ADD)),
        OP_ADD..=OP_SHR => (OP_MMBIN, 1 << ((arith - OP_ADD) as i32 + TM_ADD)),
        _ => return false,
    };
    mm == want && (0..32).contains(&tm) && (events >> tm) & 1 != 0
}
