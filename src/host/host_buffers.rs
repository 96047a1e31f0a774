//! [`HostBuffers`]: the host's own copy of a run's buffers as [`LiveMemory`], for the
//! host services that run between epochs, when no lane runs (the IO service completing
//! and re-publishing requests).

use crate::host::io::RawRegion;
use crate::host::LiveMemory;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The host's buffers, borrowed exclusively and accessed as atomic words.
pub struct HostBuffers<'a> {
    words: Vec<&'a [AtomicU32]>,
    /// IO into this buffer lands in this region instead (the backend's own memory).
    landing_elsewhere: Option<(usize, RawRegion)>,
}

impl<'a> HostBuffers<'a> {
    /// Borrow `buffers` for the length of a service call.
    pub fn new(buffers: &'a mut [Vec<u32>]) -> HostBuffers<'a> {
        let words = buffers
            .iter_mut()
            .map(|b| {
                let words: &'a mut [u32] = b.as_mut_slice();
                // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`
                // (the standard library documents it; `AtomicU32::from_mut_slice` is this
                // cast), and the slice is borrowed exclusively for 'a, so nothing else
                // reads or writes those words while they are seen as atomics.
                unsafe { &*(words as *mut [u32] as *const [AtomicU32]) }
            })
            .collect();
        HostBuffers { words, landing_elsewhere: None }
    }

    /// The host's buffers, but IO landing in `buffer` goes to `region` (a backend's kept
    /// memory of that buffer, whose device-only words the host does not mirror).
    ///
    /// # Safety
    ///
    /// `region` must mirror `buffer` byte for byte (as [`LiveMemory::landing`] says) and
    /// stay valid for reads and writes of its whole length while the result lives, with
    /// nothing else reading or writing it meanwhile but atomic word accesses.
    pub unsafe fn landing_in(buffers: &'a mut [Vec<u32>], buffer: usize, region: RawRegion) -> HostBuffers<'a> {
        HostBuffers { landing_elsewhere: Some((buffer, region)), ..HostBuffers::new(buffers) }
    }

    fn word(&self, buffer: usize, index: usize) -> Option<&AtomicU32> {
        self.words.get(buffer)?.get(index)
    }
}

// SAFETY: a region covers one whole borrowed buffer, valid for 'a (the buffers cannot be
// resized or freed while borrowed); its bytes mirror the words on a little-endian host
// only, so elsewhere no region is given and the IO service stores words. A region given
// to `landing_in` is valid by that constructor's contract.
unsafe impl LiveMemory for HostBuffers<'_> {
    fn load(&self, buffer: usize, index: usize) -> u32 {
        self.word(buffer, index).map_or(0, |w| w.load(Relaxed))
    }
    fn store(&self, buffer: usize, index: usize, value: u32) {
        if let Some(w) = self.word(buffer, index) {
            w.store(value, Relaxed);
        }
    }
    fn compare_exchange(&self, buffer: usize, index: usize, current: u32, new: u32) -> Result<u32, u32> {
        self.word(buffer, index).map_or(Err(0), |w| w.compare_exchange(current, new, Relaxed, Relaxed))
    }
    fn fetch_add(&self, buffer: usize, index: usize, value: u32) -> u32 {
        self.word(buffer, index).map_or(0, |w| w.fetch_add(value, Relaxed))
    }
    fn landing(&self, buffer: usize) -> Option<RawRegion> {
        if let Some((_, region)) = self.landing_elsewhere.filter(|&(b, _)| b == buffer) {
            return Some(region);
        }
        let words = self.words.get(buffer).filter(|_| cfg!(target_endian = "little"))?;
        Some(RawRegion { ptr: words.as_ptr() as *mut u8, len: std::mem::size_of_val(*words) })
    }
    fn source(&self, buffer: usize) -> Option<RawRegion> {
        self.landing(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_and_written_in_place() {
        let mut buffers = vec![vec![1, 2, 3], vec![7]];
        {
            let memory = HostBuffers::new(&mut buffers);
            assert_eq!(memory.load(0, 1), 2);
            assert_eq!(memory.load(0, 3), 0, "past the end reads 0");
            memory.store(1, 0, 9);
            memory.store(1, 5, 9);
            assert_eq!(memory.compare_exchange(0, 0, 1, 5), Ok(1));
            assert_eq!(memory.compare_exchange(0, 0, 1, 6), Err(5));
            assert_eq!(memory.fetch_add(0, 2, u32::MAX), 3);
            let region = memory.landing(0).unwrap();
            assert_eq!(region.len, 12);
        }
        assert_eq!(buffers, vec![vec![5, 2, 2], vec![9]]);
    }
}
