//! The io_uring engine: the registered files are io_uring fixed files, the memory area
//! the service names ([`IoEngine::use_area`]: the simulator's heap, the GPU staging
//! buffer) is registered as fixed buffer 0, and each fence-free run of a batch goes to the
//! kernel in one `io_uring_enter` (up to [`ENTRIES`] requests at a time). Short transfers
//! are resubmitted for the rest; a READ stops early only at the end of the file.

use crate::host::io::engine::{IoEngine, IoKind, IoRequest, RawRegion};
use crate::host::io::{FileTable, IoFailure};
use io_uring::{opcode, types, IoUring};

/// Submission queue size: the IO queue has 64 entries, so one epoch's requests fit.
pub const ENTRIES: u32 = 64;

/// Largest area io_uring registers as one fixed buffer.
const MAX_FIXED_BUFFER: usize = 1 << 30;

/// io_uring with fixed files and a fixed buffer.
pub struct UringEngine {
    ring: IoUring,
    files: FileTable,
    /// The area registered as fixed buffer 0, if registering it worked.
    fixed: Option<RawRegion>,
}

/// A request of the current round: its index in the batch and the bytes moved so far.
struct InFlight {
    index: usize,
    done: usize,
}

impl UringEngine {
    /// Set up a ring, register `files` as fixed files and check that the kernel runs a
    /// request; on failure the files come back with the reason.
    pub fn new(files: FileTable) -> Result<UringEngine, (FileTable, std::io::Error)> {
        let mut ring = match IoUring::new(ENTRIES) {
            Ok(ring) => ring,
            Err(e) => return Err((files, e)),
        };
        if let Err(e) = probe(&mut ring) {
            return Err((files, e));
        }
        if !files.is_empty() {
            if let Err(e) = ring.submitter().register_files(&files.raw_fds()) {
                return Err((files, e));
            }
        }
        Ok(UringEngine { ring, files, fixed: None })
    }

    /// Whether an area is registered as a fixed buffer (for tests and reports).
    pub fn has_fixed_buffer(&self) -> bool {
        self.fixed.is_some()
    }

    fn entry(&self, r: &IoRequest, memory: RawRegion, offset: u64, tag: u64) -> io_uring::squeue::Entry {
        let fd = types::Fixed(r.handle);
        let fixed = self.fixed.is_some_and(|area| area.contains(&memory));
        let len = memory.len as u32;
        let entry = match (r.kind, fixed) {
            (IoKind::Read, true) => opcode::ReadFixed::new(fd, memory.ptr, len, 0).offset(offset).build(),
            (IoKind::Read, false) => opcode::Read::new(fd, memory.ptr, len).offset(offset).build(),
            (IoKind::Write, true) => opcode::WriteFixed::new(fd, memory.ptr, len, 0).offset(offset).build(),
            (IoKind::Write, false) => opcode::Write::new(fd, memory.ptr, len).offset(offset).build(),
            (IoKind::Fence, _) => opcode::Nop::new().build(),
        };
        entry.user_data(tag)
    }

    /// Run requests that need no order among themselves.
    fn run_unordered(
        &mut self,
        batch: &[IoRequest],
        indices: &[usize],
        results: &mut [Option<Result<u32, IoFailure>>],
    ) {
        let mut waiting: Vec<InFlight> = Vec::new();
        for &index in indices {
            let r = &batch[index];
            let checked = match r.kind {
                IoKind::Read => self.files.check_read(r.handle, r.offset),
                IoKind::Write => self.files.check_write(r.handle),
                IoKind::Fence => Ok(()),
            };
            match checked {
                Err(e) => results[index] = Some(Err(e)),
                // Nothing to move (a FENCE has no memory either).
                Ok(()) if r.memory.len == 0 => results[index] = Some(Ok(0)),
                Ok(()) => waiting.push(InFlight { index, done: 0 }),
            }
        }
        while !waiting.is_empty() {
            let round = waiting.len().min(ENTRIES as usize);
            let mut pushed = 0;
            for (tag, w) in waiting[..round].iter().enumerate() {
                let r = &batch[w.index];
                // The pushed entries must be a prefix of `waiting` (reaped by tag below).
                let Some(rest) = r.memory.sub(w.done, r.memory.len - w.done) else { break };
                let entry = self.entry(r, rest, r.offset + w.done as u64, tag as u64);
                // SAFETY: the memory stays valid until its completion is reaped below
                // (`submit`'s contract); the queue has room for `round <= ENTRIES` entries.
                if unsafe { self.ring.submission().push(&entry) }.is_err() {
                    break;
                }
                pushed += 1;
            }
            if let Err(e) = submit_all(&self.ring, pushed) {
                // The kernel refused the whole submission: fail what was pushed.
                for w in waiting.drain(..pushed) {
                    let r = &batch[w.index];
                    let source = std::io::Error::new(e.kind(), e.to_string());
                    results[w.index] = Some(Err(IoFailure::Os { handle: r.handle, offset: r.offset, source }));
                }
                continue;
            }
            let mut finished = vec![false; pushed];
            let mut reaped = 0;
            while reaped < pushed {
                let cqes: Vec<(u64, i32)> = self.ring.completion().map(|c| (c.user_data(), c.result())).collect();
                if cqes.is_empty() {
                    if let Err(e) = submit_all(&self.ring, pushed - reaped) {
                        for (tag, w) in waiting[..pushed].iter().enumerate() {
                            if !finished[tag] {
                                let r = &batch[w.index];
                                let source = std::io::Error::new(e.kind(), format!("waiting for io_uring: {e}"));
                                results[w.index] =
                                    Some(Err(IoFailure::Os { handle: r.handle, offset: r.offset, source }));
                                finished[tag] = true;
                            }
                        }
                        break;
                    }
                    continue;
                }
                for (tag, res) in cqes {
                    reaped += 1;
                    let tag = tag as usize;
                    let w = &mut waiting[tag];
                    let r = &batch[w.index];
                    let os = |source| Some(Err(IoFailure::Os { handle: r.handle, offset: r.offset, source }));
                    if res < 0 {
                        results[w.index] = os(std::io::Error::from_raw_os_error(-res));
                        finished[tag] = true;
                    } else if res == 0 && r.kind == IoKind::Write {
                        results[w.index] = os(std::io::Error::from(std::io::ErrorKind::WriteZero));
                        finished[tag] = true;
                    } else {
                        w.done += res as usize;
                        if res == 0 || w.done == r.memory.len {
                            results[w.index] = Some(Ok(w.done as u32));
                            finished[tag] = true;
                        }
                    }
                }
            }
            let mut k = 0;
            waiting.retain(|_| {
                let keep = k >= pushed || !finished[k];
                k += 1;
                keep
            });
        }
    }
}

impl IoEngine for UringEngine {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn has_files(&self) -> bool {
        self.files.has_open_files()
    }

    fn use_area(&mut self, area: RawRegion) {
        // Registered every time, even at an address registered before: registration pins
        // the pages behind the address, and memory unmapped and mapped again (a GPU
        // staging buffer, a fresh simulator allocation) can reuse the address with other
        // pages, which a stale registration would write instead.
        if self.fixed.take().is_some() {
            let _ = self.ring.submitter().unregister_buffers();
        }
        if area.len == 0 || area.len > MAX_FIXED_BUFFER {
            return;
        }
        let iovec = libc::iovec { iov_base: area.ptr.cast(), iov_len: area.len };
        // SAFETY: the service names memory that stays valid while it is in use, and
        // re-registers (unregistering this) before using any other.
        match unsafe { self.ring.submitter().register_buffers(&[iovec]) } {
            Ok(()) => self.fixed = Some(area),
            // Registration pins pages and counts against RLIMIT_MEMLOCK; without it the
            // requests use plain READ/WRITE on the same memory.
            Err(e) => tracing::debug!("io_uring: fixed buffer of {} bytes not registered: {e}", area.len),
        }
    }

    unsafe fn submit(&mut self, batch: &[IoRequest]) -> Vec<Result<u32, IoFailure>> {
        let mut results: Vec<Option<Result<u32, IoFailure>>> = (0..batch.len()).map(|_| None).collect();
        let mut run: Vec<usize> = Vec::new();
        for (index, r) in batch.iter().enumerate() {
            if r.kind == IoKind::Fence {
                self.run_unordered(batch, &run, &mut results);
                run.clear();
                results[index] = Some(Ok(0));
            } else {
                run.push(index);
            }
        }
        self.run_unordered(batch, &run, &mut results);
        // Every request gets its result above; a missing one would be a bug here, and is
        // reported as a failed request rather than lost.
        results
            .into_iter()
            .zip(batch)
            .map(|(result, r)| {
                result.unwrap_or_else(|| {
                    let source = std::io::Error::other("the request was not carried out (a megaloop bug)");
                    Err(IoFailure::Os { handle: r.handle, offset: r.offset, source })
                })
            })
            .collect()
    }
}

/// Submit `n` pushed entries and wait for all of their completions.
fn submit_all(ring: &IoUring, n: usize) -> std::io::Result<()> {
    loop {
        match ring.submit_and_wait(n) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Run one NOP: some kernels and sandboxes let the ring be created but not entered.
fn probe(ring: &mut IoUring) -> std::io::Result<()> {
    // SAFETY: a NOP touches no memory.
    unsafe { ring.submission().push(&opcode::Nop::new().build().user_data(u64::MAX)) }
        .map_err(|_| std::io::Error::other("the submission queue is full"))?;
    submit_all(ring, 1)?;
    match ring.completion().next() {
        Some(c) if c.result() >= 0 => Ok(()),
        Some(c) => Err(std::io::Error::from_raw_os_error(-c.result())),
        None => Err(std::io::Error::other("io_uring NOP did not complete")),
    }
}
