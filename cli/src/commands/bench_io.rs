//! `megaloop bench --io-file FILE`: the IO path's read throughput against a plain
//! sequential read of the same file, and the whole `stream-checksum` workload on the chosen
//! backend, in the first `--mode` given (once by default). One untimed pass warms the page
//! cache first, so every figure reads from memory (say so when comparing with a disk); the
//! median of `--repeat` passes is reported.

use crate::commands::common::IoChoice;
use anyhow::{ensure, Context};
use megaloop::host::io::EngineChoice;
use megaloop::host::runner::RunConfig;
use megaloop::host::stream::{io_path_read, stream_checksum, StreamOptions};
use megaloop::host::Backend;
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// The median of measured times (at least one).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64().max(1e-12)
}

/// Read `path` front to back in `chunk`-byte `read` calls, handing each piece to `use_bytes`;
/// returns the bytes read.
fn sequential_read(path: &Path, chunk: usize, mut use_bytes: impl FnMut(&[u8])) -> anyhow::Result<u64> {
    let mut file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        use_bytes(&buf[..n]);
        total += n as u64;
    }
}

/// What `bench --io-file` measured: the table, `--json` and `--plot` are made from it.
#[derive(Debug, Serialize)]
pub struct IoBenchReport {
    /// The file read.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Bytes per IO request.
    pub chunk: u32,
    /// Bytes one lane CRCs.
    pub piece: u32,
    /// Chunks a wave.
    pub wave: u32,
    /// Timed passes.
    pub repeat: u32,
    /// The IO engine the IO path used.
    pub io_engine: &'static str,
    /// Plain `std::fs::File::read` of the file, MB/s.
    pub sequential_read_mb_per_s: f64,
    /// The IO queue service alone, MB/s.
    pub io_path_mb_per_s: f64,
    /// The whole `stream-checksum` workload.
    pub stream_checksum: StreamBench,
}

/// The `stream-checksum` workload's figure.
#[derive(Debug, Serialize)]
pub struct StreamBench {
    /// The backend it ran on.
    pub backend: String,
    /// Its mode.
    pub mode: &'static str,
    /// Epochs of one pass.
    pub epochs: usize,
    /// MB/s of the whole workload.
    pub mb_per_s: f64,
    /// Seconds of the last pass in epochs (upload, dispatch, readback); the rest is the
    /// host's (IO between epochs, publishing).
    pub epochs_s: f64,
    /// Of those, the programs themselves, where the backend says.
    pub program_s: Option<f64>,
}

impl IoBenchReport {
    /// Print the results as a table.
    pub fn print(&self) {
        println!(
            "megaloop bench: IO path on {:?} ({} bytes, {}-byte chunks in waves of {}, {}-byte pieces, page cache warm)",
            self.file, self.bytes, self.chunk, self.wave, self.piece
        );
        println!("  sequential read (std::fs::File::read)   {:>10.1} MB/s", self.sequential_read_mb_per_s);
        println!("  IO path ({}, queue service, in place) {:>10.1} MB/s", self.io_engine, self.io_path_mb_per_s);
        let s = &self.stream_checksum;
        println!("  stream-checksum on {} ({} mode, {} epochs) {:>10.1} MB/s", s.backend, s.mode, s.epochs, s.mb_per_s);
        let program = s.program_s.map_or(String::new(), |p| format!(", {:.3} s of it the programs", p));
        println!("    last pass: {:.3} s in epochs{program}; the rest IO and the host's work", s.epochs_s);
    }

    /// Draw MB/s per stage as a bar chart.
    pub fn plot(&self, path: &Path) -> anyhow::Result<()> {
        let bars = [
            ("sequential read".to_string(), self.sequential_read_mb_per_s),
            (format!("IO path ({})", self.io_engine), self.io_path_mb_per_s),
            (format!("stream-checksum ({})", self.stream_checksum.mode), self.stream_checksum.mb_per_s),
        ];
        let title = format!("megaloop bench: IO path on {} ({} bytes)", self.file, self.bytes);
        crate::commands::plot::bars(path, &title, "MB/s (log scale)", &bars)
    }
}

/// Measure the IO path and the stream-checksum workload on `path`.
pub fn bench_io(
    path: &Path,
    options: &StreamOptions,
    io: IoChoice,
    repeat: u32,
    backend: &mut dyn Backend,
    config: &RunConfig,
) -> anyhow::Result<IoBenchReport> {
    let engine: EngineChoice = io.into();
    // A pipe or device has no end to measure against (`/dev/zero` reads for ever).
    megaloop::host::io::files::check_regular(path)?;
    let bytes = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?.len();
    // Untimed: page cache, pipeline compilation.
    // The file's CRC-32, computed here on the host, checks every measured run.
    let mut hasher = crc32fast::Hasher::new();
    sequential_read(path, 1 << 20, |b| hasher.update(b))?;
    let expected = hasher.finalize();
    io_path_read(path, options, engine)?;
    let (mut plain, mut ring_io, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    let mut engine_name = "";
    let mut epochs = 0;
    let mut times = (0.0, None);
    for rep in 0..=repeat {
        let t = Instant::now();
        let read = sequential_read(path, options.chunk as usize, |_| {})?;
        ensure!(read == bytes, "{} changed size while measuring", path.display());
        plain.push(t.elapsed());
        let (read, t, name) = io_path_read(path, options, engine)?;
        ensure!(read == bytes, "the IO path read {read} of {bytes} bytes");
        ring_io.push(t);
        engine_name = name;
        let report = stream_checksum(path, options, backend, config, &mut |_| {})?;
        ensure!(report.crc32 == expected, "stream-checksum gave {:08x}, expected {expected:08x}", report.crc32);
        if rep > 0 {
            whole.push(report.elapsed);
        }
        epochs = report.epochs.len();
        times = (report.epochs_time().as_secs_f64(), report.program_time().map(|t| t.as_secs_f64()));
    }
    let (plain, ring_io, whole) = (median(plain), median(ring_io), median(whole));
    Ok(IoBenchReport {
        file: path.display().to_string(),
        bytes,
        chunk: options.chunk,
        piece: options.piece,
        wave: options.wave,
        repeat,
        io_engine: engine_name,
        sequential_read_mb_per_s: mb_per_s(bytes, plain),
        io_path_mb_per_s: mb_per_s(bytes, ring_io),
        stream_checksum: StreamBench {
            backend: backend.name(),
            mode: config.mode.name(),
            epochs,
            mb_per_s: mb_per_s(bytes, whole),
            epochs_s: times.0,
            program_s: times.1,
        },
    })
}
