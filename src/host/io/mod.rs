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
pub use service::{IoCompletion, IoQueueService, IoStats};

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

/// Error codes written to BYTE_COUNT of an ERROR completion (spec 2.8).
pub mod error_code {
    /// The file handle is not registered.
    pub const BAD_HANDLE: u32 = 1;
    /// A READ's offset is past the end of the file.
    pub const OFFSET_PAST_END: u32 = 2;
    /// The operating system reported an error.
    pub const OS_ERROR: u32 = 3;
    /// The heap range is not inside the heap.
    pub const BAD_DESTINATION: u32 = 4;
    /// The entry's OP_TYPE is not READ, WRITE or FENCE.
    pub const UNSUPPORTED_OP: u32 = 5;
    /// A WRITE to a file registered read-only.
    pub const NOT_WRITABLE: u32 = 6;
    /// Between epochs, the entry still did not match a slot parked on an IO opcode.
    pub const MISMATCHED_ENTRY: u32 = 7;
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
            IoFailure::BadHandle(_) => error_code::BAD_HANDLE,
            IoFailure::OffsetPastEnd { .. } => error_code::OFFSET_PAST_END,
            IoFailure::Os { .. } | IoFailure::Unavailable { .. } => error_code::OS_ERROR,
            IoFailure::NotWritable(_) => error_code::NOT_WRITABLE,
            IoFailure::BadDestination { .. } => error_code::BAD_DESTINATION,
            IoFailure::UnsupportedOp(_) => error_code::UNSUPPORTED_OP,
            IoFailure::Mismatch { .. } => error_code::MISMATCHED_ENTRY,
        }
    }
}

#[cfg(test)]
mod tests;
