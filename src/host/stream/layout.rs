//! Where the stream checksum keeps everything: its options, the ring's slots (request
//! slots in two sets by wave parity, piece slots, one combine slot) and the heap (wave
//! counters, the running CRC, the piece operator's tables, piece results by wave parity,
//! and two landing windows).

use super::StreamError;
use crate::ir::validate::MAX_BUFFER_WORDS;
use crate::protocol::layout::MAX_IO_ENTRIES;

/// Default chunk (one IO request) in bytes.
pub const DEFAULT_CHUNK: u32 = 256 * 1024;
/// Default piece (one lane's CRC) in bytes.
pub const DEFAULT_PIECE: u32 = 16 * 1024;
/// Default chunks per wave: the IO queue's default entries (vyre's 64). With the default
/// chunk a wave is 16 MiB: measured on an H200 host (1 GiB, page cache warm), waves of
/// 64 chunks of 64 KiB streamed 1,651 MB/s, 256 of 64 KiB 2,703-2,924 MB/s, 64 of 256 KiB
/// 3,602 MB/s (fewer epochs, and fewer, larger reads).
pub const DEFAULT_WAVE: u32 = crate::protocol::layout::IO_ENTRIES;
/// Largest chunk.
pub const MAX_CHUNK: u32 = 4 * 1024 * 1024;
/// Largest piece: its CRC loop runs `piece / 4` iterations, well inside lavapipe's 65,535
/// per invocation.
pub const MAX_PIECE: u32 = 64 * 1024;
/// Most pieces in one wave: the combine folds them in one loop, which must stay well
/// inside lavapipe's 65,535 iterations per invocation.
pub const MAX_WAVE_PIECES: u32 = 16 * 1024;

/// How a file is cut up: `chunk`-byte IO requests, `wave` of them in flight at once (the
/// IO queue's capacity), each CRC'd by `chunk / piece` lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Bytes per IO request (a multiple of `piece`).
    pub chunk: u32,
    /// Bytes per lane's CRC (a multiple of 4).
    pub piece: u32,
    /// Chunks per wave (IO queue entries).
    pub wave: u32,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { chunk: DEFAULT_CHUNK, piece: DEFAULT_PIECE.min(DEFAULT_CHUNK), wave: DEFAULT_WAVE }
    }
}

impl StreamOptions {
    /// Options with `chunk`-byte chunks and the default wave, pieces of the default size
    /// (or the whole chunk when smaller).
    pub fn with_chunk(chunk: u32) -> StreamOptions {
        StreamOptions { chunk, piece: DEFAULT_PIECE.min(chunk), ..StreamOptions::default() }
    }

    /// Check the options; the error names the option and its limits.
    pub fn check(&self) -> Result<StreamLayout, StreamError> {
        let bad = |what: String| Err(StreamError::Invalid(what));
        let StreamOptions { chunk, piece, wave } = *self;
        if chunk == 0 || chunk > MAX_CHUNK || chunk % 4 != 0 {
            return bad(format!("--chunk {chunk}: the chunk size must be a multiple of 4 bytes from 4 to {MAX_CHUNK}"));
        }
        if piece == 0 || piece > MAX_PIECE || piece % 4 != 0 || chunk % piece != 0 {
            return bad(format!(
                "--piece {piece}: the piece size must be a multiple of 4 bytes up to {MAX_PIECE} that divides the \
                 chunk ({chunk} bytes)"
            ));
        }
        if wave == 0 || wave > MAX_IO_ENTRIES {
            return bad(format!("--wave {wave}: a wave is 1 to {MAX_IO_ENTRIES} chunks (IO queue entries)"));
        }
        let pieces = chunk / piece;
        if u64::from(wave) * u64::from(pieces) > u64::from(MAX_WAVE_PIECES) {
            return bad(format!(
                "--wave {wave} chunks of {pieces} pieces each: at most {MAX_WAVE_PIECES} pieces fit in one wave \
                 (larger pieces or a smaller wave)"
            ));
        }
        let layout = StreamLayout { chunk, piece, wave, pieces };
        let words = layout.heap_words();
        if words > u64::from(MAX_BUFFER_WORDS) {
            return bad(format!(
                "--wave {wave} x --chunk {chunk}: two landing windows need {words} heap words, more than the \
                 {MAX_BUFFER_WORDS} a buffer may have"
            ));
        }
        Ok(layout)
    }
}

/// Checked options and the positions they give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLayout {
    /// Bytes per chunk.
    pub chunk: u32,
    /// Bytes per piece.
    pub piece: u32,
    /// Chunks per wave.
    pub wave: u32,
    /// Pieces per chunk.
    pub pieces: u32,
}

/// Heap word of wave parity `p`'s finished-piece counter.
pub const fn counter(parity: u32) -> u32 {
    parity
}
/// Heap word of the running CRC.
pub const RUNNING: u32 = 2;
/// Heap word of the piece operator's tables (1,024 words, [`super::crc::operator_tables`]).
pub const OPERATOR_TABLES: u32 = 4;
/// Sets of request slots: a wave's requests settle in the epoch its pieces run, one step
/// after its IO (two when the IO overlaps the next epoch), so three sets never collide.
pub const REQUEST_SETS: u32 = 3;
/// Heap word of the first piece result.
const RESULTS: u32 = OPERATOR_TABLES + 1024;

impl StreamLayout {
    /// Pieces in a full wave.
    pub fn wave_pieces(&self) -> u32 {
        self.wave * self.pieces
    }

    /// Ring slots: [`REQUEST_SETS`] request sets, the pieces, the combine.
    pub fn slots(&self) -> u32 {
        REQUEST_SETS * self.wave + self.wave_pieces() + 1
    }

    /// Ring slot of request `j` of wave `w` (sets rotate by wave: a wave's request slots
    /// may still be parked while the next two waves request).
    pub fn request_slot(&self, w: u64, j: u32) -> usize {
        ((w % u64::from(REQUEST_SETS)) as u32 * self.wave + j) as usize
    }

    /// The request set (`w % REQUEST_SETS` of the wave that uses it) a request slot is in.
    pub fn request_set_of(&self, slot: u32) -> u64 {
        u64::from(slot / self.wave)
    }

    /// Ring slot of piece `k` of a wave.
    pub fn piece_slot(&self, k: u32) -> usize {
        (REQUEST_SETS * self.wave + k) as usize
    }

    /// Ring slot of the combine.
    pub fn combine_slot(&self) -> usize {
        (REQUEST_SETS * self.wave + self.wave_pieces()) as usize
    }

    /// Heap word of piece `k`'s result in a wave of parity `parity`.
    pub fn result(&self, parity: u32, k: u32) -> u32 {
        RESULTS + parity * self.wave_pieces() + k
    }

    /// Words of one chunk in a window.
    fn chunk_words(&self) -> u32 {
        self.chunk / 4
    }

    /// Heap word where chunk `j` of a wave of parity `parity` lands.
    pub fn landing(&self, parity: u32, j: u32) -> u32 {
        let windows = RESULTS + 2 * self.wave_pieces();
        windows + (parity * self.wave + j) * self.chunk_words()
    }

    /// Bytes of chunk `c` of a `bytes`-byte file.
    pub fn chunk_len(&self, c: u64, bytes: u64) -> u32 {
        (bytes - c * u64::from(self.chunk)).min(u64::from(self.chunk)) as u32
    }

    /// The request slot's arguments for chunk `c` of a `bytes`-byte file, the `j`-th of a
    /// wave of parity `parity` (LOAD_MISS's layout: handle 0, offset low and high, bytes,
    /// landing word).
    pub fn request_args(&self, c: u64, j: u32, parity: u32, bytes: u64) -> [u32; 5] {
        let offset = c * u64::from(self.chunk);
        [0, offset as u32, (offset >> 32) as u32, self.chunk_len(c, bytes), self.landing(parity, j)]
    }

    /// The options these positions were laid out from.
    pub fn options(&self) -> StreamOptions {
        StreamOptions { chunk: self.chunk, piece: self.piece, wave: self.wave }
    }

    /// Heap words: counters, the running CRC, results, two windows.
    pub fn heap_words(&self) -> u64 {
        u64::from(self.landing(0, 0)) + 2 * u64::from(self.wave) * u64::from(self.chunk_words())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_do_not_overlap_and_options_are_checked() {
        let l = StreamOptions { chunk: 1024, piece: 256, wave: 8 }.check().unwrap();
        assert_eq!((l.pieces, l.slots()), (4, 3 * 8 + 32 + 1));
        assert_eq!((l.request_slot(1, 7), l.request_slot(5, 0), l.piece_slot(0), l.combine_slot()), (15, 16, 24, 56));
        assert_eq!((l.request_set_of(15), l.request_set_of(16)), (1, 2));
        assert!(l.result(1, 31) < l.landing(0, 0));
        assert_eq!(l.landing(1, 0) - l.landing(0, 0), 8 * 256);
        assert_eq!(l.heap_words(), u64::from(l.landing(1, 7)) + 256);
        // A chunk past 4 GiB: the offset's high word, and a short last chunk.
        let bytes = (1u64 << 32) + 1024 + 5;
        let last = bytes / 1024;
        assert_eq!(l.request_args(last, 3, 1, bytes), [0, 1024, 1, 5, l.landing(1, 3)]);
        assert_eq!(l.request_args(0, 0, 0, bytes), [0, 0, 0, 1024, l.landing(0, 0)]);
        for bad in [
            StreamOptions { chunk: 0, piece: 4, wave: 1 },
            StreamOptions { chunk: 6, piece: 4, wave: 1 },
            StreamOptions { chunk: 1024, piece: 384, wave: 1 },
            StreamOptions { chunk: 1024, piece: 256, wave: 0 },
            StreamOptions { chunk: 65536, piece: 4, wave: 64 },
            StreamOptions { chunk: MAX_CHUNK, piece: MAX_PIECE, wave: 16 },
        ] {
            assert!(matches!(bad.check(), Err(StreamError::Invalid(_))), "{bad:?}");
        }
    }
}
