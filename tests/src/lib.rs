//! megaloop-conformance: what every megaloop backend is checked against.
//!
//! - [`snapshot`]: the schedule-independent final state the spec says must agree;
//! - [`behaviour`]: behavioural checks of the protocol, for any `Backend`.
//!
//! The differential engine, generators and the conformance corpus runner arrive with
//! their issue.

pub mod behaviour;
pub mod snapshot;
