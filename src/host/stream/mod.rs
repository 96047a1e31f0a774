//! The `stream-checksum` built-in: the megakernel reads a real file chunk by chunk through
//! the IO queue and computes its CRC-32 (IEEE 802.3, as zlib and `crc32fast`) from
//! per-chunk results.
//!
//! - A chunk slot (opcode [`CHUNK_OPCODE`], a user handler with `io: read`) asks for its
//!   chunk through LOAD_MISS's sequence, parks as WAIT_IO, and once the host has served
//!   it, computes the chunk's CRC-32 with slicing-by-4 tables and stores it.
//! - A combine slot (opcode [`COMBINE_OPCODE`]) folds one wave's chunk CRCs, in file order,
//!   into the running CRC: `crc(A || B) = crc(A) * x^(8 |B|) mod P  xor  crc(B)` (zlib's
//!   `crc32_combine`, the GF(2) multiplications written out in the IR).
//!
//! The host streams the file in waves of at most 64 chunks (the IO queue's size): wave k's
//! chunk slots run in the same drain as the combine of wave k - 1, whose results were all
//! written in earlier epochs (so no cross-lane ordering inside a dispatch is relied on).
//! Results and wave counters are double-buffered by wave parity.

use crate::builder::{BuildOptions, Mode};
use crate::host::io::{open_engine, EngineChoice, FileTable, IoCompletion, IoFailure, IoQueueService, IoStats};
use crate::host::ring::{EpochReport, HostError, Ring};
use crate::host::runner::RunConfig;
use crate::host::Backend;
use crate::protocol::control::priority_offsets;
use crate::protocol::layout::{IO_ENTRIES, PRIORITY_NORMAL};
use crate::protocol::ring::Slot;
use crate::protocol::{Action, Status};
use std::path::Path;
use std::time::{Duration, Instant};

/// Opcode of the chunk handler.
pub const CHUNK_OPCODE: u32 = 0x5100;
/// Opcode of the combine handler.
pub const COMBINE_OPCODE: u32 = 0x5101;
/// Default chunk size in bytes.
pub const DEFAULT_CHUNK: u32 = 64 * 1024;
/// Largest chunk: one chunk handler runs about `chunk / 16` loop iterations, well inside
/// lavapipe's 65,535 per invocation.
pub const MAX_CHUNK: u32 = 512 * 1024;
mod crc;
pub use crc::{chunk_handler, combine_handler, crc_tables};

/// Chunks per wave (one IO queue's worth).
pub const WAVE: u32 = IO_ENTRIES;

/// Heap layout: four 256-word tables, then two counters, the running CRC, two result
/// arrays, then the wave's chunk buffers.
pub(crate) mod at {
    use super::WAVE;
    pub const TABLES: u32 = 0;
    pub const COUNTERS: u32 = 1024;
    pub const RUNNING: u32 = 1026;
    pub const RESULTS: u32 = 1028;
    pub const BUFFERS: u32 = RESULTS + 2 * WAVE;
}

/// Why a stream checksum could not be computed.
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
        /// Every failure's message.
        messages: Vec<String>,
        /// Every completion so far.
        completions: Vec<IoCompletion>,
    },
    /// Slots did not finish (fuel, a driver cut-off, or too few epochs).
    #[error("wave {wave}: {left} slot(s) did not finish within {epochs} epoch(s) (status counts {counts:?})")]
    Unfinished {
        /// Wave.
        wave: u32,
        /// Slots not DONE.
        left: u32,
        /// Epochs run for that wave.
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
    /// Chunk size.
    pub chunk: u32,
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
/// a chunk's CRC loops (16 bytes an iteration), or a combine's GF(2) products (two
/// square-and-multiply operators of 32 x 64 iterations, then 32 a chunk).
pub fn slot_loop_cost(chunk: u32) -> u32 {
    let chunk_slot = chunk / 16 + 8;
    let combine_slot = 2 * 32 * 64 + 32 * WAVE + 64;
    chunk_slot.max(combine_slot)
}

/// Build options for the stream checksum with `chunk`-byte chunks in `mode`.
pub fn build_options(mode: Mode, chunk: u32) -> BuildOptions {
    let mut o = BuildOptions::new(mode, WAVE + 1);
    o.heap_words = at::BUFFERS + WAVE * chunk.div_ceil(4);
    o.user_handlers = vec![chunk_handler(), combine_handler()];
    o
}

/// Check a chunk size.
pub fn check_chunk(chunk: u32) -> Result<(), StreamError> {
    if chunk == 0 || chunk > MAX_CHUNK || chunk % 4 != 0 {
        return Err(StreamError::Invalid(format!(
            "--chunk {chunk}: the chunk size must be a multiple of 4 bytes from 4 to {MAX_CHUNK}"
        )));
    }
    Ok(())
}

/// Compute the CRC-32 of `input` in the megakernel on `backend`, reading `chunk` bytes per
/// slot through the IO queue. A stream whose lanes a driver cut off is run again with
/// less fuel per dispatch ([`crate::host::runner::with_cutoff_retries`]); one still cut
/// off gives [`StreamError::Untrusted`], never a checksum.
pub fn stream_checksum(
    input: &Path,
    chunk: u32,
    backend: &mut dyn Backend,
    config: &RunConfig,
) -> Result<StreamReport, StreamError> {
    check_chunk(chunk)?;
    let mut config = config.clone();
    config.slot_loop_cost = config.slot_loop_cost.max(slot_loop_cost(chunk));
    let report =
        crate::host::runner::with_cutoff_retries(&config, |config| stream_once(input, chunk, backend, config))?;
    if let Some(doubt) = crate::host::trust::cut_off(&report.epochs) {
        return Err(crate::host::trust::Untrusted(vec![doubt]).into());
    }
    Ok(report)
}

/// One attempt of [`stream_checksum`]. A wave whose lanes were cut off ends the attempt
/// early with its epochs (the caller judges them); its checksum is never reported.
fn stream_once(
    input: &Path,
    chunk: u32,
    backend: &mut dyn Backend,
    config: &RunConfig,
) -> Result<StreamReport, StreamError> {
    let start = Instant::now();
    let (files, bytes) = open_input(input)?;
    let probe =
        files.get(0).and_then(|f| f.file.try_clone().map_err(|source| IoFailure::Os { handle: 0, offset: 0, source }));
    let probe = probe.map_err(|e| StreamError::Invalid(e.to_string()))?;
    let chunks = bytes.div_ceil(u64::from(chunk));
    let waves = chunks.div_ceil(u64::from(WAVE));

    let mut config = config.clone();
    config.fit(backend).map_err(HostError::from)?;
    let mut opts = build_options(config.mode, chunk);
    opts.workgroup_size = config.workgroup_size;
    let geometry = config.geometry(opts.slots).map_err(|e| StreamError::Invalid(e.to_string()))?;
    let mut ring = Ring::new(opts.clone(), config.fuel_for(&geometry))?;
    ring.set_tenant(0, 1)?;
    ring.set_priority_offsets(priority_offsets([0, 0, WAVE + 1, 0, 0]).map_err(HostError::from)?);
    ring.write_heap(at::TABLES as usize, &crc_tables())?;
    let engine = open_engine(files, config.io_engine).map_err(StreamError::Engine)?;
    let mut io = IoQueueService::for_program(engine, &opts);

    let mut epochs = Vec::new();
    let chunk_bytes = |c: u64| chunk_len(c, chunk, bytes);
    // Wave `k` reads chunks of wave k and combines wave k - 1; one more pass combines the last.
    for k in 0..=waves {
        let parity = (k % 2) as u32;
        recycle_done(&mut ring)?;
        let mut published: Vec<usize> = Vec::new();
        if k < waves {
            let first = k * u64::from(WAVE);
            for j in 0..(chunks - first).min(u64::from(WAVE)) as u32 {
                let args = chunk_args(first + u64::from(j), j, parity, chunk, bytes);
                publish(&mut ring, j as usize, CHUNK_OPCODE, &args)?;
                published.push(j as usize);
            }
        }
        if k > 0 {
            let prev = k - 1;
            let first = prev * u64::from(WAVE);
            let count = (chunks - first).min(u64::from(WAVE)) as u32;
            let last = chunk_bytes(first + u64::from(count) - 1);
            let args = [count, chunk, last, at::RESULTS + (1 - parity) * WAVE, at::COUNTERS + (1 - parity)];
            publish(&mut ring, WAVE as usize, COMBINE_OPCODE, &args)?;
            published.push(WAVE as usize);
        }
        if published.is_empty() {
            break;
        }
        let seen = io.completions.len();
        let ran = ring.drain(backend, geometry, Some(&mut io), config.max_epochs)?;
        let ran_epochs = ran.len();
        let cut_off = crate::host::trust::cut_off(&ran).is_some();
        epochs.extend(ran);
        if cut_off {
            break;
        }
        let mut failed: Vec<String> = io.completions.iter().filter_map(|c| c.message().map(str::to_string)).collect();
        // A short read means the file shrank after it was measured: the chunk's CRC would
        // cover zero padding, so the result would be wrong.
        for (c, bytes) in io.completions[seen..].iter().filter_map(|c| Some((c, c.bytes()?))) {
            let want = chunk_bytes(k * u64::from(WAVE) + u64::from(c.slot));
            if bytes != want {
                failed.push(format!(
                    "slot {}: read {bytes} of {want} bytes: {} changed while being read",
                    c.slot,
                    input.display()
                ));
            }
        }
        if !failed.is_empty() {
            return Err(StreamError::Io { messages: failed, completions: io.completions });
        }
        let slots = ring.slots()?;
        let left = published.iter().filter(|&&i| slots[i].status != Status::Done).count() as u32;
        if left > 0 {
            let counts = ring.status_counts()?;
            return Err(StreamError::Unfinished { wave: k as u32, left, epochs: ran_epochs, counts });
        }
    }
    // The length came from the file's metadata: a file that reads on past it (a `/proc`
    // file says 0) or grew while being read would give the checksum of a prefix.
    if reads_past(&probe, bytes).map_err(StreamError::Input)? {
        return Err(StreamError::Invalid(format!(
            "{}: more bytes than its size said ({bytes}) could be read: the file grew while being read, or its \
             size is not known from its metadata (a /proc or /sys file); copy it to a regular file first",
            input.display()
        )));
    }
    Ok(StreamReport {
        crc32: ring.heap()[at::RUNNING as usize],
        bytes,
        chunks,
        chunk,
        epochs,
        io_engine: io.engine_name(),
        io_stats: io.stats,
        io: io.completions,
        elapsed: start.elapsed(),
        cutoff_retries: 0,
    })
}

/// Whether `file` has a byte at `offset`.
fn reads_past(file: &std::fs::File, offset: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut byte = [0u8; 1];
    Ok(file.read_at(&mut byte, offset)? > 0)
}

/// Bytes of chunk `c` of a `bytes`-byte file.
fn chunk_len(c: u64, chunk: u32, bytes: u64) -> u32 {
    (bytes - c * u64::from(chunk)).min(u64::from(chunk)) as u32
}

/// The chunk slot's arguments for chunk `c`, the `j`-th of its wave (LOAD_MISS's layout,
/// then the result word and the wave's counter).
fn chunk_args(c: u64, j: u32, parity: u32, chunk: u32, bytes: u64) -> [u32; 8] {
    let offset = c * u64::from(chunk);
    [
        0,
        offset as u32,
        (offset >> 32) as u32,
        chunk_len(c, chunk, bytes),
        at::BUFFERS + j * chunk.div_ceil(4),
        0,
        at::RESULTS + parity * WAVE + j,
        at::COUNTERS + parity,
    ]
}

/// The host IO path alone, for `megaloop bench`: read `input` in `chunk`-byte requests
/// through the IO queue service exactly as between epochs (64 parked chunk slots and their
/// REQUESTED entries per wave, one engine batch each, reads landing in place in the heap),
/// with no kernel running. Returns the bytes read, the time, and the engine's name.
pub fn io_path_read(
    input: &Path,
    chunk: u32,
    engine: EngineChoice,
) -> Result<(u64, Duration, &'static str), StreamError> {
    use crate::host::io::buffer_index::{CONTROL, IO_QUEUE, RING};
    use crate::protocol::io_queue::{IoEntry, IoOp};
    use crate::protocol::layout::IO_STATUS_REQUESTED;
    use crate::protocol::layout::*;
    check_chunk(chunk)?;
    let (files, bytes) = open_input(input)?;
    let opts = build_options(Mode::Persistent, chunk);
    let mut buffers = Ring::new(opts.clone(), 1)?.buffers().to_vec();
    let mut io = IoQueueService::for_program(open_engine(files, engine).map_err(StreamError::Engine)?, &opts);
    let chunks = bytes.div_ceil(u64::from(chunk));
    let start = Instant::now();
    for first in (0..chunks).step_by(WAVE as usize) {
        let n = (chunks - first).min(u64::from(WAVE)) as u32;
        for j in 0..n {
            let args = chunk_args(first + u64::from(j), j, 0, chunk, bytes);
            let mut slot = Slot::published(CHUNK_OPCODE, 0, PRIORITY_NORMAL, &args).map_err(HostError::from)?;
            slot.status = Status::WaitIo;
            let at = (j * SLOT_WORDS) as usize;
            buffers[RING][at..at + SLOT_WORDS as usize].copy_from_slice(&slot.words());
            let entry = IoEntry {
                op: IoOp::Read,
                src: args[0],
                dst: args[4],
                offset: u64::from(args[1]) | u64::from(args[2]) << 32,
                byte_count: args[3],
                status: IO_STATUS_REQUESTED,
                tag: j,
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

/// Make every slot an earlier wave left DONE EMPTY again, so it can be published.
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
