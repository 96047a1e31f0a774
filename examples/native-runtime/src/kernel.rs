//! The megakernel itself, written from specs/protocol.md part 2 alone: buffers of std
//! atomics, one std thread per lane, the lane's sequence for one slot (2.4), the built-in
//! handlers (2.5), user handlers (run by [`crate::interp`]), the four modes' lane loops
//! (2.6, 2.7) and the device side of IO (2.8). It shares megaloop's constants, not its
//! builders or its simulator.

use crate::interp::{Interpreter, LaneIds, Value};
use megaloop::builder::{names, BuildOptions, Mode, UserHandler};
use megaloop::host::io::buffer_index::{CONTROL, DEBUG_LOG, HEAP, IO_QUEUE, RING};
use megaloop::host::{ExhaustedLane, Outcome};
use megaloop::protocol::layout::*;
use megaloop::protocol::opcode::*;
use megaloop::protocol::packed::{PACKED_ADDR_LIMIT, PACKED_MAX_OPS, PACKED_OP_SHIFT};
use megaloop::protocol::Status;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// A bug this runtime can be started with, to show the conformance corpus catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The claim trusts the status it read: CLAIMED is stored, not compare-exchanged, so
    /// two lanes that both read PUBLISHED both run the slot.
    TrustingClaim,
    /// The tenant rule reads `control[3 + t]` for any `t`, past the 29-entry mask table
    /// (vyre 0.6's defect 1).
    UnboundedTenant,
}

impl Fault {
    /// Every switch, by the name the handshake declares.
    pub const ALL: [(&'static str, Fault); 2] =
        [("trusting-claim", Fault::TrustingClaim), ("unbounded-tenant", Fault::UnboundedTenant)];
}

/// The buffers of one run, as atomic words.
pub struct Memory {
    buffers: Vec<Vec<AtomicU32>>,
}

impl Memory {
    /// Take the host's words.
    pub fn new(buffers: &[Vec<u32>]) -> Memory {
        Memory { buffers: buffers.iter().map(|b| b.iter().map(|&w| AtomicU32::new(w)).collect()).collect() }
    }

    /// Give the words back.
    pub fn into_words(self) -> Vec<Vec<u32>> {
        self.buffers.into_iter().map(|b| b.into_iter().map(AtomicU32::into_inner).collect()).collect()
    }

    fn word(&self, buffer: usize, index: u32) -> Option<&AtomicU32> {
        self.buffers.get(buffer)?.get(index as usize)
    }
    /// The words of buffer `buffer`.
    pub fn words(&self, buffer: usize) -> u32 {
        self.buffers.get(buffer).map_or(0, |b| b.len() as u32)
    }
    /// Word `index`, or 0 past the buffer's end (1.4).
    pub fn load(&self, buffer: usize, index: u32) -> u32 {
        self.word(buffer, index).map_or(0, |w| w.load(Relaxed))
    }
    /// Store word `index`; dropped past the buffer's end (1.5).
    pub fn store(&self, buffer: usize, index: u32, value: u32) {
        if let Some(w) = self.word(buffer, index) {
            w.store(value, Relaxed)
        }
    }
    fn add(&self, buffer: usize, index: u32, value: u32) -> u32 {
        self.word(buffer, index).map_or(0, |w| w.fetch_add(value, Relaxed))
    }
    /// One atomic read-modify-write `word = f(word, value)`: the old value, or 0 (and
    /// nothing written) past the buffer's end.
    pub fn rmw(&self, buffer: usize, index: u32, value: u32, f: fn(u32, u32) -> u32) -> u32 {
        self.word(buffer, index).map_or(0, |w| match w.fetch_update(Relaxed, Relaxed, |old| Some(f(old, value))) {
            Ok(old) | Err(old) => old,
        })
    }
    /// Strong compare-exchange: the old value.
    pub fn cas(&self, buffer: usize, index: u32, expected: u32, new: u32) -> u32 {
        self.word(buffer, index).map_or(0, |w| match w.compare_exchange(expected, new, Relaxed, Relaxed) {
            Ok(old) | Err(old) => old,
        })
    }
}

/// One run: the kernel's parameters and its memory.
pub struct Run<'a> {
    /// The kernel's options (mode, ring size, heap, observables, IO entries, handler set).
    pub kernel: &'a BuildOptions,
    /// Its buffers.
    pub memory: &'a Memory,
    /// Each buffer's name, in the memory's order (user handlers name buffers).
    pub buffer_names: &'a [String],
    /// Lanes launched.
    pub lanes: u32,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// The bug switched on, if any.
    pub fault: Option<Fault>,
    /// The first user handler that failed to run (a bug here or in megaloop's validator).
    pub failure: std::sync::OnceLock<String>,
}

/// What a lane is doing with one claimed slot.
struct Claimed {
    slot: u32,
    base: u32,
    opcode: u32,
    tenant: u32,
    priority: u32,
    next: u32,
}

impl Claimed {
    /// The control words its claim counts in (2.4 step 4): its tenant's and its priority's.
    fn claim_counters(&self) -> [u32; 2] {
        [CTRL_TENANT_FAIRNESS + self.tenant, CTRL_PRIORITY_CLAIMS + self.priority.min(PRIORITY_IDLE)]
    }

    /// The control word counting executions of its opcode (2.4 step 6).
    fn metric(&self) -> u32 {
        CTRL_METRICS + self.opcode % METRIC_WORDS
    }
}

impl Run<'_> {
    fn ring(&self, slot: &Claimed, word: u32) -> u32 {
        self.memory.load(RING, slot.base + word)
    }
    fn arg(&self, slot: &Claimed, k: u32) -> u32 {
        self.ring(slot, SLOT_ARG0 + k)
    }

    /// Run every lane to its end: the outcome (the lanes that ran out of fuel), or an
    /// error when a lane failed.
    pub fn run(&self) -> Result<Outcome, String> {
        // Once-mode lanes never wait on each other, so a few threads run them all; the
        // persistent modes' lanes do (the drain target), so each has its own thread.
        let threads = match self.kernel.mode {
            Mode::Once => self.lanes.min(std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2)),
            Mode::Persistent | Mode::Priority | Mode::Jit => self.lanes,
        };
        // Every thread starts its lanes together, as a dispatch does.
        let start = std::sync::Barrier::new(threads as usize);
        let ran: Vec<Result<bool, String>> = std::thread::scope(|scope| {
            let start = &start;
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        start.wait();
                        (t..self.lanes).step_by(threads as usize).map(|g| self.lane(g)).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut per_lane = vec![Ok(false); self.lanes as usize];
            for (t, worker) in workers.into_iter().enumerate() {
                match worker.join() {
                    Ok(lanes) => {
                        for (k, out_of_fuel) in lanes.into_iter().enumerate() {
                            per_lane[t + k * threads as usize] = Ok(out_of_fuel);
                        }
                    }
                    Err(_) => per_lane[t] = Err("a lane panicked".to_string()),
                }
            }
            per_lane
        });
        if let Some(failure) = self.failure.get() {
            return Err(failure.clone());
        }
        let mut exhausted = Vec::new();
        for (lane, out_of_fuel) in (0..).zip(ran) {
            if out_of_fuel? {
                exhausted.push(ExhaustedLane { lane, loop_path: "lane loop".into() });
            }
        }
        Ok(if exhausted.is_empty() { Outcome::Completed } else { Outcome::fuel_exhausted(exhausted) })
    }

    /// One lane; whether it ran out of fuel.
    fn lane(&self, g: u32) -> bool {
        let slots = self.kernel.slots;
        match self.kernel.mode {
            Mode::Once => {
                let mut slot = g;
                while slot < slots {
                    let _ = self.try_slot(g, slot, &mut |_| {});
                    slot = match slot.checked_add(self.lanes) {
                        Some(next) => next,
                        None => break,
                    };
                }
                false
            }
            Mode::Persistent | Mode::Jit if g < slots => self.persistent_lane(g),
            Mode::Priority if g < slots => self.priority_lane(g),
            // Lanes past the ring have no work.
            Mode::Persistent | Mode::Jit | Mode::Priority => false,
        }
    }

    /// The fuel-bounded loop of the persistent modes: `iteration` once per round until the
    /// exit test fires; whether the fuel ran out. A round that claimed nothing yields the
    /// OS thread, so lanes that wait for others' slots do not burn their fuel before the
    /// others are even scheduled (a GPU runs a workgroup's lanes together).
    fn fuel_loop(&self, mut iteration: impl FnMut() -> bool) -> bool {
        let fuel = self.memory.load(CONTROL, CTRL_FUEL);
        for _ in 0..fuel {
            if self.exit_test() {
                return false;
            }
            if !iteration() {
                std::thread::yield_now();
            }
        }
        self.memory.add(CONTROL, CTRL_FUEL_EXHAUSTED, 1);
        true
    }

    /// Spec 2.6: SHUTDOWN, a closed epoch, or a settled target (which closes the epoch).
    fn exit_test(&self) -> bool {
        let m = self.memory;
        let target = m.load(CONTROL, CTRL_DRAIN_TARGET);
        if m.load(CONTROL, CTRL_SHUTDOWN) != 0 || target & DRAIN_TARGET_CLOSED != 0 {
            return true;
        }
        if m.load(CONTROL, CTRL_SETTLED) >= target {
            let old = m.cas(CONTROL, CTRL_DRAIN_TARGET, target, target | DRAIN_TARGET_CLOSED);
            return old == target || old & DRAIN_TARGET_CLOSED != 0;
        }
        false
    }

    /// Persistent and jit: the lane's shard `g, g + L, ...`, from SCAN_START, wrapping.
    fn persistent_lane(&self, g: u32) -> bool {
        let (slots, lanes) = (self.kernel.slots, self.lanes);
        let scan = self.memory.load(CONTROL, CTRL_SCAN_START).min(slots - 1);
        let first = u64::from(scan) + (u64::from(g) + u64::from(lanes) - u64::from(scan % lanes)) % u64::from(lanes);
        let mut cursor = if first >= u64::from(slots) { g } else { first as u32 };
        self.fuel_loop(|| {
            let slot = cursor;
            cursor = cursor.saturating_add(lanes);
            if cursor >= slots {
                cursor = g;
            }
            self.try_slot(g, slot, &mut |_| {})
        })
    }

    /// Priority (2.7): one ticket per iteration from the first unfinished partition, in
    /// urgent-first or idle-first order; rewind finished cursors when none is left.
    fn priority_lane(&self, g: u32) -> bool {
        let m = self.memory;
        let bound = |w: u32| m.load(CONTROL, w).min(self.kernel.slots);
        let mut starts = [0u32; PRIORITY_LEVELS as usize];
        let mut lens = [0u32; PRIORITY_LEVELS as usize];
        let mut start = bound(CTRL_PRIORITY_OFFSETS);
        for p in 0..PRIORITY_LEVELS as usize {
            let end = bound(CTRL_PRIORITY_OFFSETS + p as u32 + 1);
            starts[p] = start;
            lens[p] = end.saturating_sub(start);
            start = end;
        }
        self.fuel_loop(|| {
            let idle_first = m.load(CONTROL, CTRL_STARVATION) >= STARVATION_THRESHOLD;
            let order: Vec<usize> = if idle_first {
                (0..PRIORITY_LEVELS as usize).rev().collect()
            } else {
                (0..PRIORITY_LEVELS as usize).collect()
            };
            let mut pick = None;
            for p in order {
                let cursor = CTRL_PRIORITY_CURSORS + p as u32;
                if m.load(CONTROL, cursor) < lens[p] {
                    let ticket = m.add(CONTROL, cursor, 1);
                    if ticket < lens[p] {
                        pick = Some(starts[p] + ticket);
                        break;
                    }
                }
            }
            match pick {
                Some(slot) => self.try_slot(g, slot, &mut |m: &Memory| {
                    if idle_first {
                        m.store(CONTROL, CTRL_STARVATION, 0);
                    } else {
                        m.add(CONTROL, CTRL_STARVATION, 1);
                    }
                }),
                None => {
                    for (p, len) in lens.iter().enumerate() {
                        let cursor = CTRL_PRIORITY_CURSORS + p as u32;
                        let seen = m.load(CONTROL, cursor);
                        if seen >= *len && seen != 0 {
                            m.cas(CONTROL, cursor, seen, 0);
                        }
                    }
                    false
                }
            }
        })
    }

    /// The tenant rule (2.4 step 2, deviation 1).
    fn authorised(&self, tenant: u32) -> bool {
        let in_table = tenant < MAX_TENANTS || self.fault == Some(Fault::UnboundedTenant);
        in_table && self.memory.load(CONTROL, CTRL_TENANT_MASKS.wrapping_add(tenant)) != 0
    }

    /// Lane `g`'s sequence for slot `slot` (2.4); `on_claim` runs right after a won claim.
    fn try_slot(&self, g: u32, slot: u32, on_claim: &mut dyn FnMut(&Memory)) -> bool {
        let m = self.memory;
        let base = slot * SLOT_WORDS;
        let published = Status::Published.word();
        if m.load(RING, base + SLOT_STATUS) != published {
            return false;
        }
        let tenant = m.load(RING, base + SLOT_TENANT);
        if !self.authorised(tenant) {
            return false;
        }
        let won = match self.fault {
            Some(Fault::TrustingClaim) => {
                // Another lane may run between the read above and this store.
                std::thread::yield_now();
                m.store(RING, base + SLOT_STATUS, Status::Claimed.word());
                true
            }
            _ => m.cas(RING, base + SLOT_STATUS, published, Status::Claimed.word()) == published,
        };
        if !won {
            return false;
        }
        on_claim(m);
        let mut s = Claimed {
            slot,
            base,
            opcode: m.load(RING, base + SLOT_OPCODE),
            tenant,
            priority: m.load(RING, base + SLOT_PRIORITY),
            next: Status::Done.word(),
        };
        for word in s.claim_counters() {
            m.add(CONTROL, word, 1);
        }
        self.dispatch(g, &mut s);
        m.store(RING, base + SLOT_STATUS, s.next);
        m.add(CONTROL, s.metric(), 1);
        m.add(CONTROL, CTRL_SETTLED, 1);
        if s.next == Status::Done.word() {
            m.add(CONTROL, CTRL_DONE_COUNT, 1);
        } else if s.next == Status::Fault.word() {
            m.add(CONTROL, CTRL_FAULT_COUNT, 1);
        }
        true
    }

    /// Run the slot's handler (2.5) on lane `g`; an opcode outside the kernel's handler
    /// set FAULTs.
    fn dispatch(&self, g: u32, s: &mut Claimed) {
        if let Some(handler) = self.kernel.user_handlers.iter().find(|h| h.opcode == s.opcode) {
            match handler.io {
                Some(op) => self.io_request(g, s, op.word(), Some(handler)),
                None => self.user_handler(g, s, handler),
            }
            return;
        }
        let in_set = match self.kernel.mode {
            Mode::Jit => self.kernel.jit_builtins.iter().any(|b| b.opcode() == s.opcode),
            Mode::Once | Mode::Persistent | Mode::Priority => BuiltinOp::from_opcode(s.opcode).is_some(),
        };
        let fault = Status::Fault.word();
        if !in_set {
            s.next = fault;
            return;
        }
        let m = self.memory;
        let (heap, obs) = (self.kernel.heap_words, self.kernel.observables);
        let a = |k: u32| self.arg(s, k);
        let ok = match s.opcode {
            NOP => true,
            STORE_U32 => {
                a(0) < heap && {
                    m.store(HEAP, a(0), a(1));
                    true
                }
            }
            ATOMIC_ADD => {
                a(0) < heap && {
                    m.add(HEAP, a(0), a(1));
                    true
                }
            }
            LOAD_U32 => {
                a(0) < heap && a(1) < obs && {
                    m.store(CONTROL, CTRL_OBSERVABLES + a(1), m.load(HEAP, a(0)));
                    true
                }
            }
            COMPARE_SWAP => {
                a(0) < heap && a(3) < obs && {
                    let old = m.cas(HEAP, a(0), a(1), a(2));
                    m.store(CONTROL, CTRL_OBSERVABLES + a(3), old);
                    true
                }
            }
            MEMCPY => {
                let fits = |start: u32| start <= heap && a(2) <= heap - start;
                a(2) <= MEMCPY_MAX_WORDS && fits(a(0)) && fits(a(1)) && {
                    for i in 0..a(2) {
                        m.store(HEAP, a(0) + i, m.load(HEAP, a(1) + i));
                    }
                    true
                }
            }
            BATCH_FENCE => {
                if let Some(w) = m.word(CONTROL, CTRL_EPOCH) {
                    w.fetch_max(a(0), Relaxed);
                }
                true
            }
            PRINTF => {
                let at = m.add(DEBUG_LOG, DEBUG_CURSOR, DEBUG_RECORD_WORDS);
                if at < DEBUG_RECORDS * DEBUG_RECORD_WORDS {
                    for (k, v) in [s.slot, a(0), a(1), a(2)].into_iter().enumerate() {
                        m.store(DEBUG_LOG, 1 + at + k as u32, v);
                    }
                } else {
                    m.add(CONTROL, CTRL_DEBUG_DROPPED, 1);
                }
                true
            }
            PACKED_SLOT => self.packed(s, heap),
            SHUTDOWN => {
                m.store(CONTROL, CTRL_SHUTDOWN, 1);
                true
            }
            LOAD_MISS => return self.io_request(g, s, IO_OP_READ, None),
            _ => false,
        };
        if !ok {
            s.next = fault;
        }
    }

    /// PACKED_SLOT: every sub-operation checked before any runs.
    fn packed(&self, s: &Claimed, heap: u32) -> bool {
        let n = self.arg(s, 0);
        if !(1..=PACKED_MAX_OPS).contains(&n) {
            return false;
        }
        let sub = |k: u32| (self.arg(s, 1 + 2 * k), self.arg(s, 2 + 2 * k));
        let addr = |head: u32| head & (PACKED_ADDR_LIMIT - 1);
        if (0..n).any(|k| sub(k).0 >> PACKED_OP_SHIFT > ATOMIC_ADD || addr(sub(k).0) >= heap) {
            return false;
        }
        for k in 0..n {
            let (head, value) = sub(k);
            match head >> PACKED_OP_SHIFT {
                STORE_U32 => self.memory.store(HEAP, addr(head), value),
                ATOMIC_ADD => {
                    self.memory.add(HEAP, addr(head), value);
                }
                _ => {}
            }
        }
        true
    }

    /// A user handler's body on lane `g`, with the slot's documented variables; its
    /// `next_status` becomes FAULT unless it is one a lane may end with (2.4 step 5).
    fn user_handler(&self, g: u32, s: &mut Claimed, handler: &UserHandler) {
        let mut variables: Vec<(String, Value)> = [
            (names::SLOT, s.slot),
            (names::OPCODE, s.opcode),
            (names::TENANT, s.tenant),
            (names::PRIORITY, s.priority),
            (names::NEXT_STATUS, Status::Done.word()),
        ]
        .into_iter()
        .map(|(name, v)| (name.to_string(), Value::U32(v)))
        .collect();
        variables.extend((0..SLOT_ARGS).map(|k| (names::arg(k), Value::U32(self.arg(s, k)))));
        let lane =
            LaneIds { global: g, workgroup_size: self.workgroup_size, workgroups: self.lanes / self.workgroup_size };
        let mut interpreter = Interpreter::new(self.memory, self.buffer_names, lane, variables);
        let next = interpreter.run(&handler.body).and_then(|()| interpreter.variable(names::NEXT_STATUS));
        s.next = match next {
            Ok(Value::U32(w)) if Status::from_word(w).is_some_and(Status::is_handler_outcome) => w,
            Ok(_) => Status::Fault.word(),
            Err(e) => {
                let _ = self.failure.set(format!("user handler `{}` (opcode {}): {e}", handler.name, handler.opcode));
                Status::Fault.word()
            }
        };
    }

    /// The device side of IO (2.8), for LOAD_MISS (`op` READ, no handler) and user handlers
    /// that request IO: request it and park, or yield when the queue is full (taking back
    /// what the claim counted); once served, finish (LOAD_MISS) or run the handler's body.
    fn io_request(&self, g: u32, s: &mut Claimed, op: u32, then: Option<&UserHandler>) {
        let m = self.memory;
        let heap = self.kernel.heap_words;
        let a = |k: u32| self.arg(s, k);
        match a(5) {
            IO_STATUS_OK => {
                if let Some(handler) = then {
                    self.user_handler(g, s, handler);
                }
            }
            0 => {
                let words = u64::from(a(3)).div_ceil(4);
                if a(4) > heap || words > u64::from(heap - a(4)) {
                    s.next = Status::Fault.word();
                    return;
                }
                let entry = m.add(CONTROL, CTRL_IO_CURSOR, 1);
                if entry < self.kernel.io_entries {
                    let e = entry * IO_ENTRY_WORDS;
                    for (field, value) in [
                        (IO_OP_TYPE, op),
                        (IO_SRC_HANDLE, a(0)),
                        (IO_DST_HANDLE, a(4)),
                        (IO_OFFSET_LO, a(1)),
                        (IO_OFFSET_HI, a(2)),
                        (IO_BYTE_COUNT, a(3)),
                        (IO_TAG, s.slot),
                    ] {
                        m.store(IO_QUEUE, e + field, value);
                    }
                    m.store(IO_QUEUE, e + IO_STATUS, IO_STATUS_REQUESTED);
                    s.next = Status::WaitIo.word();
                } else {
                    s.next = Status::Yield.word();
                    for word in [s.claim_counters()[0], s.claim_counters()[1], s.metric()] {
                        m.add(CONTROL, word, u32::MAX);
                    }
                }
            }
            _ => s.next = Status::Fault.word(),
        }
    }
}
