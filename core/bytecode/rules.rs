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

/// A block waiting to be visited (pcs are below 2^31).
const QUEUED: u32 = 1 << 31;

/// 256 registers as bits.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
struct Bits([u64; 4]);

impl Bits {
    /// Registers lo..=hi (none when hi < lo), clamped to 0..=255.
    fn range(lo: i32, hi: i32) -> Bits {
        let mut m = Bits::default();
        let (lo, hi) = (lo.max(0), hi.min(255));
        if lo <= hi {
            // Bits below hi + 1, less those below lo.
            for (w, word) in m.0.iter_mut().enumerate() {
                let base = w as i32 * 64;
                *word = below(hi + 1 - base) & !below(lo - base);
            }
        }
        m
    }
    fn of((lo, hi): (i32, i32)) -> Bits {
        Bits::range(lo, hi)
    }
    fn one(r: i32) -> Bits {
        let mut m = Bits::default();
        if let Some(w) = m.0.get_mut((r >> 6) as usize) {
            *w = 1 << (r & 63);
        }
        m
    }
    fn has(&self, r: i32) -> bool {
        self.intersects(Bits::one(r))
    }
    fn union(&mut self, m: Bits) {
        for w in 0..4 {
            self.0[w] |= m.0[w];
        }
    }
    fn intersect(&mut self, m: Bits) {
        for w in 0..4 {
            self.0[w] &= m.0[w];
        }
    }
    fn clear(&mut self, m: Bits) {
        for w in 0..4 {
            self.0[w] &= !m.0[w];
        }
    }
    fn intersects(&self, m: Bits) -> bool {
        let mut x = *self;
        x.intersect(m);
        !x.is_empty()
    }
    fn is_empty(&self) -> bool {
        self.0.iter().fold(0, |x, w| x | w) == 0
    }
    /// The lowest register (256 when empty).
    fn min(&self) -> u32 {
        let mut base = 0;
        for w in self.0 {
            if w != 0 {
                return base + w.trailing_zeros();
            }
            base += 64;
        }
        base
    }
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
        self.tbc.union(o.tbc);
        self.open.union(o.open);
        self.table.intersect(o.table);
        self.init.intersect(o.init);
    }
}

/// The state of a block no path has reached yet: nothing `join` would change. No reached
/// block has it: `table` never holds register 255 (NEWTABLE's A is below maxstacksize).
const UNSEEN: State = State { tbc: Bits([0; 4]), open: Bits([0; 4]), table: Bits([!0; 4]), init: Bits([!0; 4]) };

/// An instruction's successors: `to[..n]`; only the first can be the natural sequel (the
/// next instruction, or the one after its EXTRAARG).
struct Edges {
    to: [u32; 2],
    n: usize,
    natural: bool,
}

/// A numeric for loop: FORPREP at `prep`, FORLOOP at `end`, body `prep+1..=end`.
struct Loop {
    prep: u32,
    end: u32,
    /// Index of the enclosing loop in the loop list, or NONE.
    parent: u32,
    /// Internal registers (A..A+2) of this loop and every enclosing one.
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

    /// The instruction word at `pc`, if there is one.
    fn ins(&self, pc: u32) -> Option<u32> {
        let w = self.code.get(pc as usize * 4..)?.first_chunk::<4>()?;
        Some(u32::from_le_bytes(*w))
    }

    /// The instruction at `pc`, unless that word is the EXTRAARG of the one before it.
    fn word(&self, pc: u32) -> Option<u32> {
        if self.is_extra(pc) {
            return None;
        }
        self.ins(pc)
    }

    /// Is the word at `pc` the EXTRAARG of the instruction before it?
    fn is_extra(&self, pc: u32) -> bool {
        self.ins(pc.wrapping_sub(1)).is_some_and(has_extra)
    }

    fn check_code(&self, t: &mut Scratch) -> Result<(), Fail> {
        let n = self.f.ncode;
        let Some(last) = self.ins(n.wrapping_sub(1)) else {
            return Err(self.fail(Msg::CodeEmpty, NONE, 0, 0));
        };
        if !is_return(op(last)) {
            return Err(self.fail(Msg::CodeEnd, n - 1, op(last) as u32, 0));
        }
        t.marks.clear();
        t.marks.resize(n as usize, 0);
        t.loops.clear();
        for pc in 0..n {
            let Some(i) = self.word(pc) else { continue };
            self.check_instruction(pc, i)?;
            let e = self.edges(pc, i);
            for (j, &to) in e.to[..e.n].iter().enumerate() {
                if to >= n || self.is_extra(to) {
                    return Err(self.fail(Msg::JumpTarget, pc, to, 0));
                }
                if to == 0 && self.vararg {
                    return Err(self.fail(Msg::VarargJump, pc, 0, 0));
                }
                if let Some(m) = t.marks.get_mut(to as usize).filter(|_| j > 0 || !e.natural) {
                    *m = 1;
                }
            }
            if op(i) == OP_FORPREP {
                t.loops.push(Loop {
                    prep: pc,
                    end: pc + 1 + bx(i),
                    parent: NONE,
                    protected: Bits::range(a(i), a(i) + 2),
                });
            }
        }
        for (pc, &m) in t.marks.iter().enumerate() {
            if let Some(i) = self.word(pc as u32) {
                self.check_entry(pc as u32, i, m != 0)?;
            }
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
        if t as u32 & (want >> 16 & 0xff) != want >> 24 {
            return Err(self.fail(Msg::KType, pc, x, t as u32));
        }
        Ok(())
    }

    /// The instruction after `pc`, which must be an EXTRAARG; returns its Ax.
    fn extra(&self, pc: u32, i: u32) -> Result<u32, Fail> {
        match self.ins(pc + 1) {
            Some(x) if op(x) == OP_EXTRAARG => Ok(ax(x)),
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
        if pc == 0 && self.vararg && o != OP_VARARGPREP {
            return Err(self.fail(Msg::VarargPrep, pc, ra as u32, numparams));
        }
        match o {
            OP_CONCAT if rb < 2 => return Err(self.fail(Msg::ConcatCount, pc, rb as u32, 0)),
            OP_VARARG if !self.vararg => return Err(self.fail(Msg::VarargOp, pc, 0, 0)),
            _ => {}
        }
        // A, B, and the register ranges from A: their highest register. (RETURN and
        // RETURN0 with no values may name A = maxstacksize, one past the last register.)
        let mut hi = match o {
            OP_LOADNIL => ra + rb,
            OP_SELF => ra + 1,
            OP_CONCAT | OP_TAILCALL => ra + rb - 1,
            OP_CALL => (ra + rb - 1).max(ra + rc - 2),
            OP_RETURN => ra + rb.max(1) - 2,
            OP_RETURN0 => ra - 1,
            OP_FORLOOP | OP_FORPREP | OP_TFORPREP => ra + 3,
            OP_TFORCALL => (ra + 6).max(ra + 3 + rc),
            OP_TFORLOOP => ra + 4,
            OP_SETLIST => ra + rb,
            OP_VARARG => ra + rc - 2,
            _ => -1,
        };
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
                if !next.is_some_and(|n| pairs(o, op(n), c(n))) {
                    return Err(self.fail(Msg::MmbinNext, pc, o as u32, 0));
                }
            }
            OP_MMBIN..=OP_MMBINK => {
                let prev = if self.is_extra(pc.wrapping_sub(1)) { None } else { self.ins(pc.wrapping_sub(1)) };
                if !prev.is_some_and(|p| pairs(op(p), o, rc)) {
                    return Err(self.fail(Msg::MmbinPrev, pc, rc as u32, 0));
                }
            }
            OP_EQ..=OP_TESTSET => {
                if next.is_none_or(|n| op(n) != OP_JMP) {
                    return Err(self.fail(Msg::TestJump, pc, 0, 0));
                }
            }
            OP_TAILCALL | OP_RETURN => {
                // C moves the frame base back over the varargs.
                if rc != vararg_c {
                    return Err(self.fail(Msg::VarargC, pc, rc as u32, vararg_c as u32));
                }
            }
            OP_RETURN0 | OP_RETURN1 => {
                if self.vararg {
                    return Err(self.fail(Msg::VarargReturn, pc, 0, 0));
                }
            }
            OP_FORLOOP | OP_FORPREP => self.check_for(pc, i)?,
            OP_TFORPREP..=OP_TFORLOOP => self.check_tfor(pc, i)?,
            OP_SETLIST => {
                let x = if k(i) { self.extra(pc, i)? } else { 0 };
                self.array_size(pc, x, rc)?;
            }
            OP_CLOSURE => {
                if bx(i) >= self.f.np {
                    return Err(self.fail(Msg::ProtoIndex, pc, bx(i), self.f.np));
                }
            }
            OP_VARARGPREP => {
                if pc != 0 || !self.vararg || ra as u32 != numparams {
                    return Err(self.fail(Msg::VarargPrep, pc, ra as u32, numparams));
                }
            }
            // Where no instruction takes one.
            OP_EXTRAARG => return Err(self.fail(Msg::BadExtra, pc, ax(i), 0)),
            _ => {}
        }
        Ok(())
    }

    /// FORPREP jumps (when the loop does not run) past a FORLOOP with the same A, whose
    /// back jump returns just after the FORPREP.
    fn check_for(&self, pc: u32, i: u32) -> Result<(), Fail> {
        let (prep, end) = if op(i) == OP_FORPREP { (pc, pc + 1 + bx(i)) } else { (pc.wrapping_sub(bx(i)), pc) };
        let ok = match (self.ins(prep), self.ins(end)) {
            (Some(p), Some(e)) => {
                op(p) == OP_FORPREP
                    && op(e) == OP_FORLOOP
                    && a(p) == a(i)
                    && a(e) == a(i)
                    && prep + 1 + bx(p) == end
                    && end.wrapping_sub(bx(e)) == prep
            }
            _ => false,
        };
        if !ok {
            return Err(self.fail(Msg::ForPairing, pc, a(i) as u32, bx(i)));
        }
        Ok(())
    }

    /// TFORPREP jumps to a TFORCALL with the same A, followed by a TFORLOOP with the same A
    /// whose back jump returns just after the TFORPREP.
    fn check_tfor(&self, pc: u32, i: u32) -> Result<(), Fail> {
        let call = match op(i) {
            OP_TFORPREP => pc + 1 + bx(i),
            OP_TFORCALL => pc,
            _ => pc.wrapping_sub(1),
        };
        let ok = match (self.ins(call), self.ins(call.wrapping_add(1))) {
            (Some(tc), Some(tl))
                if op(tc) == OP_TFORCALL && op(tl) == OP_TFORLOOP && a(tc) == a(i) && a(tl) == a(i) =>
            {
                // A TFORCALL is checked through its TFORLOOP.
                op(i) == OP_TFORCALL || {
                    let prep = (call + 1).wrapping_sub(bx(tl));
                    self.ins(prep).is_some_and(|p| op(p) == OP_TFORPREP && a(p) == a(i) && prep + 1 + bx(p) == call)
                }
            }
            _ => false,
        };
        if !ok {
            return Err(self.fail(Msg::TForPairing, pc, a(i) as u32, 0));
        }
        Ok(())
    }

    /// The instruction's successors (unchecked).
    fn edges(&self, pc: u32, i: u32) -> Edges {
        let next = pc.wrapping_add(1);
        let skip = pc.wrapping_add(2);
        let bx = bx(i);
        let (n, first, second, natural) = match op(i) {
            OP_JMP => (1, next.wrapping_add(ax(i)).wrapping_sub(OFFSET_SJ), 0, false),
            OP_EQ..=OP_TESTSET | OP_ADDI..=OP_SHR => (2, next, skip, true),
            OP_LFALSESKIP => (1, skip, 0, false),
            OP_LOADKX | OP_NEWTABLE => (1, skip, 0, true),
            OP_SETLIST if k(i) => (1, skip, 0, true),
            OP_FORPREP => (2, next, skip.wrapping_add(bx), true),
            OP_FORLOOP | OP_TFORLOOP => (2, next, next.wrapping_sub(bx), true),
            OP_TFORPREP => (1, next.wrapping_add(bx), 0, false),
            // A tail-called C function that yields comes back to the instruction after the
            // TAILCALL (ldo.c `unroll`), so TAILCALL falls through like a CALL.
            OP_RETURN..=OP_RETURN1 | OP_EXTRAARG => (0, 0, 0, false),
            _ => (1, next, 0, true),
        };
        Edges { to: [first, second], n, natural }
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
            let it = is_it(i);
            let base = prev.map_or(-1, a);
            let bad = match prev {
                Some(p) if it => entered || !(base > a(i) || (o == OP_RETURN && base == a(i))) || !is_ot(p),
                _ => it || prev.is_some_and(is_ot),
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
            let by_loadk =
                prev.is_some_and(|p| op(p) == OP_LOADK && a(p) == key && loaded(bx(p))) && !self.is_extra(pc - 1);
            let by_loadkx = self.ins(pc.wrapping_sub(2)).is_some_and(|p| op(p) == OP_LOADKX && a(p) == key)
                && prev.is_some_and(|x| op(x) == OP_EXTRAARG && loaded(ax(x)));
            if entered || !(by_loadk || by_loadkx) {
                return Err(self.fail(Msg::SelfKey, pc, key as u32, 0));
            }
        }
        Ok(())
    }

    /// The registers a CLOSURE's prototype captures from this frame.
    fn captures(&self, i: u32) -> Bits {
        let mut m = Bits::default();
        let child = self.c.kids.get(self.f.p + bx(i) as usize).and_then(|&c| self.c.protos.get(c as usize));
        if let Some(child) = child {
            let descs = self.c.data.get(child.up..).unwrap_or_default();
            for d in descs.chunks_exact(3).take(child.nup as usize) {
                if d[0] == 1 {
                    m.union(Bits::one(d[1] as i32));
                }
            }
        }
        m
    }

    /// Registers an instruction may overwrite (TOP: every register from lo up), and those
    /// it writes on every path (both lo..=hi).
    fn effects(&self, pc: u32, i: u32) -> [(i32, i32); 2] {
        let (ra, rb, rc) = (a(i), b(i), c(i));
        let d = OPERANDS.get(op(i) as usize).copied().unwrap_or(0);
        match op(i) {
            _ if d & WA != 0 => [(ra, ra), if d & IA != 0 { (ra, ra) } else { EMPTY }],
            OP_LOADNIL => [(ra, ra + rb); 2],
            OP_SELF => [(ra, ra + 1); 2],
            // A GC step runs with the top at A + 1: a finalizer's frame covers the rest.
            OP_NEWTABLE | OP_CLOSURE | OP_CONCAT => [(ra, TOP), (ra, ra)],
            OP_CALL => [(ra, TOP), (ra, ra + rc - 2)],
            OP_TAILCALL => [(ra, TOP), EMPTY],
            OP_TFORCALL => [(ra + 4, TOP), (ra + 4, ra + 3 + rc)],
            OP_TFORLOOP => [(ra + 2, ra + 2), EMPTY],
            OP_FORPREP | OP_FORLOOP => [(ra, ra + 3), EMPTY],
            OP_VARARG => [(ra, if rc == 0 { TOP } else { ra + rc - 2 }), (ra, ra + rc - 2)],
            // The metamethod's result goes to the arithmetic instruction's A.
            OP_MMBIN..=OP_MMBINK => match self.ins(pc.wrapping_sub(1)) {
                Some(p) => [(a(p), a(p)); 2],
                None => [EMPTY; 2],
            },
            _ => [EMPTY; 2],
        }
    }

    /// Numeric for loops: properly nested, entered only through their FORPREP, and their
    /// internal registers (A..A+2) neither written nor captured inside the body.
    fn check_loops(&self, t: &mut Scratch) -> Result<(), Fail> {
        let Scratch { marks: innermost, loops, stack, .. } = t;
        // The innermost loop of each pc (0: none, else index + 1), each loop's enclosing one
        // and protected registers, in one sweep: nested loops form a stack (a loop-per-range
        // fill would be quadratic for deeply nested crafted loops). Loops are in FORPREP
        // order, so overlaps are found in that order.
        stack.clear();
        let mut next = 0;
        for (pc, slot) in innermost.iter_mut().enumerate() {
            while stack.last().and_then(|&j| loops.get(j as usize)).is_some_and(|l| (l.end as usize) < pc) {
                stack.pop();
            }
            while let Some(l) = loops.get(next).filter(|l| (l.prep as usize) < pc) {
                let (prep, end) = (l.prep, l.end);
                let top = stack.last().copied().unwrap_or(NONE);
                if let Some(outer) = loops.get(top as usize) {
                    if outer.end < end {
                        return Err(self.fail(Msg::ForOverlap, prep, outer.prep, 0));
                    }
                    let protected = outer.protected;
                    if let Some(l) = loops.get_mut(next) {
                        l.parent = top;
                        l.protected.union(protected);
                    }
                }
                stack.push(next as u32);
                next += 1;
            }
            *slot = stack.last().map_or(0, |&j| j + 1);
        }
        let inner = |pc: u32| innermost.get(pc as usize).and_then(|&j| loops.get((j as usize).wrapping_sub(1)));
        for pc in 0..self.f.ncode {
            let Some(i) = self.word(pc) else { continue };
            let e = self.edges(pc, i);
            for (j, &to) in e.to[..e.n].iter().enumerate() {
                let Some(l) = inner(to) else { continue };
                let from_prep = pc == l.prep && j == 0 && e.natural;
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
            let mut w = Bits::of(self.effects(pc, i)[0]);
            if op(i) == OP_CLOSURE {
                w.union(self.captures(i));
            }
            if l.protected.intersects(w) {
                return Err(self.fail(Msg::ForWrite, pc, l.prep, 0));
            }
        }
        Ok(())
    }

    /// One instruction of the flow analysis: checks `s` (when `check`), then applies what
    /// happens on every path out of it (`edge_writes` adds what depends on the path).
    fn step(&self, pc: u32, i: u32, s: &mut State, check: bool) -> Result<(), Fail> {
        let o = op(i);
        let (ra, rb, rc) = (a(i), b(i), c(i));
        let caps = if o == OP_CLOSURE { self.captures(i) } else { Bits::default() };
        // The lowest slot a call (or a GC finalizer run with the top just above A) can
        // put a frame on.
        let frame = match o {
            OP_TFORCALL => ra + 4,
            OP_CALL | OP_CONCAT | OP_NEWTABLE | OP_CLOSURE => ra,
            _ => TOP,
        };
        if check {
            // Registers read (counts that come from the top start at the top-setting
            // instruction's A, which wrote them), and registers captured (but the
            // CLOSURE's own A).
            let d = OPERANDS.get(o as usize).copied().unwrap_or(0);
            let mut need = caps;
            need.clear(Bits::one(ra));
            if d & XA != 0 {
                need.union(Bits::one(ra));
            }
            if d & RB != 0 {
                need.union(Bits::one(rb));
            }
            if d & RC != 0 || (d & RK != 0 && !k(i)) {
                need.union(Bits::one(rc));
            }
            let base = self.ins(pc.wrapping_sub(1)).map_or(ra, a);
            let counted = |extra: i32| if rb == 0 { base - 1 } else { ra + rb + extra };
            need.union(Bits::of(match o {
                OP_CONCAT => (ra, ra + rb - 1),
                OP_CALL | OP_TAILCALL => (ra, counted(-1)),
                OP_RETURN => (ra, counted(-2)),
                OP_SETLIST => (ra, counted(0)),
                OP_FORPREP | OP_FORLOOP | OP_TFORCALL => (ra, ra + 2),
                OP_TFORPREP => (ra + 3, ra + 3),
                OP_TFORLOOP => (ra + 4, ra + 4),
                _ => EMPTY,
            }));
            need.clear(s.init);
            if !need.is_empty() {
                return Err(self.fail(Msg::Init, pc, need.min(), 0));
            }
            // The lowest register a pending to-be-closed variable or an open upvalue must
            // not be on: the new variable's, the frame's, or any when the function returns
            // without closing them.
            let (tbc_lo, open_lo) = match o {
                OP_TBC => (ra, TOP),
                OP_TFORPREP => (ra + 3, TOP),
                OP_RETURN if k(i) => (TOP, TOP),
                OP_RETURN0 | OP_RETURN1 | OP_RETURN => (0, 0),
                OP_TAILCALL => (0, if k(i) { TOP } else { 0 }),
                _ => (frame, frame),
            };
            if s.tbc.intersects(Bits::range(tbc_lo, TOP)) {
                return Err(self.fail(Msg::Tbc, pc, tbc_lo as u32, 0));
            }
            if s.open.intersects(Bits::range(open_lo, TOP)) {
                return Err(self.fail(Msg::Open, pc, open_lo as u32, 0));
            }
            if o == OP_FORPREP && s.open.intersects(Bits::range(ra, ra + 2)) {
                return Err(self.fail(Msg::ForOpen, pc, 0, 0));
            }
            if o == OP_SETLIST && !s.table.has(ra) {
                return Err(self.fail(Msg::SetlistTable, pc, ra as u32, 0));
            }
        }
        let [writes, written] = self.effects(pc, i);
        s.table.clear(Bits::of(writes));
        // Frames and GC finalizers leave their own values above what they define.
        if writes.1 == TOP {
            s.init.clear(Bits::of(writes));
        }
        s.init.union(Bits::of(written));
        match o {
            OP_NEWTABLE if !s.open.has(ra) => s.table.union(Bits::one(ra)),
            OP_CLOSURE => {
                s.open.union(caps);
                s.table.clear(caps);
            }
            OP_TBC | OP_TFORPREP => s.tbc.union(Bits::one(if o == OP_TBC { ra } else { ra + 3 })),
            OP_CLOSE => {
                s.tbc.clear(Bits::range(ra, TOP));
                s.open.clear(Bits::range(ra, TOP));
            }
            // `luaF_closeupval(L, base)` before the call.
            OP_TAILCALL if k(i) => s.open = Bits::default(),
            _ => {}
        }
        Ok(())
    }

    /// Registers written only on one edge out of an instruction (after `step`).
    fn edge_writes(&self, i: u32, natural: bool) -> Bits {
        let ra = a(i);
        Bits::of(match (op(i), natural) {
            // Success skips the MMBIN and writes A; failure goes to the MMBIN, which does.
            // R[A] := R[B] happens on the path that takes the JMP.
            (OP_ADDI..=OP_SHR, false) | (OP_TESTSET, true) => (ra, ra),
            // Entering the loop sets A..A+3 (a skipped float loop leaves A+3 alone).
            (OP_FORPREP, true) | (OP_FORLOOP, false) => (ra, ra + 3),
            (OP_TFORLOOP, false) => (ra + 2, ra + 2),
            _ => EMPTY,
        })
    }

    /// Runs a basic block from `pc` (stepping `s`) up to its last instruction, whose pc it
    /// returns.
    fn walk(&self, mut pc: u32, s: &mut State, check: bool, block: &[u32]) -> Result<u32, Fail> {
        loop {
            let i = self.ins(pc).unwrap_or(0);
            self.step(pc, i, s, check)?;
            let e = self.edges(pc, i);
            if e.n != 1 || !e.natural || block.get(e.to[0] as usize) != Some(&NONE) {
                return Ok(pc);
            }
            s.init.union(self.edge_writes(i, true));
            pc = e.to[0];
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
            let Some(i) = self.word(pc) else { continue };
            let e = self.edges(pc, i);
            let mut targets = e.to[..e.n].iter();
            if e.n == 1 && e.natural {
                targets.next();
            }
            for &to in targets {
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
            *s = State { init: Bits::range(0, self.f.numparams as i32 - 1), ..State::default() };
        }
        work.clear();
        work.push(0);
        while let Some(b) = work.pop() {
            let (Some(leader), Some(&(mut s))) = (leaders.get_mut(b as usize), states.get(b as usize)) else {
                continue;
            };
            *leader &= !QUEUED;
            let pc = self.walk(*leader, &mut s, false, block)?;
            let i = self.ins(pc).unwrap_or(0);
            let e = self.edges(pc, i);
            for (j, &to) in e.to[..e.n].iter().enumerate() {
                let Some(&t) = block.get(to as usize) else { continue };
                let (Some(slot), Some(leader)) = (states.get_mut(t as usize), leaders.get_mut(t as usize)) else {
                    continue;
                };
                let mut merged = s;
                merged.init.union(self.edge_writes(i, j == 0 && e.natural));
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
        let r = Bits::range(3, 70);
        assert!(r.has(3) && r.has(63) && r.has(64) && r.has(70) && !r.has(2) && !r.has(71));
        assert_eq!(r.min(), 3);
        assert_eq!(Bits::range(0, 255), Bits([u64::MAX; 4]));
        assert_eq!(Bits::range(-5, TOP), Bits([u64::MAX; 4]));
        assert_eq!(Bits::range(5, 4), Bits::default());
        assert_eq!(Bits::range(0, -1), Bits::default());
        assert_eq!(Bits::range(300, 400), Bits::default());
        assert_eq!(Bits::range(64, 127), Bits([0, u64::MAX, 0, 0]));
        let mut s = Bits::default();
        s.union(Bits::one(200));
        s.union(Bits::one(7));
        s.union(Bits::one(256)); // ignored
        assert!(s.has(200) && s.has(7) && !s.has(256));
        s.clear(Bits::range(0, 100));
        assert_eq!(s.min(), 200);
        assert!(s.intersects(Bits::range(150, TOP)) && !s.intersects(Bits::range(201, 255)));
        assert_eq!(Bits::default().min(), 256);
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
