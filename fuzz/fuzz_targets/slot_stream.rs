//! Fuzz target `slot_stream`: glue over `megaloop_conformance::oracles::slot_stream`, which says what
//! it checks; cargo test replays `fuzz/regressions/slot_stream/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{must_hold, slot_stream};

fuzz_target!(|data: &[u8]| must_hold(slot_stream, data));
