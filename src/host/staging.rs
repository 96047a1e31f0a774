//! Staged IO landing for backends whose buffers live on a device (the GPU backend):
//! between epochs, IO reads land in the host's copy of the buffer (ordinary cached
//! memory, which stays the whole truth: a failed dispatch runs again from it), and each
//! landed range is also written into a mapped staging area ([`IoStaging`]) that the
//! backend copies into the device buffer before the next dispatch. [`StagedMemory`] is
//! the memory the IO service sees meanwhile. Writing the mapped area is a sequential copy
//! (fast even where the mapping is write-combined); nothing reads it back on the host.
//! Landing areas the host does not mirror (device-only words) take IO straight into the
//! staging area ([`StagedMemory::direct`]), with no host copy.

use crate::host::io::RawRegion;
use crate::host::{HostBuffers, LiveMemory};
use std::sync::Mutex;

/// A mapped staging area that mirrors one buffer byte for byte, and the word ranges
/// written into it since the last dispatch.
#[derive(Debug)]
pub struct IoStaging {
    /// The mapped bytes.
    pub region: RawRegion,
    /// Landed `(first word, words)` ranges, in landing order.
    pub landed: Vec<(usize, usize)>,
}

/// The host's buffers, with each IO landing in `buffer` mirrored into a staging area.
pub struct StagedMemory<'a> {
    host: HostBuffers<'a>,
    staging: Mutex<&'a mut IoStaging>,
    buffer: usize,
    /// IO lands in the staging area alone (the buffer's device-only words: the host does
    /// not mirror them).
    direct: bool,
}

impl<'a> StagedMemory<'a> {
    /// Landings in `buffer` of `host` are mirrored into `staging`.
    pub fn new(host: &'a mut [Vec<u32>], buffer: usize, staging: &'a mut IoStaging) -> StagedMemory<'a> {
        StagedMemory { host: HostBuffers::new(host), staging: Mutex::new(staging), buffer, direct: false }
    }

    /// Landings in `buffer` go straight into `staging` (zero-copy), not through the host's
    /// copy: for a buffer whose landing areas are device-only
    /// ([`crate::ir::BufferDecl::device_only_from`]).
    pub fn direct(host: &'a mut [Vec<u32>], buffer: usize, staging: &'a mut IoStaging) -> StagedMemory<'a> {
        StagedMemory { direct: true, ..StagedMemory::new(host, buffer, staging) }
    }
}

// SAFETY: the staging region is mapped for the life of the `IoStaging` this memory
// borrows, and only the IO engine writes it while the service runs.
unsafe impl LiveMemory for StagedMemory<'_> {
    fn load(&self, buffer: usize, index: usize) -> u32 {
        self.host.load(buffer, index)
    }
    fn store(&self, buffer: usize, index: usize, value: u32) {
        self.host.store(buffer, index, value)
    }
    fn compare_exchange(&self, buffer: usize, index: usize, current: u32, new: u32) -> Result<u32, u32> {
        self.host.compare_exchange(buffer, index, current, new)
    }
    fn fetch_add(&self, buffer: usize, index: usize, value: u32) -> u32 {
        self.host.fetch_add(buffer, index, value)
    }
    fn landing(&self, buffer: usize) -> Option<RawRegion> {
        if self.direct && buffer == self.buffer {
            let staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
            return Some(staging.region);
        }
        self.host.landing(buffer)
    }
    /// The range landed in the host's buffer: write it into the staging area and record it
    /// for the device copy before the next dispatch.
    fn landed(&self, buffer: usize, word: usize, words: usize) {
        if buffer != self.buffer {
            return;
        }
        let mut staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        if self.direct {
            staging.landed.push((word, words));
            return;
        }
        let Some(target) = staging.region.sub(word * 4, words * 4) else { return };
        match self.host.landing(buffer).and_then(|host| host.sub(word * 4, words * 4)) {
            // SAFETY: `source` lies inside the host's borrowed buffer and `target` inside the
            // mapped staging area, which outlives this memory; they do not overlap, and
            // nothing else writes either between epochs.
            Some(source) => unsafe { std::ptr::copy_nonoverlapping(source.ptr, target.ptr, words * 4) },
            None => {
                let bytes: Vec<u8> =
                    (word..word.saturating_add(words)).flat_map(|k| self.host.load(buffer, k).to_le_bytes()).collect();
                // SAFETY: as above.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), target.ptr, bytes.len()) };
            }
        }
        staging.landed.push((word, words));
    }
    fn source(&self, buffer: usize) -> Option<RawRegion> {
        self.host.source(buffer)
    }
}
