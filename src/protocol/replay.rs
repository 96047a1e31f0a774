//! The replay log (RingLog): a byte format recording the slots the host published, epoch
//! by epoch, so a run can be replayed. Little-endian u32 words:
//! header `magic "MLRL", version 1, SLOT_WORDS, record count`, then per record
//! `epoch, slot index, 16 slot words`.

use crate::protocol::error::CodecError;
use crate::protocol::layout::SLOT_WORDS;
use crate::protocol::ring::Slot;
use serde::{Deserialize, Serialize};

/// "MLRL" as a little-endian word.
pub const RINGLOG_MAGIC: u32 = u32::from_le_bytes(*b"MLRL");
/// Format version.
pub const RINGLOG_VERSION: u32 = 1;
const HEADER_BYTES: usize = 16;
const RECORD_BYTES: usize = 4 * (2 + SLOT_WORDS as usize);

/// One published slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingLogRecord {
    /// Epoch in which it was published.
    pub epoch: u32,
    /// Slot index.
    pub slot: u32,
    /// The slot as published.
    pub words: Slot,
}

/// A whole replay log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingLog {
    /// Records in publication order.
    pub records: Vec<RingLogRecord>,
}

impl RingLog {
    /// Encode to bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + RECORD_BYTES * self.records.len());
        for w in [RINGLOG_MAGIC, RINGLOG_VERSION, SLOT_WORDS, self.records.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for r in &self.records {
            out.extend_from_slice(&r.epoch.to_le_bytes());
            out.extend_from_slice(&r.slot.to_le_bytes());
            for w in r.words.words() {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Decode from bytes: bad magic, version or slot size, truncation and trailing bytes
    /// are errors.
    pub fn decode(bytes: &[u8]) -> Result<RingLog, CodecError> {
        if bytes.len() < HEADER_BYTES {
            return Err(CodecError::ReplayHeader(format!("{} bytes, a header needs {HEADER_BYTES}", bytes.len())));
        }
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if word(0) != RINGLOG_MAGIC {
            return Err(CodecError::ReplayHeader(format!("magic {:#010x}, expected \"MLRL\"", word(0))));
        }
        if word(4) != RINGLOG_VERSION {
            return Err(CodecError::ReplayHeader(format!("version {}, this decoder reads {RINGLOG_VERSION}", word(4))));
        }
        if word(8) != SLOT_WORDS {
            return Err(CodecError::ReplayHeader(format!("slot size {} words, expected {SLOT_WORDS}", word(8))));
        }
        let count = word(12);
        let mut records = Vec::new();
        let mut at = HEADER_BYTES;
        for record in 0..count {
            if bytes.len() - at < RECORD_BYTES {
                return Err(CodecError::ReplayTruncated {
                    offset: at,
                    record,
                    needed: RECORD_BYTES - (bytes.len() - at),
                });
            }
            let slot_words: Vec<u32> = (0..SLOT_WORDS as usize).map(|k| word(at + 8 + 4 * k)).collect();
            let words = Slot::decode(word(at + 4) as usize, &slot_words)?;
            records.push(RingLogRecord { epoch: word(at), slot: word(at + 4), words });
            at += RECORD_BYTES;
        }
        if at != bytes.len() {
            return Err(CodecError::ReplayTrailing { extra: bytes.len() - at, records: count });
        }
        Ok(RingLog { records })
    }
}
