//! The simulator's schedules: how warps are mapped onto threads and interleaved.
//!
//! - [`parallel`]: rayon or one OS thread per workgroup, real concurrency;
//! - [`deterministic`]: one lane per warp, one runs at a time, a seeded scheduler picks
//!   who runs next at every shared access, and the trace of accesses is recorded;
//! - `loom` (under `--cfg loom`): one loom thread per lane, loom explores interleavings.

pub mod deterministic;
#[cfg(loom)]
pub mod loom;
pub mod parallel;
