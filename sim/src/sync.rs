//! The one place that chooses the atomics the simulator's memory is made of: std's
//! normally, loom's under `--cfg loom` (as tokio and crossbeam do), so loom checks the
//! interpreter's real atomic operations.

#[cfg(loom)]
pub use loom::sync::atomic::AtomicU32;
#[cfg(not(loom))]
pub use std::sync::atomic::AtomicU32;

pub use std::sync::atomic::Ordering;
