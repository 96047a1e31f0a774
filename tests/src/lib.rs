//! megaloop-conformance: what every megaloop backend is checked against.
//!
//! - [`snapshot`]: the schedule-independent final state the spec says must agree;
//! - [`behaviour`]: behavioural checks of the protocol, for any `Backend`;
//! - [`engine`]: the executors compared, by name (`sim`, `sim-det:SEED`, `gpu`);
//! - [`diff`]: the differential comparison and its report;
//! - [`fault`]: a backend wrapper that injects failures, to prove the host survives them.
//!
//! - [`generate`]: seeded, shrinkable generators of workloads and user handlers;
//! - [`vectors`]: the conformance corpus (specs/vectors) and its runner;
//! - [`mutants`]: the checks measured by the planted faults they find;
//! - [`oracles`]: what the fuzz targets check, over bytes.

pub mod behaviour;
pub mod diff;
pub mod engine;
pub mod exec;
pub mod fault;
pub mod generate;
pub mod mutants;
pub mod oracles;
pub mod snapshot;
pub mod vectors;
