//! Fuzz target `validate`: glue over `megaloop_conformance::oracles::validate_arbitrary`, which says what
//! it checks; cargo test replays `fuzz/regressions/validate/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, validate_arbitrary};

fuzz_target!(|data: &[u8]| must_hold(validate_arbitrary, data));
