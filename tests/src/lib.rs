//! megaloop-conformance: the differential harness, generators, oracles and the
//! conformance corpus runner.
//!
//! Nothing is implemented yet: the crate exists so the workspace has its final shape.
