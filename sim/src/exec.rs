//! The SIMT executor: runs compiled code for one *warp*, a set of lanes of one
//! workgroup executed in lockstep, under an active-lane mask.
//!
//! Pure ops run for every lane of the warp (they only write temporaries and fresh
//! variables); assignments, stores and atomics run for active lanes only, in lane order.
//! The parallel schedule makes a whole workgroup one warp, so interpretation and shared
//! counters are amortised over its lanes; the deterministic and loom schedules use warps
//! of one lane, so every lane interleaves freely. [`Hooks`] let a schedule see every
//! persistent-loop round and barrier. (The deterministic schedule runs lanes as state
//! machines instead, [`crate::lane`], with these same pure ops and atomic semantics.)

use crate::code::*;
use crate::mask::Mask;
use crate::memory::Memory;
use crate::sync::Ordering::Relaxed;
use megaloop::host::ExhaustedLane;
use megaloop::ir::crc::crc32_of_words;
use megaloop::ir::validate::MAX_WORKGROUP_SIZE;
use megaloop::ir::{AtomicOp, Builtin};

/// Scheduling hooks. The defaults do nothing and compile away.
pub trait Hooks: Sync {
    /// At the start of every persistent-loop round of `warp`.
    #[inline]
    fn round(&self, _warp: u32) {}
    /// `warp` reached a top-level barrier.
    #[inline]
    fn barrier(&self, _warp: u32) {}
}

/// Where a warp sits in the grid.
#[derive(Clone, Copy, Debug)]
pub struct WarpPlace {
    /// Warp id passed to hooks.
    pub id: u32,
    /// Workgroup index.
    pub workgroup: u32,
    /// Workgroups in the grid.
    pub num_workgroups: u32,
    /// Local id of the warp's first lane.
    pub first_local: u32,
    /// Lanes in the warp.
    pub width: u32,
}

/// One warp's registers and control state.
pub struct Warp<'a, H: Hooks> {
    code: &'a Code,
    mem: &'a Memory,
    hooks: &'a H,
    place: WarpPlace,
    w: usize,
    regs: Vec<u32>,
    returned: Mask,
    broken: Vec<Mask>,
    /// Lanes whose persistent loops ran out of fuel.
    pub exhausted: Vec<ExhaustedLane>,
}

/// Evaluate a binary op (specs/protocol.md 1.4).
#[inline(always)]
pub fn bin(op: Bin, a: u32, b: u32) -> u32 {
    let f = f32::from_bits;
    let (x, y) = (a as i32, b as i32);
    match op {
        Bin::Add => a.wrapping_add(b),
        Bin::Sub => a.wrapping_sub(b),
        Bin::Mul => a.wrapping_mul(b),
        Bin::DivU => a.checked_div(b).unwrap_or(a),
        Bin::DivI => {
            if y == 0 || (x == i32::MIN && y == -1) {
                a
            } else {
                (x / y) as u32
            }
        }
        Bin::RemU => a.checked_rem(b).unwrap_or(0),
        Bin::RemI => {
            if y == 0 || (x == i32::MIN && y == -1) {
                0
            } else {
                (x % y) as u32
            }
        }
        Bin::AddF => (f(a) + f(b)).to_bits(),
        Bin::SubF => (f(a) - f(b)).to_bits(),
        Bin::MulF => (f(a) * f(b)).to_bits(),
        Bin::DivF => (f(a) / f(b)).to_bits(),
        Bin::RemF => (f(a) - f(b) * (f(a) / f(b)).trunc()).to_bits(),
        Bin::And => a & b,
        Bin::Or => a | b,
        Bin::Xor => a ^ b,
        Bin::Shl => a << (b & 31),
        Bin::ShrU => a >> (b & 31),
        Bin::ShrI => (x >> (b & 31)) as u32,
        Bin::Eq => (a == b) as u32,
        Bin::Ne => (a != b) as u32,
        Bin::EqF => (f(a) == f(b)) as u32,
        Bin::NeF => (f(a) != f(b)) as u32,
        Bin::LtU => (a < b) as u32,
        Bin::LtI => (x < y) as u32,
        Bin::LtF => (f(a) < f(b)) as u32,
        Bin::LeU => (a <= b) as u32,
        Bin::LeI => (x <= y) as u32,
        Bin::LeF => (f(a) <= f(b)) as u32,
        Bin::GtU => (a > b) as u32,
        Bin::GtI => (x > y) as u32,
        Bin::GtF => (f(a) > f(b)) as u32,
        Bin::GeU => (a >= b) as u32,
        Bin::GeI => (x >= y) as u32,
        Bin::GeF => (f(a) >= f(b)) as u32,
        Bin::LogicalAnd => (a != 0 && b != 0) as u32,
        Bin::LogicalOr => (a != 0 || b != 0) as u32,
        Bin::MinU => a.min(b),
        Bin::MinI => x.min(y) as u32,
        Bin::MinF => f(a).min(f(b)).to_bits(),
        Bin::MaxU => a.max(b),
        Bin::MaxI => x.max(y) as u32,
        Bin::MaxF => f(a).max(f(b)).to_bits(),
    }
}

/// Evaluate a unary op (specs/protocol.md 1.4).
#[inline(always)]
pub fn un(op: Un, a: u32) -> u32 {
    match op {
        Un::NegI32 => (a as i32).wrapping_neg() as u32,
        Un::NegF32 => a ^ 0x8000_0000,
        Un::Not => (a == 0) as u32,
        Un::BitNot => !a,
    }
}

/// Evaluate a conversion (specs/protocol.md 1.4).
#[inline(always)]
pub fn conv(c: Conv, a: u32) -> u32 {
    let f = f32::from_bits(a);
    match c {
        Conv::Bits => a,
        Conv::F32ToU32 => f as u32,
        Conv::F32ToI32 => (f as i32) as u32,
        Conv::U32ToF32 => (a as f32).to_bits(),
        Conv::I32ToF32 => ((a as i32) as f32).to_bits(),
        Conv::BoolToF32 => if a != 0 { 1.0f32 } else { 0.0f32 }.to_bits(),
        Conv::IntToBool => (a != 0) as u32,
        Conv::F32ToBool => (f != 0.0) as u32,
    }
}

/// `regs[d] = f(regs[a], regs[b])` over `w` lanes (registers are `w`-word rows).
#[inline(always)]
fn map2(regs: &mut [u32], w: usize, d: usize, a: usize, b: usize, f: impl Fn(u32, u32) -> u32) {
    let mut out = [0u32; MAX_WORKGROUP_SIZE as usize];
    for ((o, &x), &y) in out[..w].iter_mut().zip(&regs[a * w..a * w + w]).zip(&regs[b * w..b * w + w]) {
        *o = f(x, y);
    }
    regs[d * w..d * w + w].copy_from_slice(&out[..w]);
}

/// `regs[d] = f(regs[a])` over `w` lanes.
#[inline(always)]
fn map1(regs: &mut [u32], w: usize, d: usize, a: usize, f: impl Fn(u32) -> u32) {
    let mut out = [0u32; MAX_WORKGROUP_SIZE as usize];
    for (o, &x) in out[..w].iter_mut().zip(&regs[a * w..a * w + w]) {
        *o = f(x);
    }
    regs[d * w..d * w + w].copy_from_slice(&out[..w]);
}

/// Run `$body` with `$f` bound to the lane function of `$op`, one copy per op kind, so
/// each lane loop is compiled for a fixed op (the semantics stay in [`bin`]).
macro_rules! specialize_bin {
    ($op:expr, |$f:ident| $body:expr) => {
        specialize_bin!(@arms $op, $f, $body; Add Sub Mul DivU DivI RemU RemI AddF SubF MulF DivF RemF And Or Xor Shl
            ShrU ShrI Eq Ne EqF NeF LtU LtI LtF LeU LeI LeF GtU GtI GtF GeU GeI GeF LogicalAnd LogicalOr MinU MinI MinF
            MaxU MaxI MaxF)
    };
    (@arms $op:expr, $f:ident, $body:expr; $($kind:ident)*) => {
        match $op {
            $(Bin::$kind => {
                let $f = |x: u32, y: u32| bin(Bin::$kind, x, y);
                $body
            })*
        }
    };
}

impl<'a, H: Hooks> Warp<'a, H> {
    /// A warp ready to run the program from the start.
    pub fn new(code: &'a Code, mem: &'a Memory, hooks: &'a H, place: WarpPlace) -> Self {
        let w = place.width as usize;
        Warp {
            code,
            mem,
            hooks,
            place,
            w,
            regs: vec![0; code.registers as usize * w],
            returned: Mask::NONE,
            broken: Vec::new(),
            exhausted: Vec::new(),
        }
    }

    /// Reuse this warp's registers for another place in the grid.
    pub fn reset(&mut self, place: WarpPlace) {
        debug_assert_eq!(place.width as usize, self.w);
        self.place = place;
        self.returned = Mask::NONE;
        self.broken.clear();
    }

    /// Run the program to the end for every lane of the warp.
    pub fn run(&mut self) {
        let code = self.code;
        self.block(&code.body, Mask::first(self.place.width));
    }

    fn global_id(&self, l: usize) -> u32 {
        self.place.workgroup.wrapping_mul(self.code.workgroup_size).wrapping_add(self.place.first_local + l as u32)
    }

    fn ops(&mut self, ops: &[Op]) {
        for op in ops {
            self.op(op);
        }
    }

    #[inline]
    fn op(&mut self, op: &Op) {
        let w = self.w;
        let r = |reg: Reg| reg as usize * w;
        match *op {
            Op::Const { dst, value } => self.regs[r(dst)..r(dst) + w].fill(value),
            Op::Builtin { dst, which } => {
                for l in 0..w {
                    let v = match which {
                        Builtin::GlobalInvocationId => self.global_id(l),
                        Builtin::LocalInvocationId => self.place.first_local + l as u32,
                        Builtin::WorkgroupId => self.place.workgroup,
                        Builtin::NumWorkgroups => self.place.num_workgroups,
                        Builtin::WorkgroupSize => self.code.workgroup_size,
                    };
                    self.regs[r(dst) + l] = v;
                }
            }
            Op::Copy { dst, src } => self.regs.copy_within(r(src)..r(src) + w, r(dst)),
            Op::Un { dst, op, a } => map1(&mut self.regs, w, dst as usize, a as usize, |x| un(op, x)),
            Op::Bin { dst, op, a, b } => {
                let regs = &mut self.regs;
                specialize_bin!(op, |f| map2(regs, w, dst as usize, a as usize, b as usize, f))
            }
            Op::BinImm { dst, op, a, imm } => {
                let regs = &mut self.regs;
                specialize_bin!(op, |f| map1(regs, w, dst as usize, a as usize, |x| f(x, imm)))
            }
            Op::Select { dst, c, a, b } => {
                for l in 0..w {
                    let v = if self.regs[r(c) + l] != 0 { self.regs[r(a) + l] } else { self.regs[r(b) + l] };
                    self.regs[r(dst) + l] = v;
                }
            }
            Op::Conv { dst, conv: c, a } => {
                for l in 0..w {
                    self.regs[r(dst) + l] = conv(c, self.regs[r(a) + l]);
                }
            }
            Op::Load { dst, buf, idx, offset } => {
                let words = self.mem.buffer(buf);
                map1(&mut self.regs, w, dst as usize, idx as usize, |i| {
                    words.get(i.wrapping_add(offset) as usize).map_or(0, |word| word.load(Relaxed))
                });
            }
            Op::LoadConst { dst, buf, index } => {
                let v = self.mem.word(buf, index).map_or(0, |word| word.load(Relaxed));
                self.regs[r(dst)..r(dst) + w].fill(v);
            }
        }
    }

    #[inline]
    fn reg(&self, reg: Reg, l: u32) -> u32 {
        self.regs[reg as usize * self.w + l as usize]
    }

    fn lanes_where(&self, live: Mask, reg: Reg) -> Mask {
        let mut m = Mask::NONE;
        for l in live.lanes() {
            if self.reg(reg, l) != 0 {
                m.set(l);
            }
        }
        m
    }

    fn block(&mut self, nodes: &[Node], entry: Mask) {
        for n in nodes {
            let live = entry.and_not(self.returned).and_not(self.broken.last().copied().unwrap_or(Mask::NONE));
            if !live.any() {
                return;
            }
            self.node(n, live);
        }
    }

    fn node(&mut self, n: &Node, live: Mask) {
        let w = self.w;
        match n {
            Node::Eval(ops) => self.ops(ops),
            Node::Assign { dst, src } => {
                for l in live.lanes() {
                    self.regs[*dst as usize * w + l as usize] = self.reg(*src, l);
                }
            }
            Node::Store { buf, idx, val } => {
                for l in live.lanes() {
                    if let Some(word) = self.mem.word(*buf, self.reg(*idx, l)) {
                        word.store(self.reg(*val, l), Relaxed);
                    }
                }
            }
            Node::Atomic { op, buf, idx, a, b, dst } => self.atomic(*op, *buf, *idx, *a, *b, *dst, live),
            Node::Crc32 { var, buf, word, bytes } => {
                let words = self.mem.buffer(*buf);
                for l in live.lanes() {
                    let (crc, first, count) = (self.reg(*var, l), self.reg(*word, l), self.reg(*bytes, l));
                    let crc = crc32_of_words(crc, words.len(), first, count, |i| words[i].load(Relaxed));
                    self.regs[*var as usize * w + l as usize] = crc;
                }
            }
            Node::If { cond, then, otherwise } => {
                let t = self.lanes_where(live, *cond);
                let e = live.and_not(t);
                if t.any() {
                    self.block(then, t);
                }
                if e.any() {
                    self.block(otherwise, e);
                }
            }
            Node::For { var, to, body } => {
                self.broken.push(Mask::NONE);
                let mut lanes = live;
                loop {
                    if self.mem.stopped() {
                        self.returned = self.returned.or(live);
                        break;
                    }
                    let mut active = Mask::NONE;
                    for l in lanes.and_not(self.returned).and_not(self.broken_top()).lanes() {
                        if self.reg(*var, l) < self.reg(*to, l) {
                            active.set(l);
                        }
                    }
                    if !active.any() {
                        break;
                    }
                    self.block(body, active);
                    for l in active.and_not(self.returned).and_not(self.broken_top()).lanes() {
                        let i = *var as usize * w + l as usize;
                        self.regs[i] = self.regs[i].wrapping_add(1);
                    }
                    lanes = active;
                }
                self.broken.pop();
            }
            Node::Persistent { fuel, count, exit_ops, exit, body, on_exhausted, path } => {
                self.broken.push(Mask::NONE);
                let mut lanes = live;
                let mut exhausted = Mask::NONE;
                loop {
                    if self.mem.stopped() {
                        self.returned = self.returned.or(live);
                        break;
                    }
                    let mut active = lanes.and_not(self.returned).and_not(self.broken_top());
                    if !active.any() {
                        break;
                    }
                    self.hooks.round(self.place.id);
                    for l in active.lanes() {
                        if self.reg(*count, l) >= self.reg(*fuel, l) {
                            exhausted.set(l);
                        }
                    }
                    active = active.and_not(exhausted);
                    if active.any() {
                        self.ops(exit_ops);
                        active = active.and_not(self.lanes_where(active, *exit));
                    }
                    if !active.any() {
                        break;
                    }
                    for l in active.lanes() {
                        let i = *count as usize * w + l as usize;
                        self.regs[i] += 1;
                    }
                    self.block(body, active);
                    lanes = active;
                }
                self.broken.pop();
                let exhausted = exhausted.and_not(self.returned);
                if exhausted.any() {
                    for l in exhausted.lanes() {
                        self.exhausted
                            .push(ExhaustedLane { lane: self.global_id(l as usize), loop_path: path.clone() });
                    }
                    self.block(on_exhausted, exhausted);
                }
            }
            Node::Break => {
                if let Some(top) = self.broken.last_mut() {
                    *top = top.or(live);
                }
            }
            Node::Return => self.returned = self.returned.or(live),
            Node::Barrier => self.hooks.barrier(self.place.id),
        }
    }

    fn broken_top(&self) -> Mask {
        self.broken.last().copied().unwrap_or(Mask::NONE)
    }

    #[allow(clippy::too_many_arguments)]
    fn atomic(&mut self, kind: AtomicOp, buf: u16, idx: Reg, a: Reg, b: Reg, dst: Option<Reg>, live: Mask) {
        // Adds of one word by the whole warp are one add of the sum: the lanes' adds happen
        // back to back in lane order, a valid relaxed execution; each lane that reads its
        // old value gets the word plus the adds of the lanes before it.
        if matches!(kind, AtomicOp::Add | AtomicOp::Sub) {
            let mut lanes = live.lanes();
            if let Some(first) = lanes.next() {
                let index = self.reg(idx, first);
                let mut sum = self.reg(a, first);
                let mut uniform = true;
                for l in lanes {
                    uniform &= self.reg(idx, l) == index;
                    sum = sum.wrapping_add(self.reg(a, l));
                }
                if uniform {
                    let word = self.mem.word(buf, index);
                    let mut old = word.map_or(0, |w| match kind {
                        AtomicOp::Add => w.fetch_add(sum, Relaxed),
                        _ => w.fetch_sub(sum, Relaxed),
                    });
                    if let Some(d) = dst {
                        let in_buffer = word.is_some();
                        for l in live.lanes() {
                            self.regs[d as usize * self.w + l as usize] = if in_buffer { old } else { 0 };
                            let x = self.reg(a, l);
                            old = if kind == AtomicOp::Add { old.wrapping_add(x) } else { old.wrapping_sub(x) };
                        }
                    }
                    return;
                }
            }
        }
        for l in live.lanes() {
            let (index, x, y) = (self.reg(idx, l), self.reg(a, l), self.reg(b, l));
            let old = self.mem.word(buf, index).map_or(0, |word| atomic_word(kind, word, x, y));
            if let Some(d) = dst {
                self.regs[d as usize * self.w + l as usize] = old;
            }
        }
    }
}

/// One atomic operation on one word; returns the old value (for a store, the value
/// stored; for a compare-exchange, the value seen).
#[inline]
pub fn atomic_word(kind: AtomicOp, word: &crate::sync::AtomicU32, x: u32, y: u32) -> u32 {
    match kind {
        AtomicOp::Load => word.load(Relaxed),
        AtomicOp::Store => {
            word.store(x, Relaxed);
            x
        }
        AtomicOp::Add => word.fetch_add(x, Relaxed),
        AtomicOp::Sub => word.fetch_sub(x, Relaxed),
        AtomicOp::And => word.fetch_and(x, Relaxed),
        AtomicOp::Or => word.fetch_or(x, Relaxed),
        AtomicOp::Xor => word.fetch_xor(x, Relaxed),
        AtomicOp::Min => word.fetch_min(x, Relaxed),
        AtomicOp::Max => word.fetch_max(x, Relaxed),
        AtomicOp::Exchange => word.swap(x, Relaxed),
        AtomicOp::CompareExchange => match word.compare_exchange(x, y, Relaxed, Relaxed) {
            Ok(old) | Err(old) => old,
        },
    }
}
