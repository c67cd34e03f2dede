//! rules.rs: the checks, one prototype at a time, in five passes:
//!
//! 1. shape and debug information (what lundump stores without checking);
//! 2. every instruction alone (dead code included: ldebug.c's symbolic execution reads all
//!    of them): opcode, operand ranges, constant types, pairings with the neighbouring
//!    instruction the VM reads or skips unconditionally, jump targets;
//! 3. instructions whose entry the VM assumes (B=0 after a top-setting instruction, SELF's
//!    key register right after the LOADK that set it): they must not be jump targets;
//! 4. numeric `for` bodies: single entry, and nothing inside may write the loop's internal
//!    registers (FORLOOP updates them with `chgivalue`/`chgfltvalue`, keeping their tag);
//! 5. a flow analysis over the reachable code: to-be-closed variables (`luaF_newtbcupval`
//!    corrupts memory unless they are created in increasing stack order and closed before
//!    the frame goes), open upvalues (a frame must close them before returning), and
//!    SETLIST's table (`hvalue(R[A])` without a type check).
//!
//! Registers a GC finalizer may run over: NEWTABLE, CONCAT and CLOSURE run a GC step with
//! `L->top` just above their result, so a finalizer's frame overwrites every register above
//! it; Lua's compiler only emits them at the top of the live registers, and the rules treat
//! them as writing every register from A up (like a call).

use super::opcodes::*;
use super::reader::{describe, Chunk, Constant, Proto};
use super::{rule, Fail};
use crate::text::Detail;
use alloc::vec;
use alloc::vec::Vec;

/// `MAXUPVAL` (lparser.c).
const MAXUPVAL: usize = 255;
/// `MAXIWTHABS` (ldebug.h).
const MAXIWTHABS: u64 = 128;
/// Largest array size NEWTABLE and SETLIST may name (C + EXTRAARG * 256). Keeps
/// `c += Ax * (MAXARG_C + 1)` (an `int`), SETLIST's `unsigned int last` (plus up to
/// LUAI_MAXSTACK values) and `luaM_reallocvector`'s `n * sizeof(TValue)` in a 32-bit
/// `size_t` far from overflow.
const MAX_ARRAY: u64 = 1 << 26;
/// Largest NEWTABLE B: `1 << (B - 1)` must fit in an `int`.
const MAX_NEWTABLE_B: u32 = 31;
/// A register range reaching "the top" (every register from some A up).
const TOP: u32 = 255;

pub fn check_chunk(chunk: &Chunk) -> Result<(), Fail> {
    let Some(main) = chunk.protos.first() else {
        return Err(Fail::chunk(rule::TRUNCATED, detail!("no main function")));
    };
    if chunk.main_nupvalues as usize != main.upvalues.len() {
        return Err(Fail::new(
            rule::MAIN_UPVALUES,
            Some(0),
            None,
            detail!("the main closure has {} upvalues but its prototype {}", chunk.main_nupvalues, main.upvalues.len()),
        ));
    }
    // Shapes and descriptors everywhere first: the code checks rely on them.
    for (idx, f) in chunk.protos.iter().enumerate() {
        let func = Func { chunk, idx: idx as u32, f, code: &f.code, ms: f.maxstacksize as u32 };
        func.check_shape()?;
        func.check_debug()?;
    }
    for (idx, f) in chunk.protos.iter().enumerate() {
        let func = Func { chunk, idx: idx as u32, f, code: &f.code, ms: f.maxstacksize as u32 };
        func.check_code()?;
    }
    Ok(())
}

/// 256 registers as bits.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
struct Bits([u64; 4]);

impl Bits {
    fn set(&mut self, r: u32) {
        if r < 256 {
            self.0[(r >> 6) as usize] |= 1 << (r & 63);
        }
    }
    fn has(&self, r: u32) -> bool {
        r < 256 && self.0[(r >> 6) as usize] & (1 << (r & 63)) != 0
    }
    /// Registers lo..=hi.
    fn range(lo: u32, hi: u32) -> Bits {
        let mut m = Bits::default();
        if lo > hi || lo > 255 {
            return m;
        }
        let hi = hi.min(255);
        for w in 0..4u32 {
            let (wlo, whi) = (w * 64, w * 64 + 63);
            if hi < wlo || lo > whi {
                continue;
            }
            let from = lo.max(wlo) - wlo;
            let to = hi.min(whi) - wlo;
            let ones = if to - from == 63 { u64::MAX } else { ((1u64 << (to - from + 1)) - 1) << from };
            m.0[w as usize] = ones;
        }
        m
    }
    fn clear(&mut self, m: Bits) {
        for w in 0..4 {
            self.0[w] &= !m.0[w];
        }
    }
    fn intersects(&self, m: Bits) -> bool {
        (0..4).any(|w| self.0[w] & m.0[w] != 0)
    }
    fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }
    fn max(&self) -> Option<u32> {
        (0..4).rev().find(|&w| self.0[w] != 0).map(|w| w as u32 * 64 + 63 - self.0[w].leading_zeros())
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
}

/// The flow analysis' state before an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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

/// An edge of the control-flow graph: target pc, and whether it is the instruction's
/// natural sequel (the next instruction, or the one after its EXTRAARG).
#[derive(Clone, Copy, Default)]
struct Edge {
    to: u32,
    natural: bool,
}

#[derive(Clone, Copy, Default)]
struct Edges {
    e: [Edge; 2],
    n: usize,
}

impl Edges {
    fn one(to: i64, natural: bool) -> EdgesBuilder {
        EdgesBuilder { e: [(to, natural), (0, false)], n: 1 }
    }
    fn two(a: i64, an: bool, b: i64, bn: bool) -> EdgesBuilder {
        EdgesBuilder { e: [(a, an), (b, bn)], n: 2 }
    }
    fn none() -> EdgesBuilder {
        EdgesBuilder { e: [(0, false), (0, false)], n: 0 }
    }
    fn iter(&self) -> impl Iterator<Item = Edge> + '_ {
        self.e.iter().take(self.n).copied()
    }
}

/// Edges before their targets are checked.
struct EdgesBuilder {
    e: [(i64, bool); 2],
    n: usize,
}

/// A numeric for loop: FORPREP at `prep`, FORLOOP at `end`, body `prep+1..=end`.
struct Loop {
    prep: u32,
    end: u32,
    /// Index of the enclosing loop in the loop list, if any.
    parent: Option<u32>,
    /// Internal registers (A..A+2) of this loop and every enclosing one.
    protected: Bits,
}

struct Func<'a> {
    chunk: &'a Chunk,
    idx: u32,
    f: &'a Proto,
    code: &'a [u32],
    ms: u32,
}

impl<'a> Func<'a> {
    fn fail(&self, rule: &'static str, pc: Option<usize>, detail: Detail) -> Fail {
        Fail::new(rule, Some(self.idx), pc.map(|p| p as u32), detail)
    }

    fn at(&self, rule: &'static str, pc: usize, detail: Detail) -> Fail {
        self.fail(rule, Some(pc), detail)
    }

    fn ins(&self, pc: i64) -> Option<u32> {
        if pc < 0 {
            return None;
        }
        self.code.get(pc as usize).copied()
    }

    fn is_vararg(&self) -> bool {
        self.f.is_vararg == 1
    }

    fn check_code(&self) -> Result<(), Fail> {
        let n = self.code.len();
        let Some(&last) = self.code.last() else {
            return Err(self.fail(rule::CODE_END, None, detail!("empty code")));
        };
        if !is_return(op(last)) {
            return Err(self.at(rule::CODE_END, n - 1, detail!("code ends with {}, not a return", name(op(last)))));
        }
        let mut jumped_into = vec![false; n];
        let mut loops: Vec<Loop> = Vec::new();
        // Each instruction's checked successors (none for EXTRAARG words).
        let mut edges: Vec<Edges> = vec![Edges::default(); n];
        for pc in 0..n {
            if self.is_extra(pc) {
                continue;
            }
            let i = self.code[pc];
            self.check_instruction(pc, i)?;
            edges[pc] = self.edges(pc, i)?;
            for e in edges[pc].iter() {
                if !e.natural {
                    jumped_into[e.to as usize] = true;
                }
            }
            if op(i) == OP_FORPREP {
                loops.push(Loop {
                    prep: pc as u32,
                    end: (pc as u32) + 1 + bx(i),
                    parent: None,
                    protected: Bits::range(a(i), a(i) + 2),
                });
            }
        }
        for pc in 0..n {
            if !self.is_extra(pc) {
                self.check_entry(pc, &jumped_into)?;
            }
        }
        if !loops.is_empty() {
            self.check_loops(&mut loops, &edges)?;
        }
        self.check_flow(&edges)?;
        Ok(())
    }

    /// Prototype shape, and the upvalue descriptors against the enclosing prototype.
    fn check_shape(&self) -> Result<(), Fail> {
        let f = self.f;
        if f.is_vararg > 1 {
            return Err(self.fail(rule::VARARG_FLAG, None, detail!("is_vararg is {}", f.is_vararg)));
        }
        if f.numparams > f.maxstacksize {
            return Err(self.fail(
                rule::STACK_SIZE,
                None,
                detail!("{} parameters in a frame of {} registers", f.numparams, f.maxstacksize),
            ));
        }
        if f.upvalues.len() > MAXUPVAL {
            return Err(self.fail(rule::UPVALUE_COUNT, None, detail!("{} upvalues (at most 255)", f.upvalues.len())));
        }
        let parent = f.parent.and_then(|p| self.chunk.protos.get(p as usize));
        for (n, u) in f.upvalues.iter().enumerate() {
            if u.instack > 1 || u.kind > 3 {
                return Err(self.fail(
                    rule::UPVALUE_DESC,
                    None,
                    detail!("upvalue {}: instack {} kind {}", n, u.instack, u.kind),
                ));
            }
            let Some(parent) = parent else { continue };
            if u.instack == 1 && u.idx >= parent.maxstacksize {
                return Err(self.fail(
                    rule::UPVALUE_DESC,
                    None,
                    detail!("upvalue {} captures register {} of a {}-register parent", n, u.idx, parent.maxstacksize),
                ));
            }
            if u.instack == 0 && u.idx as usize >= parent.upvalues.len() {
                return Err(self.fail(
                    rule::UPVALUE_DESC,
                    None,
                    detail!("upvalue {} copies upvalue {} of a parent with {}", n, u.idx, parent.upvalues.len()),
                ));
            }
        }
        Ok(())
    }

    /// Line information and local variables, as ldebug.c reads them.
    fn check_debug(&self) -> Result<(), Fail> {
        let f = self.f;
        let n = self.code.len() as u64;
        if f.sizelineinfo != 0 && f.sizelineinfo as u64 != n {
            return Err(self.fail(
                rule::DEBUG_LINEINFO,
                None,
                detail!("{} lineinfo entries for {} instructions", f.sizelineinfo, n),
            ));
        }
        let abs = &f.abslineinfo;
        if !abs.is_empty() && f.sizelineinfo == 0 {
            return Err(self.fail(rule::DEBUG_ABSLINEINFO, None, detail!("absolute line info without line info")));
        }
        let mut prev: Option<u32> = None;
        for (j, e) in abs.iter().enumerate() {
            if e.pc as u64 >= n || prev.is_some_and(|p| e.pc <= p) {
                return Err(self.fail(
                    rule::DEBUG_ABSLINEINFO,
                    None,
                    detail!("entry {} has pc {} (out of order or range)", j, e.pc),
                ));
            }
            prev = Some(e.pc);
        }
        // getbaseline: for pc >= abslineinfo[0].pc, entry pc/MAXIWTHABS - 1 must exist
        // and not be past pc.
        if let Some(first) = abs.first() {
            let first = first.pc as u64;
            let mut bucket: u64 = 0;
            while (bucket + 1) * MAXIWTHABS < n {
                let lo = ((bucket + 1) * MAXIWTHABS).max(first);
                let hi = ((bucket + 2) * MAXIWTHABS).min(n);
                if lo < hi {
                    let ok = abs.get(bucket as usize).is_some_and(|e| e.pc as u64 <= lo);
                    if !ok {
                        return Err(self.fail(
                            rule::DEBUG_ABSLINEINFO,
                            None,
                            detail!("no absolute line info at or before pc {} for ldebug's estimate", lo),
                        ));
                    }
                }
                bucket += 1;
            }
        }
        for (j, v) in f.locvars.iter().enumerate() {
            if !v.named || v.startpc > v.endpc || v.endpc as u64 > n {
                return Err(self.fail(
                    rule::DEBUG_LOCVARS,
                    None,
                    detail!("local {}: named {}, pcs {}..{}", j, v.named, v.startpc, v.endpc),
                ));
            }
        }
        Ok(())
    }

    /// Is the word at `pc` the EXTRAARG of the instruction before it?
    fn is_extra(&self, pc: usize) -> bool {
        pc > 0 && self.ins(pc as i64 - 1).is_some_and(has_extra)
    }

    fn child(&self, i: u32) -> Option<&'a Proto> {
        let c = *self.f.p.get(bx(i) as usize)?;
        self.chunk.protos.get(c as usize)
    }

    fn reg(&self, pc: usize, r: u32, what: &'static str) -> Result<(), Fail> {
        if r >= self.ms {
            return Err(self.at(
                rule::REGISTER,
                pc,
                detail!("{} register {} outside the frame of {} registers", what, r, self.ms),
            ));
        }
        Ok(())
    }

    /// Registers lo..=hi (nothing when hi < lo).
    fn regs(&self, pc: usize, lo: u32, hi: i64, what: &'static str) -> Result<(), Fail> {
        if hi >= lo as i64 && hi >= self.ms as i64 {
            return Err(self.at(
                rule::REGISTER,
                pc,
                detail!("{} registers {}..{} outside the frame of {} registers", what, lo, hi, self.ms),
            ));
        }
        Ok(())
    }

    /// A register that may also be one past the last (a return's empty range).
    fn level(&self, pc: usize, r: u32, what: &'static str) -> Result<(), Fail> {
        if r > self.ms {
            return Err(self.at(rule::REGISTER, pc, detail!("{} {} above the frame of {} registers", what, r, self.ms)));
        }
        Ok(())
    }

    fn konst(&self, pc: usize, x: u32) -> Result<Constant, Fail> {
        match self.f.k.get(x as usize) {
            Some(&k) => Ok(k),
            None => Err(self.at(rule::CONSTANT_INDEX, pc, detail!("constant {} of {}", x, self.f.k.len()))),
        }
    }

    fn konst_where(&self, pc: usize, x: u32, ok: fn(&Constant) -> bool, want: &'static str) -> Result<(), Fail> {
        let k = self.konst(pc, x)?;
        if !ok(&k) {
            return Err(self.at(
                rule::CONSTANT_TYPE,
                pc,
                detail!("constant {} is {}, {} needs {}", x, describe(&k), name(op(self.code[pc])), want),
            ));
        }
        Ok(())
    }

    fn short_string(&self, pc: usize, x: u32) -> Result<(), Fail> {
        self.konst_where(pc, x, |k| matches!(k, Constant::Str { short: true, .. }), "a short string")
    }

    /// RK(C): a constant with k, else a register.
    fn rk(&self, pc: usize, i: u32) -> Result<(), Fail> {
        if k(i) {
            self.konst(pc, c(i)).map(|_| ())
        } else {
            self.reg(pc, c(i), "C")
        }
    }

    fn upvalue(&self, pc: usize, u: u32) -> Result<(), Fail> {
        if u as usize >= self.f.upvalues.len() {
            return Err(self.at(rule::UPVALUE_INDEX, pc, detail!("upvalue {} of {}", u, self.f.upvalues.len())));
        }
        Ok(())
    }

    /// The instruction after `pc`, which must be an EXTRAARG; returns its Ax.
    fn extra(&self, pc: usize, i: u32) -> Result<u32, Fail> {
        match self.ins(pc as i64 + 1) {
            Some(x) if op(x) == OP_EXTRAARG => Ok(ax(x)),
            _ => Err(self.at(rule::EXTRAARG, pc, detail!("{} not followed by EXTRAARG", name(op(i))))),
        }
    }

    /// The C a RETURN/TAILCALL must carry: numparams + 1 in a vararg function, else 0.
    fn vararg_c(&self, pc: usize, i: u32) -> Result<(), Fail> {
        let want = if self.is_vararg() { self.f.numparams as u32 + 1 } else { 0 };
        if c(i) != want {
            return Err(self.at(
                rule::VARARG_RETURN,
                pc,
                detail!("{} has C {} but the function needs {}", name(op(i)), c(i), want),
            ));
        }
        Ok(())
    }

    /// Everything that can be checked on an instruction and its fixed neighbours.
    fn check_instruction(&self, pc: usize, i: u32) -> Result<(), Fail> {
        let o = op(i);
        let (ra, rb, rc) = (a(i), b(i), c(i));
        if o >= NUM_OPCODES {
            return Err(self.at(rule::OPCODE, pc, detail!("opcode {} (there are {})", o, NUM_OPCODES)));
        }
        if pc == 0 && self.is_vararg() && o != OP_VARARGPREP {
            return Err(self.at(rule::VARARGPREP, pc, detail!("vararg function does not start with VARARGPREP")));
        }
        match o {
            OP_MOVE => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
            }
            OP_LOADI | OP_LOADF | OP_LOADFALSE | OP_LFALSESKIP | OP_LOADTRUE => self.reg(pc, ra, "A")?,
            OP_LOADK => {
                self.reg(pc, ra, "A")?;
                self.konst(pc, bx(i))?;
            }
            OP_LOADKX => {
                self.reg(pc, ra, "A")?;
                let x = self.extra(pc, i)?;
                self.konst(pc, x)?;
            }
            OP_LOADNIL => self.regs(pc, ra, ra as i64 + rb as i64, "LOADNIL")?,
            OP_GETUPVAL | OP_SETUPVAL => {
                self.reg(pc, ra, "A")?;
                self.upvalue(pc, rb)?;
            }
            OP_GETTABUP => {
                self.reg(pc, ra, "A")?;
                self.upvalue(pc, rb)?;
                self.short_string(pc, rc)?;
            }
            OP_GETTABLE => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
                self.reg(pc, rc, "C")?;
            }
            OP_GETI => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
            }
            OP_GETFIELD => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
                self.short_string(pc, rc)?;
            }
            OP_SETTABUP => {
                self.upvalue(pc, ra)?;
                self.short_string(pc, rb)?;
                self.rk(pc, i)?;
            }
            OP_SETTABLE => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
                self.rk(pc, i)?;
            }
            OP_SETI => {
                self.reg(pc, ra, "A")?;
                self.rk(pc, i)?;
            }
            OP_SETFIELD => {
                self.reg(pc, ra, "A")?;
                self.short_string(pc, rb)?;
                self.rk(pc, i)?;
            }
            OP_NEWTABLE => {
                self.reg(pc, ra, "A")?;
                let x = self.extra(pc, i)?;
                if rb > MAX_NEWTABLE_B {
                    return Err(self.at(rule::TABLE_SIZE, pc, detail!("hash size 2^{} too large", rb as i32 - 1)));
                }
                if k(i) {
                    let size = x as u64 * (MAXARG_C as u64 + 1) + rc as u64;
                    if size > MAX_ARRAY {
                        return Err(self.at(rule::TABLE_SIZE, pc, detail!("array size {} too large", size)));
                    }
                } else if x != 0 {
                    return Err(self.at(rule::EXTRAARG, pc, detail!("NEWTABLE without k has EXTRAARG {}", x)));
                }
            }
            OP_SELF => {
                self.regs(pc, ra, ra as i64 + 1, "SELF")?;
                self.reg(pc, rb, "B")?;
                if k(i) {
                    self.konst_where(pc, rc, |k| matches!(k, Constant::Str { .. }), "a string")?;
                } else {
                    self.reg(pc, rc, "C")?;
                }
            }
            OP_ADDI..=OP_SHR => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
                match o {
                    OP_ADDK..=OP_IDIVK => {
                        self.konst_where(pc, rc, |k| matches!(k, Constant::Int(_) | Constant::Float(_)), "a number")?
                    }
                    OP_BANDK..=OP_BXORK => self.konst_where(pc, rc, |k| matches!(k, Constant::Int(_)), "an integer")?,
                    OP_ADD..=OP_SHR => self.reg(pc, rc, "C")?,
                    _ => {} // ADDI, SHRI, SHLI: sC is an immediate
                }
                let Some((mm, tms)) = mm_pairing(o) else {
                    return Err(self.at(rule::OPCODE, pc, detail!("internal: no metamethod pairing")));
                };
                let ok = self.ins(pc as i64 + 1).is_some_and(|n| op(n) == mm && tms.contains(&c(n)));
                if !ok {
                    return Err(self.at(
                        rule::MMBIN_PAIRING,
                        pc,
                        detail!("{} not followed by {} with a matching event", name(o), name(mm)),
                    ));
                }
            }
            OP_MMBIN | OP_MMBINI | OP_MMBINK => {
                self.reg(pc, ra, "A")?;
                match o {
                    OP_MMBIN => self.reg(pc, rb, "B")?,
                    OP_MMBINK => {
                        self.konst(pc, rb)?;
                    }
                    _ => {}
                }
                let prev = self.ins(pc as i64 - 1).filter(|_| !self.is_extra(pc - 1));
                let ok = prev.and_then(|p| mm_pairing(op(p))).is_some_and(|(mm, tms)| mm == o && tms.contains(&rc));
                if !ok {
                    return Err(self.at(
                        rule::MMBIN_PAIRING,
                        pc,
                        detail!("{} (event {}) does not follow a matching arithmetic instruction", name(o), rc),
                    ));
                }
            }
            OP_UNM | OP_BNOT | OP_NOT | OP_LEN => {
                self.reg(pc, ra, "A")?;
                self.reg(pc, rb, "B")?;
            }
            OP_CONCAT => {
                if rb < 2 {
                    return Err(self.at(rule::CONCAT_COUNT, pc, detail!("CONCAT of {} values", rb)));
                }
                self.regs(pc, ra, ra as i64 + rb as i64 - 1, "CONCAT")?;
            }
            OP_CLOSE | OP_TBC => self.reg(pc, ra, "A")?,
            OP_JMP => {}
            OP_EQ..=OP_TESTSET => {
                self.reg(pc, ra, "A")?;
                match o {
                    OP_EQ | OP_LT | OP_LE | OP_TESTSET => self.reg(pc, rb, "B")?,
                    OP_EQK => {
                        self.konst(pc, rb)?;
                    }
                    _ => {}
                }
                if self.ins(pc as i64 + 1).is_none_or(|n| op(n) != OP_JMP) {
                    return Err(self.at(rule::TEST_JUMP, pc, detail!("{} not followed by JMP", name(o))));
                }
            }
            OP_CALL | OP_TAILCALL => {
                self.reg(pc, ra, "A")?;
                if rb > 0 {
                    self.regs(pc, ra, ra as i64 + rb as i64 - 1, "argument")?;
                }
                if o == OP_CALL {
                    if rc > 1 {
                        self.regs(pc, ra, ra as i64 + rc as i64 - 2, "result")?;
                    }
                } else {
                    self.vararg_c(pc, i)?;
                }
            }
            OP_RETURN => {
                if rb >= 2 {
                    self.regs(pc, ra, ra as i64 + rb as i64 - 2, "returned")?;
                } else {
                    self.level(pc, ra, "RETURN level")?;
                }
                self.vararg_c(pc, i)?;
            }
            OP_RETURN0 | OP_RETURN1 => {
                if o == OP_RETURN0 {
                    self.level(pc, ra, "RETURN0 level")?;
                } else {
                    self.reg(pc, ra, "A")?;
                }
                if self.is_vararg() {
                    return Err(self.at(rule::VARARG_RETURN, pc, detail!("{} in a vararg function", name(o))));
                }
            }
            OP_FORPREP | OP_FORLOOP => {
                self.regs(pc, ra, ra as i64 + 3, "for-loop")?;
                self.check_forloop_pairing(pc, i)?;
            }
            OP_TFORPREP | OP_TFORCALL | OP_TFORLOOP => {
                match o {
                    OP_TFORPREP => self.regs(pc, ra, ra as i64 + 3, "generic-for")?,
                    OP_TFORCALL => {
                        self.regs(pc, ra, ra as i64 + 6, "generic-for call")?;
                        self.regs(pc, ra + 4, ra as i64 + 3 + rc as i64, "generic-for result")?;
                    }
                    _ => self.regs(pc, ra, ra as i64 + 4, "generic-for")?,
                }
                self.check_tforloop_pairing(pc, i)?;
            }
            OP_SETLIST => {
                self.reg(pc, ra, "A")?;
                if rb > 0 {
                    self.regs(pc, ra, ra as i64 + rb as i64, "SETLIST")?;
                }
                let x = if k(i) { self.extra(pc, i)? } else { 0 };
                let first = x as u64 * (MAXARG_C as u64 + 1) + rc as u64;
                if first > MAX_ARRAY {
                    return Err(self.at(rule::TABLE_SIZE, pc, detail!("SETLIST at index {}", first)));
                }
            }
            OP_CLOSURE => {
                self.reg(pc, ra, "A")?;
                if bx(i) as usize >= self.f.p.len() {
                    return Err(self.at(rule::PROTO_INDEX, pc, detail!("prototype {} of {}", bx(i), self.f.p.len())));
                }
            }
            OP_VARARG => {
                if !self.is_vararg() {
                    return Err(self.at(rule::VARARG_OP, pc, detail!("VARARG in a function that is not vararg")));
                }
                self.reg(pc, ra, "A")?;
                if rc > 1 {
                    self.regs(pc, ra, ra as i64 + rc as i64 - 2, "VARARG")?;
                }
            }
            OP_VARARGPREP => {
                if pc != 0 || !self.is_vararg() {
                    return Err(self.at(
                        rule::VARARGPREP,
                        pc,
                        detail!("VARARGPREP not the first instruction of a vararg function"),
                    ));
                }
                if ra != self.f.numparams as u32 {
                    return Err(self.at(
                        rule::VARARGPREP,
                        pc,
                        detail!("VARARGPREP {} in a function of {} parameters", ra, self.f.numparams),
                    ));
                }
            }
            _ => {
                // OP_EXTRAARG where no instruction takes one.
                return Err(self.at(
                    rule::EXTRAARG,
                    pc,
                    detail!("EXTRAARG not after LOADKX, NEWTABLE or SETLIST with k"),
                ));
            }
        }
        Ok(())
    }

    /// FORPREP jumps (when the loop does not run) past a FORLOOP with the same A, whose
    /// back jump returns just after the FORPREP.
    fn check_forloop_pairing(&self, pc: usize, i: u32) -> Result<(), Fail> {
        let (prep, end) = if op(i) == OP_FORPREP {
            (pc as i64, pc as i64 + 1 + bx(i) as i64)
        } else {
            (pc as i64 - bx(i) as i64, pc as i64)
        };
        let ok = match (self.ins(prep), self.ins(end)) {
            (Some(p), Some(e)) => {
                op(p) == OP_FORPREP
                    && op(e) == OP_FORLOOP
                    && a(p) == a(i)
                    && a(e) == a(i)
                    && prep + 1 + bx(p) as i64 == end
                    && end - bx(e) as i64 == prep
            }
            _ => false,
        };
        if !ok {
            return Err(self.at(
                rule::FORPREP_PAIRING,
                pc,
                detail!("{} {} {} is not paired", name(op(i)), a(i), bx(i)),
            ));
        }
        Ok(())
    }

    /// TFORPREP jumps to a TFORCALL with the same A, followed by a TFORLOOP with the same A
    /// whose back jump returns just after the TFORPREP.
    fn check_tforloop_pairing(&self, pc: usize, i: u32) -> Result<(), Fail> {
        let call = match op(i) {
            OP_TFORPREP => pc as i64 + 1 + bx(i) as i64,
            OP_TFORCALL => pc as i64,
            _ => pc as i64 - 1,
        };
        let ok = match (self.ins(call), self.ins(call + 1)) {
            (Some(tc), Some(tl))
                if op(tc) == OP_TFORCALL && op(tl) == OP_TFORLOOP && a(tc) == a(i) && a(tl) == a(i) =>
            {
                if op(i) == OP_TFORCALL {
                    true // the TFORLOOP's own check finds the TFORPREP
                } else {
                    let prep = call + 1 - bx(tl) as i64;
                    self.ins(prep)
                        .is_some_and(|p| op(p) == OP_TFORPREP && a(p) == a(i) && prep + 1 + bx(p) as i64 == call)
                }
            }
            _ => false,
        };
        if !ok {
            return Err(self.at(rule::TFORPREP_PAIRING, pc, detail!("{} {} is not paired", name(op(i)), a(i))));
        }
        Ok(())
    }

    /// The instruction's successors, each checked to be an instruction of this function.
    fn edges(&self, pc: usize, i: u32) -> Result<Edges, Fail> {
        let p = pc as i64;
        let o = op(i);
        let b = match o {
            OP_JMP => Edges::one(p + 1 + sj(i), false),
            OP_EQ..=OP_TESTSET => Edges::two(p + 1, true, p + 2, false),
            OP_LFALSESKIP => Edges::one(p + 2, false),
            OP_ADDI..=OP_SHR => Edges::two(p + 1, true, p + 2, false),
            OP_LOADKX | OP_NEWTABLE => Edges::one(p + 2, true),
            OP_SETLIST if k(i) => Edges::one(p + 2, true),
            OP_FORPREP => Edges::two(p + 1, true, p + 2 + bx(i) as i64, false),
            OP_FORLOOP | OP_TFORLOOP => Edges::two(p + 1, true, p + 1 - bx(i) as i64, false),
            OP_TFORPREP => Edges::one(p + 1 + bx(i) as i64, false),
            // A tail-called C function that yields comes back to the instruction after the
            // TAILCALL (ldo.c `unroll`), so TAILCALL falls through like a CALL.
            OP_RETURN | OP_RETURN0 | OP_RETURN1 | OP_EXTRAARG => Edges::none(),
            _ => Edges::one(p + 1, true),
        };
        let mut out = Edges { n: b.n, ..Edges::default() };
        for j in 0..b.n {
            let (to, natural) = b.e[j];
            if to < 0 || to >= self.code.len() as i64 {
                return Err(self.at(rule::JUMP_TARGET, pc, detail!("{} goes to pc {}, outside the code", name(o), to)));
            }
            if self.is_extra(to as usize) {
                return Err(self.at(rule::JUMP_TARGET, pc, detail!("{} goes to pc {}, an EXTRAARG", name(o), to)));
            }
            if to == 0 && self.is_vararg() {
                return Err(self.at(rule::VARARGPREP, pc, detail!("{} goes back to VARARGPREP", name(o))));
            }
            out.e[j] = Edge { to: to as u32, natural };
        }
        Ok(out)
    }

    /// Instructions that rely on the one before them having run just before.
    fn check_entry(&self, pc: usize, jumped_into: &[bool]) -> Result<(), Fail> {
        let i = self.code[pc];
        let o = op(i);
        let entered = jumped_into.get(pc).copied().unwrap_or(true);
        // isOT(previous) == isIT(this) (lcode.c's luaK_finish asserts it).
        if o != OP_VARARGPREP {
            let prev = self.ins(pc as i64 - 1);
            let it = is_it(i);
            if prev.is_some_and(is_ot) != it {
                return Err(self.at(
                    rule::TOP_USE,
                    pc,
                    if it {
                        detail!("{} with B=0 does not follow an instruction that sets the top", name(o))
                    } else {
                        detail!("{} does not use the top {} left", name(o), prev.map(|p| name(op(p))).unwrap_or("?"))
                    },
                ));
            }
            if let (true, Some(prev)) = (it, prev) {
                if entered {
                    return Err(self.at(rule::TOP_USE, pc, detail!("{} with B=0 is a jump target", name(o))));
                }
                // The values counted from the top start above A (at A for RETURN). After a
                // TAILCALL (reached when a tail-called C function yielded and was resumed)
                // the top is the end of its results, which start at its A.
                let ok = match o {
                    OP_RETURN => a(prev) >= a(i),
                    _ => a(prev) > a(i),
                };
                if !ok {
                    return Err(self.at(
                        rule::TOP_USE,
                        pc,
                        detail!("{} {} uses a top set from register {}", name(o), a(i), a(prev)),
                    ));
                }
            }
        }
        // SELF with a register key: `tsvalue(R[C])` reads it as a string unchecked, so
        // the key must come from the LOADK/LOADKX of a string just before.
        if o == OP_SELF && !k(i) {
            let key = c(i);
            let loaded = |x: u32| matches!(self.f.k.get(x as usize), Some(Constant::Str { .. }));
            let by_loadk = self.ins(pc as i64 - 1).is_some_and(|p| op(p) == OP_LOADK && a(p) == key && loaded(bx(p)))
                && !self.is_extra(pc - 1);
            let by_loadkx = pc >= 2
                && self.ins(pc as i64 - 2).is_some_and(|p| op(p) == OP_LOADKX && a(p) == key)
                && self.ins(pc as i64 - 1).is_some_and(|x| op(x) == OP_EXTRAARG && loaded(ax(x)));
            if entered || !(by_loadk || by_loadkx) {
                return Err(self.at(
                    rule::SELF_KEY,
                    pc,
                    detail!("SELF key register {} is not a string loaded just before", key),
                ));
            }
        }
        Ok(())
    }

    /// Registers an instruction may overwrite (lo..=hi; TOP for "every register from lo").
    fn writes(&self, pc: usize, i: u32) -> Option<(u32, u32)> {
        let ra = a(i);
        Some(match op(i) {
            OP_MOVE
            | OP_LOADI
            | OP_LOADF
            | OP_LOADK
            | OP_LOADKX
            | OP_LOADFALSE
            | OP_LFALSESKIP
            | OP_LOADTRUE
            | OP_GETUPVAL
            | OP_GETTABUP
            | OP_GETTABLE
            | OP_GETI
            | OP_GETFIELD
            | OP_ADDI..=OP_SHR
            | OP_UNM
            | OP_BNOT
            | OP_NOT
            | OP_LEN
            | OP_TESTSET => (ra, ra),
            OP_LOADNIL => (ra, ra + b(i)),
            OP_SELF => (ra, ra + 1),
            // A GC step runs with the top at A + 1: a finalizer's frame covers the rest.
            OP_NEWTABLE | OP_CLOSURE | OP_CONCAT | OP_CALL | OP_TAILCALL => (ra, TOP),
            OP_TFORCALL => (ra + 4, TOP),
            OP_TFORLOOP => (ra + 2, ra + 2),
            OP_FORPREP | OP_FORLOOP => (ra, ra + 3),
            OP_VARARG => match c(i) {
                0 => (ra, TOP),
                1 => return None,
                n => (ra, ra + n - 2),
            },
            // The metamethod's result goes to the arithmetic instruction's A.
            OP_MMBIN | OP_MMBINI | OP_MMBINK => {
                let prev = self.ins(pc as i64 - 1)?;
                (a(prev), a(prev))
            }
            _ => return None,
        })
    }

    /// Numeric for loops: properly nested, entered only through their FORPREP, and their
    /// internal registers (A..A+2) neither written nor captured inside the body.
    fn check_loops(&self, loops: &mut [Loop], edges: &[Edges]) -> Result<(), Fail> {
        let n = self.code.len();
        // Nesting, and each loop's protected registers (loops are in FORPREP order).
        let mut stack: Vec<u32> = Vec::new();
        for j in 0..loops.len() {
            while let Some(&top) = stack.last() {
                if loops[top as usize].end < loops[j].prep {
                    stack.pop();
                } else {
                    break;
                }
            }
            if let Some(&top) = stack.last() {
                let outer = &loops[top as usize];
                if outer.end < loops[j].end {
                    return Err(self.at(
                        rule::FOR_BODY,
                        loops[j].prep as usize,
                        detail!("loop overlaps the loop of the FORPREP at pc {}", outer.prep),
                    ));
                }
                let protected = outer.protected;
                loops[j].parent = Some(top);
                loops[j].protected.union(protected);
            }
            stack.push(j as u32);
        }
        // Innermost loop of each pc (0: none, else index + 1), in one sweep: the loops are
        // nested, so the open ones form a stack (a loop-per-range fill would be quadratic
        // for deeply nested crafted loops).
        let mut innermost = vec![0u32; n];
        let mut open: Vec<u32> = Vec::new();
        let mut next = 0usize;
        for (pc, slot) in innermost.iter_mut().enumerate() {
            while open.last().is_some_and(|&j| (loops[j as usize].end as usize) < pc) {
                open.pop();
            }
            while next < loops.len() && (loops[next].prep as usize) < pc {
                open.push(next as u32);
                next += 1;
            }
            *slot = open.last().map_or(0, |&j| j + 1);
        }
        let inside = |l: &Loop, pc: usize| (l.prep as usize) < pc && pc <= l.end as usize;
        for pc in 0..n {
            if self.is_extra(pc) {
                continue;
            }
            let i = self.code[pc];
            for e in edges[pc].iter() {
                let Some(l) = innermost[e.to as usize].checked_sub(1).and_then(|j| loops.get(j as usize)) else {
                    continue;
                };
                let from_prep = pc == l.prep as usize && e.natural;
                if !inside(l, pc) && !from_prep {
                    return Err(self.at(
                        rule::FOR_BODY,
                        pc,
                        detail!("jumps to pc {} inside the loop of the FORPREP at pc {}", e.to, l.prep),
                    ));
                }
            }
            let Some(mut l) = innermost[pc].checked_sub(1).and_then(|j| loops.get(j as usize)) else {
                continue;
            };
            if op(i) == OP_FORLOOP && pc == l.end as usize {
                // A loop's own FORLOOP updates its registers; check the enclosing loops.
                match l.parent.and_then(|p| loops.get(p as usize)) {
                    Some(parent) => l = parent,
                    None => continue,
                }
            }
            if let Some((lo, hi)) = self.writes(pc, i) {
                if l.protected.intersects(Bits::range(lo, hi)) {
                    return Err(self.at(
                        rule::FOR_BODY,
                        pc,
                        detail!("{} writes the internal registers of the loop at pc {}", name(op(i)), l.prep),
                    ));
                }
            }
            if op(i) == OP_CLOSURE {
                if let Some(child) = self.child(i) {
                    if child.upvalues.iter().any(|u| u.instack == 1 && l.protected.has(u.idx as u32)) {
                        return Err(self.at(
                            rule::FOR_BODY,
                            pc,
                            detail!("CLOSURE captures the internal registers of the loop at pc {}", l.prep),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The registers an instruction reads (lo..=hi each), for `register-init`. Counts that
    /// come from the top start at the top-setting instruction's A, which wrote them.
    fn reads(&self, pc: usize, i: u32) -> [(u32, i64); 3] {
        const NONE: (u32, i64) = (1, 0);
        let (ra, rb, rc) = (a(i), b(i), c(i));
        let top_base = || self.ins(pc as i64 - 1).map_or(ra as i64, |p| a(p) as i64);
        let rkc = if k(i) { NONE } else { (rc, rc as i64) };
        let one = |r: u32| (r, r as i64);
        match op(i) {
            OP_MOVE | OP_UNM | OP_BNOT | OP_NOT | OP_LEN | OP_GETI | OP_GETFIELD | OP_TESTSET => [one(rb), NONE, NONE],
            OP_SETUPVAL | OP_TBC | OP_TEST | OP_RETURN1 | OP_EQK..=OP_GEI | OP_MMBINI | OP_MMBINK => {
                [one(ra), NONE, NONE]
            }
            OP_GETTABLE => [one(rb), one(rc), NONE],
            OP_SETTABUP => [rkc, NONE, NONE],
            OP_SETTABLE => [one(ra), one(rb), rkc],
            OP_SETI | OP_SETFIELD => [one(ra), rkc, NONE],
            OP_SELF => [one(rb), rkc, NONE],
            OP_ADDI..=OP_SHLI => [one(rb), NONE, NONE],
            OP_ADD..=OP_SHR => [one(rb), one(rc), NONE],
            OP_MMBIN | OP_EQ | OP_LT | OP_LE => [one(ra), one(rb), NONE],
            OP_CONCAT => [(ra, ra as i64 + rb as i64 - 1), NONE, NONE],
            OP_CALL | OP_TAILCALL => {
                [(ra, if rb == 0 { top_base() - 1 } else { ra as i64 + rb as i64 - 1 }), NONE, NONE]
            }
            OP_RETURN => [(ra, if rb == 0 { top_base() - 1 } else { ra as i64 + rb as i64 - 2 }), NONE, NONE],
            OP_SETLIST => [(ra, if rb == 0 { top_base() - 1 } else { ra as i64 + rb as i64 }), NONE, NONE],
            OP_FORPREP | OP_FORLOOP | OP_TFORCALL => [(ra, ra as i64 + 2), NONE, NONE],
            OP_TFORPREP => [one(ra + 3), NONE, NONE],
            OP_TFORLOOP => [one(ra + 4), NONE, NONE],
            _ => [NONE, NONE, NONE],
        }
    }

    /// One instruction of the flow analysis: checks `s` (when `check`), then applies what
    /// happens on every path out of it (`edge_state` adds what depends on the path).
    fn step(&self, pc: usize, i: u32, s: &mut State, check: bool) -> Result<(), Fail> {
        let o = op(i);
        let ra = a(i);
        // The lowest slot a call (or a GC finalizer run with the top just above A) can
        // put a frame on.
        let frame = match o {
            OP_TFORCALL => Some(ra + 4),
            OP_CALL | OP_CONCAT | OP_NEWTABLE | OP_CLOSURE => Some(ra),
            _ => None,
        };
        if check {
            for (lo, hi) in self.reads(pc, i) {
                if hi >= lo as i64
                    && !Bits::range(lo, hi as u32).0.iter().zip(s.init.0.iter()).all(|(m, v)| m & !v == 0)
                {
                    let r = (lo..=hi as u32).find(|&r| !s.init.has(r)).unwrap_or(lo);
                    return Err(self.at(
                        rule::REGISTER_INIT,
                        pc,
                        detail!("{} reads register {}, which this call has not written on every path", name(o), r),
                    ));
                }
            }
            if o == OP_CLOSURE {
                if let Some(child) = self.child(i) {
                    if let Some(u) = child
                        .upvalues
                        .iter()
                        .find(|u| u.instack == 1 && u.idx as u32 != ra && !s.init.has(u.idx as u32))
                    {
                        return Err(self.at(
                            rule::REGISTER_INIT,
                            pc,
                            detail!("CLOSURE captures register {}, which this call has not written", u.idx),
                        ));
                    }
                }
            }
            let top_tbc = s.tbc.max();
            let tbc_at = match o {
                OP_TBC => Some(ra),
                OP_TFORPREP => Some(ra + 3),
                _ => frame,
            };
            if let (Some(r), Some(m)) = (tbc_at, top_tbc) {
                if r <= m {
                    return Err(self.at(
                        rule::TBC,
                        pc,
                        detail!("{} at register {} is not above the pending to-be-closed variable in register {}", name(o), r, m),
                    ));
                }
            }
            if let (Some(r), Some(m)) = (frame, s.open.max()) {
                if r <= m {
                    return Err(self.at(
                        rule::OPEN_UPVALUE,
                        pc,
                        detail!("{} at register {} puts a frame over the open upvalue on register {}", name(o), r, m),
                    ));
                }
            }
            let (closes_tbc, closes_open) = match o {
                OP_RETURN => (k(i), k(i)),
                OP_RETURN0 | OP_RETURN1 => (false, false),
                OP_TAILCALL => (false, k(i)),
                _ => (true, true),
            };
            if !closes_tbc && !s.tbc.is_empty() {
                return Err(self.at(rule::TBC, pc, detail!("{} leaves a to-be-closed variable pending", name(o))));
            }
            if !closes_open && !s.open.is_empty() {
                return Err(self.at(rule::OPEN_UPVALUE, pc, detail!("{} leaves upvalues open", name(o))));
            }
            if o == OP_FORPREP && s.open.intersects(Bits::range(ra, ra + 2)) {
                return Err(self.at(rule::FOR_BODY, pc, detail!("an upvalue is open on the loop's internal registers")));
            }
            if o == OP_SETLIST && !s.table.has(ra) {
                return Err(self.at(
                    rule::SETLIST_TABLE,
                    pc,
                    detail!("register {} may not hold the table NEWTABLE made", ra),
                ));
            }
        }
        if let Some((lo, hi)) = self.writes(pc, i) {
            s.table.clear(Bits::range(lo, hi));
        }
        // Definitely written registers, on every path out.
        let mut written = |lo: u32, hi: i64| {
            if hi >= lo as i64 {
                s.init.union(Bits::range(lo, hi as u32));
            }
        };
        match o {
            OP_MOVE | OP_LOADI | OP_LOADF | OP_LOADK | OP_LOADKX | OP_LOADFALSE | OP_LFALSESKIP | OP_LOADTRUE
            | OP_GETUPVAL | OP_GETTABUP | OP_GETTABLE | OP_GETI | OP_GETFIELD | OP_UNM | OP_BNOT | OP_NOT | OP_LEN => {
                written(ra, ra as i64)
            }
            OP_LOADNIL => written(ra, ra as i64 + b(i) as i64),
            OP_SELF => written(ra, ra as i64 + 1),
            OP_MMBIN | OP_MMBINI | OP_MMBINK => {
                if let Some(p) = self.ins(pc as i64 - 1) {
                    written(a(p), a(p) as i64)
                }
            }
            _ => {}
        }
        // Frames and GC finalizers leave their own values above what they define.
        let keep_below = |s: &mut State, r: u32| s.init.clear(Bits::range(r, TOP));
        match o {
            OP_NEWTABLE | OP_CLOSURE | OP_CONCAT => {
                keep_below(s, ra + 1);
                s.init.set(ra);
            }
            OP_CALL => {
                keep_below(s, ra);
                if c(i) >= 2 {
                    s.init.union(Bits::range(ra, ra + c(i) - 2));
                }
            }
            OP_TAILCALL => keep_below(s, ra),
            OP_TFORCALL => {
                keep_below(s, ra + 4);
                if c(i) >= 1 {
                    s.init.union(Bits::range(ra + 4, ra + 3 + c(i)));
                }
            }
            OP_VARARG => match c(i) {
                0 => keep_below(s, ra),
                n if n >= 2 => s.init.union(Bits::range(ra, ra + n - 2)),
                _ => {}
            },
            _ => {}
        }
        match o {
            OP_NEWTABLE if !s.open.has(ra) => s.table.set(ra),
            OP_CLOSURE => {
                if let Some(child) = self.child(i) {
                    for u in child.upvalues.iter().filter(|u| u.instack == 1) {
                        s.open.set(u.idx as u32);
                        s.table.clear(Bits::range(u.idx as u32, u.idx as u32));
                    }
                }
            }
            OP_TBC => s.tbc.set(ra),
            OP_TFORPREP => s.tbc.set(ra + 3),
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

    /// The state on one edge out of an instruction, after `step`: writes that happen only on
    /// that path.
    fn edge_state(&self, i: u32, e: Edge, s: &State) -> State {
        let mut out = *s;
        let ra = a(i);
        match (op(i), e.natural) {
            // Success skips the MMBIN and writes A; failure goes to the MMBIN, which does.
            (OP_ADDI..=OP_SHR, false) => out.init.set(ra),
            // R[A] := R[B] happens on the path that takes the JMP.
            (OP_TESTSET, true) => out.init.set(ra),
            // Entering the loop sets A..A+3 (a skipped float loop leaves A+3 alone).
            (OP_FORPREP, true) | (OP_FORLOOP, false) => out.init.union(Bits::range(ra, ra + 3)),
            (OP_TFORLOOP, false) => out.init.set(ra + 2),
            _ => {}
        }
        out
    }

    /// The flow analysis: a worklist over basic blocks to a fixpoint (`tbc` and `open` only
    /// grow, `table` and `init` only shrink), then one checking pass over the reachable
    /// blocks.
    fn check_flow(&self, edges: &[Edges]) -> Result<(), Fail> {
        let n = self.code.len();
        const NONE: u32 = u32::MAX;
        // Leaders: the entry, every non-natural target, and every target of an
        // instruction with more than one successor.
        let mut slot = vec![NONE; n];
        let mut leaders: Vec<u32> = Vec::new();
        let mark = |pc: u32, slot: &mut [u32], leaders: &mut Vec<u32>| {
            if slot[pc as usize] == NONE {
                slot[pc as usize] = leaders.len() as u32;
                leaders.push(pc);
            }
        };
        mark(0, &mut slot, &mut leaders);
        for pc in 0..n {
            if self.is_extra(pc) {
                continue;
            }
            let es = edges[pc];
            for e in es.iter() {
                if !e.natural || es.n > 1 {
                    mark(e.to, &mut slot, &mut leaders);
                }
            }
        }
        let params = self.f.numparams as u32;
        let entry = State {
            tbc: Bits::default(),
            open: Bits::default(),
            table: Bits::default(),
            init: if params > 0 { Bits::range(0, params - 1) } else { Bits::default() },
        };
        let mut states: Vec<Option<State>> = vec![None; leaders.len()];
        states[0] = Some(entry);
        let mut work: Vec<u32> = vec![0];
        let mut queued = vec![false; leaders.len()];
        queued[0] = true;
        while let Some(b) = work.pop() {
            queued[b as usize] = false;
            let Some(mut s) = states[b as usize] else { continue };
            let mut pc = leaders[b as usize] as usize;
            loop {
                let i = self.code[pc];
                self.step(pc, i, &mut s, false)?;
                let es = edges[pc];
                if es.n == 1 && es.e[0].natural && slot[es.e[0].to as usize] == NONE {
                    s = self.edge_state(i, es.e[0], &s);
                    pc = es.e[0].to as usize;
                    continue;
                }
                for e in es.iter() {
                    let t = slot[e.to as usize];
                    if t == NONE {
                        continue; // cannot happen: every such target is a leader
                    }
                    let out = self.edge_state(i, e, &s);
                    let merged = match states[t as usize] {
                        None => out,
                        Some(old) => {
                            let mut m = old;
                            m.tbc.union(out.tbc);
                            m.open.union(out.open);
                            m.table.intersect(out.table);
                            m.init.intersect(out.init);
                            m
                        }
                    };
                    if states[t as usize] != Some(merged) {
                        states[t as usize] = Some(merged);
                        if !queued[t as usize] {
                            queued[t as usize] = true;
                            work.push(t);
                        }
                    }
                }
                break;
            }
        }
        // Checking pass, in pc order of the blocks.
        let mut order: Vec<u32> = (0..leaders.len() as u32).collect();
        order.sort_unstable_by_key(|&b| leaders[b as usize]);
        for b in order {
            let Some(mut s) = states[b as usize] else { continue };
            let mut pc = leaders[b as usize] as usize;
            loop {
                let i = self.code[pc];
                self.step(pc, i, &mut s, true)?;
                let es = edges[pc];
                if es.n == 1 && es.e[0].natural && slot[es.e[0].to as usize] == NONE {
                    s = self.edge_state(i, es.e[0], &s);
                    pc = es.e[0].to as usize;
                    continue;
                }
                break;
            }
        }
        Ok(())
    }
}

/// Does this instruction own the EXTRAARG word after it?
fn has_extra(i: u32) -> bool {
    matches!(op(i), OP_LOADKX | OP_NEWTABLE) || (op(i) == OP_SETLIST && k(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let r = Bits::range(3, 70);
        assert!(r.has(3) && r.has(63) && r.has(64) && r.has(70) && !r.has(2) && !r.has(71));
        assert_eq!(r.max(), Some(70));
        assert_eq!(Bits::range(0, 255), Bits([u64::MAX; 4]));
        assert_eq!(Bits::range(5, 4), Bits::default());
        assert_eq!(Bits::range(300, 400), Bits::default());
        assert_eq!(Bits::range(250, 600).max(), Some(255));
        let mut s = Bits::default();
        s.set(200);
        s.set(7);
        s.set(256); // ignored
        assert_eq!(s.max(), Some(200));
        s.clear(Bits::range(100, TOP));
        assert_eq!(s.max(), Some(7));
        assert!(s.intersects(Bits::range(0, 7)) && !s.intersects(Bits::range(8, 255)));
        assert_eq!(Bits::default().max(), None);
    }

    #[test]
    fn metamethod_pairings_match_lcode() {
        assert_eq!(mm_pairing(OP_ADD), Some((OP_MMBIN, &[6u32][..])));
        assert_eq!(mm_pairing(OP_SHR), Some((OP_MMBIN, &[17u32][..])));
        assert_eq!(mm_pairing(OP_ADDK), Some((OP_MMBINK, &[6u32][..])));
        assert_eq!(mm_pairing(OP_BXORK), Some((OP_MMBINK, &[15u32][..])));
        assert_eq!(mm_pairing(OP_ADDI), Some((OP_MMBINI, &[TM_ADD, TM_SUB][..])));
        assert_eq!(mm_pairing(OP_MMBIN), None);
        assert_eq!(mm_pairing(OP_UNM), None);
        assert!(NAMES.len() == NUM_OPCODES as usize && name(OP_EXTRAARG) == "EXTRAARG" && name(200) == "?");
    }
}
