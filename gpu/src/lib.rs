//! megaloop-gpu: the wgpu backend of megaloop.
//!
//! - [`wgsl`]: lowering of validated IR to WGSL (explicit bounds checks, exact integer
//!   semantics, strong compare-exchange, fuel-bounded loops);
//! - [`check`]: naga validation of generated WGSL;
//! - [`device`]: adapter selection and the capability report;
//! - [`occupancy`]: discovery of co-resident workgroups for persistent launches;
//! - [`heater`]: ALU work that brings a GPU to its working clock before a timed run;
//! - [`backend`]: [`GpuBackend`], the `Backend` implementation;
//! - [`user_kernel`]: the `wgsl:FILE` engine, a hand-written WGSL megakernel dispatched
//!   in place of the lowering.

pub mod backend;
pub mod check;
pub mod device;
pub mod heater;
pub mod occupancy;
pub mod resident;
pub mod staging;
pub mod user_kernel;
pub mod wgsl;

pub use backend::GpuBackend;
