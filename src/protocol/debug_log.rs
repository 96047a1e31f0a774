//! The debug log: a cursor word and 64 records of 4 words. Records past capacity are
//! never written; the device counts them in control DEBUG_DROPPED and the decoder reports
//! that count (vyre defect 6 fixed).

use crate::protocol::error::CodecError;
use crate::protocol::layout::*;
use serde::{Deserialize, Serialize};

/// A decoded debug log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugLog {
    /// The written records in cursor order: `[slot, arg0, arg1, arg2]` for PRINTF.
    pub records: Vec<[u32; 4]>,
    /// Records dropped because the log was full (control DEBUG_DROPPED).
    pub dropped: u32,
}

impl DebugLog {
    /// Decode from the log's 257 words and the control buffer's DEBUG_DROPPED word.
    pub fn decode(words: &[u32], dropped: u32) -> Result<DebugLog, CodecError> {
        if words.len() != DEBUG_LOG_WORDS as usize {
            return Err(CodecError::WrongLength {
                what: "debug log",
                expected: DEBUG_LOG_WORDS.to_string(),
                got: words.len(),
            });
        }
        let cursor = words[DEBUG_CURSOR as usize];
        if cursor % DEBUG_RECORD_WORDS != 0 {
            return Err(CodecError::DebugCursorMisaligned { cursor });
        }
        let written = (cursor / DEBUG_RECORD_WORDS).min(DEBUG_RECORDS) as usize;
        let records = words[1..]
            .chunks_exact(DEBUG_RECORD_WORDS as usize)
            .take(written)
            .map(|r| [r[0], r[1], r[2], r[3]])
            .collect();
        Ok(DebugLog { records, dropped })
    }

    /// Encode to the log's words (the cursor counts only written records); the dropped
    /// count belongs in control DEBUG_DROPPED.
    pub fn encode(&self) -> Result<Vec<u32>, CodecError> {
        if self.records.len() > DEBUG_RECORDS as usize {
            return Err(CodecError::WrongLength {
                what: "debug log records",
                expected: format!("at most {DEBUG_RECORDS}"),
                got: self.records.len(),
            });
        }
        let mut words = vec![0; DEBUG_LOG_WORDS as usize];
        words[0] = self.records.len() as u32 * DEBUG_RECORD_WORDS;
        for (i, r) in self.records.iter().enumerate() {
            let at = 1 + i * DEBUG_RECORD_WORDS as usize;
            words[at..at + 4].copy_from_slice(r);
        }
        Ok(words)
    }
}
