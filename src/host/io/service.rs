//! The IO queue service: completes the megakernel's IO requests (spec 2.8).
//!
//! Each poll scans the entries below the IO cursor for REQUESTED ones, takes each
//! (REQUESTED -> IN_SERVICE by compare-exchange, so none is served twice) once its fields
//! match the requesting slot's arguments (see `entry_is_current`), and hands them to an
//! [`IoEngine`] as batches: one batch per run of entries between FENCE entries, so a FENCE
//! completes after everything before it and before anything after it starts. READs land
//! directly in the memory's landing area (the simulator's heap words, or the GPU backend's
//! mapped staging buffer); WRITEs read the heap in place where the memory allows it.
//! Every taken entry is completed exactly once, with OK (bytes moved in BYTE_COUNT) or
//! ERROR (the error code in BYTE_COUNT); then the slot's `arg5` gets the entry's status
//! and the slot is re-published WAIT_IO -> PUBLISHED once its lane has parked it (raising
//! DRAIN_TARGET first, so running lanes pick it up, unless a lane has closed the epoch:
//! then it waits for the next). It runs beside the lanes in the simulator and between
//! epochs on every backend.

use crate::builder::BuildOptions;
use crate::host::io::buffer_index::*;
use crate::host::io::engine::{IoEngine, IoKind, IoRequest, RawRegion};
use crate::host::io::IoFailure;
use crate::host::LiveMemory;
use crate::protocol::io_queue::IoOp;
use crate::protocol::layout::*;
use crate::protocol::layout::{IO_STATUS_IN_SERVICE, IO_STATUS_REQUESTED};
use crate::protocol::opcode::LOAD_MISS;
use crate::protocol::Status;
use serde::{Deserialize, Serialize};

/// One completed request, for reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCompletion {
    /// The IO queue entry.
    pub entry: u32,
    /// Slot that asked (the entry's TAG).
    pub slot: u32,
    /// What became of it.
    pub result: IoResult,
}

/// How a request completed (the entry's STATUS and BYTE_COUNT, 2.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IoResult {
    /// OK: this many bytes moved.
    Moved {
        /// Bytes moved.
        bytes: u32,
    },
    /// ERROR, with its code (`IO_ERROR_*`).
    Failed {
        /// The error code written to BYTE_COUNT.
        code: u32,
        /// What went wrong, for people.
        message: String,
    },
}

impl IoCompletion {
    /// Whether it succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self.result, IoResult::Moved { .. })
    }

    /// Bytes moved, if it succeeded.
    pub fn bytes(&self) -> Option<u32> {
        match self.result {
            IoResult::Moved { bytes } => Some(bytes),
            IoResult::Failed { .. } => None,
        }
    }

    /// The error code, if it failed.
    pub fn error_code(&self) -> Option<u32> {
        match self.result {
            IoResult::Failed { code, .. } => Some(code),
            IoResult::Moved { .. } => None,
        }
    }

    /// What went wrong, if it failed.
    pub fn message(&self) -> Option<&str> {
        match &self.result {
            IoResult::Failed { message, .. } => Some(message),
            IoResult::Moved { .. } => None,
        }
    }
}

/// Counts of what the service did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoStats {
    /// Entries completed (OK or ERROR).
    pub completed: u64,
    /// Entries completed with ERROR.
    pub errors: u64,
    /// Batches handed to the engine.
    pub batches: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Bytes moved directly between the file and the backend's memory (zero-copy).
    pub bytes_in_place: u64,
    /// Bytes moved through a bounce buffer (memory without a landing area).
    pub bytes_bounced: u64,
    /// Entries served while the lanes ran (polled beside them), not between epochs.
    pub served_while_running: u64,
}

/// A taken entry, decoded.
#[derive(Clone, Copy, Debug)]
struct Taken {
    entry: usize,
    op: u32,
    handle: u32,
    offset: u64,
    bytes: u32,
    word: u32,
    slot: u32,
}

impl Taken {
    fn words(&self) -> usize {
        (self.bytes as usize).div_ceil(4)
    }
}

/// What happens to each served entry's result ([`IoQueueService::serve_runs`]).
type EntryDone<'a, S> = dyn FnMut(&mut S, &Taken, Result<u32, IoFailure>) + 'a;

/// Entries taken between epochs to be served while the next one runs
/// ([`IoQueueService::take`]).
#[derive(Debug, Default)]
pub struct TakenEntries(Vec<Taken>);

impl TakenEntries {
    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The requesting slots (the entries' TAGs).
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|t| t.slot)
    }

    /// Split into the entries whose requesting slot `now` picks and the rest, each in
    /// queue order.
    pub fn partition(self, now: impl Fn(u32) -> bool) -> (TakenEntries, TakenEntries) {
        let (a, b) = self.0.into_iter().partition(|t| now(t.slot));
        (TakenEntries(a), TakenEntries(b))
    }

    /// Add `more` after these.
    pub fn extend(&mut self, more: TakenEntries) {
        self.0.extend(more.0);
    }
}

/// Taken entries served, waiting to be completed ([`IoQueueService::complete_served`]).
#[derive(Debug, Default)]
pub struct ServedEntries(Vec<(Taken, Result<u32, IoFailure>)>);

/// Index in the IO queue buffer of word `k` of entry `e`.
fn entry_word(e: usize, k: u32) -> usize {
    e * IO_ENTRY_WORDS as usize + k as usize
}

/// Zero entry `e`: free for a lane to take again.
fn free_entry(mem: &dyn LiveMemory, e: usize) {
    for k in 0..IO_ENTRY_WORDS {
        mem.store(IO_QUEUE, entry_word(e, k), 0);
    }
}

/// A point in an [`IoQueueService`]'s record ([`IoQueueService::mark`]).
#[derive(Clone, Debug)]
pub struct IoMark {
    completions: usize,
    pending: Vec<(u32, u32)>,
    stats: IoStats,
}

impl IoMark {
    /// Requests completed up to this point.
    pub fn completed(&self) -> usize {
        self.completions
    }
}

/// The IO queue service over an [`IoEngine`].
pub struct IoQueueService<E: IoEngine> {
    engine: E,
    heap_words: usize,
    /// Entries of the queue (the ring's build parameter).
    io_entries: usize,
    /// Opcodes whose slots request IO, with the OP_TYPE their entries carry.
    io_opcodes: Vec<(u32, u32)>,
    /// Slots whose entry is complete but whose lane had not yet parked them.
    pending: Vec<(u32, u32)>,
    /// Every completion, in order.
    pub completions: Vec<IoCompletion>,
    /// Counts.
    pub stats: IoStats,
}

impl<E: IoEngine> IoQueueService<E> {
    /// A service for LOAD_MISS only, reading through `engine` into a heap of `heap_words`.
    pub fn new(engine: E, heap_words: u32) -> Self {
        IoQueueService {
            engine,
            heap_words: heap_words as usize,
            io_entries: IO_ENTRIES as usize,
            io_opcodes: vec![(LOAD_MISS, IO_OP_READ)],
            pending: Vec::new(),
            completions: Vec::new(),
            stats: IoStats::default(),
        }
    }

    /// A service for the program `opts` builds: LOAD_MISS and every user handler that
    /// requests IO.
    pub fn for_program(engine: E, opts: &BuildOptions) -> Self {
        let mut service = Self::new(engine, opts.heap_words);
        service.io_entries = opts.io_entries as usize;
        service.io_opcodes.extend(opts.user_handlers.iter().filter_map(|h| h.io.map(|op| (h.opcode, op.word()))));
        service
    }

    /// Where the service's record stands: what [`IoQueueService::rewind`] goes back to.
    pub fn mark(&self) -> IoMark {
        IoMark { completions: self.completions.len(), pending: self.pending.clone(), stats: self.stats }
    }

    /// Forget every completion, pending delivery and count recorded since `mark` (the
    /// memory the service worked on was thrown away with a failed run).
    pub fn rewind(&mut self, mark: IoMark) {
        self.completions.truncate(mark.completions);
        self.pending = mark.pending;
        self.stats = mark.stats;
    }

    /// The engine's name (`io_uring`, `positioned`).
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// Between epochs: finish everything, free every completed entry and reset the IO
    /// cursor.
    pub fn end_epoch(&mut self, mem: &dyn LiveMemory) {
        self.poll_inner(mem);
        self.refuse_unmatched(mem);
        self.deliver_between_epochs(mem);
        for e in 0..self.entries_in_use(mem) {
            let status = mem.load(IO_QUEUE, entry_word(e, IO_STATUS));
            if status == IO_STATUS_OK || status == IO_STATUS_ERROR {
                free_entry(mem, e);
            }
        }
        mem.store(CONTROL, CTRL_IO_CURSOR as usize, 0);
    }

    /// Between epochs: re-publish every slot a completion waits for. Every lane has
    /// stopped, so a slot not parked now never will be, and a completion still waiting
    /// for it cannot be delivered (two entries tagging one slot).
    fn deliver_between_epochs(&mut self, mem: &dyn LiveMemory) {
        self.pending.retain(|&(slot, status)| !Self::republish(mem, slot, status));
        for (slot, _) in self.pending.drain(..) {
            tracing::warn!("IO completion for slot {slot} dropped: the slot is not parked WAIT_IO");
        }
    }

    /// Between epochs every lane's write is visible, so an entry still REQUESTED after a
    /// poll does not match its slot and never will: complete it with ERROR (its slot, if
    /// parked, is re-published and FAULTs) rather than leave it to be overwritten.
    fn refuse_unmatched(&mut self, mem: &dyn LiveMemory) {
        for e in 0..self.entries_in_use(mem) {
            let status = entry_word(e, IO_STATUS);
            if mem.compare_exchange(IO_QUEUE, status, IO_STATUS_REQUESTED, IO_STATUS_IN_SERVICE).is_err() {
                continue;
            }
            let t = Self::decode(mem, e);
            let why = match IoOp::from_wire(t.op) {
                Some(IoOp::Read | IoOp::Write | IoOp::Fence) => IoFailure::Mismatch { entry: e, slot: t.slot },
                Some(IoOp::None) | None => IoFailure::UnsupportedOp(t.op),
            };
            let parked = mem.load(RING, t.slot as usize * SLOT_WORDS as usize) == Status::WaitIo.word();
            self.complete(mem, &t, Err(why), parked);
        }
    }

    fn decode(mem: &dyn LiveMemory, e: usize) -> Taken {
        let w = |k: u32| mem.load(IO_QUEUE, entry_word(e, k));
        Taken {
            entry: e,
            op: w(IO_OP_TYPE),
            handle: w(IO_SRC_HANDLE),
            offset: u64::from(w(IO_OFFSET_LO)) | u64::from(w(IO_OFFSET_HI)) << 32,
            bytes: w(IO_BYTE_COUNT),
            word: w(IO_DST_HANDLE),
            slot: w(IO_TAG),
        }
    }

    /// Whether some entry waits to be served (so a backend that stages reads needs its
    /// staging area).
    pub fn has_requests(&self, mem: &dyn LiveMemory) -> bool {
        (0..self.entries_in_use(mem)).any(|e| mem.load(IO_QUEUE, entry_word(e, IO_STATUS)) == IO_STATUS_REQUESTED)
    }

    /// The OP_TYPE an entry of the slot's opcode must carry, if that opcode requests IO.
    fn expected_op(&self, opcode: u32) -> Option<u32> {
        self.io_opcodes.iter().find(|(o, _)| *o == opcode).map(|(_, op)| *op)
    }

    /// Whether entry `t` is safe to serve: its slot has parked as WAIT_IO on an opcode that
    /// requests IO, and every field equals what the slot's arguments say. Lanes publish
    /// entries with relaxed stores, which do not order the fields before STATUS for a
    /// concurrent reader (loom shows the stale read); the slot's arguments were written by
    /// the host itself before the dispatch, so a match proves the fields are current. A
    /// mismatch is retried on a later poll: coherence makes the lane's stores visible
    /// eventually, and between epochs they all are.
    fn entry_is_current(&self, mem: &dyn LiveMemory, t: &Taken) -> bool {
        let base = t.slot as usize * SLOT_WORDS as usize;
        let slot = |k: u32| mem.load(RING, base + k as usize);
        let arg = |k: u32| slot(SLOT_ARG0 + k);
        slot(SLOT_STATUS) == Status::WaitIo.word()
            && self.expected_op(slot(SLOT_OPCODE)) == Some(t.op)
            && t.handle == arg(0)
            && t.offset == u64::from(arg(1)) | u64::from(arg(2)) << 32
            && t.bytes == arg(3)
            && t.word == arg(4)
    }

    /// Entries below the IO cursor: lanes take entries by incrementing it, and the host
    /// resets it only once every entry is free, so no entry at or past it is in use.
    fn entries_in_use(&self, mem: &dyn LiveMemory) -> usize {
        (mem.load(CONTROL, CTRL_IO_CURSOR as usize) as usize).min(self.io_entries)
    }

    /// Take every current REQUESTED entry, in queue order. The fields are read before the
    /// take: a lane never writes an entry it has marked REQUESTED.
    fn take_requested(&self, mem: &dyn LiveMemory) -> Vec<Taken> {
        let mut taken = Vec::new();
        for e in 0..self.entries_in_use(mem) {
            let status = entry_word(e, IO_STATUS);
            if mem.load(IO_QUEUE, status) != IO_STATUS_REQUESTED {
                continue;
            }
            let t = Self::decode(mem, e);
            if self.entry_is_current(mem, &t)
                && mem.compare_exchange(IO_QUEUE, status, IO_STATUS_REQUESTED, IO_STATUS_IN_SERVICE).is_ok()
            {
                taken.push(t);
            }
        }
        taken
    }

    /// Check a READ or WRITE's heap range.
    fn check_range(&self, t: &Taken) -> Result<(), IoFailure> {
        let fits = (t.word as usize) <= self.heap_words && t.words() <= self.heap_words - t.word as usize;
        fits.then_some(()).ok_or(IoFailure::BadDestination {
            word: t.word,
            words: t.words() as u64,
            bytes: t.bytes,
            heap_words: self.heap_words,
        })
    }

    /// Serve one run of entries without a FENCE among them, as one batch: each entry with
    /// its result, in order, for the caller to complete.
    fn read_batch(&mut self, mem: &dyn LiveMemory, batch: &[Taken]) -> Vec<(Taken, Result<u32, IoFailure>)> {
        let mut done = Vec::new();
        if batch.is_empty() {
            return done;
        }
        let landing = mem.landing(HEAP);
        let source = mem.source(HEAP);
        if let Some(area) = landing {
            self.engine.use_area(area);
        }
        // Memory for entries that cannot use the heap in place: a bounce buffer each.
        let mut bounce: Vec<Vec<u8>> = Vec::new();
        let mut requests: Vec<IoRequest> = Vec::new();
        let mut prepared: Vec<(usize, Result<Option<usize>, IoFailure>)> = Vec::new();
        for (k, t) in batch.iter().enumerate() {
            let kind = match IoOp::from_wire(t.op) {
                Some(IoOp::Read) => IoKind::Read,
                Some(IoOp::Write) => IoKind::Write,
                Some(IoOp::Fence) => IoKind::Fence,
                Some(IoOp::None) | None => {
                    prepared.push((k, Err(IoFailure::UnsupportedOp(t.op))));
                    continue;
                }
            };
            if let Err(e) = self.check_range(t) {
                prepared.push((k, Err(e)));
                continue;
            }
            let bytes = t.bytes as usize;
            let in_place = match kind {
                IoKind::Read => landing,
                IoKind::Write => source,
                IoKind::Fence => None,
            }
            .and_then(|area| area.sub(t.word as usize * 4, t.words() * 4));
            let memory = match in_place {
                Some(region) => region.sub(0, bytes).unwrap_or(region),
                None => {
                    let mut buf = vec![0u8; t.words() * 4];
                    if kind == IoKind::Write {
                        for (i, chunk) in buf.chunks_exact_mut(4).enumerate() {
                            chunk.copy_from_slice(&mem.load(HEAP, t.word as usize + i).to_le_bytes());
                        }
                    }
                    // The padded words, so the padding lands zeroed; the engine fills `bytes`.
                    let region = RawRegion::of(&mut buf).sub(0, bytes).unwrap_or(RawRegion::of(&mut []));
                    bounce.push(buf);
                    region
                }
            };
            prepared.push((k, Ok(in_place.is_none().then(|| bounce.len() - 1))));
            requests.push(IoRequest { kind, handle: t.handle, offset: t.offset, memory });
        }
        if prepared.is_empty() {
            return done;
        }
        self.stats.batches += 1;
        // SAFETY: in-place regions are heap words whose slot is parked WAIT_IO: no lane
        // touches them until the slot is re-published below (spec 2.8), and the memory
        // outlives this call; bounce buffers are owned here.
        let mut results = unsafe { self.engine.submit(&requests) }.into_iter();
        for (k, entry) in prepared {
            let t = &batch[k];
            let result = match entry {
                Err(e) => Err(e),
                Ok(bounced) => {
                    let result = results.next().unwrap_or_else(|| {
                        Err(IoFailure::Os {
                            handle: t.handle,
                            offset: t.offset,
                            source: std::io::Error::other("the engine returned too few results (a megaloop bug)"),
                        })
                    });
                    if let Ok(n) = &result {
                        let n = u64::from(*n);
                        match bounced {
                            Some(_) => self.stats.bytes_bounced += n,
                            None => self.stats.bytes_in_place += n,
                        }
                        match IoOp::from_wire(t.op) {
                            Some(IoOp::Read) => {
                                self.stats.bytes_read += n;
                                self.finish_read(mem, t, n as usize, bounced.map(|b| &bounce[b][..]), landing);
                            }
                            Some(IoOp::Write) => self.stats.bytes_written += n,
                            _ => {}
                        }
                    }
                    result
                }
            };
            done.push((*t, result));
        }
        done
    }

    /// A READ of `n` bytes arrived: zero the rest of its words (spec 2.8) and make the
    /// words visible, in place or from the bounce buffer.
    fn finish_read(
        &self,
        mem: &dyn LiveMemory,
        t: &Taken,
        n: usize,
        bounced: Option<&[u8]>,
        landing: Option<RawRegion>,
    ) {
        let words = t.words();
        match (bounced, landing) {
            // The bounce buffer was zeroed, so its bytes past `n` are the padding already.
            (Some(buf), _) => {
                for (i, chunk) in buf.chunks(4).enumerate() {
                    let mut word = [0u8; 4];
                    word[..chunk.len()].copy_from_slice(chunk);
                    mem.store(HEAP, t.word as usize + i, u32::from_le_bytes(word));
                }
            }
            (None, Some(area)) => {
                if let Some(tail) = area.sub(t.word as usize * 4 + n, words * 4 - n.min(words * 4)) {
                    // SAFETY: bytes of the parked slot's own destination words (see above).
                    unsafe { std::ptr::write_bytes(tail.ptr, 0, tail.len) };
                }
                mem.landed(HEAP, t.word as usize, words);
            }
            (None, None) => {}
        }
    }

    /// Complete entry `t` with `result` and, if `republish`, queue its slot for
    /// re-publication.
    fn complete(&mut self, mem: &dyn LiveMemory, t: &Taken, result: Result<u32, IoFailure>, republish: bool) {
        let (status, value, result) = match result {
            Ok(bytes) => (IO_STATUS_OK, bytes, IoResult::Moved { bytes }),
            Err(e) => {
                let code = e.code();
                (IO_STATUS_ERROR, code, IoResult::Failed { code, message: format!("slot {}: {e}", t.slot) })
            }
        };
        mem.store(IO_QUEUE, entry_word(t.entry, IO_BYTE_COUNT), value);
        mem.store(IO_QUEUE, entry_word(t.entry, IO_STATUS), status);
        self.completions.push(IoCompletion { entry: t.entry as u32, slot: t.slot, result });
        self.stats.completed += 1;
        self.stats.errors += u64::from(status != IO_STATUS_OK);
        if republish {
            self.pending.push((t.slot, status));
        }
    }

    /// Re-publish `slot` with `arg5 = status` if its lane has parked it and the epoch is
    /// open; false if not yet. The slot is first counted into DRAIN_TARGET, by
    /// compare-exchange so that it never counts into an epoch a lane has closed (spec
    /// 2.6): in the persistent modes only the slot's own lane may claim it, and that lane
    /// may have left. Between epochs the host has cleared CLOSED, so it always succeeds.
    fn republish(mem: &dyn LiveMemory, slot: u32, status: u32) -> bool {
        let base = slot as usize * SLOT_WORDS as usize;
        if mem.load(RING, base) != Status::WaitIo.word() {
            return false;
        }
        let target = CTRL_DRAIN_TARGET as usize;
        let mut seen = mem.load(CONTROL, target);
        loop {
            if seen & DRAIN_TARGET_CLOSED != 0 {
                return false;
            }
            match mem.compare_exchange(CONTROL, target, seen, seen + 1) {
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        mem.store(RING, base + (SLOT_ARG0 + 5) as usize, status);
        mem.compare_exchange(RING, base, Status::WaitIo.word(), Status::Published.word()).is_ok()
    }

    /// Serve `taken` into `mem`: one batch per run between FENCE entries, each FENCE done
    /// after its run; `done` hears each entry's result, in order, as its run finishes.
    fn serve_runs(&mut self, mem: &dyn LiveMemory, taken: &[Taken], done: &mut EntryDone<'_, Self>) {
        let mut start = 0;
        for (k, t) in taken.iter().enumerate() {
            if t.op == IO_OP_FENCE {
                for (t, result) in self.read_batch(mem, &taken[start..k]) {
                    done(self, &t, result);
                }
                done(self, t, Ok(0));
                start = k + 1;
            }
        }
        for (t, result) in self.read_batch(mem, &taken[start..]) {
            done(self, &t, result);
        }
    }

    fn poll_inner(&mut self, mem: &dyn LiveMemory) -> usize {
        let taken = self.take_requested(mem);
        self.serve_runs(mem, &taken, &mut |service, t, result| service.complete(mem, t, result, true));
        self.pending.retain(|&(slot, status)| !Self::republish(mem, slot, status));
        taken.len()
    }

    /// Between epochs: take every current REQUESTED entry (REQUESTED -> IN_SERVICE) to be
    /// served later by [`IoQueueService::serve_taken`], while the next epoch runs, and
    /// refuse the rest as [`IoQueueService::end_epoch`] does. The taken entries stay in
    /// service, and the IO cursor is left alone: the host starts the next epoch's cursor
    /// past them (spec 2.8, "Streaming").
    pub fn take(&mut self, mem: &dyn LiveMemory) -> TakenEntries {
        let taken = self.take_requested(mem);
        self.refuse_unmatched(mem);
        TakenEntries(taken)
    }

    /// Serve `taken` into `landing`, which needs only the landing area of the heap (the
    /// host's buffers may be in a running epoch's hands): the reads happen, nothing is
    /// completed yet.
    pub fn serve_taken(&mut self, landing: &dyn LiveMemory, taken: &TakenEntries) -> ServedEntries {
        let mut served = Vec::new();
        self.serve_runs(landing, &taken.0, &mut |_, t, result| served.push((*t, result)));
        self.stats.served_while_running += served.len() as u64;
        ServedEntries(served)
    }

    /// After the epoch that ran while `served` was served: complete each entry in the
    /// host's buffers, re-publish the parked slots and free the entries.
    pub fn complete_served(&mut self, mem: &dyn LiveMemory, served: ServedEntries) {
        let entries: Vec<usize> = served.0.iter().map(|(t, _)| t.entry).collect();
        for (t, result) in served.0 {
            self.complete(mem, &t, result, true);
        }
        self.deliver_between_epochs(mem);
        for e in entries {
            free_entry(mem, e);
        }
    }
}

impl<E: IoEngine> crate::host::HostService for IoQueueService<E> {
    fn poll(&mut self, memory: &dyn LiveMemory) -> usize {
        let served = self.poll_inner(memory);
        self.stats.served_while_running += served as u64;
        served
    }
    fn worth_polling(&self) -> bool {
        // With no file every READ and WRITE fails; serving them between epochs is as good.
        self.engine.has_files()
    }
}
