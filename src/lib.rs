//! megaloop: the reference implementation of a persistent GPU megakernel runtime.
//!
//! This crate holds everything both backends share:
//! - [`ir`]: the megakernel IR (types, the one op table, program tree), its validator,
//!   printer and serde form;
//! - [`protocol`]: the wire layout, host-side codecs and the slot state machine;
//! - [`builder`]: megakernel programs (every mode) built from the protocol as plain IR;
//! - [`geometry`]: launch geometry (workgroup size, grid, padded slot count);
//! - [`host`]: the `Backend` trait, the ring's epoch driver, IO servicing, workloads;
//! - [`litmus`]: memory-model litmus tests across workgroups, written in the IR;
//! - [`json`]: reading JSON documents that hold IR, at any depth the validator allows;
//! - `planted` (feature `planted`): the catalogue of planted faults the checkers are
//!   measured with, and the backend wrapper that plants them;
//!
//! The simulator (`megaloop-sim`) and the wgpu backend (`megaloop-gpu`) take only a
//! [`ir::ValidProgram`], the proof that a program passed the validator.

pub mod builder;
pub mod geometry;
pub mod host;
pub mod ir;
pub mod json;
pub mod litmus;
#[cfg(feature = "planted")]
pub mod planted;
pub mod protocol;
