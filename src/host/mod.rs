//! The host side shared by every backend: the [`Backend`] trait and run outcomes, the
//! [`ring::Ring`] epoch driver, the IO path (engines, the IO queue service, staging), and
//! workloads.

pub mod backend;
pub mod engine_protocol;
pub mod host_buffers;
pub mod interrupt;
pub mod io;
pub mod mirror;
pub mod ring;
pub mod runner;
pub mod staging;
pub mod stream;
pub mod trust;
pub mod workload;

pub use backend::{
    check_buffers, check_launch, Backend, BackendError, ExhaustedLane, HostService, LiveMemory, Outcome, RunReport,
    DEFAULT_RUN_TIMEOUT,
};
pub use host_buffers::HostBuffers;
