//! The IO queue: 64 entries of 8 words through which lanes ask the host for data.

use crate::protocol::error::CodecError;
use crate::protocol::layout::*;
use serde::{Deserialize, Serialize};

/// The operation of an IO entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IoOp {
    /// Unused entry (word 0).
    None,
    /// Read from a source handle into the heap.
    Read,
    /// Write from the heap to a handle.
    Write,
    /// Order earlier requests.
    Fence,
}

impl IoOp {
    fn from_word(entry: usize, w: u32) -> Result<IoOp, CodecError> {
        IoOp::from_wire(w).ok_or(CodecError::BadIoOp { entry, value: w })
    }

    /// The op of a wire word, if it is one.
    pub fn from_wire(w: u32) -> Option<IoOp> {
        match w {
            0 => Some(IoOp::None),
            IO_OP_READ => Some(IoOp::Read),
            IO_OP_WRITE => Some(IoOp::Write),
            IO_OP_FENCE => Some(IoOp::Fence),
            _ => None,
        }
    }

    /// The wire word.
    pub fn word(self) -> u32 {
        match self {
            IoOp::None => 0,
            IoOp::Read => IO_OP_READ,
            IoOp::Write => IO_OP_WRITE,
            IoOp::Fence => IO_OP_FENCE,
        }
    }
}

/// One decoded IO entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoEntry {
    /// Operation.
    pub op: IoOp,
    /// Source handle (a registered file for reads).
    pub src: u32,
    /// Destination handle (a heap word address for reads).
    pub dst: u32,
    /// Byte offset in the source.
    pub offset: u64,
    /// Bytes requested; after an ERROR completion, the error code.
    pub byte_count: u32,
    /// Status: 0 free, 1 requested, 2 in service, 0x10 OK, 0x11 ERROR.
    pub status: u32,
    /// The requesting slot's index.
    pub tag: u32,
}

impl IoEntry {
    /// Decode one entry.
    pub fn decode(entry: usize, w: &[u32]) -> Result<IoEntry, CodecError> {
        if w.len() != IO_ENTRY_WORDS as usize {
            return Err(CodecError::WrongLength {
                what: "io entry",
                expected: IO_ENTRY_WORDS.to_string(),
                got: w.len(),
            });
        }
        let status = w[IO_STATUS as usize];
        if !matches!(
            status,
            IO_STATUS_EMPTY | IO_STATUS_REQUESTED | IO_STATUS_IN_SERVICE | IO_STATUS_OK | IO_STATUS_ERROR
        ) {
            return Err(CodecError::BadIoStatus { entry, value: status });
        }
        Ok(IoEntry {
            op: IoOp::from_word(entry, w[IO_OP_TYPE as usize])?,
            src: w[IO_SRC_HANDLE as usize],
            dst: w[IO_DST_HANDLE as usize],
            offset: u64::from(w[IO_OFFSET_LO as usize]) | u64::from(w[IO_OFFSET_HI as usize]) << 32,
            byte_count: w[IO_BYTE_COUNT as usize],
            status,
            tag: w[IO_TAG as usize],
        })
    }

    /// The entry's 8 words.
    pub fn words(&self) -> [u32; IO_ENTRY_WORDS as usize] {
        let mut w = [0; IO_ENTRY_WORDS as usize];
        w[IO_OP_TYPE as usize] = self.op.word();
        w[IO_SRC_HANDLE as usize] = self.src;
        w[IO_DST_HANDLE as usize] = self.dst;
        w[IO_OFFSET_LO as usize] = self.offset as u32;
        w[IO_OFFSET_HI as usize] = (self.offset >> 32) as u32;
        w[IO_BYTE_COUNT as usize] = self.byte_count;
        w[IO_STATUS as usize] = self.status;
        w[IO_TAG as usize] = self.tag;
        w
    }
}

/// Decode the whole queue: 1 to `MAX_IO_ENTRIES` entries of 8 words (512 words for a
/// default ring).
pub fn decode_io_queue(words: &[u32]) -> Result<Vec<IoEntry>, CodecError> {
    let entry = IO_ENTRY_WORDS as usize;
    if words.is_empty() || words.len() % entry != 0 || words.len() > (MAX_IO_ENTRIES as usize) * entry {
        return Err(CodecError::WrongLength {
            what: "io queue",
            expected: format!("a multiple of {IO_ENTRY_WORDS} words up to {}", MAX_IO_ENTRIES * IO_ENTRY_WORDS),
            got: words.len(),
        });
    }
    words.chunks_exact(IO_ENTRY_WORDS as usize).enumerate().map(|(i, w)| IoEntry::decode(i, w)).collect()
}

/// Encode a queue of 1 to `MAX_IO_ENTRIES` entries.
pub fn encode_io_queue(entries: &[IoEntry]) -> Result<Vec<u32>, CodecError> {
    if entries.is_empty() || entries.len() > MAX_IO_ENTRIES as usize {
        return Err(CodecError::WrongLength {
            what: "io queue entries",
            expected: format!("1 to {MAX_IO_ENTRIES}"),
            got: entries.len(),
        });
    }
    Ok(entries.iter().flat_map(|e| e.words()).collect())
}
