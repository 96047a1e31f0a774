//! A process-wide stop request (the CLI sets it on SIGINT): backends stop their lanes at
//! the next loop iteration, the ring stops between epochs, and commands say what was
//! done. Nothing from an interrupted run is reported as a result.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask every run in this process to stop (async-signal-safe: one atomic store).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
