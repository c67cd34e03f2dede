//! rules.rs: the code checks, one prototype at a time, in four passes (reader.rs has
//! already checked the prototypes' shape and debug information):
//!
//! 1. every instruction alone (dead code included: ldebug.c's symbolic execution reads all
//!    of them): opcode, operand ranges, constant types, pairings with the neighbouring
//!    instruction the VM reads or skips unconditionally, jump targets;
//! 2. instructions whose entry the VM assumes (B=0 after a top-setting instruction, SELF's
//!    key register right after the LOADK that set it): they must not be jump targets;
//! 3. numeric `for` bodies: single entry, and nothing inside may write the loop's internal
//!    registers (FORLOOP updates them with `chgivalue`/`chgfltvalue`, keeping their tag);
//! 4. a flow analysis over the reachable code: to-be-closed variables (`luaF_newtbcupval`
//!    corrupts memory unless they are created in increasing stack order and closed before
//!    the frame goes), open upvalues (a frame must close them before returning), SETLIST's
//!    table (`hvalue(R[A])` without a type check), and registers read before this
//!    activation wrote them.
//!
//! Registers a GC finalizer may run over: NEWTABLE, CONCAT and CLOSURE run a GC step with
//! `L->top` just above their result, so a finalizer's frame overwrites every register above
//! it; Lua's compiler only emits them at the top of the live registers, and the rules treat
//! them as writing every register from A up (like a call).

use super::opcodes::*;
use super::reader::{Chunk, Proto};
use super::{Fail, Msg, NONE};
use alloc::vec::Vec;

/// Largest array size NEWTABLE and SETLIST may name (C + EXTRAARG * 256). Keeps
/// `c += Ax * (MAXARG_C + 1)` (an `int`), SETLIST's `unsigned int last` (plus up to
/// LUAI_MAXSTACK values) and `luaM_reallocvector`'s `n * sizeof(TValue)` in a 32-bit
/// `size_t` far from overflow.
const MAX_ARRAY: u64 = 1 << 26;
/// Largest NEWTABLE B: `1 << (B - 1)` must fit in an `int`.
const MAX_NEWTABLE_B: i32 = 31;
/// "Every register from some A up", as the end of a register range.
const TOP: i32 = 1 << 10;
/// No registers.
const EMPTY: (i32, i32) = (1, 0);

pub fn check_chunk(c: &Chunk) -> Result<(), Fail> {
    let mut t = Scratch::default();
    for (idx, f) in c.protos.iter().enumerate() {
        let func = Func {
            c,
            idx: idx as u32,
            f,
            code: c.data.get(f.code..f.code + 4 * f.ncode as usize).unwrap_or_default(),
            tags: c.tags.get(f.k..f.k + f.nk as usize).unwrap_or_default(),
            ms: f.maxstacksize as i32,
            vararg: f.is_vararg == 1,
        };
        func.check_code(&mut t)?;
    }
    Ok(())
}

/// Buffers for the checks, reused from one prototype to the next.
#[derive(Default)]
struct Scratch {
    /// Per pc: jumped into (passes 1 and 2), then the innermost loop (3), then the block a
    /// leader starts (4).
    marks: Vec<u32>,
    loops: Vec<Loop>,
    /// Open loops (3), then blocks to visit (4).
    stack: Vec<u32>,
    /// Each block's first pc, with QUEUED while it waits on the stack.
    leaders: Vec<u32>,
    /// Each block's entry state.
    states: Vec<State>,
}

/// What `ins` reads past either end of the code: opcode 127 is none.
const NO_INS: u32 = 0x7f;

/// A block waiting to be visited (pcs are below 2^31).
const QUEUED: u32 = 1 << 31;

/// 256 registers as bits.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
struct Bits([u64; 4]);

impl Bits {
    /// Adds registers lo..=hi (none when hi < lo; clamped to 0..=255).
    fn add(&mut self, lo: i32, hi: i32) {
        for (w, word) in self.0.iter_mut().enumerate() {
            *word |= mask(w, lo, hi);
        }
    }
    /// Removes registers lo..=hi.
    fn remove(&mut self, lo: i32, hi: i32) {
        for (w, word) in self.0.iter_mut().enumerate() {
            *word &= !mask(w, lo, hi);
        }
    }
    /// The lowest of registers lo..=hi not in the set (256 if none).
    fn missing(&self, lo: i32, hi: i32) -> u32 {
        for (w, word) in self.0.iter().enumerate() {
            let m = mask(w, lo, hi) & !word;
            if m != 0 {
                return w as u32 * 64 + m.trailing_zeros();
            }
        }
        256
    }
    /// Does the set hold any of registers lo..=hi?
    fn any(&self, lo: i32, hi: i32) -> bool {
        self.0.iter().enumerate().any(|(w, word)| word & mask(w, lo, hi) != 0)
    }
}

/// Registers lo..=hi among those of word `w` (64 * w up).
fn mask(w: usize, lo: i32, hi: i32) -> u64 {
    let base = w as i32 * 64;
    below(hi + 1 - base) & !below(lo - base)
}

/// The bits below `n` (all for n >= 64, none for n <= 0).
fn below(n: i32) -> u64 {
    match n {
        ..=0 => 0,
        64.. => u64::MAX,
        _ => (1 << n) - 1,
    }
}

/// The flow analysis' state before an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
struct State {
    /// Registers that may hold a pending to-be-closed variable.
    tbc: Bits,
    /// Registers that may have an open upvalue.
    open: Bits,
    /// Registers that surely hold a table made by NEWTABLE (and have no open upvalue).
    table: Bits,
    /// Registers surely written in this activation. Any other register holds whatever an
    /// earlier frame left in that stack slot, C functions' internals included (the
    /// `luaL_Buffer` box, whose `__gc` crashes on any other argument).
    init: Bits,
}

impl State {
    /// The state where paths meet: what holds on any of them for `tbc` and `open`, on all
    /// of them for `table` and `init`.
    fn join(&mut self, o: &State) {
        for w in 0..4 {
            self.tbc.0[w] |= o.tbc.0[w];
            self.open.0[w] |= o.open.0[w];
            self.table.0[w] &= o.table.0[w];
            self.init.0[w] &= o.init.0[w];
        }
    }
}

/// The state of a block no path has reached yet: nothing `join` would change. No reached
/// block has it: `table` never holds register 255 (NEWTABLE's A is below maxstacksize).
const UNSEEN: State = State { tbc: Bits([0; 4]), open: Bits([0; 4]), table: Bits([!0; 4]), init: Bits([!0; 4]) };

/// "No successor" in `edges`: no jump target can be computed as this (pcs are below 2^31,
/// offsets below 2^25, and targets before pc 0 wrap to 2^32 - 2^25 and up).
const NO_EDGE: u32 = 0xc000_0000;

/// An instruction's successors, from `edges`: the first (the natural sequel, the next
/// instruction or the one after its EXTRAARG, unless `!natural`) and a second, never
/// natural; each NO_EDGE when absent.
fn targets(e: u64) -> [u32; 2] {
    [e as u32, (e >> 32) as u32]
}

/// `effects`' three registers.
fn unpack(e: u64) -> [i32; 3] {
    [e as i16 as i32, (e >> 16) as i16 as i32, (e >> 32) as i16 as i32]
}

/// Is the instruction's first successor its natural sequel?
fn natural(i: u32) -> bool {
    !matches!(op(i), OP_JMP | OP_LFALSESKIP | OP_TFORPREP)
}

/// A numeric for loop: FORPREP at `prep`, FORLOOP at `end`, body `prep+1..=end`.
struct Loop {
    prep: u32,
    end: u32,
    /// Index of the enclosing loop in the loop list, or NONE.
    parent: u32,
    /// Internal registers (A..A+2) of this loop and every enclosing one (from `check_loops`).
    protected: Bits,
}

struct Func<'a> {
    c: &'a Chunk<'a>,
    idx: u32,
    f: &'a Proto,
    /// The code's bytes.
    code: &'a [u8],
    /// The constants' tags.
    tags: &'a [u8],
    ms: i32,
    vararg: bool,
}

impl<'a> Func<'a> {
    fn fail(&self, msg: Msg, pc: u32, a: u32, b: u32) -> Fail {
        Fail::new(msg, self.idx, pc, a, b)
    }

    /// The instruction word at `pc`, or `NO_INS` past either end of the code.
    fn ins(&self, pc: u32) -> u32 {
        if pc < self.f.ncode {
            if let Some(w) = self.code.get(pc as usize * 4..).and_then(|w| w.first_chunk::<4>()) {
                return u32::from_le_bytes(*w);
            }
        }
        NO_INS
    }

    /// Is the word at `pc` the EXTRAARG of the instruction before it?
    fn is_extra(&self, pc: u32) -> bool {
        has_extra(self.ins(pc.wrapping_sub(1)))
    }

    fn check_code(&self, t: &mut Scratch) -> Result<(), Fail> {
        let n = self.f.ncode;
        if n == 0 {
            return Err(self.fail(Msg::CodeEmpty, NONE, 0, 0));
        }
        let last = self.ins(n - 1);
        if !is_return(op(last)) {
            return Err(self.fail(Msg::CodeEnd, n - 1, op(last) as u32, 0));
        }
        t.marks.clear();
        t.marks.resize(n as usize, 0);
        t.loops.clear();
        for pc in 0..n {
            if self.is_extra(pc) {
                continue;
            }
            let i = self.ins(pc);
            self.check_instruction(pc, i)?;
            let ts = targets(self.edges(pc, i));
            for j in 0..2 {
                let to = ts[j];
                if to == NO_EDGE {
                    continue;
                }
                if to >= n || self.is_extra(to) {
                    return Err(self.fail(Msg::JumpTarget, pc, to, 0));
                }
                if to == 0 && self.vararg {
                    return Err(self.fail(Msg::VarargJump, pc, 0, 0));
                }
                if let Some(m) = t.marks.get_mut(to as usize).filter(|_| j > 0 || !natural(i)) {
                    *m = 1;
                }
            }
            if op(i) == OP_FORPREP {
                t.loops.push(Loop { prep: pc, end: pc + 1 + bx(i), parent: NONE, protected: Bits::default() });
            }
        }
        // From here on every EXTRAARG word has passed as one (after the instruction that
        // takes it): it has no successors, writes and reads nothing, and sets no top.
        for (pc, &m) in t.marks.iter().enumerate() {
            self.check_entry(pc as u32, self.ins(pc as u32), m != 0)?;
        }
        if !t.loops.is_empty() {
            self.check_loops(t)?;
        }
        self.check_flow(t)
    }

    /// Registers lo..=hi with hi < maxstacksize (nothing to check when hi < lo).
    fn reg(&self, pc: u32, hi: i32) -> Result<(), Fail> {
        if hi >= self.ms {
            return Err(self.fail(Msg::Register, pc, hi as u32, self.ms as u32));
        }
        Ok(())
    }

    /// Constant `x`, of the type `want` asks for (opcodes.rs, `STRING`...).
    fn konst(&self, pc: u32, x: u32, want: u32) -> Result<(), Fail> {
        let Some(&t) = self.tags.get(x as usize) else {
            return Err(self.fail(Msg::KIndex, pc, x, self.f.nk));
        };
        let mask = if want & EXACT != 0 { 0xff } else { 0x0f };
        if want & TYPED != 0 && t & mask != 3 + (want >> 13 & 1) as u8 {
            return Err(self.fail(Msg::KType, pc, x, t as u32));
        }
        Ok(())
    }

    /// The instruction after `pc`, which must be an EXTRAARG; returns its Ax.
    fn extra(&self, pc: u32, i: u32) -> Result<u32, Fail> {
        match self.ins(pc + 1) {
            x if op(x) == OP_EXTRAARG => Ok(ax(x)),
            _ => Err(self.fail(Msg::NoExtra, pc, op(i) as u32, 0)),
        }
    }

    /// NEWTABLE's and SETLIST's array size or index, C + EXTRAARG * 256.
    fn array_size(&self, pc: u32, x: u32, c: i32) -> Result<(), Fail> {
        if x as u64 * 256 + c as u64 > MAX_ARRAY {
            return Err(self.fail(Msg::ArraySize, pc, x, c as u32));
        }
        Ok(())
    }

    /// Everything that can be checked on an instruction and its fixed neighbours. The
    /// order of the checks decides which rule a chunk breaking several is refused by.
    fn check_instruction(&self, pc: u32, i: u32) -> Result<(), Fail> {
        let o = op(i);
        let (ra, rb, rc) = (a(i), b(i), c(i));
        let Some(&d) = OPERANDS.get(o as usize) else {
            return Err(self.fail(Msg::Opcode, pc, o as u32, 0));
        };
        let numparams = self.f.numparams as u32;
        // VARARGPREP, with A = numparams, starts a vararg function and is nowhere else.
        if (pc == 0 && self.vararg) != (o == OP_VARARGPREP) || (o == OP_VARARGPREP && ra as u32 != numparams) {
            return Err(self.fail(Msg::VarargPrep, pc, ra as u32, numparams));
        }
        match o {
            OP_CONCAT if rb < 2 => return Err(self.fail(Msg::ConcatCount, pc, rb as u32, 0)),
            OP_VARARG if !self.vararg => return Err(self.fail(Msg::VarargOp, pc, 0, 0)),
            _ => {}
        }
        // A, B, and the register ranges from A: their highest register.
        let mut hi = top_register(d, i);
        if d & RA != 0 {
            hi = hi.max(ra);
        }
        if d & RB != 0 {
            hi = hi.max(rb);
        }
        self.reg(pc, hi)?;
        if d & (UA | UB) != 0 {
            let u = (if d & UA != 0 { ra } else { rb }) as u32;
            if u >= self.f.nup {
                return Err(self.fail(Msg::UpIndex, pc, u, self.f.nup));
            }
        }
        if d & KB != 0 {
            self.konst(pc, rb as u32, d)?;
        }
        if d & KBX != 0 {
            self.konst(pc, bx(i), 0)?;
        }
        if d & KC != 0 || (d & RK != 0 && k(i)) {
            self.konst(pc, rc as u32, if d & KB != 0 { 0 } else { d })?;
        } else if d & (RC | RK) != 0 {
            self.reg(pc, rc)?;
        }
        let next = self.ins(pc + 1);
        let vararg_c = if self.vararg { numparams as i32 + 1 } else { 0 };
        match o {
            OP_LOADKX => {
                let x = self.extra(pc, i)?;
                self.konst(pc, x, 0)?;
            }
            OP_NEWTABLE => {
                let x = self.extra(pc, i)?;
                if rb > MAX_NEWTABLE_B {
                    return Err(self.fail(Msg::HashSize, pc, rb as u32 - 1, 0));
                }
                if k(i) {
                    self.array_size(pc, x, rc)?;
                } else if x != 0 {
                    return Err(self.fail(Msg::BadExtra, pc, x, 0));
                }
            }
            OP_ADDI..=OP_SHR => {
                if !pairs(o, op(next), c(next)) {
                    return Err(self.fail(Msg::MmbinNext, pc, o as u32, 0));
                }
            }
            OP_MMBIN..=OP_MMBINK => {
                // (An EXTRAARG word before has passed as one: it pairs with nothing.)
                let prev = self.ins(pc.wrapping_sub(1));
                if !pairs(op(prev), o, rc) {
                    return Err(self.fail(Msg::MmbinPrev, pc, rc as u32, 0));
                }
            }
            OP_EQ..=OP_TESTSET => {
                if op(next) != OP_JMP {
                    return Err(self.fail(Msg::TestJump, pc, 0, 0));
                }
            }
            OP_TAILCALL..=OP_RETURN1 => {
                // C moves the frame base back over the varargs; RETURN0 and RETURN1 have none.
                if if o <= OP_RETURN { rc != vararg_c } else { self.vararg } {
                    return Err(self.fail(Msg::VarargC, pc, rc as u32, vararg_c as u32));
                }
            }
            OP_FORLOOP..=OP_TFORLOOP => self.check_pairing(pc, i)?,
            OP_SETLIST => {
                let x = if k(i) { self.extra(pc, i)? } else { 0 };
                self.array_size(pc, x, rc)?;
            }
            OP_CLOSURE => {
                if bx(i) >= self.f.np {
                    return Err(self.fail(Msg::ProtoIndex, pc, bx(i), self.f.np));
                }
            }
            // Where no instruction takes one.
            OP_EXTRAARG => return Err(self.fail(Msg::BadExtra, pc, ax(i), 0)),
            _ => {}
        }
        Ok(())
    }

    /// The for loops' pairings, all on the same A. A numeric loop is a FORPREP jumping (when
    /// the loop does not run) past the FORLOOP at x, whose back jump returns just after
    /// that FORPREP. A generic loop is a TFORPREP jumping to the TFORCALL at x, followed by
    /// a TFORLOOP whose back jump returns just after the TFORPREP.
    fn check_pairing(&self, pc: u32, i: u32) -> Result<(), Fail> {
        let o = op(i);
        let generic = o >= OP_TFORPREP;
        let x = match o {
            OP_FORPREP | OP_TFORPREP => pc + 1 + bx(i),
            OP_TFORLOOP => pc.wrapping_sub(1),
            _ => pc,
        };
        let (prep_op, loop_op, end) =
            if generic { (OP_TFORPREP, OP_TFORLOOP, x.wrapping_add(1)) } else { (OP_FORPREP, OP_FORLOOP, x) };
        let l = self.ins(end);
        let prep = end.wrapping_sub(bx(l));
        let p = self.ins(prep);
        let same = |w: u32, o: u8| op(w) == o && a(w) == a(i);
        let ok = (!generic || same(self.ins(x), OP_TFORCALL))
            && same(l, loop_op)
            // A TFORCALL is checked through its TFORLOOP.
            && (o == OP_TFORCALL || (same(p, prep_op) && prep + 1 + bx(p) == x && (o != OP_FORPREP || prep == pc)));
        if !ok {
            return Err(self.fail(if generic { Msg::TForPairing } else { Msg::ForPairing }, pc, a(i) as u32, bx(i)));
        }
        Ok(())
    }

    /// The instruction's successors (unchecked), for `targets`.
    fn edges(&self, pc: u32, i: u32) -> u64 {
        let next = pc.wrapping_add(1);
        let skip = pc.wrapping_add(2);
        let bx = bx(i);
        let (first, second) = match op(i) {
            OP_JMP => (next.wrapping_add(ax(i)).wrapping_sub(OFFSET_SJ), NO_EDGE),
            OP_EQ..=OP_TESTSET | OP_ADDI..=OP_SHR => (next, skip),
            OP_LFALSESKIP | OP_LOADKX | OP_NEWTABLE => (skip, NO_EDGE),
            OP_SETLIST if k(i) => (skip, NO_EDGE),
            OP_FORPREP => (next, skip.wrapping_add(bx)),
            OP_FORLOOP | OP_TFORLOOP => (next, next.wrapping_sub(bx)),
            OP_TFORPREP => (next.wrapping_add(bx), NO_EDGE),
            // A tail-called C function that yields comes back to the instruction after the
            // TAILCALL (ldo.c `unroll`), so TAILCALL falls through like a CALL.
            OP_RETURN..=OP_RETURN1 | OP_EXTRAARG => (NO_EDGE, NO_EDGE),
            _ => (next, NO_EDGE),
        };
        first as u64 | (second as u64) << 32
    }

    /// Instructions that rely on the one before them having run just before.
    fn check_entry(&self, pc: u32, i: u32, entered: bool) -> Result<(), Fail> {
        let o = op(i);
        let prev = self.ins(pc.wrapping_sub(1));
        // isOT(previous) == isIT(this) (lcode.c's luaK_finish asserts it); the values counted
        // from the top start above A (at A for RETURN). After a TAILCALL (reached when a
        // tail-called C function yielded and was resumed) the top is the end of its
        // results, which start at its A.
        if o != OP_VARARGPREP {
            let base = a(prev);
            let bad = if is_it(i) {
                entered || !(base > a(i) || (o == OP_RETURN && base == a(i))) || !is_ot(prev)
            } else {
                is_ot(prev)
            };
            if bad {
                return Err(self.fail(Msg::TopUse, pc, a(i) as u32, base as u32));
            }
        }
        // SELF with a register key: `tsvalue(R[C])` reads it as a string unchecked, so
        // the key must come from the LOADK/LOADKX of a string just before.
        if o == OP_SELF && !k(i) {
            let key = c(i);
            let loaded = |x: u32| self.tags.get(x as usize).is_some_and(|t| t & 0xf == 4);
            let p = self.ins(pc.wrapping_sub(2));
            // (Every EXTRAARG word has passed as one: none is a LOADK.)
            let by_loadk = op(prev) == OP_LOADK && a(prev) == key && loaded(bx(prev));
            let by_loadkx = op(p) == OP_LOADKX && a(p) == key && op(prev) == OP_EXTRAARG && loaded(ax(prev));
            if entered || !(by_loadk || by_loadkx) {
                return Err(self.fail(Msg::SelfKey, pc, key as u32, 0));
            }
        }
        Ok(())
    }

    /// A CLOSURE's upvalue descriptors (instack, idx, kind): those with instack 1 capture
    /// register idx of this frame.
    fn upvals(&self, i: u32) -> &'a [u8] {
        let c = self.c;
        let child = c.kids.get(self.f.p + bx(i) as usize).and_then(|&k| c.protos.get(k as usize));
        child.and_then(|p| c.data.get(p.up..p.up + 3 * p.nup as usize)).unwrap_or_default()
    }

    /// Registers an instruction may overwrite, lo..=hi (hi TOP: every register from lo up),
    /// and of those the ones it writes on every path, lo..=def: packed by 16 bits, for
    /// `unpack`.
    fn effects(&self, pc: u32, i: u32) -> u64 {
        let (ra, rc) = (a(i), c(i));
        let d = operands(i);
        let (lo, hi, def) = match op(i) {
            _ if d & WA != 0 => {
                let hi = top_register(d, i).max(ra);
                (ra, hi, if d & IA != 0 { hi } else { ra - 1 })
            }
            // A GC step runs with the top at A + 1: a finalizer's frame covers the rest.
            OP_NEWTABLE | OP_CLOSURE | OP_CONCAT => (ra, TOP, ra),
            OP_CALL => (ra, TOP, ra + rc - 2),
            OP_TAILCALL => (ra, TOP, ra - 1),
            OP_TFORCALL => (ra + 4, TOP, ra + 3 + rc),
            OP_TFORLOOP => (ra + 2, ra + 2, ra + 1),
            OP_VARARG => (ra, if rc == 0 { TOP } else { ra + rc - 2 }, ra + rc - 2),
            // The metamethod's result goes to the arithmetic instruction's A.
            OP_MMBIN..=OP_MMBINK => {
                let p = a(self.ins(pc.wrapping_sub(1)));
                (p, p, p)
            }
            _ => (1, 0, 0),
        };
        lo as u16 as u64 | (hi as u16 as u64) << 16 | (def as u16 as u64) << 32
    }

    /// Numeric for loops: properly nested, entered only through their FORPREP, and their
    /// internal registers (A..A+2) neither written nor captured inside the body.
    fn check_loops(&self, t: &mut Scratch) -> Result<(), Fail> {
        let Scratch { marks: innermost, loops, .. } = t;
        // The innermost loop of each pc (0: none, else index + 1), each loop's enclosing one
        // and protected registers, in one sweep: nested loops form a stack, the chain of
        // enclosing loops from `cur` (a loop-per-range fill would be quadratic for deeply
        // nested crafted loops). Loops are in FORPREP order, so overlaps are found in that
        // order.
        let mut cur = NONE;
        let mut next = 0;
        for (pc, slot) in innermost.iter_mut().enumerate() {
            while let Some(l) = loops.get(cur as usize).filter(|l| (l.end as usize) < pc) {
                cur = l.parent;
            }
            while let Some(l) = loops.get(next).filter(|l| (l.prep as usize) < pc) {
                let (prep, end, mut protected) = (l.prep, l.end, Bits::default());
                let ra = a(self.ins(prep));
                protected.add(ra, ra + 2);
                if let Some(outer) = loops.get(cur as usize) {
                    if outer.end < end {
                        return Err(self.fail(Msg::ForOverlap, prep, outer.prep, 0));
                    }
                    for w in 0..4 {
                        protected.0[w] |= outer.protected.0[w];
                    }
                }
                if let Some(l) = loops.get_mut(next) {
                    l.parent = cur;
                    l.protected = protected;
                }
                cur = next as u32;
                next += 1;
            }
            *slot = cur.wrapping_add(1);
        }
        let inner = |pc: u32| innermost.get(pc as usize).and_then(|&j| loops.get((j as usize).wrapping_sub(1)));
        for pc in 0..self.f.ncode {
            let i = self.ins(pc);
            let ts = targets(self.edges(pc, i));
            for j in 0..2 {
                let to = ts[j];
                let Some(l) = inner(to) else { continue };
                let from_prep = pc == l.prep && j == 0 && natural(i);
                if !(l.prep < pc && pc <= l.end) && !from_prep {
                    return Err(self.fail(Msg::ForJump, pc, to, l.prep));
                }
            }
            let Some(mut l) = inner(pc) else { continue };
            if op(i) == OP_FORLOOP && pc == l.end {
                // A loop's own FORLOOP updates its registers; check the enclosing loops.
                match loops.get(l.parent as usize) {
                    Some(parent) => l = parent,
                    None => continue,
                }
            }
            let [lo, hi, _] = unpack(self.effects(pc, i));
            let mut hit = l.protected.any(lo, hi);
            if op(i) == OP_CLOSURE {
                for d in self.upvals(i).chunks_exact(3) {
                    if let [1, r, _] = *d {
                        hit |= l.protected.any(r as i32, r as i32);
                    }
                }
            }
            if hit {
                return Err(self.fail(Msg::ForWrite, pc, l.prep, 0));
            }
        }
        Ok(())
    }

    /// Registers lo..=hi must have been written (`register-init`).
    fn need(&self, pc: u32, s: &State, lo: i32, hi: i32) -> Result<(), Fail> {
        let r = s.init.missing(lo, hi);
        if r < 256 {
            return Err(self.fail(Msg::Init, pc, r, 0));
        }
        Ok(())
    }

    /// One instruction of the flow analysis: checks `s` (when `check`), then applies what
    /// happens on every path out of it (`edge_writes` adds what depends on the path).
    fn step(&self, pc: u32, i: u32, s: &mut State, check: bool) -> Result<(), Fail> {
        let o = op(i);
        let (ra, rb, rc) = (a(i), b(i), c(i));
        let ups = if o == OP_CLOSURE { self.upvals(i) } else { &[] };
        if check {
            // Registers read (counts that come from the top start at the top-setting
            // instruction's A, which wrote them), and registers captured (but the
            // CLOSURE's own A).
            let d = operands(i);
            let base = a(self.ins(pc.wrapping_sub(1)));
            let counted = |extra: i32| if rb == 0 { base - 1 } else { ra + rb + extra };
            let (lo, hi) = match o {
                OP_CONCAT => (ra, ra + rb - 1),
                OP_CALL | OP_TAILCALL => (ra, counted(-1)),
                OP_RETURN => (ra, counted(-2)),
                OP_SETLIST => (ra, counted(0)),
                OP_FORPREP | OP_FORLOOP | OP_TFORCALL => (ra, ra + 2),
                OP_TFORPREP => (ra + 3, ra + 3),
                OP_TFORLOOP => (ra + 4, ra + 4),
                _ if d & XA != 0 => (ra, ra),
                _ => EMPTY,
            };
            self.need(pc, s, lo, hi)?;
            if d & RB != 0 {
                self.need(pc, s, rb, rb)?;
            }
            if d & RC != 0 || (d & RK != 0 && !k(i)) {
                self.need(pc, s, rc, rc)?;
            }
            for d in ups.chunks_exact(3) {
                if let [1, r, _] = *d {
                    if r as i32 != ra {
                        self.need(pc, s, r as i32, r as i32)?;
                    }
                }
            }
            // The registers a pending to-be-closed variable or an open upvalue must not be
            // on: from the new variable's, from the lowest slot where a call (or a GC
            // finalizer run with the top just above A) can put a frame, all when the
            // function returns without closing them; and a numeric loop's internal
            // registers.
            let (tbc_lo, open_lo, open_hi) = match o {
                OP_TBC => (ra, TOP, TOP),
                OP_TFORPREP => (ra + 3, TOP, TOP),
                OP_RETURN if k(i) => (TOP, TOP, TOP),
                OP_RETURN0 | OP_RETURN1 | OP_RETURN => (0, 0, TOP),
                OP_TAILCALL => (0, if k(i) { TOP } else { 0 }, TOP),
                OP_TFORCALL => (ra + 4, ra + 4, TOP),
                OP_CALL | OP_CONCAT | OP_NEWTABLE | OP_CLOSURE => (ra, ra, TOP),
                OP_FORPREP => (TOP, ra, ra + 2),
                _ => (TOP, TOP, TOP),
            };
            if s.tbc.any(tbc_lo, TOP) {
                return Err(self.fail(Msg::Tbc, pc, tbc_lo as u32, 0));
            }
            if s.open.any(open_lo, open_hi) {
                let msg = if o == OP_FORPREP { Msg::ForOpen } else { Msg::Open };
                return Err(self.fail(msg, pc, open_lo as u32, 0));
            }
            if o == OP_SETLIST && !s.table.any(ra, ra) {
                return Err(self.fail(Msg::SetlistTable, pc, ra as u32, 0));
            }
        }
        let [lo, hi, def] = unpack(self.effects(pc, i));
        s.table.remove(lo, hi);
        // Frames and GC finalizers leave their own values above what they define.
        if hi == TOP {
            s.init.remove(lo, hi);
        }
        s.init.add(lo, def);
        match o {
            OP_NEWTABLE if !s.open.any(ra, ra) => s.table.add(ra, ra),
            OP_CLOSURE => {
                for d in ups.chunks_exact(3) {
                    if let [1, r, _] = *d {
                        s.open.add(r as i32, r as i32);
                        s.table.remove(r as i32, r as i32);
                    }
                }
            }
            OP_TBC | OP_TFORPREP => {
                let r = if o == OP_TBC { ra } else { ra + 3 };
                s.tbc.add(r, r);
            }
            OP_CLOSE => {
                s.tbc.remove(ra, TOP);
                s.open.remove(ra, TOP);
            }
            // `luaF_closeupval(L, base)` before the call.
            OP_TAILCALL if k(i) => s.open.remove(0, TOP),
            _ => {}
        }
        Ok(())
    }

    /// Adds to `init` the registers written only on one edge out of an instruction (after
    /// `step`).
    fn edge_writes(&self, i: u32, natural: bool, init: &mut Bits) {
        // Success skips the MMBIN and writes A; failure goes to the MMBIN, which does.
        // TESTSET's R[A] := R[B] happens on the path that takes the JMP. Entering a numeric
        // loop sets A..A+3 (a skipped float loop leaves A+3 alone); TFORLOOP's jump back
        // sets A+2.
        let d = operands(i);
        let kind = d >> 29 & 3;
        if kind != 0 && (d & ON_SKIP == 0) == natural {
            let lo = a(i) + if kind == 3 { 2 } else { 0 };
            init.add(lo, lo + if kind == 2 { 3 } else { 0 });
        }
    }

    /// Runs a basic block from `pc` (stepping `s`) up to its last instruction, whose pc it
    /// returns.
    fn walk(&self, mut pc: u32, s: &mut State, check: bool, block: &[u32]) -> Result<u32, Fail> {
        loop {
            let i = self.ins(pc);
            self.step(pc, i, s, check)?;
            let [next, other] = targets(self.edges(pc, i));
            if other != NO_EDGE || !natural(i) || block.get(next as usize) != Some(&NONE) {
                return Ok(pc);
            }
            self.edge_writes(i, true, &mut s.init);
            pc = next;
        }
    }

    /// The flow analysis: a worklist over basic blocks to a fixpoint (`tbc` and `open` only
    /// grow, `table` and `init` only shrink), then one checking pass over the reachable
    /// blocks, in pc order.
    fn check_flow(&self, t: &mut Scratch) -> Result<(), Fail> {
        let Scratch { marks: block, leaders, states, stack: work, .. } = t;
        // Leaders: the entry, every non-natural target, and every target of an
        // instruction with more than one successor. `block[pc]`: the block a leader starts.
        block.fill(NONE);
        if let Some(b) = block.first_mut() {
            *b = 0;
        }
        leaders.clear();
        leaders.push(QUEUED);
        for pc in 0..self.f.ncode {
            let i = self.ins(pc);
            let [first, second] = targets(self.edges(pc, i));
            // (NO_EDGE is no pc.)
            for to in [if second == NO_EDGE && natural(i) { NO_EDGE } else { first }, second] {
                if let Some(b) = block.get_mut(to as usize) {
                    if *b == NONE {
                        *b = leaders.len() as u32;
                        leaders.push(to);
                    }
                }
            }
        }
        states.clear();
        states.resize(leaders.len(), UNSEEN);
        if let Some(s) = states.first_mut() {
            *s = State::default();
            s.init.add(0, self.f.numparams as i32 - 1);
        }
        work.clear();
        work.push(0);
        while let Some(b) = work.pop() {
            let (Some(leader), Some(&(mut s))) = (leaders.get_mut(b as usize), states.get(b as usize)) else {
                continue;
            };
            *leader &= !QUEUED;
            let pc = self.walk(*leader, &mut s, false, block)?;
            let i = self.ins(pc);
            let ts = targets(self.edges(pc, i));
            for j in 0..2 {
                let to = ts[j];
                let Some(&t) = block.get(to as usize) else { continue };
                let (Some(slot), Some(leader)) = (states.get_mut(t as usize), leaders.get_mut(t as usize)) else {
                    continue;
                };
                let mut merged = s;
                self.edge_writes(i, j == 0 && natural(i), &mut merged.init);
                merged.join(slot);
                if *slot != merged {
                    *slot = merged;
                    if *leader & QUEUED == 0 {
                        *leader |= QUEUED;
                        work.push(t);
                    }
                }
            }
        }
        for (pc, &b) in block.iter().enumerate() {
            if let Some(&s) = states.get(b as usize) {
                if s != UNSEEN {
                    self.walk(pc as u32, &mut { s }, true, block)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let mut r = Bits::default();
        r.add(3, 70);
        assert!(r.any(3, 3) && r.any(63, 64) && r.any(70, 80) && !r.any(0, 2) && !r.any(71, TOP));
        assert_eq!((r.missing(0, 10), r.missing(3, 70), r.missing(60, 90)), (0, 256, 71));
        let mut all = Bits::default();
        all.add(-5, TOP);
        assert_eq!(all, Bits([u64::MAX; 4]));
        for (lo, hi) in [(5, 4), (0, -1), (300, 400), EMPTY] {
            let mut m = Bits::default();
            m.add(lo, hi);
            assert_eq!(m, Bits::default());
        }
        let mut m = Bits::default();
        m.add(64, 127);
        assert_eq!(m, Bits([0, u64::MAX, 0, 0]));
        m.add(200, 200);
        m.add(256, 256); // ignored
        m.remove(0, 150);
        assert_eq!(m, Bits([0, 0, 0, 1 << 8]));
        assert!(!m.any(0, 199) && m.any(150, TOP) && !m.any(201, 255));
        assert_eq!(Bits::default().missing(0, TOP), 0);
    }

    #[test]
    fn metamethod_pairings_match_lcode() {
        assert!(pairs(OP_ADD, OP_MMBIN, 6) && pairs(OP_SHR, OP_MMBIN, 17) && !pairs(OP_ADD, OP_MMBIN, 7));
        assert!(pairs(OP_ADDK, OP_MMBINK, 6) && pairs(OP_BXORK, OP_MMBINK, 15) && !pairs(OP_ADDK, OP_MMBIN, 6));
        assert!(pairs(OP_ADDI, OP_MMBINI, TM_ADD) && pairs(OP_ADDI, OP_MMBINI, TM_SUB));
        assert!(
            pairs(OP_SHRI, OP_MMBINI, TM_SHL)
                && pairs(OP_SHLI, OP_MMBINI, TM_SHL)
                && !pairs(OP_SHLI, OP_MMBINI, TM_SHR)
        );
        assert!(!pairs(OP_MMBIN, OP_MMBIN, 6) && !pairs(OP_UNM, OP_MMBIN, 6));
        assert_eq!(OPERANDS.len(), NUM_OPCODES as usize);
    }
}
