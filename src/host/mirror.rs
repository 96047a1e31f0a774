//! What the host knows a backend's resident buffers hold, for backends that keep their
//! buffers between runs (the GPU's device buffers, the simulator's atomic words).
//!
//! A ring drains in epochs, and between two epochs the host changes few words (control
//! counters, re-published statuses, IO entries). After a run whose readback covered a
//! buffer's whole mirrored part, the host's copy of that part is exactly what the backend
//! holds, so the next run uploads only the chunks where the host's words differ. A buffer
//! read back in part (the benchmark's control-only readback) is uploaded whole every run:
//! the host cannot know what the run left in it. Device-only words
//! ([`crate::ir::BufferDecl::device_only_from`]: IO landing areas) are uploaded when the
//! buffers are created and never again.
//!
//! Buffers are kept by layout (their declarations), not by program: every program with
//! the same declarations binds the same words.

use crate::ir::{BufferDecl, ValidProgram};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ops::Range;

/// Words compared and uploaded as one unit.
const CHUNK_WORDS: usize = 1024;
/// Changed chunks this close together are uploaded as one range (fewer, larger writes).
const MERGE_GAP_CHUNKS: usize = 16;

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

/// The host's knowledge of one set of resident buffers.
#[derive(Clone, Debug)]
pub struct Mirror {
    layout: u64,
    /// Per buffer: whether it has device-only words.
    device_only: Vec<bool>,
    /// Per buffer: the mirrored words the backend holds (read back in full after the last
    /// run), or `None` when only the backend knows.
    known: Vec<Option<Vec<u32>>>,
}

/// A key for buffer declarations: resident buffers serve every program declaring these.
fn layout_key(decls: &[BufferDecl]) -> u64 {
    let mut h = DefaultHasher::new();
    decls.hash(&mut h);
    h.finish()
}

impl Mirror {
    /// Knowledge of freshly created buffers holding all of `host` (the creator uploads it).
    pub fn created(program: &ValidProgram, host: &[Vec<u32>]) -> Mirror {
        let device_only = program.buffers.iter().map(|d| d.device_only_from.is_some()).collect();
        let mut mirror = Mirror { layout: layout_key(&program.buffers), device_only, known: vec![None; host.len()] };
        mirror.remember(program, host);
        mirror
    }

    /// Whether buffer `buffer` has device-only words (IO into it must land in the
    /// backend's memory).
    pub fn has_device_only(&self, buffer: usize) -> bool {
        self.device_only.get(buffer).copied().unwrap_or(false)
    }

    /// Whether the resident buffers are laid out as `program` declares.
    pub fn fits(&self, program: &ValidProgram, host: &[Vec<u32>]) -> bool {
        self.layout == layout_key(&program.buffers) && self.known.len() == host.len()
    }

    /// What to upload so the backend holds `host`: per buffer, the ranges of its mirrored
    /// part where the host changed words since the last run (all of it where unknown).
    pub fn uploads(&self, program: &ValidProgram, host: &[Vec<u32>]) -> Vec<(usize, Range<usize>)> {
        let mut out = Vec::new();
        for (b, ((decl, known), words)) in program.buffers.iter().zip(&self.known).zip(host).enumerate() {
            let mirrored = &words[..(decl.mirrored_words() as usize).min(words.len())];
            match known {
                Some(known) if known.len() == mirrored.len() => {
                    out.extend(changed_ranges(mirrored, known).into_iter().map(|r| (b, r)))
                }
                _ => out.push((b, 0..mirrored.len())),
            }
        }
        out
    }

    /// After a successful run whose readback reached `host`: remember the buffers whose
    /// mirrored part was read back in full as what the backend holds.
    pub fn remember(&mut self, program: &ValidProgram, host: &[Vec<u32>]) {
        for ((known, decl), words) in self.known.iter_mut().zip(&program.buffers).zip(host) {
            let mirrored = (decl.mirrored_words() as usize).min(words.len());
            let full = decl.readback.is_some_and(|r| r.start == 0 && r.end as usize >= mirrored);
            match known {
                Some(k) if full && k.len() == mirrored => k.copy_from_slice(&words[..mirrored]),
                _ => *known = full.then(|| words[..mirrored].to_vec()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{validate, Access, Program, WordRange};

    /// A program over a fully read-back buffer `a` and a buffer `b` whose words from 16 on
    /// are device-only and whose first 16 are read back.
    fn program(b_readback: Option<WordRange>) -> ValidProgram {
        let decl = |name: &str, binding, readback, device_only_from| BufferDecl {
            name: name.into(),
            binding,
            access: Access::ReadWrite,
            words: 4096,
            readback,
            device_only_from,
        };
        let buffers =
            vec![decl("a", 0, Some(WordRange { start: 0, end: 4096 }), None), decl("b", 1, b_readback, Some(16))];
        validate(&Program { name: "m".into(), workgroup_size: 1, buffers, body: vec![] }).unwrap()
    }

    #[test]
    fn only_changed_mirrored_words_travel_and_device_only_words_never_do() {
        let p = program(Some(WordRange { start: 0, end: 16 }));
        let mut host = vec![vec![0u32; 4096]; 2];
        let mut mirror = Mirror::created(&p, &host);
        assert!(mirror.fits(&p, &host) && mirror.has_device_only(1) && !mirror.has_device_only(0));
        assert!(mirror.uploads(&p, &host).is_empty(), "nothing changed");
        host[0][3000] = 1;
        host[1][5] = 2;
        // The host's copy of device-only words is not the truth: never uploaded.
        host[1][100] = 3;
        assert_eq!(mirror.uploads(&p, &host), vec![(0, 2048..3072), (1, 0..16)]);
        mirror.remember(&p, &host);
        assert!(mirror.uploads(&p, &host).is_empty());
        // A buffer read back in part (not its whole mirrored part): unknown, so its mirrored
        // part is uploaded whole every run.
        let partial = program(Some(WordRange { start: 0, end: 8 }));
        let mut mirror = Mirror::created(&partial, &host);
        mirror.remember(&partial, &host);
        assert_eq!(mirror.uploads(&partial, &host), vec![(1, 0..16)]);
        // Another layout does not fit.
        assert!(!mirror.fits(&p, &host));
    }

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
