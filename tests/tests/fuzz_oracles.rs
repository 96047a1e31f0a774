//! The fuzz targets' oracles in cargo test: every saved regression input
//! (`fuzz/regressions/<target>/`) replayed through the same function the target calls,
//! and seeded smoke runs of every oracle on pseudo-random inputs.

use megaloop::host::workload::generated_bytes;
use megaloop_conformance::oracles::{replay_dir, slot_stream, stream_case, Oracle, TARGETS};
use std::path::Path;

fn regressions(target: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target)
}

#[test]
fn every_regression_replays_clean() {
    for (target, oracle) in TARGETS {
        match replay_dir(&regressions(target), oracle) {
            Ok(n) => println!("{target}: {n} regression inputs replayed"),
            Err(failures) => panic!("{target}: {} regressions fail again:\n{}", failures.len(), failures.join("\n")),
        }
    }
}

/// A fixed pseudo-random input per (seed, length).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    generated_bytes(len as u64, seed)
}

fn smoke(oracle: Oracle, inputs: u64, max_len: usize) {
    for seed in 0..inputs {
        let data = bytes(seed, (seed as usize * 7) % max_len);
        if let Err(f) = oracle(&data) {
            panic!("seed {seed} ({} bytes): {}", data.len(), f.message);
        }
    }
}

#[test]
fn smoke_decode() {
    smoke(TARGETS[0].1, 3000, 600);
}

#[test]
fn smoke_validate() {
    smoke(TARGETS[1].1, 3000, 2000);
}

#[test]
fn smoke_slot_stream() {
    smoke(TARGETS[2].1, 400, 400);
}

#[test]
fn smoke_sim_schedules() {
    smoke(TARGETS[3].1, 40, 16);
}

#[test]
fn smoke_differential() {
    smoke(TARGETS[4].1, 20, 16);
}

#[test]
fn smoke_workload() {
    smoke(TARGETS[6].1, 3000, 400);
    // Pseudo-random bytes are rarely JSON: every regression input (valid and broken
    // workload files) mutated byte by byte as well.
    for (k, entry) in std::fs::read_dir(regressions("workload")).unwrap().enumerate() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for at in (0..data.len()).step_by(7) {
            let mut mutated = data.clone();
            mutated[at] = bytes(k as u64 * 1000 + at as u64, 1)[0];
            if let Err(f) = TARGETS[6].1(&mutated) {
                panic!("{}", f.message);
            }
        }
    }
}

/// Every fuzz target in `fuzz/fuzz_targets/` has its oracle in `TARGETS` and the other way
/// round, so a new target cannot miss its replayed regressions and smoke runs.
#[test]
fn every_fuzz_target_has_its_oracle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fuzz/fuzz_targets and oracles::TARGETS differ");
    let manifest = std::fs::read_to_string(dir.join("../Cargo.toml")).unwrap();
    for name in &listed {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks the target {name}");
    }
}

#[test]
fn smoke_io_queue() {
    smoke(TARGETS[5].1, 3000, 400);
}

/// Slot streams reach every initial status, denied and out-of-range tenants, and every
/// mode, so the oracle's checks are exercised.
#[test]
fn slot_streams_cover_statuses_tenants_and_modes() {
    let (mut statuses, mut modes, mut odd_tenants) =
        (std::collections::BTreeSet::new(), std::collections::BTreeSet::new(), 0);
    for seed in 0..400 {
        let case = stream_case(&bytes(seed, 300));
        statuses.extend(case.initial_status.iter().map(|s| s.status));
        modes.insert(case.mode.name());
        odd_tenants += case.workload.slots.iter().filter(|s| s.tenant >= 4).count();
        assert!(slot_stream(&bytes(seed, 300)).is_ok());
    }
    assert_eq!(statuses.len(), 8, "{statuses:?}");
    assert_eq!(modes.len(), 4);
    assert!(odd_tenants > 50);
}
