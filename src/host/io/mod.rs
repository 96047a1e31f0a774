//! The host's IO path: the megakernel asks for data through the IO queue, and the host
//! answers.
//!
//! - [`files`]: the registered files, by handle (0, 1, ... in registration order).
//! - [`engine`]: the [`IoEngine`] trait (a batch of READ / WRITE / FENCE requests into raw
//!   memory), the positioned-IO engine, and [`open_engine`], which prefers io_uring and
//!   falls back to positioned IO, saying so once.
//! - `uring`: the io_uring engine (registered files and buffers, one submission per batch).
//! - [`service`]: the IO queue service, which takes requested entries, lands reads directly
//!   in the backend's memory (the simulator's words, or the GPU backend's mapped staging
//!   buffer), completes each entry exactly once, and re-publishes the waiting slot.

pub mod engine;
pub mod files;
pub mod service;
#[cfg(target_os = "linux")]
pub mod uring;

pub use engine::{open_engine, EngineChoice, IoEngine, IoKind, IoRequest, PositionedEngine, RawRegion};
pub use files::{FileAccess, FileTable};
pub use service::{IoCompletion, IoQueueService, IoResult, IoStats, ServedEntries, TakenEntries};

use crate::protocol::layout::*;

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

/// Why an IO request failed. Each has a wire code ([`IoFailure::code`]) and a message
/// that names the handle, offset or range at fault.
#[derive(Debug, thiserror::Error)]
pub enum IoFailure {
    /// No such handle.
    #[error("file handle {0} is not registered")]
    BadHandle(u32),
    /// A READ starting past the end of the file.
    #[error("offset {offset} is past the end of file handle {handle} ({len} bytes)")]
    OffsetPastEnd {
        /// Handle.
        handle: u32,
        /// Offset.
        offset: u64,
        /// File length.
        len: u64,
    },
    /// The operating system failed the request.
    #[error("file handle {handle} at offset {offset}: {source}")]
    Os {
        /// Handle.
        handle: u32,
        /// Offset.
        offset: u64,
        /// The error.
        source: std::io::Error,
    },
    /// The handle's file could not be opened.
    #[error("file handle {handle} could not be opened: {reason}")]
    Unavailable {
        /// Handle.
        handle: u32,
        /// The open error, with the path.
        reason: String,
    },
    /// A WRITE to a read-only file.
    #[error("file handle {0} is registered read-only; WRITE needs a file registered for writing")]
    NotWritable(u32),
    /// The heap range of a READ or WRITE is outside the heap.
    #[error("heap range [{word}, {word} + {words} words) for {bytes} bytes is outside the heap of {heap_words} words")]
    BadDestination {
        /// First heap word.
        word: u32,
        /// Words the request covers.
        words: u64,
        /// Bytes requested.
        bytes: u32,
        /// Heap size.
        heap_words: usize,
    },
    /// An entry that, with every write visible, does not match its tagged slot.
    #[error("IO entry {entry} does not match slot {slot} (not parked WAIT_IO on an IO opcode with these arguments)")]
    Mismatch {
        /// Entry.
        entry: usize,
        /// Its TAG.
        slot: u32,
    },
    /// An OP_TYPE this service does not know.
    #[error("IO op {0} is not READ (1), WRITE (2) or FENCE (3)")]
    UnsupportedOp(u32),
}

impl IoFailure {
    /// The wire error code.
    pub fn code(&self) -> u32 {
        match self {
            IoFailure::BadHandle(_) => IO_ERROR_BAD_HANDLE,
            IoFailure::OffsetPastEnd { .. } => IO_ERROR_OFFSET_PAST_END,
            IoFailure::Os { .. } | IoFailure::Unavailable { .. } => IO_ERROR_OS_ERROR,
            IoFailure::NotWritable(_) => IO_ERROR_NOT_WRITABLE,
            IoFailure::BadDestination { .. } => IO_ERROR_BAD_DESTINATION,
            IoFailure::UnsupportedOp(_) => IO_ERROR_UNSUPPORTED_OP,
            IoFailure::Mismatch { .. } => IO_ERROR_MISMATCHED_ENTRY,
        }
    }
}

#[cfg(test)]
mod tests;
