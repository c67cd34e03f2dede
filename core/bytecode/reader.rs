//! reader.rs: lundump.c over a byte slice. It reads a binary chunk exactly as `luaU_undump`
//! does (same order, same varint rules, same sizes) and builds a small owned model of every
//! prototype for rules.rs to check. Where lundump would misbehave (a huge declared length
//! allocates before reading, an unknown constant tag is silently skipped, deep nesting
//! recurses on the C stack), this reader rejects instead:
//!
//! * every declared count is checked against the bytes left BEFORE anything is allocated:
//!   a count of n items needs at least n times the item's smallest encoding;
//! * nesting is iterative (an explicit stack, no recursion) and limited to `MAX_NESTING`;
//! * varints follow `loadUnsigned`, with `size_t` taken as wasm32's 32 bits (stricter than a
//!   64-bit host: any size that does not fit in 32 bits could not be in the input anyway).

use super::rule;
use super::Fail;
use crate::text::{Arg, Detail};
use alloc::vec::Vec;

pub const LUA_SIGNATURE: &[u8; 4] = b"\x1bLua";
pub const LUAC_VERSION: u8 = 0x54;
pub const LUAC_FORMAT: u8 = 0;
pub const LUAC_DATA: &[u8; 6] = b"\x19\x93\r\n\x1a\n";
pub const LUAC_INT: i64 = 0x5678;
pub const LUAC_NUM: f64 = 370.5;
/// `LUAI_MAXSHORTLEN`: longer strings are long strings.
pub const LUAI_MAXSHORTLEN: usize = 40;
/// Deepest function nesting accepted (main is depth 1), as `LUAI_MAXCCALLS`.
pub const MAX_NESTING: usize = 200;

/// Constant tags (lobject.h, `makevariant`).
pub const LUA_VNIL: u8 = 0;
pub const LUA_VFALSE: u8 = 1;
pub const LUA_VTRUE: u8 = 0x11;
pub const LUA_VNUMINT: u8 = 3;
pub const LUA_VNUMFLT: u8 = 0x13;
pub const LUA_VSHRSTR: u8 = 4;
pub const LUA_VLNGSTR: u8 = 0x14;

const INT_MAX: u64 = i32::MAX as u64;
/// `MAX_SIZET` on wasm32.
const MAX_SIZET: u64 = u32::MAX as u64;
/// Smallest encoding of a function: source, linedefined, lastlinedefined (1 byte each),
/// numparams, is_vararg, maxstacksize, and the 8 counts (code, k, upvalues, protos,
/// lineinfo, abslineinfo, locvars, upvalue names) at 1 byte each.
const MIN_FUNCTION_SIZE: usize = 14;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Constant {
    Nil,
    False,
    True,
    Int(i64),
    Float(f64),
    /// A string of `len` bytes; `short` when lundump makes it a short string.
    Str {
        len: usize,
        short: bool,
    },
}

/// What a constant is, for messages: "a float", "a long string".
pub fn describe(k: &Constant) -> &'static str {
    match k {
        Constant::Nil => "nil",
        Constant::False | Constant::True => "a boolean",
        Constant::Int(_) => "an integer",
        Constant::Float(_) => "a float",
        Constant::Str { short: true, .. } => "a short string",
        Constant::Str { .. } => "a long string",
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Upvaldesc {
    pub instack: u8,
    pub idx: u8,
    pub kind: u8,
}

#[derive(Clone, Copy, Debug)]
pub struct AbsLineInfo {
    pub pc: u32,
    #[allow(dead_code)]
    pub line: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct LocVar {
    pub named: bool,
    pub startpc: u32,
    pub endpc: u32,
}

/// One prototype, as lundump fills `Proto`.
#[derive(Debug, Default)]
pub struct Proto {
    /// Index of the enclosing prototype in `Chunk::protos` (None for main).
    pub parent: Option<u32>,
    /// Position in the parent's `p` (KPROTO index).
    pub index: u32,
    pub has_source: bool,
    pub numparams: u8,
    pub is_vararg: u8,
    pub maxstacksize: u8,
    pub code: Vec<u32>,
    pub k: Vec<Constant>,
    pub upvalues: Vec<Upvaldesc>,
    /// Declared number of nested prototypes (`sizep`).
    pub sizep: u32,
    /// Indices in `Chunk::protos` of the nested prototypes, in order.
    pub p: Vec<u32>,
    pub sizelineinfo: u32,
    pub abslineinfo: Vec<AbsLineInfo>,
    pub locvars: Vec<LocVar>,
    /// Number of upvalue names (0 or `upvalues.len()`).
    pub upvalue_names: u32,
}

/// A whole chunk: `protos[0]` is the main function, the others follow in dump order.
#[derive(Debug)]
pub struct Chunk {
    /// The byte after the header: `luaF_newLclosure(L, loadByte(S))`.
    pub main_nupvalues: u8,
    pub protos: Vec<Proto>,
}

/// `LoadState`, over a slice.
struct LoadState<'a> {
    data: &'a [u8],
    pos: usize,
    protos: Vec<Proto>,
    /// Prototype being read, for error reports.
    current: Option<u32>,
}

/// `luaU_undump`. On failure, also returns the prototypes read so far (to name the
/// function that failed).
pub fn undump(data: &[u8]) -> Result<Chunk, (Fail, Vec<Proto>)> {
    let mut s = LoadState { data, pos: 0, protos: Vec::new(), current: None };
    match s.load_chunk() {
        Ok(main_nupvalues) => Ok(Chunk { main_nupvalues, protos: s.protos }),
        Err(fail) => Err((fail, s.protos)),
    }
}

impl<'a> LoadState<'a> {
    fn load_chunk(&mut self) -> Result<u8, Fail> {
        self.check_header()?;
        let main_nupvalues = self.load_byte()?;
        self.load_function()?;
        if self.pos != self.data.len() {
            return Err(Fail::chunk(
                rule::TRAILING_BYTES,
                detail!("{} bytes after the main function", self.data.len() - self.pos),
            ));
        }
        Ok(main_nupvalues)
    }

    fn error(&self, rule: &'static str, detail: Detail) -> Fail {
        Fail::new(rule, self.current, None, detail)
    }

    fn truncated(&self, what: &'static str) -> Fail {
        self.error(rule::TRUNCATED, detail!("truncated chunk at byte {} (reading {})", self.pos, what))
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// `loadBlock`.
    fn load_block(&mut self, size: usize, what: &'static str) -> Result<&'a [u8], Fail> {
        if size > self.remaining() {
            return Err(self.truncated(what));
        }
        let block = &self.data[self.pos..self.pos + size];
        self.pos += size;
        Ok(block)
    }

    /// `loadByte`.
    fn load_byte(&mut self) -> Result<u8, Fail> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated("a byte")),
        }
    }

    /// `loadUnsigned`: big-endian groups of 7 bits, the last byte marked with 0x80.
    fn load_unsigned(&mut self, limit: u64) -> Result<u64, Fail> {
        let mut x: u64 = 0;
        let limit = limit >> 7;
        loop {
            let b = self.load_byte()?;
            if x >= limit {
                return Err(self.error(rule::VARINT_OVERFLOW, detail!("integer overflow at byte {}", self.pos - 1)));
            }
            x = (x << 7) | (b & 0x7f) as u64;
            if b & 0x80 != 0 {
                return Ok(x);
            }
        }
    }

    /// `loadSize`.
    fn load_size(&mut self) -> Result<u64, Fail> {
        self.load_unsigned(MAX_SIZET)
    }

    /// `loadInt`.
    fn load_int(&mut self) -> Result<u32, Fail> {
        Ok(self.load_unsigned(INT_MAX)? as u32)
    }

    /// `loadNumber`.
    fn load_number(&mut self) -> Result<f64, Fail> {
        let b = self.load_block(8, "a float")?;
        Ok(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// `loadInteger`.
    fn load_integer(&mut self) -> Result<i64, Fail> {
        let b = self.load_block(8, "an integer")?;
        Ok(i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// `loadStringN`: None for the null string, else the string's length (its bytes are
    /// skipped: no string content matters to the checks).
    fn load_string_n(&mut self) -> Result<Option<usize>, Fail> {
        let size = self.load_size()?;
        if size == 0 {
            return Ok(None);
        }
        let len = size - 1;
        if len > self.remaining() as u64 {
            return Err(self.truncated("a string"));
        }
        self.pos += len as usize;
        Ok(Some(len as usize))
    }

    /// A count of items whose smallest encoding is `min_size` bytes each, checked against
    /// the input left before the caller allocates anything for it.
    fn load_count(&mut self, min_size: usize, what: &'static str) -> Result<usize, Fail> {
        let n = self.load_int()? as usize;
        if n.saturating_mul(min_size) > self.remaining() {
            return Err(
                self.error(rule::TRUNCATED, detail!("{} {} declared but only {} bytes left", n, what, self.remaining()))
            );
        }
        Ok(n)
    }

    /// `loadCode`.
    fn load_code(&mut self, f: &mut Proto) -> Result<(), Fail> {
        let n = self.load_count(4, "instructions")?;
        let bytes = self.load_block(n * 4, "code")?;
        f.code = bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        Ok(())
    }

    /// `loadConstants`.
    fn load_constants(&mut self, f: &mut Proto) -> Result<(), Fail> {
        let n = self.load_count(1, "constants")?;
        f.k = Vec::with_capacity(n);
        for i in 0..n {
            let t = self.load_byte()?;
            let o = match t {
                LUA_VNIL => Constant::Nil,
                LUA_VFALSE => Constant::False,
                LUA_VTRUE => Constant::True,
                LUA_VNUMFLT => Constant::Float(self.load_number()?),
                LUA_VNUMINT => Constant::Int(self.load_integer()?),
                LUA_VSHRSTR | LUA_VLNGSTR => {
                    // `loadString`
                    let Some(len) = self.load_string_n()? else {
                        return Err(self.error(
                            rule::CONSTANT_STRING,
                            detail!("constant {}: bad format for constant string (null)", i),
                        ));
                    };
                    let short = len <= LUAI_MAXSHORTLEN;
                    if short != (t == LUA_VSHRSTR) {
                        return Err(self.error(
                            rule::CONSTANT_STRING,
                            detail!("constant {}: tag {} does not match its length {}", i, Arg::Hex(t), len),
                        ));
                    }
                    Constant::Str { len, short }
                }
                _ => return Err(self.error(rule::CONSTANT_TAG, detail!("constant {}: unknown tag {}", i, Arg::Hex(t)))),
            };
            f.k.push(o);
        }
        Ok(())
    }

    /// `loadUpvalues`.
    fn load_upvalues(&mut self, f: &mut Proto) -> Result<(), Fail> {
        let n = self.load_count(3, "upvalues")?;
        let bytes = self.load_block(n * 3, "upvalue descriptors")?;
        f.upvalues = bytes.chunks_exact(3).map(|d| Upvaldesc { instack: d[0], idx: d[1], kind: d[2] }).collect();
        Ok(())
    }

    /// `loadProtos`, first half: the count (the prototypes themselves are read by
    /// `load_function`'s loop, in order, each fully before the next).
    fn load_protos(&mut self, f: &mut Proto) -> Result<(), Fail> {
        let n = self.load_count(MIN_FUNCTION_SIZE, "nested functions")?;
        f.sizep = n as u32;
        f.p = Vec::with_capacity(n);
        Ok(())
    }

    /// `loadDebug`.
    fn load_debug(&mut self, idx: u32) -> Result<(), Fail> {
        let sizelineinfo = self.load_count(1, "lineinfo entries")?;
        self.load_block(sizelineinfo, "lineinfo")?;
        let n = self.load_count(2, "abslineinfo entries")?;
        let mut abslineinfo = Vec::with_capacity(n);
        for _ in 0..n {
            let pc = self.load_int()?;
            let line = self.load_int()?;
            abslineinfo.push(AbsLineInfo { pc, line });
        }
        let n = self.load_count(3, "local variables")?;
        let mut locvars = Vec::with_capacity(n);
        for _ in 0..n {
            let named = self.load_string_n()?.is_some();
            let startpc = self.load_int()?;
            let endpc = self.load_int()?;
            locvars.push(LocVar { named, startpc, endpc });
        }
        let declared = self.load_int()?;
        let sizeupvalues = self.protos[idx as usize].upvalues.len() as u32;
        // lundump: `if (n != 0) n = f->sizeupvalues;` -- a different count would be ignored.
        if declared != 0 && declared != sizeupvalues {
            return Err(
                self.error(rule::DEBUG_UPVALUE_NAMES, detail!("{} upvalue names for {} upvalues", declared, sizeupvalues))
            );
        }
        if (declared as usize) > self.remaining() {
            return Err(self.truncated("upvalue names"));
        }
        for _ in 0..declared {
            self.load_string_n()?;
        }
        let f = &mut self.protos[idx as usize];
        f.sizelineinfo = sizelineinfo as u32;
        f.abslineinfo = abslineinfo;
        f.locvars = locvars;
        f.upvalue_names = declared;
        Ok(())
    }

    /// `loadFunction`, up to the nested prototypes: source, lines, the three bytes, code,
    /// constants, upvalues and the count of nested functions. Returns the new index.
    fn begin_function(&mut self, parent: Option<u32>, index: u32) -> Result<u32, Fail> {
        let idx = self.protos.len() as u32;
        self.protos.push(Proto { parent, index, ..Proto::default() });
        self.current = Some(idx);
        let mut f = Proto { parent, index, ..Proto::default() };
        f.has_source = self.load_string_n()?.is_some();
        self.load_int()?; // linedefined
        self.load_int()?; // lastlinedefined
        f.numparams = self.load_byte()?;
        f.is_vararg = self.load_byte()?;
        f.maxstacksize = self.load_byte()?;
        self.load_code(&mut f)?;
        self.load_constants(&mut f)?;
        self.load_upvalues(&mut f)?;
        self.load_protos(&mut f)?;
        self.protos[idx as usize] = f;
        Ok(idx)
    }

    /// `loadFunction` for the main function and, without recursion, every nested one.
    fn load_function(&mut self) -> Result<(), Fail> {
        let main = self.begin_function(None, 0)?;
        // (prototype, nested functions read so far)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        stack.push((main, 0));
        while let Some(top) = stack.last_mut() {
            let (idx, done) = *top;
            if done < self.protos[idx as usize].sizep {
                top.1 += 1;
                if stack.len() >= MAX_NESTING {
                    self.current = Some(idx);
                    return Err(self.error(rule::NESTING_DEPTH, detail!("functions nested deeper than {}", MAX_NESTING)));
                }
                let child = self.begin_function(Some(idx), done)?;
                self.protos[idx as usize].p.push(child);
                stack.push((child, 0));
            } else {
                self.current = Some(idx);
                self.load_debug(idx)?;
                stack.pop();
            }
        }
        Ok(())
    }

    /// `checkliteral`.
    fn check_literal(&mut self, s: &[u8], rule: &'static str, msg: &'static str) -> Result<(), Fail> {
        let got = self.load_block(s.len(), "the header")?;
        if got != s {
            return Err(Fail::chunk(rule, detail!(msg)));
        }
        Ok(())
    }

    /// `checkHeader` (with the first byte, which `lua_load` checks before `luaU_undump`).
    fn check_header(&mut self) -> Result<(), Fail> {
        if self.data.first() != Some(&LUA_SIGNATURE[0]) {
            return Err(Fail::chunk(rule::HEADER_SIGNATURE, detail!("not a binary chunk")));
        }
        self.check_literal(LUA_SIGNATURE, rule::HEADER_SIGNATURE, "not a binary chunk")?;
        let v = self.load_byte()?;
        if v != LUAC_VERSION {
            return Err(Fail::chunk(rule::HEADER_VERSION, detail!("version mismatch ({}, expected 0x54)", Arg::Hex(v))));
        }
        let f = self.load_byte()?;
        if f != LUAC_FORMAT {
            return Err(Fail::chunk(rule::HEADER_FORMAT, detail!("format mismatch ({}, expected 0)", f)));
        }
        self.check_literal(LUAC_DATA, rule::HEADER_DATA, "corrupted chunk (LUAC_DATA)")?;
        for (want, name) in [(4u8, "Instruction"), (8, "lua_Integer"), (8, "lua_Number")] {
            let got = self.load_byte()?;
            if got != want {
                return Err(Fail::chunk(rule::HEADER_SIZES, detail!("{} size mismatch ({}, expected {})", name, got, want)));
            }
        }
        if self.load_integer()? != LUAC_INT {
            return Err(Fail::chunk(rule::HEADER_INT, detail!("integer format mismatch")));
        }
        if self.load_number()? != LUAC_NUM {
            return Err(Fail::chunk(rule::HEADER_NUM, detail!("float format mismatch")));
        }
        Ok(())
    }
}
