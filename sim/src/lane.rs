//! One lane as an explicit state machine, for the deterministic schedule.
//!
//! The SIMT executor ([`crate::exec`]) runs a warp to its end on the native stack; a
//! schedule that interleaves lanes one access at a time would need a thread per lane to
//! hold that stack. Here a lane's position is data instead: a stack of [`Frame`]s (the
//! block and node it is at, the loops it is in, the pure ops it is half-way through), so
//! one thread runs every lane and switches between them with no hand-off. Before every
//! shared access and at every persistent-loop round the lane offers the scheduler a
//! switch ([`Scheduler::switch_here`]); if the scheduler takes it, [`Lane::run`] returns
//! with the lane paused *before* that access, and the next call performs it.
//!
//! The semantics are the executor's for a warp of one lane: the same pure ops
//! ([`crate::exec::bin`], [`crate::exec::un`], [`crate::exec::conv`]), the same atomic
//! word operation ([`crate::exec::atomic_word`]), the same order of the loop tests, fuel
//! checks and stop checks.

use crate::code::{Code, Node, Op, Reg};
use crate::exec::{atomic_word, bin, conv, un};
use crate::memory::Memory;
use crate::sync::Ordering::Relaxed;
use megaloop::host::ExhaustedLane;
use megaloop::ir::crc::crc32_of_words;
use megaloop::ir::Builtin;

/// What kind of shared access a lane made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// Plain load.
    Load,
    /// Plain store.
    Store,
    /// Atomic read-modify-write (or atomic load/store).
    Atomic,
}

/// One shared access, as the deterministic schedule records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Global invocation id of the lane.
    pub lane: u32,
    /// Kind.
    pub kind: AccessKind,
    /// Buffer index.
    pub buf: u16,
    /// Word index.
    pub index: u32,
    /// Value read (loads, old value of atomics) or written (stores).
    pub value: u32,
}

/// What a lane asks of the schedule that runs it.
pub trait Scheduler {
    /// The lane is about to make a shared access or start a persistent-loop round: true
    /// to pause it here and run another participant.
    fn switch_here(&mut self) -> bool;
    /// The lane made `access`.
    fn record(&mut self, access: Access);
}

/// Why [`Lane::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// The scheduler took a switch: the lane resumes at the same point.
    Switch,
    /// The lane reached a barrier: it resumes after it once its workgroup is there.
    Barrier,
    /// The lane ended (ran to its end, returned, or the run was stopped).
    Done,
}

/// Where a lane is: one entry per block, loop or op sequence it is inside.
#[derive(Clone, Copy, Debug)]
enum Frame<'c> {
    /// Running `nodes[at..]`.
    Block { nodes: &'c [Node], at: usize },
    /// Running the pure ops `ops[at..]`.
    Ops { ops: &'c [Op], at: usize },
    /// A `for` loop: on each visit, count the finished body (after the first), then test.
    For { var: Reg, to: Reg, body: &'c [Node], started: bool },
    /// A persistent loop at its head (round, fuel, exit ops) or after its exit ops.
    Persistent { node: &'c Node, exit_evaluated: bool },
}

/// One lane of a grid: registers, position, and the loops it left out of fuel.
pub struct Lane<'c> {
    code: &'c Code,
    regs: Vec<u32>,
    frames: Vec<Frame<'c>>,
    global_id: u32,
    local_id: u32,
    workgroup: u32,
    num_workgroups: u32,
    /// The switch point the lane is at was offered already: perform it on resume.
    offered: bool,
    /// Lanes whose persistent loops ran out of fuel (this one, once per loop).
    pub exhausted: Vec<ExhaustedLane>,
}

impl<'c> Lane<'c> {
    /// Lane `local_id` of `workgroup`, at the start of the program.
    pub fn new(code: &'c Code, workgroup: u32, num_workgroups: u32, local_id: u32) -> Lane<'c> {
        Lane {
            code,
            regs: vec![0; code.registers as usize],
            frames: vec![Frame::Block { nodes: &code.body, at: 0 }],
            global_id: workgroup.wrapping_mul(code.workgroup_size).wrapping_add(local_id),
            local_id,
            workgroup,
            num_workgroups,
            offered: false,
            exhausted: Vec::new(),
        }
    }

    /// Whether a switch is taken at this point: asks once, and on resume proceeds.
    #[inline]
    fn pause_here<S: Scheduler>(&mut self, sched: &mut S) -> bool {
        if std::mem::take(&mut self.offered) {
            return false;
        }
        self.offered = sched.switch_here();
        self.offered
    }

    fn reg(&self, r: Reg) -> u32 {
        self.regs[r as usize]
    }

    #[inline]
    fn load<S: Scheduler>(&self, mem: &Memory, buf: u16, index: u32, sched: &mut S) -> u32 {
        let value = mem.word(buf, index).map_or(0, |w| w.load(Relaxed));
        sched.record(Access { lane: self.global_id, kind: AccessKind::Load, buf, index, value });
        value
    }

    /// Run until the scheduler takes a switch, a barrier, or the end.
    pub fn run<S: Scheduler>(&mut self, mem: &Memory, sched: &mut S) -> Pause {
        loop {
            let Some(top) = self.frames.last_mut() else { return Pause::Done };
            match *top {
                Frame::Block { nodes, mut at } => {
                    // Run the block's nodes in a tight loop while they leave the frames
                    // alone; the position is written back before anything that may push
                    // a frame or pause.
                    let depth = self.frames.len() - 1;
                    let set_at = |frames: &mut Vec<Frame<'c>>, to: usize| {
                        if let Frame::Block { at, .. } = &mut frames[depth] {
                            *at = to;
                        }
                    };
                    loop {
                        let Some(node) = nodes.get(at) else {
                            self.frames.pop();
                            break;
                        };
                        if matches!(node, Node::Store { .. } | Node::Atomic { .. } | Node::Crc32 { .. })
                            && self.pause_here(sched)
                        {
                            set_at(&mut self.frames, at);
                            return Pause::Switch;
                        }
                        at += 1;
                        match node {
                            Node::Assign { .. } | Node::Store { .. } | Node::Atomic { .. } | Node::Crc32 { .. } => {
                                self.node(node, mem, sched);
                                continue;
                            }
                            Node::Eval(ops) => {
                                set_at(&mut self.frames, at);
                                if let Some(pause) = self.ops(ops, 0, mem, sched) {
                                    return pause;
                                }
                                continue;
                            }
                            _ => {}
                        }
                        set_at(&mut self.frames, at);
                        if let Some(pause) = self.node(node, mem, sched) {
                            return pause;
                        }
                        break;
                    }
                }
                Frame::Ops { ops, at } => {
                    self.frames.pop();
                    if let Some(pause) = self.ops(ops, at, mem, sched) {
                        return pause;
                    }
                }
                Frame::For { var, to, body, started } => {
                    if started {
                        let v = &mut self.regs[var as usize];
                        *v = v.wrapping_add(1);
                    } else if let Some(Frame::For { started, .. }) = self.frames.last_mut() {
                        *started = true;
                    }
                    if mem.stopped() {
                        self.frames.clear();
                        return Pause::Done;
                    }
                    if self.reg(var) < self.reg(to) {
                        self.frames.push(Frame::Block { nodes: body, at: 0 });
                    } else {
                        self.frames.pop();
                    }
                }
                Frame::Persistent { node, exit_evaluated } => {
                    let Node::Persistent { fuel, count, exit_ops, exit, body, on_exhausted, path } = node else {
                        unreachable!("a persistent frame holds a persistent node")
                    };
                    if exit_evaluated {
                        if self.reg(*exit) != 0 {
                            self.frames.pop();
                        } else {
                            if let Some(Frame::Persistent { exit_evaluated, .. }) = self.frames.last_mut() {
                                *exit_evaluated = false;
                            }
                            self.regs[*count as usize] += 1;
                            self.frames.push(Frame::Block { nodes: body, at: 0 });
                        }
                        continue;
                    }
                    if mem.stopped() {
                        self.frames.clear();
                        return Pause::Done;
                    }
                    if self.pause_here(sched) {
                        return Pause::Switch;
                    }
                    if self.reg(*count) >= self.reg(*fuel) {
                        self.frames.pop();
                        self.exhausted.push(ExhaustedLane { lane: self.global_id, loop_path: path.clone() });
                        self.frames.push(Frame::Block { nodes: on_exhausted, at: 0 });
                    } else {
                        if let Some(Frame::Persistent { exit_evaluated, .. }) = self.frames.last_mut() {
                            *exit_evaluated = true;
                        }
                        self.frames.push(Frame::Ops { ops: exit_ops, at: 0 });
                    }
                }
            }
        }
    }

    /// Start one node (its position already advanced past it).
    #[inline]
    fn node<S: Scheduler>(&mut self, node: &'c Node, mem: &Memory, sched: &mut S) -> Option<Pause> {
        match node {
            Node::Eval(ops) => return self.ops(ops, 0, mem, sched),
            Node::Assign { dst, src } => self.regs[*dst as usize] = self.reg(*src),
            Node::Store { buf, idx, val } => {
                let (index, value) = (self.reg(*idx), self.reg(*val));
                if let Some(word) = mem.word(*buf, index) {
                    word.store(value, Relaxed);
                }
                sched.record(Access { lane: self.global_id, kind: AccessKind::Store, buf: *buf, index, value });
            }
            Node::Crc32 { var, buf, word, bytes } => {
                let words = mem.buffer(*buf);
                let (crc, first, count) = (self.reg(*var), self.reg(*word), self.reg(*bytes));
                self.regs[*var as usize] = crc32_of_words(crc, words.len(), first, count, |i| {
                    let value = words[i].load(Relaxed);
                    sched.record(Access {
                        lane: self.global_id,
                        kind: AccessKind::Load,
                        buf: *buf,
                        index: i as u32,
                        value,
                    });
                    value
                });
            }
            Node::Atomic { op, buf, idx, a, b, dst } => {
                let index = self.reg(*idx);
                let value = mem.word(*buf, index).map_or(0, |w| atomic_word(*op, w, self.reg(*a), self.reg(*b)));
                sched.record(Access { lane: self.global_id, kind: AccessKind::Atomic, buf: *buf, index, value });
                if let Some(d) = dst {
                    self.regs[*d as usize] = value;
                }
            }
            Node::If { cond, then, otherwise } => {
                let nodes = if self.reg(*cond) != 0 { then } else { otherwise };
                if !nodes.is_empty() {
                    self.frames.push(Frame::Block { nodes, at: 0 });
                }
            }
            Node::For { var, to, body } => {
                self.frames.push(Frame::For { var: *var, to: *to, body, started: false });
            }
            Node::Persistent { .. } => self.frames.push(Frame::Persistent { node, exit_evaluated: false }),
            Node::Break => {
                // Leave the innermost loop (a persistent loop left by `break` is not out of
                // fuel).
                while let Some(frame) = self.frames.pop() {
                    if matches!(frame, Frame::For { .. } | Frame::Persistent { .. }) {
                        break;
                    }
                }
            }
            Node::Return => {
                self.frames.clear();
                return Some(Pause::Done);
            }
            Node::Barrier => return Some(Pause::Barrier),
        }
        None
    }

    /// Run `ops[at..]`; if the scheduler takes a switch before a load, the rest is left
    /// as a frame to resume.
    fn ops<S: Scheduler>(&mut self, ops: &'c [Op], at: usize, mem: &Memory, sched: &mut S) -> Option<Pause> {
        for (k, op) in ops.iter().enumerate().skip(at) {
            if matches!(op, Op::Load { .. } | Op::LoadConst { .. }) && self.pause_here(sched) {
                self.frames.push(Frame::Ops { ops, at: k });
                return Some(Pause::Switch);
            }
            self.op(op, mem, sched);
        }
        None
    }

    #[inline]
    fn op<S: Scheduler>(&mut self, op: &Op, mem: &Memory, sched: &mut S) {
        let (dst, value) = match *op {
            Op::Const { dst, value } => (dst, value),
            Op::Builtin { dst, which } => (
                dst,
                match which {
                    Builtin::GlobalInvocationId => self.global_id,
                    Builtin::LocalInvocationId => self.local_id,
                    Builtin::WorkgroupId => self.workgroup,
                    Builtin::NumWorkgroups => self.num_workgroups,
                    Builtin::WorkgroupSize => self.code.workgroup_size,
                },
            ),
            Op::Copy { dst, src } => (dst, self.reg(src)),
            Op::Un { dst, op, a } => (dst, un(op, self.reg(a))),
            Op::Bin { dst, op, a, b } => (dst, bin(op, self.reg(a), self.reg(b))),
            Op::BinImm { dst, op, a, imm } => (dst, bin(op, self.reg(a), imm)),
            Op::Select { dst, c, a, b } => (dst, self.reg(if self.reg(c) != 0 { a } else { b })),
            Op::Conv { dst, conv: c, a } => (dst, conv(c, self.reg(a))),
            Op::Load { dst, buf, idx, offset } => (dst, self.load(mem, buf, self.reg(idx).wrapping_add(offset), sched)),
            Op::LoadConst { dst, buf, index } => (dst, self.load(mem, buf, index, sched)),
        };
        self.regs[dst as usize] = value;
    }
}
