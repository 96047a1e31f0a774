//! The simulator's memory: one array of atomic u32 words per buffer, so lanes on
//! different threads never cause undefined behaviour. Every access is `Relaxed`, as
//! WGSL's atomics are: the simulator must not be stronger than a GPU.

use crate::sync::{AtomicU32, Ordering::Relaxed};
use crate::watchdog::StopFlag;
#[cfg(not(loom))]
use megaloop::host::io::RawRegion;
use megaloop::host::LiveMemory;

/// Buffers of atomic words, and the run's stop flag.
pub struct Memory {
    buffers: Vec<Box<[AtomicU32]>>,
    /// Set by the watchdog (a timeout, an interrupt): every lane leaves at its next loop
    /// iteration. A std atomic even under loom: it is the host's, not the model's.
    stop: std::sync::Arc<StopFlag>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<usize> = self.buffers.iter().map(|b| b.len()).collect();
        f.debug_struct("Memory").field("words", &words).finish_non_exhaustive()
    }
}

impl Memory {
    /// Memory holding a copy of the host's buffers.
    pub fn from_host(buffers: &[Vec<u32>]) -> Memory {
        Memory {
            buffers: buffers.iter().map(|b| b.iter().map(|&w| AtomicU32::new(w)).collect()).collect(),
            stop: Default::default(),
        }
    }

    /// Store `words` at `start` of buffer `b` (the host bringing kept memory up to date
    /// between runs).
    pub fn write(&self, b: usize, start: usize, words: &[u32]) {
        for (word, &value) in self.buffers[b][start..start + words.len()].iter().zip(words) {
            word.store(value, Relaxed);
        }
    }

    /// A fresh stop flag for the next run of kept memory.
    pub fn rearm(&mut self) {
        self.stop = Default::default();
    }

    /// The run's stop flag: once set, every lane leaves at its next loop iteration, and
    /// the run's words are meaningless (never read back).
    pub fn stop_flag(&self) -> &std::sync::Arc<StopFlag> {
        &self.stop
    }

    /// Whether the run was stopped.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Copy words `range` of buffer `b` back to the host.
    pub fn read_back(&self, b: usize, start: usize, out: &mut [u32]) {
        for (k, w) in out.iter_mut().enumerate() {
            *w = self.buffers[b][start + k].load(Relaxed);
        }
    }

    /// A whole buffer (empty for an unknown index).
    #[inline]
    pub fn buffer(&self, buf: u16) -> &[AtomicU32] {
        self.buffers.get(buf as usize).map_or(&[], |b| b)
    }

    /// The atomic word, if in bounds.
    #[inline]
    pub fn word(&self, buf: u16, index: u32) -> Option<&AtomicU32> {
        self.buffers.get(buf as usize).and_then(|b| b.get(index as usize))
    }
}

// SAFETY: regions cover whole buffers of atomic words owned by this memory, which are
// never resized; lanes touch them only through atomic word accesses.
unsafe impl LiveMemory for Memory {
    fn load(&self, buffer: usize, index: usize) -> u32 {
        self.buffers.get(buffer).and_then(|b| b.get(index)).map_or(0, |w| w.load(Relaxed))
    }
    fn store(&self, buffer: usize, index: usize, value: u32) {
        if let Some(w) = self.buffers.get(buffer).and_then(|b| b.get(index)) {
            w.store(value, Relaxed);
        }
    }
    fn compare_exchange(&self, buffer: usize, index: usize, current: u32, new: u32) -> Result<u32, u32> {
        match self.buffers.get(buffer).and_then(|b| b.get(index)) {
            Some(w) => w.compare_exchange(current, new, Relaxed, Relaxed),
            None => Err(0),
        }
    }
    fn fetch_add(&self, buffer: usize, index: usize, value: u32) -> u32 {
        self.buffers.get(buffer).and_then(|b| b.get(index)).map_or(0, |w| w.fetch_add(value, Relaxed))
    }
    #[cfg(not(loom))]
    fn landing(&self, buffer: usize) -> Option<RawRegion> {
        // Zero-copy IO: reads land straight in the words the lanes use. `AtomicU32` has the
        // layout of `u32` and allows writes through shared references; the protocol keeps
        // lanes off a request's words until its slot is re-published. Bytes mirror
        // little-endian words only on a little-endian host.
        let b = self.buffers.get(buffer).filter(|_| cfg!(target_endian = "little"))?;
        Some(RawRegion { ptr: b.as_ptr() as *mut u8, len: b.len() * 4 })
    }
    #[cfg(not(loom))]
    fn source(&self, buffer: usize) -> Option<RawRegion> {
        self.landing(buffer)
    }
}
