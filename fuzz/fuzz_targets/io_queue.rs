//! Fuzz target `io_queue`: glue over `megaloop_conformance::oracles::io_queue`, which says what
//! it checks; cargo test replays `fuzz/regressions/io_queue/` through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop_conformance::oracles::{io_queue, must_hold};

fuzz_target!(|data: &[u8]| must_hold(io_queue, data));
