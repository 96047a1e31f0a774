//! Staged IO landing for backends whose buffers live on a device (the GPU backend):
//! between epochs, IO reads land in a mapped staging area ([`IoStaging`]) instead of the
//! host's copy, and the backend copies each landed range into the device buffer before the
//! next dispatch. [`StagedMemory`] is the memory the IO service sees meanwhile: the host's
//! buffers, with reads into the staged buffer redirected to the staging area; each landed
//! range is also copied into the host's buffer, which stays the whole truth (a failed
//! dispatch runs again from it).

use crate::host::io::RawRegion;
use crate::host::LiveMemory;
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

/// The host's buffers with IO reads into `buffer` landing in a staging area.
pub struct StagedMemory<'a> {
    host: Mutex<&'a mut [Vec<u32>]>,
    staging: Mutex<&'a mut IoStaging>,
    buffer: usize,
}

impl<'a> StagedMemory<'a> {
    /// Reads into `buffer` of `host` land in `staging`.
    pub fn new(host: &'a mut [Vec<u32>], buffer: usize, staging: &'a mut IoStaging) -> StagedMemory<'a> {
        StagedMemory { host: Mutex::new(host), staging: Mutex::new(staging), buffer }
    }

    /// The staged value of word `index`, if a landed range holds it (the latest landing).
    fn staged_word(&self, index: usize) -> Option<u32> {
        let staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        let landed = staging.landed.iter().rev().any(|&(at, n)| index >= at && index - at < n);
        let bytes = staging.region.sub(index * 4, 4).filter(|_| landed)?;
        // SAFETY: inside the mapped staging area, which outlives this memory; mapped memory
        // may be uncached, so read it once, unaligned-safe.
        Some(u32::from_le_bytes(unsafe { std::ptr::read_unaligned(bytes.ptr as *const [u8; 4]) }))
    }
}

impl LiveMemory for StagedMemory<'_> {
    fn load(&self, buffer: usize, index: usize) -> u32 {
        if buffer == self.buffer {
            if let Some(w) = self.staged_word(index) {
                return w;
            }
        }
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
        if buffer == self.buffer {
            return Some(self.staging.lock().unwrap_or_else(|e| e.into_inner()).region);
        }
        self.host.landing(buffer)
    }
    /// The range is recorded for the device copy before the next dispatch, and copied into
    /// the host's buffer too: the host's copy stays the whole truth, so an epoch that fails
    /// on the device can run again from it on a new device (whose staging area is empty).
    fn landed(&self, buffer: usize, word: usize, words: usize) {
        if buffer != self.buffer {
            return;
        }
        let mut staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        staging.landed.push((word, words));
        let mut host = self.host.lock().unwrap_or_else(|e| e.into_inner());
        let (Some(bytes), Some(target)) =
            (staging.region.sub(word * 4, words * 4), host.get_mut(buffer).and_then(|b| b.get_mut(word..word + words)))
        else {
            return;
        };
        // SAFETY: inside the mapped staging area, which outlives this memory, and no IO is
        // in flight into this range (the service reports a range only once it landed).
        let landed = unsafe { std::slice::from_raw_parts(bytes.ptr as *const u8, bytes.len) };
        for (w, b) in target.iter_mut().zip(landed.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    fn source(&self, buffer: usize) -> Option<RawRegion> {
        // The staged buffer's bytes are split between the host copy and the staging area:
        // IO writes load its words instead.
        (buffer != self.buffer).then(|| self.host.source(buffer)).flatten()
    }
}
