//! megaloop: the reference implementation of a persistent GPU megakernel runtime.
//!
//! This crate holds everything both backends share:
//! - [`ir`]: the megakernel IR (types, the one op table, program tree), its validator,
//!   printer and serde form;
//!
//! The simulator (`megaloop-sim`) and the wgpu backend (`megaloop-gpu`) take only a
//! [`ir::ValidProgram`], the proof that a program passed the validator.

pub mod ir;
