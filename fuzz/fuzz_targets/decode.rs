//! Fuzz target `decode`: glue over `megaloop_conformance::oracles::decode`, which says what
//! it checks; cargo test replays `fuzz/regressions/decode/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, decode};

fuzz_target!(|data: &[u8]| must_hold(decode, data));
