//! Fuzz target `workload`: glue over `megaloop_conformance::oracles::workload_file`, which says what
//! it checks; cargo test replays `fuzz/regressions/workload/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, workload_file};

fuzz_target!(|data: &[u8]| must_hold(workload_file, data));
