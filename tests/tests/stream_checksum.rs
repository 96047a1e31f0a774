//! The stream-checksum built-in on real files: the megakernel's CRC-32 matches
//! `crc32fast` for files of 0 bytes, 1 byte, one chunk, many chunks (more than one wave)
//! and a size that is not a multiple of the chunk, on the simulator (both schedules) and
//! on the GPU (lavapipe in CI), with io_uring and with positioned IO.

use megaloop::builder::Mode;
use megaloop::host::io::{EngineChoice, IoStats};
use megaloop::host::runner::RunConfig;
use megaloop::host::stream::{stream_checksum, WAVE};
use megaloop::host::workload::generated_bytes;
use megaloop::host::Backend;
use megaloop_gpu::GpuBackend;
use megaloop_sim::{Schedule, SimBackend};
use std::path::PathBuf;

const CHUNK: u32 = 256;

fn file(name: &str, len: u64) -> (PathBuf, u32) {
    let dir = std::env::temp_dir().join(format!("megaloop-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let bytes = generated_bytes(len, len ^ 0x5eed);
    std::fs::write(&path, &bytes).unwrap();
    (path, crc32fast::hash(&bytes))
}

/// (name, length): empty, 1 byte, one chunk, many chunks over two waves, a ragged tail.
fn sizes() -> Vec<(&'static str, u64)> {
    let chunk = u64::from(CHUNK);
    vec![
        ("empty", 0),
        ("one-byte", 1),
        ("one-chunk", chunk),
        ("many-chunks", chunk * u64::from(WAVE) + chunk * 3),
        ("ragged", chunk * 5 + 7),
    ]
}

/// Run every size; returns the IO stats of the many-chunks file.
fn check(backend: &mut dyn Backend, mode: Mode, engine: EngineChoice) -> IoStats {
    let mut config = RunConfig::new(mode);
    config.io_engine = engine;
    let mut many = IoStats::default();
    for (name, len) in sizes() {
        let (path, expected) = file(&format!("{name}-{len}"), len);
        let report = stream_checksum(&path, CHUNK, backend, &config)
            .unwrap_or_else(|e| panic!("{name} ({len} bytes) on {} in {mode:?}: {e}", backend.name()));
        assert_eq!(
            report.crc32,
            expected,
            "{name} ({len} bytes) on {} in {mode:?} with {}: crc32 {:08x}, crc32fast {expected:08x}",
            backend.name(),
            report.io_engine,
            report.crc32
        );
        assert_eq!(report.bytes, len);
        assert_eq!(report.io.len() as u64, report.chunks, "{name}: one completion per chunk");
        assert_eq!(report.io_stats.bytes_read, len, "{name}: every byte read once");
        assert_eq!(report.io_stats.bytes_in_place, len, "{name}: every byte read in place, none bounced");
        if name == "many-chunks" {
            many = report.io_stats;
        }
        println!("{name} on {} in {mode:?}: {} {:?}", backend.name(), report.io_engine, report.io_stats);
    }
    many
}

#[test]
fn simulator_matches_crc32fast() {
    let mut sim = SimBackend::new(Schedule::Parallel);
    for mode in Mode::ALL {
        check(&mut sim, mode, EngineChoice::Auto);
    }
    check(&mut sim, Mode::Persistent, EngineChoice::Positioned);
    // The deterministic schedule polls the service beside the lanes every turn: reads land
    // in the simulator's words while lanes run.
    let stats = check(&mut SimBackend::new(Schedule::Deterministic { seed: 3 }), Mode::Persistent, EngineChoice::Auto);
    assert!(stats.served_while_running > 0, "no request was served while the lanes ran: {stats:?}");
}

#[test]
fn gpu_matches_crc32fast() {
    let mut gpu = match GpuBackend::new(None) {
        Ok(g) => g,
        Err(e) => {
            println!("SKIPPED: no GPU adapter at all ({e})");
            return;
        }
    };
    check(&mut gpu, Mode::Once, EngineChoice::Auto);
    check(&mut gpu, Mode::Persistent, EngineChoice::Positioned);
    // Every byte read went through the mapped staging buffer into the device heap (each
    // read padded to whole words, and the empty file reads nothing).
    let padded: u64 = sizes().iter().map(|(_, len)| len.div_ceil(4) * 4).sum();
    assert_eq!(gpu.io_staged_bytes(), 2 * padded, "staged bytes copied into the device heap");
}
