//! megaloop-sim: the CPU simulator of megaloop programs.
//!
//! It will interpret validated IR programs with real threads as lanes and real atomics,
//! in three schedules (parallel, seeded-deterministic, loom); see ARCHITECTURE.md.
//! Nothing is implemented yet: the crate exists so the workspace has its final shape.
