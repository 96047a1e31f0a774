//! Device buffers kept between runs of one program, and what the host knows they hold.
//!
//! A ring drains in epochs, and between two epochs the host changes few words (control
//! counters, re-published statuses, landed IO). After a run whose every buffer was read
//! back in full, the host's copy is exactly what the device holds, so the next run of
//! the same program uploads only the chunks where the host's words differ. A buffer not
//! read back in full (the benchmark's control-only readback) is uploaded whole every run,
//! as before: the host cannot know what the device left in it.

use megaloop::ir::ValidProgram;
use std::ops::Range;

/// Words compared and uploaded as one unit.
const CHUNK_WORDS: usize = 1024;
/// Changed chunks this close together are uploaded as one range (fewer, larger writes).
const MERGE_GAP_CHUNKS: usize = 16;

/// The device buffers of the last successful run.
pub struct Resident {
    program: u64,
    /// One device buffer per program buffer, in binding order.
    pub buffers: Vec<wgpu::Buffer>,
    /// Per buffer: the words the device holds (read back in full after the last run), or
    /// `None` when only the device knows.
    known: Vec<Option<Vec<u32>>>,
}

/// The word ranges where `host` differs from `known` (same length), chunk by chunk, with
/// nearby changed chunks merged.
pub fn changed_ranges(host: &[u32], known: &[u32]) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (k, (h, n)) in host.chunks(CHUNK_WORDS).zip(known.chunks(CHUNK_WORDS)).enumerate() {
        if h == n {
            continue;
        }
        let chunk = k * CHUNK_WORDS..k * CHUNK_WORDS + h.len();
        match ranges.last_mut() {
            Some(last) if chunk.start - last.end <= MERGE_GAP_CHUNKS * CHUNK_WORDS => last.end = chunk.end,
            _ => ranges.push(chunk),
        }
    }
    ranges
}

/// A storage buffer the backend binds (copied to and from), holding `words`.
pub fn device_buffer(device: &wgpu::Device, queue: &wgpu::Queue, label: &str, words: &[u32]) -> wgpu::Buffer {
    let b = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (words.len() as u64 * 4).max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    queue.write_buffer(&b, 0, bytemuck::cast_slice(words));
    b
}

impl Resident {
    /// Fresh device buffers for `program`, holding `host`.
    pub fn create(device: &wgpu::Device, queue: &wgpu::Queue, program: &ValidProgram, host: &[Vec<u32>]) -> Resident {
        let buffers =
            program.buffers.iter().zip(host).map(|(d, words)| device_buffer(device, queue, &d.name, words)).collect();
        Resident { program: program.key(), buffers, known: vec![None; host.len()] }
    }

    /// Whether these buffers are `program`'s, with `host`'s sizes.
    pub fn fits(&self, program: &ValidProgram, host: &[Vec<u32>]) -> bool {
        self.program == program.key()
            && self.buffers.len() == host.len()
            && self.buffers.iter().zip(host).all(|(b, w)| b.size() == (w.len() as u64 * 4).max(4))
    }

    /// Bring the device up to `host`: the changed ranges of known buffers, every other
    /// buffer whole. Returns the bytes written.
    pub fn upload(&self, queue: &wgpu::Queue, host: &[Vec<u32>]) -> u64 {
        let mut bytes = 0;
        for ((buffer, known), words) in self.buffers.iter().zip(&self.known).zip(host) {
            let ranges = match known {
                Some(known) if known.len() == words.len() => changed_ranges(words, known),
                _ => std::iter::once(0..words.len()).collect(),
            };
            for r in ranges {
                queue.write_buffer(buffer, r.start as u64 * 4, bytemuck::cast_slice(&words[r.clone()]));
                bytes += r.len() as u64 * 4;
            }
        }
        bytes
    }

    /// After a successful run whose readback reached `host`: remember the buffers read
    /// back in full as what the device holds.
    pub fn remember(&mut self, program: &ValidProgram, host: &[Vec<u32>]) {
        for ((known, decl), words) in self.known.iter_mut().zip(&program.buffers).zip(host) {
            let full = decl.readback.is_some_and(|r| r.start == 0 && r.end as usize == words.len());
            *known = full.then(|| words.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_ranges_cover_every_difference_and_merge_near_ones() {
        let known = vec![0u32; 100 * CHUNK_WORDS + 7];
        assert!(changed_ranges(&known, &known).is_empty());
        let mut host = known.clone();
        for at in [3, 5 * CHUNK_WORDS + 1, 40 * CHUNK_WORDS, 100 * CHUNK_WORDS + 6] {
            host[at] = 1;
        }
        let ranges = changed_ranges(&host, &known);
        // Chunks 0 and 5 merge (gap 4 chunks); 40 and 100 stay apart; the last is short.
        assert_eq!(
            ranges,
            vec![0..6 * CHUNK_WORDS, 40 * CHUNK_WORDS..41 * CHUNK_WORDS, 100 * CHUNK_WORDS..100 * CHUNK_WORDS + 7]
        );
        for (i, (h, k)) in host.iter().zip(&known).enumerate() {
            if h != k {
                assert!(ranges.iter().any(|r| r.contains(&i)), "word {i} differs but is not uploaded");
            }
        }
    }
}
