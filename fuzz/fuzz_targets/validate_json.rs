//! Fuzz target: arbitrary bytes parsed as a JSON program, then validated and printed.
//! Neither step may panic, and a program that parses must survive a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use megaloop::ir::{print, validate, Program};

fuzz_target!(|data: &[u8]| {
    let Ok(program) = serde_json::from_slice::<Program>(data) else { return };
    let _ = print::program(&program);
    let _ = validate(&program);
    let json = serde_json::to_string(&program).expect("a parsed program serializes");
    let back: Program = serde_json::from_str(&json).expect("serialized program parses");
    assert_eq!(back, program);
});
