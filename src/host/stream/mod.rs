//! The `stream-checksum` built-in: the megakernel reads a real file chunk by chunk through
//! the IO queue and computes its CRC-32 (IEEE 802.3, as zlib and `crc32fast`), every lane
//! of a wave sharing the work.
//!
//! - A request slot (opcode [`REQUEST_OPCODE`], a user handler with `io: read`) asks for
//!   its chunk through LOAD_MISS's sequence and parks WAIT_IO; the host lands the chunk in
//!   the heap and re-publishes it, and it settles DONE.
//! - A piece slot (opcode [`PIECE_OPCODE`]) computes the CRC-32 of one piece of a landed
//!   chunk with the IR's `crc32` statement: a chunk is CRC'd by `chunk / piece` lanes.
//! - The combine slot (opcode [`COMBINE_OPCODE`]) folds one wave's piece CRCs, in file
//!   order, into the running CRC: `crc(A || B) = crc(A) * x^(8 |B|) mod P  xor  crc(B)`
//!   (zlib's `crc32_combine`, the GF(2) multiplications written out in the IR).
//!
//! The file streams in waves of `wave` chunks through a bounded window (two landing areas
//! of a wave each, whatever the file's size), pipelined: the epoch of step `s` holds wave
//! `s`'s requests, wave `s - L`'s pieces and wave `s - L - 1`'s combine, so the IO of one
//! wave is in flight while the lanes CRC another. `L = 1` where IO is served between
//! epochs or, in the simulator, beside the running lanes; `L = 2` where the backend lands
//! IO while a dispatch runs ([`Backend::overlaps_io`], the GPU): a wave's reads land in
//! the staging buffer during the next epoch and are completed after it (`Overlap`).
//! Wave `s` lands in window `s % 2`, which no lane reads meanwhile; results and counters
//! are double-buffered by wave parity the same way (specs/protocol.md 2.8, "Streaming").

mod crc;
mod layout;

pub use crc::{combine_handler, piece_handler, request_handler};
pub use layout::{
    StreamLayout, StreamOptions, DEFAULT_CHUNK, DEFAULT_PIECE, DEFAULT_WAVE, MAX_CHUNK, MAX_PIECE, MAX_WAVE_PIECES,
    REQUEST_SETS,
};

use crate::builder::{BuildOptions, Mode};
use crate::host::io::{open_engine, EngineChoice, FileTable, IoCompletion, IoQueueService, IoStats, TakenEntries};
use crate::host::ring::{EpochReport, HostError, Ring};
use crate::host::runner::RunConfig;
use crate::host::Backend;
use crate::protocol::control::priority_offsets;
use crate::protocol::layout::PRIORITY_NORMAL;
use crate::protocol::ring::Slot;
use crate::protocol::{Action, Status};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Opcode of the request handler.
pub const REQUEST_OPCODE: u32 = 0x5100;
/// Opcode of the combine handler.
pub const COMBINE_OPCODE: u32 = 0x5101;
/// Opcode of the piece handler.
pub const PIECE_OPCODE: u32 = 0x5102;

/// Why a stream checksum could not be computed. No variant carries a checksum.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
    /// The input could not be opened (the message names the path).
    #[error("input {0}")]
    Input(std::io::Error),
    /// The IO engine could not be set up.
    #[error("IO engine: {0}")]
    Engine(std::io::Error),
    /// A request of the megakernel failed; the run stopped cleanly after that wave.
    #[error("IO failed: {}", messages.join("; "))]
    Io {
        /// Every failure's message, naming its chunk.
        messages: Vec<String>,
        /// Every completion so far.
        completions: Vec<IoCompletion>,
    },
    /// The file changed while it was read (it shrank, vanished, was replaced or grew):
    /// the bytes read are not one version of the file.
    #[error("{}: {why} (chunk {chunk}, bytes {start}..{end}); no checksum", input.display())]
    Changed {
        /// The input.
        input: PathBuf,
        /// The chunk where it was found.
        chunk: u64,
        /// The chunk's first byte.
        start: u64,
        /// Past the chunk's last byte.
        end: u64,
        /// What happened.
        why: String,
    },
    /// Slots did not finish (fuel, a driver cut-off, or too few epochs).
    #[error("step {step}: {left} slot(s) did not finish within {epochs} epoch(s) (status counts {counts:?})")]
    Unfinished {
        /// Pipeline step (wave `step` requested, `step - 1` CRC'd, `step - 2` combined).
        step: u64,
        /// Slots not finished.
        left: u32,
        /// Epochs run for that step.
        epochs: usize,
        /// Status counts of the ring.
        counts: [u32; crate::protocol::STATUS_COUNT],
    },
    /// The host or backend failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The run cannot be trusted (lanes cut off by the driver after every retry): no
    /// checksum is reported.
    #[error("no checksum: {0}")]
    Untrusted(#[from] crate::host::trust::Untrusted),
}

/// What a stream checksum run produced.
#[derive(Clone, Debug)]
pub struct StreamReport {
    /// The CRC-32 of the file.
    pub crc32: u32,
    /// File length in bytes.
    pub bytes: u64,
    /// Chunks read.
    pub chunks: u64,
    /// How the file was cut up.
    pub options: StreamOptions,
    /// Every epoch.
    pub epochs: Vec<EpochReport>,
    /// IO completions.
    pub io: Vec<IoCompletion>,
    /// The IO engine.
    pub io_engine: &'static str,
    /// What the IO service did.
    pub io_stats: IoStats,
    /// Wall-clock time from opening the file to the result.
    pub elapsed: Duration,
    /// How many times the stream was started again because a driver cut lanes off.
    pub cutoff_retries: u32,
    /// Whether each wave's reads were served while the next epoch ran (the backend lands
    /// IO during a run: pieces run two steps after their requests, `waves + 3` epochs), or
    /// between epochs (`waves + 2`).
    pub io_overlapped: bool,
}

impl StreamReport {
    /// Time spent in epochs (upload, dispatch, readback), summed; the rest of `elapsed` is
    /// the host's: IO between epochs, publishing, checks.
    pub fn epochs_time(&self) -> Duration {
        self.epochs.iter().map(|e| e.elapsed).sum()
    }

    /// Time the programs themselves ran (GPU timestamps, the simulator's lanes), summed;
    /// `None` where a backend did not say.
    pub fn program_time(&self) -> Option<Duration> {
        self.epochs.iter().map(|e| e.device_time).sum()
    }
}

impl crate::host::runner::EpochRun for StreamReport {
    fn epochs(&self) -> &[EpochReport] {
        &self.epochs
    }
    fn set_cutoff_retries(&mut self, retries: u32) {
        self.cutoff_retries = retries;
    }
}

/// The loop iterations one slot of the stream may count against a driver's loop limit:
/// a piece's CRC loop (a word an iteration), or a combine's fold (an iteration a piece, and
/// one 32-iteration GF(2) product for the last).
pub fn slot_loop_cost(layout: &StreamLayout) -> u32 {
    let piece_slot = layout.piece / 4 + 8;
    let combine_slot = layout.wave_pieces() + 32 + 64;
    piece_slot.max(combine_slot)
}

/// Build options for the stream checksum laid out as `layout` in `mode`.
pub fn build_options(mode: Mode, layout: &StreamLayout) -> BuildOptions {
    let mut o = BuildOptions::new(mode, layout.slots());
    o.heap_words = layout.heap_words() as u32;
    o.io_entries = layout.wave;
    // The windows are filled by IO and read by lanes only: the device's alone.
    o.heap_mirrored_words = Some(layout.landing(0, 0));
    o.user_handlers = vec![request_handler(), piece_handler(), combine_handler()];
    o
}

/// How far a stream has come, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamProgress {
    /// Bytes whose CRC is folded into the running CRC.
    pub bytes_done: u64,
    /// The file's length.
    pub bytes: u64,
}

/// Compute the CRC-32 of `input` in the megakernel on `backend`, reading it as `options`
/// say through the IO queue; `observe` hears after every pipeline step. A stream whose
/// lanes a driver cut off is run again with less fuel per dispatch
/// ([`crate::host::runner::with_cutoff_retries`]); one still cut off gives
/// [`StreamError::Untrusted`], never a checksum.
pub fn stream_checksum(
    input: &Path,
    options: &StreamOptions,
    backend: &mut dyn Backend,
    config: &RunConfig,
    observe: &mut dyn FnMut(StreamProgress),
) -> Result<StreamReport, StreamError> {
    let layout = options.check()?;
    let mut config = config.clone();
    config.slot_loop_cost = config.slot_loop_cost.max(slot_loop_cost(&layout));
    let report = crate::host::runner::with_cutoff_retries(&config, |config| {
        stream_once(input, &layout, backend, config, &mut *observe)
    })?;
    if let Some(doubt) = crate::host::trust::cut_off(&report.epochs) {
        return Err(crate::host::trust::Untrusted(vec![doubt]).into());
    }
    Ok(report)
}

/// The file being streamed: its length and identity when opened, to tell when it changes.
struct Input<'a> {
    path: &'a Path,
    bytes: u64,
    layout: StreamLayout,
    identity: (u64, u64),
}

impl Input<'_> {
    /// Bytes of chunk `c`.
    fn chunk_len(&self, c: u64) -> u32 {
        self.layout.chunk_len(c, self.bytes)
    }

    /// Chunks of the file.
    fn chunks(&self) -> u64 {
        self.bytes.div_ceil(u64::from(self.layout.chunk))
    }

    /// The error for chunk `c`: `why`.
    fn changed(&self, c: u64, why: String) -> StreamError {
        let start = c * u64::from(self.layout.chunk);
        let end = if start < self.bytes { start + u64::from(self.chunk_len(c)) } else { start };
        StreamError::Changed { input: self.path.to_path_buf(), chunk: c, start, end, why }
    }

    /// After chunk `c` was read: the path still names the file opened, at least as long.
    fn check_unchanged(&self, c: u64) -> Result<(), StreamError> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(self.path) {
            Err(e) => Err(self.changed(c, format!("the file vanished while being read ({e})"))),
            Ok(m) if (m.dev(), m.ino()) != self.identity => {
                Err(self.changed(c, "the file was replaced while being read".into()))
            }
            Ok(m) if m.len() < self.bytes => {
                Err(self
                    .changed(c, format!("the file shrank from {} to {} bytes while being read", self.bytes, m.len())))
            }
            Ok(_) => Ok(()),
        }
    }
}

/// One attempt of [`stream_checksum`]. A step whose lanes were cut off ends the attempt
/// early with its epochs (the caller judges them); its checksum is never reported.
fn stream_once(
    path: &Path,
    layout: &StreamLayout,
    backend: &mut dyn Backend,
    config: &RunConfig,
    observe: &mut dyn FnMut(StreamProgress),
) -> Result<StreamReport, StreamError> {
    let start = Instant::now();
    let (files, bytes) = open_input(path)?;
    let probe = files
        .get(0)
        .ok()
        .and_then(|f| f.file.try_clone().ok())
        .ok_or_else(|| StreamError::Invalid(format!("{}: the opened file cannot be read again", path.display())))?;
    let identity = {
        use std::os::unix::fs::MetadataExt;
        let m = probe.metadata().map_err(StreamError::Input)?;
        (m.dev(), m.ino())
    };
    // A file whose metadata says 0 but that reads on (a `/proc` or `/sys` file) has no
    // length to stream against.
    if bytes == 0 && reads_past(&probe, 0).map_err(StreamError::Input)? {
        return Err(StreamError::Invalid(format!(
            "{}: more bytes than its size said (0) could be read: its size is not known from its metadata (a /proc \
             or /sys file); copy it to a regular file first",
            path.display()
        )));
    }
    let input = Input { path, bytes, layout: *layout, identity };
    let chunks = input.chunks();
    let wave = u64::from(layout.wave);
    let waves = chunks.div_ceil(wave);

    let mut config = config.clone();
    config.fit(backend).map_err(HostError::from)?;
    let mut opts = build_options(config.mode, layout);
    opts.workgroup_size = config.workgroup_size;
    // Where the backend lands IO while an epoch runs (the GPU), a wave's reads are served
    // during the epoch after its requests and its pieces run in the one after that: two
    // waves hold IO entries at once, each epoch's requests in the half of the queue the
    // other does not use (spec 2.8, "Streaming").
    let overlapped = backend.overlaps_io() && 2 * layout.wave <= crate::protocol::layout::MAX_IO_ENTRIES;
    let lag: u64 = if overlapped { 2 } else { 1 };
    if overlapped {
        opts.io_entries = 2 * layout.wave;
    }
    let geometry = config.geometry(opts.slots).map_err(|e| StreamError::Invalid(e.to_string()))?;
    let mut ring = Ring::new(opts.clone(), config.fuel_for(&geometry))?;
    ring.set_tenant(0, 1)?;
    ring.set_priority_offsets(priority_offsets([0, 0, opts.slots, 0, 0]).map_err(HostError::from)?);
    // zlib's crc32_combine_gen for the piece size, as tables the combine looks up.
    let tables = crc::operator_tables(crc::zeros_operator(u64::from(layout.piece)));
    ring.write_heap(layout::OPERATOR_TABLES as usize, &tables)?;
    let engine = open_engine(files, config.io_engine).map_err(StreamError::Engine)?;
    let mut io = IoQueueService::for_program(engine, &opts);

    // The chunks of wave `w` and their pieces, in file order.
    let wave_chunks = |w: u64| w * wave..((w + 1) * wave).min(chunks);
    let mut epochs = Vec::new();
    let mut overlap = Overlap::new(*layout);
    observe(StreamProgress { bytes_done: 0, bytes });
    // Step `s` requests wave s, CRCs wave s - lag and folds wave s - lag - 1.
    let steps = if waves == 0 { 0 } else { waves + lag + 1 };
    for step in 0..steps {
        let requested = (step < waves).then_some(step);
        let crcd = step.checked_sub(lag).filter(|&w| w < waves);
        let folded = step.checked_sub(lag + 1).filter(|&w| w < waves);
        recycle_done(&mut ring)?;
        // Slots that must be DONE when the step ends; request slots, which settle in the
        // epoch after their IO was served (or in the same one, where the simulator served
        // it beside the lanes and a persistent lane came back for it), DONE or recycled.
        let mut must_finish: Vec<usize> = Vec::new();
        let mut must_settle: Vec<usize> = Vec::new();
        if let Some(w) = requested {
            let parity = (w % 2) as u32;
            overlap.requested(w, io.completions.len());
            for (j, c) in wave_chunks(w).enumerate() {
                let j = j as u32;
                let args = layout.request_args(c, j, parity, bytes);
                publish(&mut ring, layout.request_slot(w, j), REQUEST_OPCODE, &args)?;
            }
        }
        if let Some(w) = crcd {
            let parity = (w % 2) as u32;
            let mut k = 0;
            for (j, c) in wave_chunks(w).enumerate() {
                let len = input.chunk_len(c);
                for p in 0..len.div_ceil(layout.piece) {
                    let word = layout.landing(parity, j as u32) + p * layout.piece / 4;
                    let piece_len = (len - p * layout.piece).min(layout.piece);
                    let args = [word, piece_len, layout.result(parity, k), layout::counter(parity)];
                    publish(&mut ring, layout.piece_slot(k), PIECE_OPCODE, &args)?;
                    must_finish.push(layout.piece_slot(k));
                    k += 1;
                }
                must_settle.push(layout.request_slot(w, j as u32));
            }
        }
        if let Some(w) = folded {
            let parity = (w % 2) as u32;
            let range = wave_chunks(w);
            let pieces: u32 = range.clone().map(|c| input.chunk_len(c).div_ceil(layout.piece)).sum();
            let last_chunk = input.chunk_len(range.end - 1);
            let last = last_chunk - (last_chunk.div_ceil(layout.piece) - 1) * layout.piece;
            let args = [
                pieces,
                layout.result(parity, 0),
                layout::counter(parity),
                layout::OPERATOR_TABLES,
                crc::zeros_operator(u64::from(last)),
            ];
            publish(&mut ring, layout.combine_slot(), COMBINE_OPCODE, &args)?;
            must_finish.push(layout.combine_slot());
        }
        let seen = io.completions.len();
        let want_served = requested.map_or(0, |w| wave_chunks(w).count());
        let mut step_epochs = 0;
        loop {
            let report = if overlapped {
                overlap.run_epoch(&mut ring, backend, geometry, &mut io, step, step_epochs == 0)?
            } else {
                ring.run_epoch(backend, geometry, Some(&mut io))?
            };
            let cut_off = crate::host::trust::cut_off(std::slice::from_ref(&report)).is_some();
            epochs.push(report);
            step_epochs += 1;
            if cut_off {
                return Ok(partial_report(overlapped, &ring, &input, layout, epochs, io, start));
            }
            ring.republish_parked()?;
            let io_left = if overlapped {
                // Every wave whose reads have all completed is checked once, in order.
                while let Some(w) = overlap.complete_wave(&io.completions, waves, |w| wave_chunks(w).count()) {
                    let completions: Vec<IoCompletion> = overlap.completions_of(w, &io.completions).cloned().collect();
                    check_wave(&input, layout, w, &completions, &io.completions)?;
                    input.check_unchanged(wave_chunks(w).end - 1)?;
                }
                // This step's requests all taken (or served), the last step's all served.
                let mut left = 0;
                if let Some(w) = requested {
                    left += wave_chunks(w).count().saturating_sub(overlap.issued(w, &io.completions));
                }
                if let Some(w) = step.checked_sub(1).filter(|&w| w < waves) {
                    left += wave_chunks(w).count().saturating_sub(overlap.completed(w, &io.completions));
                }
                left
            } else {
                if let Some(w) = requested {
                    check_wave(&input, layout, w, &io.completions[seen..], &io.completions)?;
                }
                want_served.saturating_sub(io.completions.len() - seen)
            };
            let slots = ring.slots()?;
            let settled = |i: &usize| matches!(slots[*i].status, Status::Done | Status::Empty);
            let left = must_finish.iter().filter(|&&i| slots[i].status != Status::Done).count()
                + must_settle.iter().filter(|i| !settled(i)).count()
                + io_left;
            if left == 0 {
                break;
            }
            if step_epochs >= config.max_epochs as usize || epochs.last().is_some_and(|e| e.settled == 0) {
                let counts = ring.status_counts()?;
                return Err(StreamError::Unfinished { step, left: left as u32, epochs: step_epochs, counts });
            }
        }
        if let Some(w) = requested.filter(|_| !overlapped) {
            input.check_unchanged(wave_chunks(w).end - 1)?;
        }
        let folded_chunks = folded.map_or(0, |w| wave_chunks(w).end);
        observe(StreamProgress { bytes_done: (folded_chunks * u64::from(layout.chunk)).min(bytes), bytes });
    }
    // The length came from the file's metadata: a file that grew while being read would
    // give the checksum of a prefix.
    if reads_past(&probe, bytes).map_err(StreamError::Input)? {
        let why = format!("more bytes than its size said ({bytes}) could be read: the file grew while being read");
        return Err(input.changed(chunks.saturating_sub(1), why));
    }
    Ok(partial_report(overlapped, &ring, &input, layout, epochs, io, start))
}

/// The overlapped pipeline's IO bookkeeping: the entries in service (taken after an epoch,
/// served while a later one runs), where each wave's completions start, and the next wave
/// to check.
struct Overlap {
    layout: StreamLayout,
    taken: TakenEntries,
    /// Per request set (`w % 3`): the wave that uses it and the completion count when its
    /// requests were published.
    since: [(u64, usize); REQUEST_SETS as usize],
    checked: u64,
}

impl Overlap {
    fn new(layout: StreamLayout) -> Overlap {
        Overlap { layout, taken: TakenEntries::default(), since: Default::default(), checked: 0 }
    }

    /// Wave `w`'s requests are published; `completions` so far.
    fn requested(&mut self, w: u64, completions: usize) {
        self.since[(w % u64::from(REQUEST_SETS)) as usize] = (w, completions);
    }

    /// The completions of wave `w` so far.
    fn completions_of<'a>(&self, w: u64, all: &'a [IoCompletion]) -> impl Iterator<Item = &'a IoCompletion> + 'a {
        let set = w % u64::from(REQUEST_SETS);
        let (owner, from) = self.since[set as usize];
        let from = if owner == w { from.min(all.len()) } else { all.len() };
        let layout = self.layout;
        all[from..].iter().filter(move |c| layout.request_set_of(c.slot) == set)
    }

    /// Requests of wave `w` completed.
    fn completed(&self, w: u64, all: &[IoCompletion]) -> usize {
        self.completions_of(w, all).count()
    }

    /// Requests of wave `w` taken for service or already completed.
    fn issued(&self, w: u64, all: &[IoCompletion]) -> usize {
        let set = w % u64::from(REQUEST_SETS);
        self.completed(w, all) + self.taken.slots().filter(|&slot| self.layout.request_set_of(slot) == set).count()
    }

    /// The next wave to check, if all its requests have completed.
    fn complete_wave(&mut self, all: &[IoCompletion], waves: u64, chunks_of: impl Fn(u64) -> usize) -> Option<u64> {
        let w = self.checked;
        (w < waves && self.completed(w, all) == chunks_of(w)).then(|| {
            self.checked += 1;
            w
        })
    }

    /// One epoch of step `step`. Wave `step`'s requests take entries from half
    /// `step % 2` of the queue (the cursor is set there at the step's first epoch and left
    /// where the lanes leave it after); the entries of wave `step - 1` in service, all taken
    /// by the end of the last step in the other half, are served while the epoch runs
    /// (their window's last readers, wave `step - 3`'s pieces, are done) and completed after
    /// its readback, re-publishing their slots; wave `step`'s wait for the next step, when
    /// wave `step - 2`'s pieces are done with their window. Then this epoch's requests are
    /// taken.
    fn run_epoch<E: crate::host::io::IoEngine>(
        &mut self,
        ring: &mut Ring,
        backend: &mut dyn Backend,
        geometry: crate::geometry::Geometry,
        io: &mut IoQueueService<E>,
        step: u64,
        first_in_step: bool,
    ) -> Result<EpochReport, StreamError> {
        use crate::protocol::layout::CTRL_IO_CURSOR;
        if first_in_step {
            ring.set_control_word(CTRL_IO_CURSOR, (step % 2) as u32 * self.layout.wave);
        }
        let current = step % u64::from(REQUEST_SETS);
        let layout = self.layout;
        let (later, now) = std::mem::take(&mut self.taken).partition(|slot| layout.request_set_of(slot) == current);
        self.taken = later;
        let mut served = None;
        let report = ring.run_epoch_overlapped(backend, geometry, &mut |landing| {
            if served.is_none() && !now.is_empty() {
                served = Some(io.serve_taken(landing, &now));
            }
        })?;
        if let Some(served) = served {
            io.complete_served(&ring.host_memory(), served);
        }
        let more = io.take(&ring.host_memory());
        self.taken.extend(more);
        Ok(report)
    }
}

/// The report as the stream stands (complete once every step ran).
fn partial_report<E: crate::host::io::IoEngine>(
    overlapped: bool,
    ring: &Ring,
    input: &Input,
    layout: &StreamLayout,
    epochs: Vec<EpochReport>,
    io: IoQueueService<E>,
    start: Instant,
) -> StreamReport {
    StreamReport {
        crc32: ring.heap()[layout::RUNNING as usize],
        bytes: input.bytes,
        chunks: input.chunks(),
        options: layout.options(),
        epochs,
        io_engine: io.engine_name(),
        io_stats: io.stats,
        io: io.completions,
        elapsed: start.elapsed(),
        cutoff_retries: 0,
        io_overlapped: overlapped,
    }
}

/// Wave `w`'s completions: every request succeeded and read its whole chunk (a short
/// read or a read past the end means the file shrank after it was measured: the chunk's
/// CRC would cover stale window bytes). A failure where the file changed is reported as
/// the change, at the first chunk it hit.
fn check_wave(
    input: &Input,
    layout: &StreamLayout,
    w: u64,
    completions: &[IoCompletion],
    all: &[IoCompletion],
) -> Result<(), StreamError> {
    let chunk_of = |c: &IoCompletion| w * u64::from(layout.wave) + u64::from(c.slot % layout.wave);
    let short = |c: &&IoCompletion| c.bytes() != Some(input.chunk_len(chunk_of(c)));
    let Some(first) = completions.iter().filter(short).map(chunk_of).min() else { return Ok(()) };
    input.check_unchanged(first)?;
    let failed: Vec<String> = completions
        .iter()
        .filter_map(|c| {
            let chunk = chunk_of(c);
            let at = chunk * u64::from(layout.chunk);
            c.message().map(|m| format!("chunk {chunk} (bytes {at}..{}): {m}", at + u64::from(input.chunk_len(chunk))))
        })
        .collect();
    if !failed.is_empty() {
        return Err(StreamError::Io { messages: failed, completions: all.to_vec() });
    }
    let c = completions.iter().find(|c| chunk_of(c) == first).expect("the first short chunk has a completion");
    let (got, want) = (c.bytes().unwrap_or(0), input.chunk_len(first));
    Err(input.changed(first, format!("read {got} of {want} bytes: the file shrank while being read")))
}

/// Whether `file` has a byte at `offset`.
fn reads_past(file: &std::fs::File, offset: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut byte = [0u8; 1];
    Ok(file.read_at(&mut byte, offset)? > 0)
}

/// The host IO path alone, for `megaloop bench`: read `input` in `chunk`-byte requests
/// through the IO queue service exactly as between epochs (a wave of parked request slots
/// and their REQUESTED entries, one engine batch each, reads landing in place in the
/// heap's windows), with no kernel running. Returns the bytes read, the time, and the
/// engine's name.
pub fn io_path_read(
    input: &Path,
    options: &StreamOptions,
    engine: EngineChoice,
) -> Result<(u64, Duration, &'static str), StreamError> {
    use crate::host::io::buffer_index::{CONTROL, IO_QUEUE, RING};
    use crate::protocol::io_queue::{IoEntry, IoOp};
    use crate::protocol::layout::IO_STATUS_REQUESTED;
    use crate::protocol::layout::*;
    let layout = options.check()?;
    let (files, bytes) = open_input(input)?;
    let opts = build_options(Mode::Persistent, &layout);
    let mut buffers = Ring::new(opts.clone(), 1)?.buffers().to_vec();
    let mut io = IoQueueService::for_program(open_engine(files, engine).map_err(StreamError::Engine)?, &opts);
    let chunks = bytes.div_ceil(u64::from(layout.chunk));
    let start = Instant::now();
    for (w, first) in (0..chunks).step_by(layout.wave as usize).enumerate() {
        let parity = (w % 2) as u32;
        let n = (chunks - first).min(u64::from(layout.wave)) as u32;
        for j in 0..n {
            let args = layout.request_args(first + u64::from(j), j, parity, bytes);
            let mut slot = Slot::published(REQUEST_OPCODE, 0, PRIORITY_NORMAL, &args).map_err(HostError::from)?;
            slot.status = Status::WaitIo;
            let at = layout.request_slot(w as u64, j) * SLOT_WORDS as usize;
            buffers[RING][at..at + SLOT_WORDS as usize].copy_from_slice(&slot.words());
            let entry = IoEntry {
                op: IoOp::Read,
                src: 0,
                dst: args[4],
                offset: u64::from(args[1]) | u64::from(args[2]) << 32,
                byte_count: args[3],
                status: IO_STATUS_REQUESTED,
                tag: layout.request_slot(w as u64, j) as u32,
            };
            let at = (j * IO_ENTRY_WORDS) as usize;
            buffers[IO_QUEUE][at..at + IO_ENTRY_WORDS as usize].copy_from_slice(&entry.words());
        }
        buffers[CONTROL][CTRL_IO_CURSOR as usize] = n;
        io.end_epoch(&crate::host::HostBuffers::new(&mut buffers));
    }
    let elapsed = start.elapsed();
    let mut failed: Vec<String> = io.completions.iter().filter_map(|c| c.message().map(str::to_string)).collect();
    if io.stats.bytes_read != bytes {
        failed.push(format!("read {} of {bytes} bytes (did the file change?)", io.stats.bytes_read));
    }
    if !failed.is_empty() {
        return Err(StreamError::Io { messages: failed, completions: io.completions });
    }
    Ok((bytes, elapsed, io.engine_name()))
}

/// Register `input` as handle 0; the table and the file's length.
fn open_input(input: &Path) -> Result<(FileTable, u64), StreamError> {
    let mut files = FileTable::default();
    files.register(input).map_err(StreamError::Input)?;
    let bytes = files.len_of(0).map_err(|e| StreamError::Invalid(e.to_string()))?;
    Ok((files, bytes))
}

/// Make every slot an earlier step left DONE EMPTY again, so it can be published.
fn recycle_done(ring: &mut Ring) -> Result<(), HostError> {
    for (index, slot) in ring.slots()?.iter().enumerate() {
        if slot.status == Status::Done {
            ring.host_action(index, Action::HostRecycle)?;
        }
    }
    Ok(())
}

/// Publish a slot of tenant 0 at `index`.
fn publish(ring: &mut Ring, index: usize, opcode: u32, args: &[u32]) -> Result<(), HostError> {
    ring.publish(index, &Slot::published(opcode, 0, PRIORITY_NORMAL, args)?)
}
