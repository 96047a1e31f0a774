//! Fuzz target `sim_schedules`: glue over `megaloop_conformance::oracles::sim_schedules`, which says what
//! it checks; cargo test replays `fuzz/regressions/sim_schedules/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, sim_schedules};

fuzz_target!(|data: &[u8]| must_hold(sim_schedules, data));
