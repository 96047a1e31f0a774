//! Errors of the host-side codecs: each says which buffer, which word and what is wrong.

/// A buffer, byte stream or value that does not decode or encode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A byte stream whose length is not a whole number of words.
    #[error("{what}: {len} bytes is not a whole number of 4-byte words")]
    Misaligned {
        /// Which buffer.
        what: &'static str,
        /// Byte length.
        len: usize,
    },
    /// A buffer of the wrong size.
    #[error("{what}: expected {expected} words, got {got}")]
    WrongLength {
        /// Which buffer.
        what: &'static str,
        /// Expected word count (or minimum, see message).
        expected: String,
        /// Actual word count.
        got: usize,
    },
    /// A slot status outside 0..=7.
    #[error("ring slot {slot} STATUS: {value} is not a slot status (0..=7)")]
    BadStatus {
        /// Slot index.
        slot: usize,
        /// The word.
        value: u32,
    },
    /// TENANT_BASE does not hold the mask table's index.
    #[error("control TENANT_BASE (word 2): {value}, expected 3 (the tenant-mask table's index)")]
    BadTenantBase {
        /// The word.
        value: u32,
    },
    /// Priority partition offsets that decrease.
    #[error("control priority offsets (words 129..135) must not decrease: word {index} is {value}, after {previous}")]
    OffsetsDecrease {
        /// Control word index.
        index: u32,
        /// Its value.
        value: u32,
        /// The word before it.
        previous: u32,
    },
    /// An IO entry op outside 0..=3.
    #[error("io queue entry {entry} OP_TYPE: {value} is not an IO op (0 none, 1 READ, 2 WRITE, 3 FENCE)")]
    BadIoOp {
        /// Entry index.
        entry: usize,
        /// The word.
        value: u32,
    },
    /// An IO entry status that is not defined.
    #[error("io queue entry {entry} STATUS: {value:#x} is not an IO status (0, 1 requested, 2 in service, 0x10 OK, 0x11 ERROR)")]
    BadIoStatus {
        /// Entry index.
        entry: usize,
        /// The word.
        value: u32,
    },
    /// A debug cursor that is not a multiple of the record size.
    #[error("debug log cursor: {cursor} is not a multiple of 4 words")]
    DebugCursorMisaligned {
        /// The cursor.
        cursor: u32,
    },
    /// A packed slot that breaks the packing limits.
    #[error("packed slot: {0}")]
    Packed(String),
    /// A replay log with a bad header.
    #[error("replay log header: {0}")]
    ReplayHeader(String),
    /// A replay log cut short.
    #[error("replay log: truncated at byte {offset}: record {record} needs {needed} more bytes")]
    ReplayTruncated {
        /// Byte offset where the record starts.
        offset: usize,
        /// Record index.
        record: u32,
        /// Missing bytes.
        needed: usize,
    },
    /// A replay log with bytes after its last record.
    #[error("replay log: {extra} bytes after the {records} records the header announces")]
    ReplayTrailing {
        /// Extra bytes.
        extra: usize,
        /// Record count from the header.
        records: u32,
    },
    /// A slot index outside the ring.
    #[error("slot index {index} is outside the ring of {slots} slots")]
    SlotOutOfRange {
        /// The index.
        index: usize,
        /// Ring size.
        slots: usize,
    },
    /// An illegal status change requested by the host.
    #[error("ring slot {slot}: {source}")]
    Transition {
        /// Slot index.
        slot: usize,
        /// What was illegal.
        source: crate::protocol::status::TransitionError,
    },
}

/// Little-endian bytes to words; a length that is not a multiple of 4 is an error. (The
/// wire is little-endian whatever the host's byte order, so this is not a bytemuck cast.)
pub fn words_from_le_bytes(what: &'static str, bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
    if bytes.len() % 4 != 0 {
        return Err(CodecError::Misaligned { what, len: bytes.len() });
    }
    Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Words to little-endian bytes.
pub fn words_to_le_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
