//! One module per `megaloop` subcommand; `common` holds their shared flags.

pub mod bench;
pub mod bench_io;
pub mod check;
pub mod common;
pub mod conformance;
pub mod devices;
pub mod diff;
pub mod litmus;
pub mod mutants;
pub mod plot;
pub mod progress;
pub mod run;
pub mod spec;
pub mod wgsl;
