//! The IO queue service: completes the megakernel's LOAD_MISS requests.
//!
//! An [`IoSource`] reads bytes from registered handles (plain positioned file reads in
//! [`FileTable`]). [`IoQueueService`] scans the IO queue for REQUESTED entries, takes each
//! (REQUESTED -> IN_SERVICE by compare-exchange, so no request is served twice) once its
//! fields match the requesting slot's arguments (see `entry_is_current`), reads
//! into the heap, completes the entry with OK or ERROR (error code in BYTE_COUNT), writes
//! the slot's `arg5`, and re-publishes the slot WAIT_IO -> PUBLISHED once its lane has
//! parked it (raising DRAIN_TARGET first, so running lanes pick it up). It runs beside
//! the lanes in the simulator and between epochs on every backend.

use crate::host::LiveMemory;
use crate::protocol::io_queue::{IO_STATUS_IN_SERVICE, IO_STATUS_REQUESTED};
use crate::protocol::layout::*;
use crate::protocol::Status;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Positions of the protocol buffers in every builder program: the builder declares them
/// in binding order, so a buffer's position is its binding.
pub mod buffer_index {
    use crate::protocol::layout::*;
    /// Control.
    pub const CONTROL: usize = BINDING_CONTROL as usize;
    /// Ring.
    pub const RING: usize = BINDING_RING as usize;
    /// Debug log.
    pub const DEBUG_LOG: usize = BINDING_DEBUG_LOG as usize;
    /// IO queue.
    pub const IO_QUEUE: usize = BINDING_IO_QUEUE as usize;
    /// Heap.
    pub const HEAP: usize = BINDING_HEAP as usize;
}
use buffer_index::*;

/// Error codes written to BYTE_COUNT of an ERROR completion.
pub mod error_code {
    /// The source handle is not registered.
    pub const BAD_HANDLE: u32 = 1;
    /// The offset is past the end of the source.
    pub const OFFSET_PAST_END: u32 = 2;
    /// The operating system reported an error.
    pub const OS_ERROR: u32 = 3;
    /// The destination range is not inside the heap.
    pub const BAD_DESTINATION: u32 = 4;
    /// The operation is not supported by this service.
    pub const UNSUPPORTED_OP: u32 = 5;
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum IoFailure {
    /// No such handle.
    #[error("handle {0} is not registered")]
    BadHandle(u32),
    /// Offset past the end.
    #[error("offset {offset} is past the end ({len} bytes) of handle {handle}")]
    OffsetPastEnd {
        /// Handle.
        handle: u32,
        /// Offset.
        offset: u64,
        /// Source length.
        len: u64,
    },
    /// OS error.
    #[error("reading handle {handle}: {source}")]
    Os {
        /// Handle.
        handle: u32,
        /// The error.
        source: std::io::Error,
    },
}

impl IoFailure {
    /// The wire error code.
    pub fn code(&self) -> u32 {
        match self {
            IoFailure::BadHandle(_) => error_code::BAD_HANDLE,
            IoFailure::OffsetPastEnd { .. } => error_code::OFFSET_PAST_END,
            IoFailure::Os { .. } => error_code::OS_ERROR,
        }
    }
}

/// Something that can read bytes at an offset of a handle.
pub trait IoSource: Send {
    /// Read up to `buf.len()` bytes at `offset`; returns how many were read (short only at
    /// the end of the source). An offset past the end is an error; at the end, 0.
    fn read_at(&mut self, handle: u32, offset: u64, buf: &mut [u8]) -> Result<usize, IoFailure>;

    /// Whether any handle is registered (with none, every request fails, and servicing
    /// between epochs is as good as during them).
    fn has_sources(&self) -> bool {
        true
    }
}

/// Registered files, read with positioned reads.
#[derive(Debug, Default)]
pub struct FileTable {
    files: Vec<(PathBuf, File)>,
}

impl FileTable {
    /// Open `path` and register it; returns its handle.
    pub fn register(&mut self, path: &Path) -> std::io::Result<u32> {
        let file = File::open(path)?;
        self.files.push((path.to_path_buf(), file));
        Ok(self.files.len() as u32 - 1)
    }

    /// The path behind a handle.
    pub fn path(&self, handle: u32) -> Option<&Path> {
        self.files.get(handle as usize).map(|(p, _)| p.as_path())
    }
}

impl IoSource for FileTable {
    fn has_sources(&self) -> bool {
        !self.files.is_empty()
    }
    fn read_at(&mut self, handle: u32, offset: u64, buf: &mut [u8]) -> Result<usize, IoFailure> {
        use std::os::unix::fs::FileExt;
        let (_, file) = self.files.get(handle as usize).ok_or(IoFailure::BadHandle(handle))?;
        let len = file.metadata().map_err(|source| IoFailure::Os { handle, source })?.len();
        if offset > len {
            return Err(IoFailure::OffsetPastEnd { handle, offset, len });
        }
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(IoFailure::Os { handle, source }),
            }
        }
        Ok(done)
    }
}

/// One completed request, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoCompletion {
    /// Slot that asked.
    pub slot: u32,
    /// Whether it succeeded.
    pub ok: bool,
    /// Bytes read, or the error code.
    pub value: u32,
    /// What went wrong, for people.
    pub message: Option<String>,
}

/// The IO queue service over an [`IoSource`].
pub struct IoQueueService<S: IoSource> {
    source: S,
    heap_words: usize,
    /// Slots whose entry is complete but whose lane had not yet parked them.
    pending: Vec<(u32, u32)>,
    /// Every completion, in order.
    pub completions: Vec<IoCompletion>,
}

impl<S: IoSource> IoQueueService<S> {
    /// A service reading from `source` into a heap of `heap_words` words.
    pub fn new(source: S, heap_words: u32) -> Self {
        IoQueueService { source, heap_words: heap_words as usize, pending: Vec::new(), completions: Vec::new() }
    }

    /// Serve entry `e` (already taken): returns (slot, IO status for arg5).
    fn serve(&mut self, mem: &dyn LiveMemory, e: usize) -> (u32, u32) {
        let w = |k: u32| mem.load(IO_QUEUE, e * IO_ENTRY_WORDS as usize + k as usize);
        let (op, handle, dst, bytes, slot) =
            (w(IO_OP_TYPE), w(IO_SRC_HANDLE), w(IO_DST_HANDLE), w(IO_BYTE_COUNT), w(IO_TAG));
        let offset = u64::from(w(IO_OFFSET_LO)) | u64::from(w(IO_OFFSET_HI)) << 32;
        let words = (bytes as usize).div_ceil(4);
        let result: Result<u32, (u32, String)> = if op != IO_OP_READ {
            Err((error_code::UNSUPPORTED_OP, format!("IO op {op} is not supported (only READ)")))
        } else if dst as usize > self.heap_words || words > self.heap_words - dst as usize {
            Err((error_code::BAD_DESTINATION, format!("destination heap[{dst}..+{words}] is outside the heap")))
        } else {
            let mut buf = vec![0u8; words * 4];
            match self.source.read_at(handle, offset, &mut buf[..bytes as usize]) {
                Ok(n) => {
                    for (k, chunk) in buf.chunks_exact(4).enumerate() {
                        mem.store(HEAP, dst as usize + k, u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
                    }
                    Ok(n as u32)
                }
                Err(f) => Err((f.code(), f.to_string())),
            }
        };
        let base = e * IO_ENTRY_WORDS as usize;
        let (status, value, message) = match result {
            Ok(n) => (IO_STATUS_OK, n, None),
            Err((code, msg)) => (IO_STATUS_ERROR, code, Some(msg)),
        };
        mem.store(IO_QUEUE, base + IO_BYTE_COUNT as usize, value);
        mem.store(IO_QUEUE, base + IO_STATUS as usize, status);
        self.completions.push(IoCompletion { slot, ok: status == IO_STATUS_OK, value, message });
        (slot, status)
    }

    /// Re-publish `slot` with `arg5 = status` if its lane has parked it; false if not yet.
    fn republish(mem: &dyn LiveMemory, slot: u32, status: u32) -> bool {
        let base = slot as usize * SLOT_WORDS as usize;
        if mem.load(RING, base) != Status::WaitIo.word() {
            return false;
        }
        mem.store(RING, base + (SLOT_ARG0 + 5) as usize, status);
        mem.fetch_add(CONTROL, CTRL_DRAIN_TARGET as usize, 1);
        mem.compare_exchange(RING, base, Status::WaitIo.word(), Status::Published.word()).is_ok()
    }

    /// Between epochs: free every completed entry and reset the IO cursor.
    pub fn end_epoch(&mut self, mem: &dyn LiveMemory) {
        self.poll_inner(mem);
        for e in 0..Self::entries_in_use(mem) {
            let status = mem.load(IO_QUEUE, e * IO_ENTRY_WORDS as usize + IO_STATUS as usize);
            if status == IO_STATUS_OK || status == IO_STATUS_ERROR {
                for k in 0..IO_ENTRY_WORDS as usize {
                    mem.store(IO_QUEUE, e * IO_ENTRY_WORDS as usize + k, 0);
                }
            }
        }
        if self.pending.is_empty() {
            mem.store(CONTROL, CTRL_IO_CURSOR as usize, 0);
        }
    }

    /// Whether entry `e` is safe to serve: its slot has parked as WAIT_IO on LOAD_MISS and
    /// every field equals what the slot's arguments say. Lanes publish entries with relaxed
    /// stores, which do not order the fields before STATUS for a concurrent reader (loom
    /// shows the stale read); the slot's arguments were written by the host itself before
    /// the dispatch, so a match proves the fields are current. A mismatch is retried on a
    /// later poll: coherence makes the lane's stores visible eventually, and between epochs
    /// they all are.
    fn entry_is_current(mem: &dyn LiveMemory, e: usize) -> bool {
        let w = |k: u32| mem.load(IO_QUEUE, e * IO_ENTRY_WORDS as usize + k as usize);
        let base = w(IO_TAG) as usize * SLOT_WORDS as usize;
        let slot = |k: u32| mem.load(RING, base + k as usize);
        let arg = |k: u32| slot(SLOT_ARG0 + k);
        slot(SLOT_STATUS) == Status::WaitIo.word()
            && slot(SLOT_OPCODE) == crate::protocol::opcode::LOAD_MISS
            && w(IO_OP_TYPE) == IO_OP_READ
            && w(IO_SRC_HANDLE) == arg(0)
            && w(IO_OFFSET_LO) == arg(1)
            && w(IO_OFFSET_HI) == arg(2)
            && w(IO_BYTE_COUNT) == arg(3)
            && w(IO_DST_HANDLE) == arg(4)
    }

    /// Entries below the IO cursor: lanes take entries by incrementing it, and the host
    /// resets it only once every entry is free, so no entry at or past it is in use.
    fn entries_in_use(mem: &dyn LiveMemory) -> usize {
        (mem.load(CONTROL, CTRL_IO_CURSOR as usize) as usize).min(IO_ENTRIES as usize)
    }

    fn poll_inner(&mut self, mem: &dyn LiveMemory) -> usize {
        let mut done = 0;
        for e in 0..Self::entries_in_use(mem) {
            let status_at = e * IO_ENTRY_WORDS as usize + IO_STATUS as usize;
            if mem.load(IO_QUEUE, status_at) != IO_STATUS_REQUESTED || !Self::entry_is_current(mem, e) {
                continue;
            }
            if mem.compare_exchange(IO_QUEUE, status_at, IO_STATUS_REQUESTED, IO_STATUS_IN_SERVICE).is_err() {
                continue;
            }
            let (slot, status) = self.serve(mem, e);
            self.pending.push((slot, status));
            done += 1;
        }
        self.pending.retain(|&(slot, status)| !Self::republish(mem, slot, status));
        done
    }
}

impl<S: IoSource> crate::host::HostService for IoQueueService<S> {
    fn poll(&mut self, memory: &dyn LiveMemory) -> usize {
        self.poll_inner(memory)
    }
    fn worth_polling(&self) -> bool {
        self.source.has_sources()
    }
}
