//! The one place that chooses the synchronisation the simulator is made of: std's and
//! crossbeam's normally, loom's under `--cfg loom` (as tokio and crossbeam do), so loom
//! checks the interpreter's real atomic operations and the schedules' own waiting.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

pub use std::sync::atomic::Ordering;

/// How a thread waits for others to move: crossbeam's backoff (spin a little, then yield
/// the thread) normally; under loom a yield, so the model checker runs the others.
#[derive(Default)]
pub struct Backoff {
    #[cfg(not(loom))]
    inner: crossbeam_utils::Backoff,
}

impl Backoff {
    /// A fresh backoff.
    pub fn new() -> Backoff {
        Backoff::default()
    }

    /// Wait a little, longer each time.
    pub fn snooze(&self) {
        #[cfg(not(loom))]
        self.inner.snooze();
        #[cfg(loom)]
        loom::thread::yield_now();
    }
}
