//! Memory-model litmus tests across workgroups (`megaloop litmus`): what an engine's
//! memory actually does to the accesses the protocol rests on (spec 2.9).
//!
//! [`catalogue`] declares the tests (MP, SB, LB, the coherence tests, 2+2W, IRIW, the
//! protocol's publish and claim patterns, and one mutant of each); [`program`] writes a
//! test as an IR program, so every engine that runs IR runs it; [`params`] draws each
//! dispatch's stress; [`run`] counts outcomes over the iterations and [`report`] gives
//! the verdicts and the mutation score.

pub mod catalogue;
pub mod params;
pub mod program;
pub mod report;
pub mod run;

pub use catalogue::{select, LitmusTest, CATALOGUE};
pub use report::{LitmusReport, TestReport};
pub use run::{run_test, LitmusError, LitmusOptions};
