//! reader.rs: lundump.c over a byte slice. It reads a binary chunk exactly as `luaU_undump`
//! does (same order, same varint rules, same sizes) and records where each prototype's
//! parts lie in the input, for rules.rs to check. Where lundump would misbehave (a huge
//! declared length allocates before reading, an unknown constant tag is silently skipped,
//! deep nesting recurses on the C stack), this reader rejects instead:
//!
//! * every declared count is checked against the bytes left BEFORE anything is allocated:
//!   a count of n items needs at least n times the item's smallest encoding;
//! * nesting is iterative (no recursion) and limited to `MAX_NESTING`;
//! * varints follow `loadUnsigned`, with `size_t` taken as wasm32's 32 bits (stricter than a
//!   64-bit host: any size that does not fit in 32 bits could not be in the input anyway).
//!
//! It also checks each prototype's shape (`check_shape`) and debug information
//! (`check_debug`) as it reads them. Those failures rank after every format failure and
//! before every code failure, in prototype order (shape before debug information), so they
//! are only recorded (`defer`) and reported once the whole chunk has been read.

use super::{Fail, Msg, NONE};
use alloc::vec::Vec;

/// Deepest function nesting accepted (main is depth 1), as `LUAI_MAXCCALLS`.
pub const MAX_NESTING: usize = 200;

const INT_MAX: u32 = i32::MAX as u32;
/// Smallest encoding of a function: source, linedefined, lastlinedefined (1 byte each),
/// numparams, is_vararg, maxstacksize, and the 8 counts (code, k, upvalues, protos,
/// lineinfo, abslineinfo, locvars, upvalue names) at 1 byte each.
const MIN_FUNCTION_SIZE: u32 = 14;
/// `MAXUPVAL` (lparser.c).
const MAXUPVAL: u32 = 255;
/// `MAXIWTHABS` (ldebug.h).
const MAXIWTHABS: u64 = 128;

/// `checkHeader`: "\x1bLua", version 0x54, format 0, `LUAC_DATA`, the sizes of Instruction,
/// lua_Integer and lua_Number (4, 8, 8), `LUAC_INT` (0x5678) and `LUAC_NUM` (370.5), little
/// endian.
const HEADER: &[u8; 31] = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08\
    \x78\x56\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x28\x77\x40";
/// The header's fields, in order: where each ends, and the failure when it differs.
const FIELDS: [(u8, Msg); 9] = [
    (4, Msg::Signature),
    (5, Msg::Version),
    (6, Msg::Format),
    (12, Msg::Data),
    (13, Msg::Sizes),
    (14, Msg::Sizes),
    (15, Msg::Sizes),
    (23, Msg::Int),
    (31, Msg::Num),
];

/// One prototype, as lundump fills `Proto`: its scalars, and where its arrays lie.
#[derive(Clone, Copy, Debug, Default)]
pub struct Proto {
    /// Index of the enclosing prototype in `Chunk::protos` (NONE for main).
    pub parent: u32,
    /// Position in the parent's `p` (KPROTO index).
    pub index: u32,
    pub numparams: u8,
    pub is_vararg: u8,
    pub maxstacksize: u8,
    /// Byte offset of the code in the input, and its number of instructions.
    pub code: usize,
    pub ncode: u32,
    /// First constant's tag in `Chunk::tags`, and the number of constants.
    pub k: usize,
    pub nk: u32,
    /// Byte offset of the upvalue descriptors (instack, idx, kind) in the input.
    pub up: usize,
    pub nup: u32,
    /// First nested prototype in `Chunk::kids`, and their number (`sizep`).
    pub p: usize,
    pub np: u32,
    /// Nested prototypes read so far.
    pub(crate) done: u32,
}

/// A chunk being read (`LoadState`), then the model rules.rs checks: `protos[0]` is the main
/// function, the others follow in dump order.
pub struct Chunk<'a> {
    pub data: &'a [u8],
    pos: usize,
    /// The byte after the header: `luaF_newLclosure(L, loadByte(S))`.
    pub main_nupvalues: u8,
    pub protos: Vec<Proto>,
    /// Every constant's tag (lobject.h `makevariant`: 0 nil, 1 false, 0x11 true, 3 integer,
    /// 0x13 float, 4 short string, 0x14 long string), prototype after prototype.
    pub tags: Vec<u8>,
    /// Indices in `protos` of each prototype's nested prototypes.
    pub kids: Vec<u32>,
    pub instructions: usize,
    /// Some prototype has a source name, line information, local or upvalue names.
    pub debug: bool,
    /// Prototype being read, for failures.
    current: u32,
    /// The first format failure.
    error: Option<Fail>,
    /// The first shape or debug-information failure (lowest prototype).
    deferred: Option<Fail>,
}

impl<'a> Chunk<'a> {
    pub fn new(data: &'a [u8]) -> Chunk<'a> {
        Chunk {
            data,
            pos: 0,
            main_nupvalues: 0,
            protos: Vec::new(),
            tags: Vec::new(),
            kids: Vec::new(),
            instructions: 0,
            debug: false,
            current: NONE,
            error: None,
            deferred: None,
        }
    }

    /// `luaU_undump`. On failure the prototypes read so far stay (to name the function).
    pub fn undump(&mut self) -> Result<(), Fail> {
        // `lua_load` looks at the first byte before `luaU_undump` runs.
        if self.data.first() != Some(&HEADER[0]) {
            self.fail(Msg::Signature, 0, 0);
        }
        let mut at = 0;
        for (end, msg) in FIELDS {
            let want = HEADER.get(at..end as usize).unwrap_or_default();
            let got = self.block(want.len());
            if got != want {
                let first = |b: &[u8]| b.first().copied().unwrap_or(0) as u32;
                self.fail(msg, first(got), first(want));
            }
            at = end as usize;
        }
        self.main_nupvalues = self.byte();
        self.functions();
        if self.pos != self.data.len() {
            self.current = NONE;
            self.fail(Msg::Trailing, (self.data.len() - self.pos) as u32, 0);
        }
        self.error.take().or(self.deferred.take()).map_or(Ok(()), Err)
    }

    /// Records the first format failure, and ends the input there: from then on every read
    /// fails (unrecorded) and yields 0xff bytes, empty blocks and zero counts, so that what
    /// is left of the reading ends quickly.
    #[inline(never)]
    fn fail(&mut self, msg: Msg, a: u32, b: u32) {
        if self.error.is_none() {
            self.error = Some(Fail::new(msg, self.current, NONE, a, b));
        }
        self.pos = self.data.len();
    }

    /// Records a shape or debug-information failure of the current prototype, unless one of
    /// a prototype before it (or an earlier one of its own) is already recorded.
    fn defer(&mut self, msg: Msg, a: u32, b: u32) {
        if self.deferred.as_ref().is_none_or(|d| d.proto() > self.current) {
            self.deferred = Some(Fail::new(msg, self.current, NONE, a, b));
        }
    }

    /// `loadBlock`: the next `n` bytes.
    fn block(&mut self, n: usize) -> &'a [u8] {
        let data = self.data;
        match data.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(b) => {
                self.pos += n;
                b
            }
            None => {
                self.fail(Msg::Truncated, self.pos as u32, 0);
                &[]
            }
        }
    }

    /// Skips `n` bytes; returns where they start.
    fn skip(&mut self, n: usize) -> usize {
        let at = self.pos;
        self.block(n);
        at
    }

    /// `loadByte`.
    fn byte(&mut self) -> u8 {
        self.block(1).first().copied().unwrap_or(0xff)
    }

    /// `loadUnsigned`: big-endian groups of 7 bits, the last byte marked with 0x80.
    fn unsigned(&mut self, limit: u32) -> u32 {
        let mut x: u32 = 0;
        loop {
            let b = self.byte();
            if x >= limit >> 7 {
                self.fail(Msg::Varint, self.pos.saturating_sub(1) as u32, 0);
                return 0;
            }
            x = (x << 7) | (b & 0x7f) as u32;
            if b & 0x80 != 0 {
                return x;
            }
        }
    }

    /// `loadInt`.
    fn int(&mut self) -> u32 {
        self.unsigned(INT_MAX)
    }

    /// `loadStringN`, skipping the bytes: the size (0 for the null string, else length + 1).
    fn string(&mut self) -> u32 {
        let size = self.unsigned(u32::MAX);
        if size != 0 {
            self.skip(size as usize - 1);
        }
        size
    }

    /// A count of items whose smallest encoding is `min_size` bytes each, checked against
    /// the input left before the caller allocates anything for it.
    fn count(&mut self, min_size: u32) -> u32 {
        let n = self.int();
        let left = self.data.len() - self.pos;
        if n as u64 * min_size as u64 > left as u64 {
            self.fail(Msg::Count, n, left as u32);
            return 0;
        }
        n
    }

    /// `loadFunction` for the main function and, without recursion, every nested one.
    fn functions(&mut self) {
        let mut idx = self.begin(NONE, 0);
        let mut depth = 1;
        loop {
            let Some(f) = self.protos.get_mut(idx as usize) else { return };
            let f = {
                f.done += 1;
                *f
            };
            if f.done <= f.np {
                if depth >= MAX_NESTING {
                    self.current = idx;
                    self.fail(Msg::Nesting, 0, 0);
                    continue;
                }
                let child = self.begin(idx, f.done - 1);
                if let Some(slot) = self.kids.get_mut(f.p + f.done as usize - 1) {
                    *slot = child;
                }
                idx = child;
                depth += 1;
            } else {
                self.current = idx;
                self.end(&f);
                if f.parent == NONE {
                    return;
                }
                idx = f.parent;
                depth -= 1;
            }
        }
    }

    /// `loadFunction` up to the nested prototypes (source, lines, the three bytes, code,
    /// constants, upvalues, the count of nested functions), then `check_shape`. Returns the
    /// new prototype's index.
    fn begin(&mut self, parent: u32, index: u32) -> u32 {
        let idx = self.protos.len() as u32;
        let mut f = Proto { parent, index, ..Proto::default() };
        self.protos.push(f);
        self.current = idx;
        if self.string() != 0 {
            self.debug = true;
        }
        self.int(); // linedefined
        self.int(); // lastlinedefined
        f.numparams = self.byte();
        f.is_vararg = self.byte();
        f.maxstacksize = self.byte();
        // `loadCode`
        f.ncode = self.count(4);
        f.code = self.skip(f.ncode as usize * 4);
        self.instructions += f.ncode as usize;
        // `loadConstants`: only the tags matter to the checks.
        f.nk = self.count(1);
        f.k = self.tags.len();
        self.tags.reserve(f.nk as usize);
        for j in 0..f.nk {
            let t = self.byte();
            match t {
                0 | 1 | 0x11 => {}
                3 | 0x13 => {
                    self.skip(8);
                }
                4 | 0x14 => {
                    let size = self.string();
                    if size == 0 {
                        self.fail(Msg::NullString, j, 0);
                    }
                    // Short strings have at most `LUAI_MAXSHORTLEN` (40) bytes.
                    if (size <= 41) != (t == 4) {
                        self.fail(Msg::StringTag, j, t as u32);
                    }
                }
                _ => self.fail(Msg::Tag, j, t as u32),
            }
            self.tags.push(t);
        }
        // `loadUpvalues`
        f.nup = self.count(3);
        f.up = self.skip(f.nup as usize * 3);
        // `loadProtos`, first half: the prototypes themselves are read by `functions`.
        f.np = self.count(MIN_FUNCTION_SIZE);
        f.p = self.kids.len();
        self.kids.resize(f.p + f.np as usize, NONE);
        if let Some(slot) = self.protos.last_mut() {
            *slot = f;
        }
        self.check_shape(idx, &f);
        idx
    }

    /// `check_shape`: what lundump stores without checking, and the upvalue descriptors
    /// against the enclosing prototype.
    fn check_shape(&mut self, idx: u32, f: &Proto) {
        if idx == 0 && self.main_nupvalues as u32 != f.nup {
            self.defer(Msg::MainUpvalues, self.main_nupvalues as u32, f.nup);
        }
        if f.is_vararg > 1 {
            self.defer(Msg::VarargFlag, f.is_vararg as u32, 0);
        }
        if f.numparams > f.maxstacksize {
            self.defer(Msg::StackSize, f.numparams as u32, f.maxstacksize as u32);
        }
        if f.nup > MAXUPVAL {
            self.defer(Msg::UpvalueCount, f.nup, 0);
        }
        // What the enclosing function has (main has none, and takes any).
        let (regs, ups) =
            self.protos.get(f.parent as usize).map_or((256, u32::MAX), |p| (p.maxstacksize as u32, p.nup));
        let descs = self.data.get(f.up..f.up + 3 * f.nup as usize).unwrap_or_default();
        for (j, d) in descs.chunks_exact(3).enumerate() {
            let limit = if d[0] == 0 { ups } else { regs };
            if d[0] > 1 || d[2] > 3 || d[1] as u32 >= limit {
                self.defer(Msg::UpvalueDesc, j as u32, d[0] as u32);
            }
        }
    }

    /// `loadDebug`, with `check_debug`: line information and local variables as ldebug.c
    /// reads them.
    fn end(&mut self, f: &Proto) {
        let n = f.ncode as u64;
        let lines = self.count(1);
        self.skip(lines as usize);
        if lines != 0 && lines as u64 != n {
            self.defer(Msg::LineInfo, lines, f.ncode);
        }
        let m = self.count(2);
        if m != 0 && lines == 0 {
            self.defer(Msg::AbsLineInfo, 0, 0);
        }
        // Entries in increasing pc order inside the code; and for getbaseline, for every pc
        // at or past the first entry's, entry pc/MAXIWTHABS - 1 must exist and not be past
        // pc: entry j covers pcs (j + 1) * 128 up to the next bucket.
        let (mut first, mut prev) = (0, 0);
        for j in 0..m {
            let pc = self.int() as u64;
            self.int(); // the line
            if j == 0 {
                first = pc;
            }
            // (Once an entry fails, the later ones no longer matter: they may assume
            // that the earlier ones passed.)
            let bucket = (j as u64 + 1) * MAXIWTHABS;
            let needed = bucket < n && first < bucket + MAXIWTHABS;
            if pc >= n || (j > 0 && pc <= prev) || (needed && pc > bucket.max(first)) {
                self.defer(Msg::AbsLineInfo, j, pc as u32);
            }
            prev = pc;
        }
        if m != 0 && (m as u64 + 1) * MAXIWTHABS < n {
            self.defer(Msg::AbsLineInfo, m, 0);
        }
        let locals = self.count(3);
        for j in 0..locals {
            let named = self.string() != 0;
            let startpc = self.int();
            let endpc = self.int();
            if !named || startpc > endpc || endpc as u64 > n {
                self.defer(Msg::LocVars, j, endpc);
            }
        }
        let names = self.int();
        // lundump: `if (n != 0) n = f->sizeupvalues;` -- a different count would be ignored.
        if names != 0 && names != f.nup {
            self.fail(Msg::UpvalueNames, names, f.nup);
        }
        // (At most the upvalue count: more are refused above.)
        for _ in 0..names.min(f.nup) {
            self.string();
        }
        if lines | m | locals | names != 0 {
            self.debug = true;
        }
    }
}
