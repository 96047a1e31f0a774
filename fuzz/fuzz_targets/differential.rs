//! Fuzz target `differential`: glue over `megaloop_conformance::oracles::differential`, which says what
//! it checks; cargo test replays `fuzz/regressions/differential/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, differential};

fuzz_target!(|data: &[u8]| must_hold(differential, data));
