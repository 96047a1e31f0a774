//! The `Ring`: the host's view of one megakernel instance. It owns the host copy of
//! every buffer, publishes slots through the protocol codecs (payload first, status
//! last), and drives epochs on any [`Backend`]: set the drain target, run, read back,
//! service IO, re-publish what may run again, until nothing runnable is left.

use crate::builder::{build, BuildError, BuildOptions};
use crate::geometry::Geometry;
use crate::host::io::buffer_index::*;
use crate::host::io::{IoEngine, IoQueueService};
use crate::host::{Backend, BackendError, HostBuffers, HostService, Outcome};
use crate::ir::ValidProgram;
use crate::protocol::control::Control;
use crate::protocol::debug_log::DebugLog;
use crate::protocol::layout::*;
use crate::protocol::opcode::BuiltinOp;
use crate::protocol::replay::{RingLog, RingLogRecord};
use crate::protocol::ring::{decode_ring, host_action, publish, publish_batch, slot_status, Slot};
use crate::protocol::{Action, CodecError, Status, STATUS_COUNT};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The program could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A codec rejected a value or a buffer.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The backend failed while running an epoch (after any recoveries).
    #[error("epoch {epoch} of `{program}`: {source}")]
    Epoch {
        /// The epoch.
        epoch: u32,
        /// The program (its name says the mode and ring size).
        program: String,
        /// What failed.
        #[source]
        source: BackendError,
    },
    /// A tenant id outside the mask table was configured.
    #[error("tenant {tenant} is outside the mask table (0..{MAX_TENANTS}); such ids are always denied")]
    TenantOutOfRange {
        /// The id.
        tenant: u32,
    },
    /// A stop was requested (SIGINT) before the epoch numbered `epoch` ran.
    #[error("interrupted before epoch {epoch}: {settled} slot(s) had settled in the epochs that ran")]
    Interrupted {
        /// The epoch that did not run.
        epoch: u32,
        /// Slots settled before.
        settled: u64,
    },
    /// Heap contents that do not fit.
    #[error("heap write of {len} words at {start} does not fit the heap of {words} words")]
    HeapRange {
        /// Start.
        start: usize,
        /// Length.
        len: usize,
        /// Heap size.
        words: usize,
    },
}

impl HostError {
    /// The engine's reason, when it declined the run (a Skip, not a failure).
    pub fn declined(&self) -> Option<&str> {
        match self {
            HostError::Backend(BackendError::Declined(reason))
            | HostError::Epoch { source: BackendError::Declined(reason), .. } => Some(reason),
            _ => None,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch number (from 0).
    pub epoch: u32,
    /// Slots the drain target asked for.
    pub drain_target: u32,
    /// Slots settled during the run.
    pub settled: u32,
    /// The run's outcome.
    pub outcome: Outcome,
    /// Wall-clock run time.
    pub elapsed: Duration,
    /// Device time, when measured.
    pub device_time: Option<Duration>,
    /// Whether a SHUTDOWN slot ran (the host acknowledges and clears it).
    pub shutdown: bool,
    /// Lanes cut off by the driver (LOOP_CUTOFF).
    pub loop_cutoff: u32,
    /// Lanes whose fuel ran out, as the program counted them (FUEL_EXHAUSTED).
    #[serde(default)]
    pub fuel_exhausted: u32,
    /// Times the backend failed during this epoch (a lost device, a timeout), recovered,
    /// and the epoch ran again from the host's copy of the buffers.
    #[serde(default)]
    pub recoveries: u32,
    /// The epoch changed nothing (no claim, no IO served, nothing re-published), so the
    /// drain stopped: runnable slots are left that no lane will claim.
    #[serde(default)]
    pub stalled: bool,
}

/// Most times one epoch is run again after its backend failed and recovered.
pub const MAX_RECOVERIES: u32 = 2;

/// The host side of one megakernel instance.
#[derive(Clone)]
pub struct Ring {
    opts: BuildOptions,
    program: Arc<ValidProgram>,
    /// The built-in opcodes met in the ring's live slots so far (only grows), for
    /// [`Ring::epoch_program`].
    met: BTreeSet<BuiltinOp>,
    buffers: Vec<Vec<u32>>,
    epoch: u32,
    log: RingLog,
}

impl Ring {
    /// Build the program for `opts` and fresh buffers: every tenant denied, all slots
    /// EMPTY in the NORMAL partition, the given persistent fuel.
    pub fn new(opts: BuildOptions, fuel: u32) -> Result<Ring, HostError> {
        let program = cached_build(&opts)?;
        let control = Control::new(opts.slots, opts.observables, fuel).encode()?;
        let buffers = program
            .buffers
            .iter()
            .enumerate()
            .map(|(i, b)| if i == CONTROL { control.clone() } else { vec![0; b.words as usize] })
            .collect();
        Ok(Ring { opts, program, buffers, met: BTreeSet::new(), epoch: 0, log: RingLog::default() })
    }

    /// The program.
    pub fn program(&self) -> &ValidProgram {
        &self.program
    }

    /// The program the next epoch runs: [`Ring::program`] with only the built-in handlers
    /// whose opcodes a lane can meet, where the host knows them. That is when no user
    /// handler writes the ring (only the host publishes, between epochs): the opcodes of
    /// every slot that is not EMPTY, DONE or FAULT (a WAIT_IO slot the simulator's IO
    /// service re-publishes during the epoch included), joined with those met in earlier
    /// epochs so a drain compiles few programs. Every other opcode's slot stays where it
    /// is, so the epoch runs as under the full program.
    pub fn epoch_program(&mut self) -> Result<Arc<ValidProgram>, HostError> {
        if self.opts.user_handlers.iter().any(|h| h.writes_ring()) {
            return Ok(self.program.clone());
        }
        let settled = [Status::Empty, Status::Done, Status::Fault].map(Status::word);
        for slot in self.buffers[RING].chunks_exact(SLOT_WORDS as usize) {
            if !settled.contains(&slot[SLOT_STATUS as usize]) {
                if let Some(op) = BuiltinOp::from_opcode(slot[SLOT_OPCODE as usize]) {
                    self.met.insert(op);
                }
            }
        }
        if self.met.len() == BuiltinOp::ALL.len() {
            return Ok(self.program.clone());
        }
        let opts = BuildOptions { met_builtins: Some(self.met.iter().copied().collect()), ..self.opts.clone() };
        cached_build(&opts)
    }

    /// The build options.
    pub fn options(&self) -> &BuildOptions {
        &self.opts
    }

    /// The host copy of every buffer, in declaration order.
    pub fn buffers(&self) -> &[Vec<u32>] {
        &self.buffers
    }

    /// Set a control word directly (tests and conformance vectors).
    pub fn set_control_word(&mut self, index: u32, value: u32) {
        if let Some(w) = self.buffers[CONTROL].get_mut(index as usize) {
            *w = value;
        }
    }

    /// Authorise (`mask != 0`) or deny (`mask == 0`) a tenant.
    pub fn set_tenant(&mut self, tenant: u32, mask: u32) -> Result<(), HostError> {
        if tenant >= MAX_TENANTS {
            return Err(HostError::TenantOutOfRange { tenant });
        }
        self.set_control_word(CTRL_TENANT_MASKS + tenant, mask);
        Ok(())
    }

    /// Set the persistent-loop fuel.
    pub fn set_fuel(&mut self, fuel: u32) {
        self.set_control_word(CTRL_FUEL, fuel);
    }

    /// Set the priority partition offsets (5 starts and the end).
    pub fn set_priority_offsets(&mut self, offsets: [u32; 6]) {
        for (k, v) in offsets.iter().enumerate() {
            self.set_control_word(CTRL_PRIORITY_OFFSETS + k as u32, *v);
        }
    }

    /// Write heap words.
    pub fn write_heap(&mut self, start: usize, words: &[u32]) -> Result<(), HostError> {
        let heap = &mut self.buffers[HEAP];
        let end = start.checked_add(words.len()).filter(|&e| e <= heap.len());
        let end = end.ok_or(HostError::HeapRange { start, len: words.len(), words: heap.len() })?;
        heap[start..end].copy_from_slice(words);
        Ok(())
    }

    /// Publish `slot` at `index` (payload first, status last) and log it.
    pub fn publish(&mut self, index: usize, slot: &Slot) -> Result<(), HostError> {
        publish(&mut self.buffers[RING], index, slot)?;
        self.log.records.push(RingLogRecord { epoch: self.epoch, slot: index as u32, words: slot.clone() });
        Ok(())
    }

    /// Publish a batch followed by its BATCH_FENCE slot; returns the fence's index.
    pub fn publish_batch(
        &mut self,
        start: usize,
        slots: &[Slot],
        tenant: u32,
        sequence: u32,
    ) -> Result<usize, HostError> {
        let fence = publish_batch(&mut self.buffers[RING], start, slots, tenant, sequence)?;
        for index in start..=fence {
            let base = index * SLOT_WORDS as usize;
            let words = Slot::decode(index, &self.buffers[RING][base..base + SLOT_WORDS as usize])?;
            self.log.records.push(RingLogRecord { epoch: self.epoch, slot: index as u32, words });
        }
        Ok(fence)
    }

    /// Put slot `index` into `status` without the state machine, as if an earlier epoch
    /// had left it there (conformance vectors start from such rings).
    pub fn force_status(&mut self, index: usize, status: Status) -> Result<(), HostError> {
        let slots = self.opts.slots as usize;
        if index >= slots {
            return Err(HostError::from(CodecError::SlotOutOfRange { index, slots }));
        }
        self.buffers[RING][index * SLOT_WORDS as usize] = status.word();
        Ok(())
    }

    /// Apply a host action (cancel, fault, recycle) to a slot.
    pub fn host_action(&mut self, index: usize, action: Action) -> Result<Status, HostError> {
        Ok(host_action(&mut self.buffers[RING], index, action)?)
    }

    /// Every slot, decoded.
    pub fn slots(&self) -> Result<Vec<Slot>, HostError> {
        Ok(decode_ring(&self.buffers[RING])?)
    }

    /// The control buffer, decoded.
    pub fn control(&self) -> Result<Control, HostError> {
        Ok(Control::decode(&self.buffers[CONTROL])?)
    }

    /// The debug log, decoded with its drop count.
    pub fn debug_log(&self) -> Result<DebugLog, HostError> {
        let dropped = self.buffers[CONTROL][CTRL_DEBUG_DROPPED as usize];
        Ok(DebugLog::decode(&self.buffers[DEBUG_LOG], dropped)?)
    }

    /// The heap.
    pub fn heap(&self) -> &[u32] {
        &self.buffers[HEAP]
    }

    /// The replay log of every publication.
    pub fn replay_log(&self) -> &RingLog {
        &self.log
    }

    /// Slots per status (indexed by status word).
    pub fn status_counts(&self) -> Result<[u32; STATUS_COUNT], HostError> {
        let mut counts = [0u32; STATUS_COUNT];
        for i in 0..self.opts.slots as usize {
            counts[slot_status(&self.buffers[RING], i)?.word() as usize] += 1;
        }
        Ok(counts)
    }

    /// PUBLISHED slots whose tenant is authorised: what an epoch can settle.
    pub fn runnable(&self) -> Result<u32, HostError> {
        Ok(self.runnable_slots()?.count)
    }

    /// The runnable slots: how many, the first, and each priority partition's first.
    fn runnable_slots(&self) -> Result<Runnable, HostError> {
        let control = self.control()?;
        let partitions = control.partitions(self.opts.slots);
        let ring = &self.buffers[RING];
        let (mut count, mut first) = (0u32, None);
        let mut partition_first: [Option<u32>; PRIORITY_LEVELS as usize] = [None; PRIORITY_LEVELS as usize];
        for (i, slot) in ring.chunks_exact(SLOT_WORDS as usize).enumerate() {
            let status = Status::from_word(slot[0]).ok_or(CodecError::BadStatus { slot: i, value: slot[0] })?;
            if status == Status::Published && control.tenant_authorised(slot[SLOT_TENANT as usize]) {
                let i = i as u32;
                count += 1;
                first.get_or_insert(i);
                if let Some(p) = partitions.iter().position(|r| r.contains(&i)) {
                    partition_first[p].get_or_insert(i - partitions[p].start);
                }
            }
        }
        // A partition with nothing runnable starts swept (its length): lanes skip it
        // until a rewind (spec 2.7).
        let cursors = std::array::from_fn(|p| partition_first[p].unwrap_or(partitions[p].len() as u32));
        Ok(Runnable { count, first, cursors })
    }

    /// Run one epoch: set DRAIN_TARGET to the runnable slots, SCAN_START to the first and
    /// each priority claim cursor to its partition's first, reset SETTLED, FUEL_EXHAUSTED
    /// and LOOP_CUTOFF, run, then service IO and clear an acknowledged SHUTDOWN.
    pub fn run_epoch(
        &mut self,
        backend: &mut dyn Backend,
        geometry: Geometry,
        io: Option<&mut (dyn IoEpochService + '_)>,
    ) -> Result<EpochReport, HostError> {
        let runnable = self.runnable_slots()?;
        self.run_epoch_for(runnable, backend, geometry, io, None)
    }

    /// [`Ring::run_epoch`] with no IO service between epochs; instead `io` lands reads in
    /// the heap's device-only words while the epoch runs, where the backend can
    /// ([`Backend::run_kernel_overlapped`]). The caller completes what `io` served in the
    /// host's buffers afterwards ([`Ring::host_memory`]).
    pub fn run_epoch_overlapped(
        &mut self,
        backend: &mut dyn Backend,
        geometry: Geometry,
        io: &mut dyn FnMut(&dyn crate::host::LiveMemory),
    ) -> Result<EpochReport, HostError> {
        let runnable = self.runnable_slots()?;
        self.run_epoch_for(runnable, backend, geometry, None, Some(io))
    }

    /// The host's buffers as memory a host service works on, between epochs.
    pub fn host_memory(&mut self) -> HostBuffers<'_> {
        HostBuffers::new(&mut self.buffers)
    }

    /// `run_epoch` for already counted runnable slots; `overlap` as in
    /// [`Ring::run_epoch_overlapped`].
    fn run_epoch_for(
        &mut self,
        runnable: Runnable,
        backend: &mut dyn Backend,
        geometry: Geometry,
        mut io: Option<&mut (dyn IoEpochService + '_)>,
        mut overlap: Option<&mut crate::host::backend::LandingIo<'_>>,
    ) -> Result<EpochReport, HostError> {
        let target = runnable.count;
        self.set_control_word(CTRL_DRAIN_TARGET, target);
        self.set_control_word(CTRL_SCAN_START, runnable.first.unwrap_or(0));
        for (p, cursor) in runnable.cursors.iter().enumerate() {
            self.set_control_word(CTRL_PRIORITY_CURSORS + p as u32, *cursor);
        }
        for word in [CTRL_SETTLED, CTRL_FUEL_EXHAUSTED, CTRL_LOOP_CUTOFF] {
            self.set_control_word(word, 0);
        }
        let program = self.epoch_program()?;
        let mut recoveries = 0;
        let report = loop {
            let mark = io.as_deref().map(|s| s.mark());
            let service = io.as_deref_mut().map(|s| s.as_host_service());
            let run = match overlap.as_deref_mut() {
                Some(land) => {
                    backend.run_kernel_overlapped(&self.opts, &program, geometry, &mut self.buffers, HEAP, land)
                }
                None => backend.run_kernel(&self.opts, &program, geometry, &mut self.buffers, service),
            };
            match run {
                Ok(report) => break report,
                // A failed run left the host's buffers as they were: after the backend
                // recovers, the epoch runs again from them, with the IO service's record
                // rewound to where the epoch began (requests it served during the failed
                // run are served again, once).
                Err(e) if recoveries < MAX_RECOVERIES && backend.recover(&e)? => {
                    tracing::warn!("epoch {}: {e}; the backend recovered, running the epoch again", self.epoch);
                    recoveries += 1;
                    if let (Some(io), Some(mark)) = (io.as_deref_mut(), mark) {
                        io.rewind(mark);
                    }
                }
                Err(source) => {
                    return Err(HostError::Epoch { epoch: self.epoch, program: program.name.clone(), source })
                }
            }
        };
        // Reopen: the IO service re-publishes parked slots between epochs too.
        self.buffers[CONTROL][CTRL_DRAIN_TARGET as usize] &= !DRAIN_TARGET_CLOSED;
        if let Some(io) = io {
            // IO lands in the heap: where, on this backend, is the backend's business.
            if io.has_requests(&HostBuffers::new(&mut self.buffers)) {
                backend.serve_between_epochs(&mut self.buffers, HEAP, &mut |memory| io.end_epoch(memory))?;
            } else {
                io.end_epoch(&HostBuffers::new(&mut self.buffers));
            }
        }
        let control = &mut self.buffers[CONTROL];
        let shutdown = control[CTRL_SHUTDOWN as usize] != 0;
        control[CTRL_SHUTDOWN as usize] = 0;
        let epoch = EpochReport {
            epoch: self.epoch,
            drain_target: target,
            settled: control[CTRL_SETTLED as usize],
            outcome: report.outcome,
            elapsed: report.elapsed,
            device_time: report.device_time,
            shutdown,
            loop_cutoff: control[CTRL_LOOP_CUTOFF as usize],
            fuel_exhausted: control[CTRL_FUEL_EXHAUSTED as usize],
            recoveries,
            stalled: false,
        };
        self.epoch += 1;
        Ok(epoch)
    }

    /// Re-publish every YIELD and REQUEUE slot (they asked for another turn).
    pub fn republish_parked(&mut self) -> Result<u32, HostError> {
        let mut n = 0;
        for i in 0..self.opts.slots as usize {
            if matches!(slot_status(&self.buffers[RING], i)?, Status::Yield | Status::Requeue) {
                host_action(&mut self.buffers[RING], i, Action::HostPublish)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Run epochs until no runnable slot is left, `max_epochs` ran, or an epoch changed
    /// nothing (it is marked `stalled`). Between epochs,
    /// YIELD and REQUEUE slots are re-published; WAIT_IO slots come back through `io`.
    pub fn drain(
        &mut self,
        backend: &mut dyn Backend,
        geometry: Geometry,
        io: Option<&mut (dyn IoEpochService + '_)>,
        max_epochs: u32,
    ) -> Result<Vec<EpochReport>, HostError> {
        self.drain_observed(backend, geometry, io, max_epochs, &mut |_, _| {})
    }

    /// [`Ring::drain`], calling `observe` with the ring and the epoch's report after each
    /// epoch (progress bars).
    pub fn drain_observed(
        &mut self,
        backend: &mut dyn Backend,
        geometry: Geometry,
        mut io: Option<&mut (dyn IoEpochService + '_)>,
        max_epochs: u32,
        observe: &mut dyn FnMut(&Ring, &EpochReport),
    ) -> Result<Vec<EpochReport>, HostError> {
        let mut reports: Vec<EpochReport> = Vec::new();
        for _ in 0..max_epochs {
            let runnable = self.runnable_slots()?;
            if runnable.count == 0 {
                break;
            }
            if crate::host::interrupt::requested() {
                let settled = reports.iter().map(|e| u64::from(e.settled)).sum();
                return Err(HostError::Interrupted { epoch: self.epoch, settled });
            }
            let claims = self.claims();
            let completed = io.as_deref().map(|s| s.mark().completed());
            let mut report = self.run_epoch_for(runnable, backend, geometry, io.as_deref_mut(), None)?;
            let republished = self.republish_parked()?;
            // No lane claimed a slot, the host served no IO and re-published nothing: the
            // ring is as it was, so every further epoch would be the same one.
            report.stalled =
                self.claims() == claims && republished == 0 && io.as_deref().map(|s| s.mark().completed()) == completed;
            let stalled = report.stalled;
            observe(self, &report);
            reports.push(report);
            if stalled {
                break;
            }
        }
        Ok(reports)
    }

    /// Claims so far, over every priority (each claim adds one to its priority's counter).
    fn claims(&self) -> u32 {
        let control = &self.buffers[CONTROL];
        (0..=PRIORITY_IDLE).fold(0u32, |sum, p| sum.wrapping_add(control[(CTRL_PRIORITY_CLAIMS + p) as usize]))
    }
}

/// What the host counts before an epoch (spec 2.6, 2.7).
#[derive(Clone, Copy, Debug)]
struct Runnable {
    /// PUBLISHED slots of authorised tenants: the drain target.
    count: u32,
    /// The first of them: SCAN_START.
    first: Option<u32>,
    /// Per priority partition, the offset of its first runnable slot, or its length if it
    /// has none: the claim cursors.
    cursors: [u32; PRIORITY_LEVELS as usize],
}

/// `build(opts)`, memoised per thread: fuzzing, the differential generators and the
/// corpus build the same few programs thousands of times.
fn cached_build(opts: &BuildOptions) -> Result<Arc<ValidProgram>, HostError> {
    const MAX_CACHED: usize = 64;
    thread_local! {
        static PROGRAMS: RefCell<HashMap<BuildOptions, Arc<ValidProgram>>> = RefCell::new(HashMap::new());
    }
    if let Some(program) = PROGRAMS.with(|p| p.borrow().get(opts).cloned()) {
        return Ok(program);
    }
    let program = Arc::new(build(opts)?);
    PROGRAMS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= MAX_CACHED {
            p.clear();
        }
        p.insert(opts.clone(), program.clone());
    });
    Ok(program)
}

/// An IO service the ring can run beside lanes and between epochs.
pub trait IoEpochService {
    /// As a service polled during the run.
    fn as_host_service(&mut self) -> &mut dyn HostService;
    /// Between epochs: finish everything and free completed entries.
    fn end_epoch(&mut self, mem: &dyn crate::host::LiveMemory);
    /// Whether some request waits to be served.
    fn has_requests(&self, mem: &dyn crate::host::LiveMemory) -> bool;
    /// Where the service's record stands (before an epoch runs).
    fn mark(&self) -> IoMark;
    /// Forget what the service recorded since `mark` (the epoch's run failed and runs
    /// again from the host's buffers as they were at `mark`).
    fn rewind(&mut self, mark: IoMark);
}

pub use crate::host::io::service::IoMark;

impl<E: IoEngine> IoEpochService for IoQueueService<E> {
    fn as_host_service(&mut self) -> &mut dyn HostService {
        self
    }
    fn end_epoch(&mut self, mem: &dyn crate::host::LiveMemory) {
        IoQueueService::end_epoch(self, mem)
    }
    fn has_requests(&self, mem: &dyn crate::host::LiveMemory) -> bool {
        IoQueueService::has_requests(self, mem)
    }
    fn mark(&self) -> IoMark {
        IoQueueService::mark(self)
    }
    fn rewind(&mut self, mark: IoMark) {
        IoQueueService::rewind(self, mark)
    }
}

#[cfg(test)]
#[path = "epoch_program_tests.rs"]
mod epoch_program_tests;
