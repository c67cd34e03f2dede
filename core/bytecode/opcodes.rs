//! opcodes.rs: Lua 5.4's instruction set as lopcodes.h/lopcodes.c define it: opcode numbers
//! (ORDER OP), argument fields, the `luaP_opmodes` property bits, and the tag-method numbers
//! (ltm.h, ORDER TM) the MMBIN family carries.

#![allow(dead_code)] // the full table, whether or not a rule names every opcode

/// One instruction word (`Instruction`, 32 bits).
pub type Instruction = u32;

macro_rules! opcodes {
    ($($name:ident = $n:expr, $text:expr;)*) => {
        $(pub const $name: u8 = $n;)*
        /// Opcode names, indexed by opcode (lopnames.h).
        pub const NAMES: [&str; NUM_OPCODES as usize] = [$($text),*];
    };
}

opcodes! {
    OP_MOVE = 0, "MOVE";
    OP_LOADI = 1, "LOADI";
    OP_LOADF = 2, "LOADF";
    OP_LOADK = 3, "LOADK";
    OP_LOADKX = 4, "LOADKX";
    OP_LOADFALSE = 5, "LOADFALSE";
    OP_LFALSESKIP = 6, "LFALSESKIP";
    OP_LOADTRUE = 7, "LOADTRUE";
    OP_LOADNIL = 8, "LOADNIL";
    OP_GETUPVAL = 9, "GETUPVAL";
    OP_SETUPVAL = 10, "SETUPVAL";
    OP_GETTABUP = 11, "GETTABUP";
    OP_GETTABLE = 12, "GETTABLE";
    OP_GETI = 13, "GETI";
    OP_GETFIELD = 14, "GETFIELD";
    OP_SETTABUP = 15, "SETTABUP";
    OP_SETTABLE = 16, "SETTABLE";
    OP_SETI = 17, "SETI";
    OP_SETFIELD = 18, "SETFIELD";
    OP_NEWTABLE = 19, "NEWTABLE";
    OP_SELF = 20, "SELF";
    OP_ADDI = 21, "ADDI";
    OP_ADDK = 22, "ADDK";
    OP_SUBK = 23, "SUBK";
    OP_MULK = 24, "MULK";
    OP_MODK = 25, "MODK";
    OP_POWK = 26, "POWK";
    OP_DIVK = 27, "DIVK";
    OP_IDIVK = 28, "IDIVK";
    OP_BANDK = 29, "BANDK";
    OP_BORK = 30, "BORK";
    OP_BXORK = 31, "BXORK";
    OP_SHRI = 32, "SHRI";
    OP_SHLI = 33, "SHLI";
    OP_ADD = 34, "ADD";
    OP_SUB = 35, "SUB";
    OP_MUL = 36, "MUL";
    OP_MOD = 37, "MOD";
    OP_POW = 38, "POW";
    OP_DIV = 39, "DIV";
    OP_IDIV = 40, "IDIV";
    OP_BAND = 41, "BAND";
    OP_BOR = 42, "BOR";
    OP_BXOR = 43, "BXOR";
    OP_SHL = 44, "SHL";
    OP_SHR = 45, "SHR";
    OP_MMBIN = 46, "MMBIN";
    OP_MMBINI = 47, "MMBINI";
    OP_MMBINK = 48, "MMBINK";
    OP_UNM = 49, "UNM";
    OP_BNOT = 50, "BNOT";
    OP_NOT = 51, "NOT";
    OP_LEN = 52, "LEN";
    OP_CONCAT = 53, "CONCAT";
    OP_CLOSE = 54, "CLOSE";
    OP_TBC = 55, "TBC";
    OP_JMP = 56, "JMP";
    OP_EQ = 57, "EQ";
    OP_LT = 58, "LT";
    OP_LE = 59, "LE";
    OP_EQK = 60, "EQK";
    OP_EQI = 61, "EQI";
    OP_LTI = 62, "LTI";
    OP_LEI = 63, "LEI";
    OP_GTI = 64, "GTI";
    OP_GEI = 65, "GEI";
    OP_TEST = 66, "TEST";
    OP_TESTSET = 67, "TESTSET";
    OP_CALL = 68, "CALL";
    OP_TAILCALL = 69, "TAILCALL";
    OP_RETURN = 70, "RETURN";
    OP_RETURN0 = 71, "RETURN0";
    OP_RETURN1 = 72, "RETURN1";
    OP_FORLOOP = 73, "FORLOOP";
    OP_FORPREP = 74, "FORPREP";
    OP_TFORPREP = 75, "TFORPREP";
    OP_TFORCALL = 76, "TFORCALL";
    OP_TFORLOOP = 77, "TFORLOOP";
    OP_SETLIST = 78, "SETLIST";
    OP_CLOSURE = 79, "CLOSURE";
    OP_VARARG = 80, "VARARG";
    OP_VARARGPREP = 81, "VARARGPREP";
    OP_EXTRAARG = 82, "EXTRAARG";
}

/// `NUM_OPCODES`.
pub const NUM_OPCODES: u8 = 83;

/// `MAXARG_C`: C, B and A are 8 bits.
pub const MAXARG_C: u32 = 255;
/// `OFFSET_sBx` (Bx is 17 bits).
pub const OFFSET_SBX: i64 = ((1 << 17) - 1) >> 1;
/// `OFFSET_sJ` (sJ is 25 bits).
pub const OFFSET_SJ: i64 = ((1 << 25) - 1) >> 1;
/// `OFFSET_sC`.
pub const OFFSET_SC: i32 = (MAXARG_C >> 1) as i32;

/// `GET_OPCODE`.
#[inline]
pub fn op(i: Instruction) -> u8 {
    (i & 0x7f) as u8
}
/// `GETARG_A`.
#[inline]
pub fn a(i: Instruction) -> u32 {
    (i >> 7) & 0xff
}
/// `GETARG_k`.
#[inline]
pub fn k(i: Instruction) -> bool {
    (i >> 15) & 1 != 0
}
/// `GETARG_B`.
#[inline]
pub fn b(i: Instruction) -> u32 {
    (i >> 16) & 0xff
}
/// `GETARG_C`.
#[inline]
pub fn c(i: Instruction) -> u32 {
    (i >> 24) & 0xff
}
/// `GETARG_Bx`.
#[inline]
pub fn bx(i: Instruction) -> u32 {
    i >> 15
}
/// `GETARG_Ax`.
#[inline]
pub fn ax(i: Instruction) -> u32 {
    i >> 7
}
/// `GETARG_sJ`.
#[inline]
pub fn sj(i: Instruction) -> i64 {
    ax(i) as i64 - OFFSET_SJ
}

/// Tag methods (ltm.h, ORDER TM) that the MMBIN family may carry.
pub const TM_ADD: u32 = 6;
pub const TM_SUB: u32 = 7;
pub const TM_SHL: u32 = 16;
pub const TM_SHR: u32 = 17;
/// `TM_N`: one past the last tag method.
pub const TM_N: u32 = 25;

/// Is `o` one of the test opcodes (`testTMode`), which must be followed by a JMP?
pub fn is_test(o: u8) -> bool {
    (OP_EQ..=OP_TESTSET).contains(&o)
}

/// Is `o` a RETURN-family opcode?
pub fn is_return(o: u8) -> bool {
    matches!(o, OP_RETURN | OP_RETURN0 | OP_RETURN1)
}

/// `isOT`: the instruction leaves `L->top` set for the next one.
pub fn is_ot(i: Instruction) -> bool {
    match op(i) {
        OP_CALL | OP_VARARG => c(i) == 0,
        OP_TAILCALL => true,
        _ => false,
    }
}

/// `isIT`: the instruction takes its count from `L->top` (B == 0). VARARGPREP is IT too
/// (it reads the argument count left by the call), but it is checked on its own.
pub fn is_it(i: Instruction) -> bool {
    matches!(op(i), OP_CALL | OP_TAILCALL | OP_RETURN | OP_SETLIST | OP_VARARGPREP) && b(i) == 0
}

/// Which metamethod instruction must follow an arithmetic/bitwise opcode, and which tag
/// methods lcode.c pairs with it (`finishbinexpval`, `finishbinexpneg`, `codebini`).
pub fn mm_pairing(o: u8) -> Option<(u8, &'static [u32])> {
    const ADD_OR_SUB: &[u32] = &[TM_ADD, TM_SUB];
    const SHR_OR_SHL: &[u32] = &[TM_SHR, TM_SHL];
    const SHL: &[u32] = &[TM_SHL];
    static BY_OP: [u32; 12] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    match o {
        // `x + I` and `x - I` (coded as ADDI with -I) both use ADDI.
        OP_ADDI => Some((OP_MMBINI, ADD_OR_SUB)),
        // `x >> I`, and `x << I` coded as `x >> -I`.
        OP_SHRI => Some((OP_MMBINI, SHR_OR_SHL)),
        OP_SHLI => Some((OP_MMBINI, SHL)),
        OP_ADDK..=OP_BXORK => {
            let i = (o - OP_ADDK) as usize;
            Some((OP_MMBINK, core::slice::from_ref(&BY_OP[i])))
        }
        OP_ADD..=OP_SHR => {
            let i = (o - OP_ADD) as usize;
            Some((OP_MMBIN, core::slice::from_ref(&BY_OP[i])))
        }
        _ => None,
    }
}

/// The opcode's name, or "?" for one out of range.
pub fn name(o: u8) -> &'static str {
    NAMES.get(o as usize).copied().unwrap_or("?")
}
