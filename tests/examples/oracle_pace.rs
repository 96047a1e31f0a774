//! How many inputs per second each oracle takes on this machine (the pace libFuzzer can
//! reach at best): `cargo run --release -p megaloop-conformance --example oracle_pace`.

use megaloop_conformance::oracles::TARGETS;
use std::time::Instant;

fn main() {
    for (name, oracle) in TARGETS {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < 2.0 {
            let data: Vec<u8> = (0..64).map(|k| (n.wrapping_mul(31).wrapping_add(k * 17) >> 2) as u8).collect();
            let _ = oracle(&data);
            n += 1;
        }
        println!("{name:<14} {:>10.0} inputs/s", n as f64 / start.elapsed().as_secs_f64());
    }
}
