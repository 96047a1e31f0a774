//! Planted faults of the host side: the ring driver between epochs, the IO service and a
//! backend's upload and readback. Each is what such a bug leaves in the buffers, applied
//! around each run by the [`super::Planted`] wrapper: `before` a run to the buffers the
//! host prepared (with the buffers the previous run of the same ring left), `after` it to
//! the buffers read back (with those the run started from).

use crate::host::io::buffer_index::{CONTROL, HEAP, RING};
use crate::ir::Program;
use crate::protocol::layout::*;
use crate::protocol::Status;

/// What a host fault sees around one run.
pub struct RunContext<'a> {
    /// The program run.
    pub program: &'a Program,
    /// The buffers as the run started (for `after` hooks).
    pub start: &'a [Vec<u32>],
    /// The buffers the previous run of this ring left, if there was one.
    pub previous_end: Option<&'a [Vec<u32>]>,
}

/// A change to the buffers around a run; returns how many words it changed.
pub type Hook = fn(&mut [Vec<u32>], &RunContext) -> usize;

fn set(word: &mut u32, value: u32) -> usize {
    let changed = usize::from(*word != value);
    *word = value;
    changed
}

/// Control word `w` keeps the value the previous run left (the host forgot to reset it).
fn stale_control(buffers: &mut [Vec<u32>], cx: &RunContext, words: std::ops::Range<u32>) -> usize {
    let Some(previous) = cx.previous_end else { return 0 };
    words.map(|w| set(&mut buffers[CONTROL][w as usize], previous[CONTROL][w as usize])).sum()
}

/// The host does not reset SETTLED between epochs.
pub fn settled_not_reset(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    stale_control(b, cx, CTRL_SETTLED..CTRL_SETTLED + 1)
}

/// The host does not reset FUEL_EXHAUSTED between epochs.
pub fn fuel_exhausted_not_reset(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    stale_control(b, cx, CTRL_FUEL_EXHAUSTED..CTRL_FUEL_EXHAUSTED + 1)
}

/// The host does not reset IO_CURSOR between epochs.
pub fn io_cursor_not_reset(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    stale_control(b, cx, CTRL_IO_CURSOR..CTRL_IO_CURSOR + 1)
}

/// The host does not set the priority claim cursors before an epoch.
pub fn priority_cursors_not_reset(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    stale_control(b, cx, CTRL_PRIORITY_CURSORS..CTRL_PRIORITY_CURSORS + PRIORITY_LEVELS)
}

/// The host does not clear DRAIN_TARGET's CLOSED bit after a run.
pub fn closed_not_cleared(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let Some(previous) = cx.previous_end else { return 0 };
    let closed = previous[CONTROL][CTRL_DRAIN_TARGET as usize] & DRAIN_TARGET_CLOSED;
    let word = &mut b[CONTROL][CTRL_DRAIN_TARGET as usize];
    set(word, *word | closed)
}

/// The host sets the drain target one below the runnable slots.
pub fn drain_target_one_short(b: &mut [Vec<u32>], _: &RunContext) -> usize {
    let word = &mut b[CONTROL][CTRL_DRAIN_TARGET as usize];
    set(word, word.saturating_sub(1))
}

/// Slot `i`'s status word.
fn status_word(i: usize) -> usize {
    i * SLOT_WORDS as usize + SLOT_STATUS as usize
}

fn slots(b: &[Vec<u32>]) -> usize {
    b[RING].len() / SLOT_WORDS as usize
}

/// The host does not re-publish YIELD slots between epochs.
pub fn yield_not_republished(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let Some(previous) = cx.previous_end else { return 0 };
    (0..slots(b))
        .filter(|&i| previous[RING][status_word(i)] == Status::Yield.word())
        .map(|i| set(&mut b[RING][status_word(i)], Status::Yield.word()))
        .sum()
}

/// Slot `i`'s argument word `k`.
fn arg_word(i: usize, k: u32) -> usize {
    i * SLOT_WORDS as usize + (SLOT_ARG0 + k) as usize
}

/// The IO service writes OK into the slot of a request that failed.
pub fn io_error_reported_ok(b: &mut [Vec<u32>], _: &RunContext) -> usize {
    let failed: Vec<usize> = (0..slots(b))
        .filter(|&i| b[RING][arg_word(i, 5)] == IO_STATUS_ERROR && b[RING][status_word(i)] == Status::Published.word())
        .collect();
    failed.into_iter().map(|i| set(&mut b[RING][arg_word(i, 5)], IO_STATUS_OK)).sum()
}

/// The IO service drops a read's last, partial word (it copies whole words only).
pub fn io_partial_word_dropped(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let Some(previous) = cx.previous_end else { return 0 };
    let mut n = 0;
    for i in 0..slots(b) {
        let served = previous[RING][status_word(i)] == Status::WaitIo.word() && b[RING][arg_word(i, 5)] == IO_STATUS_OK;
        let (bytes, at) = (b[RING][arg_word(i, 3)], b[RING][arg_word(i, 4)]);
        if served && bytes % 4 != 0 {
            if let Some(word) = b[HEAP].get_mut(at as usize + bytes as usize / 4) {
                n += set(word, 0);
            }
        }
    }
    n
}

/// The backend uploads the ring only once: the host's writes between epochs (re-published
/// slots, IO results) never reach the device.
pub fn ring_upload_stale(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let Some(previous) = cx.previous_end else { return 0 };
    let changed = b[RING].iter().zip(&previous[RING]).filter(|(x, y)| x != y).count();
    b[RING].clone_from(&previous[RING]);
    changed
}

/// The backend does not read the heap back.
pub fn heap_not_read_back(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let changed = b[HEAP].iter().zip(&cx.start[HEAP]).filter(|(x, y)| x != y).count();
    b[HEAP].clone_from(&cx.start[HEAP]);
    changed
}

/// The backend reads back one word short of each buffer's readback range.
pub fn readback_last_word_dropped(b: &mut [Vec<u32>], cx: &RunContext) -> usize {
    let mut n = 0;
    for (k, decl) in cx.program.buffers.iter().enumerate() {
        if let Some(range) = decl.readback.filter(|r| r.end > r.start) {
            let last = range.end as usize - 1;
            n += set(&mut b[k][last], cx.start[k][last]);
        }
    }
    n
}
