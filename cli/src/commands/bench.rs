//! `megaloop bench`: throughput of the `trivial` workload. Each repetition drains a fresh
//! copy of the published ring (one epoch unless a driver caps loop iterations) and must
//! settle every slot; the figure is slots per second of program time (GPU timestamps, or
//! the simulator's lane time), with wall-clock time (upload, run, readback) beside it. On
//! the GPU it also measures the one-dispatch-per-slot baseline.

use crate::commands::bench_io::{self, median};
use crate::commands::common::{make_backend, positive, run_config, BackendArgs, IoChoice, ModeChoice};
use anyhow::ensure;
use megaloop::builder::build_dispatch_per_slot;
use megaloop::builder::Mode;
use megaloop::geometry::{Geometry, GeometryRule};
use megaloop::host::runner::{prepare, with_cutoff_retries, EpochRun, Prepared, RunConfig};
use megaloop::host::workload::Workload;
use megaloop::host::Backend;
use megaloop_conformance::engine::Engine;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `megaloop bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    target: BackendArgs,
    /// Modes to measure (default: once and persistent).
    #[arg(long, value_enum)]
    mode: Vec<ModeChoice>,
    /// Slots of the trivial workload.
    #[arg(long, default_value_t = 1_000_000)]
    slots: u32,
    /// Repetitions per mode (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeat: u32,
    /// Lanes per workgroup.
    #[arg(long, default_value_t = megaloop::geometry::DEFAULT_WORKGROUP_SIZE)]
    workgroup_size: u32,
    /// Most workgroups in persistent modes.
    #[arg(long)]
    workgroups: Option<u32>,
    /// Slots of the one-dispatch-per-slot baseline (GPU only; 0 skips it).
    #[arg(long, default_value_t = 16_384)]
    baseline_slots: u32,
    /// Warm-up time in seconds before timing (GPUs lower their clock when idle).
    #[arg(long, default_value_t = 0.0)]
    warmup_s: f64,
    /// Before each timed drain, keep the device busy with ALU work for this many
    /// milliseconds (a GPU under the light load of short epochs lowers its clock within
    /// seconds: an H200 from 1,980 to 345 MHz); log the clock beside the run.
    #[arg(long, default_value_t = 0)]
    heat_ms: u32,
    /// Measure the IO path on this file instead: plain sequential read, the IO queue
    /// service alone, and the stream-checksum workload (in the first `--mode`, default
    /// once).
    #[arg(long)]
    io_file: Option<std::path::PathBuf>,
    /// How `--io-file`'s stream is cut up.
    #[command(flatten)]
    stream: super::common::StreamArgs,
    /// IO engine with `--io-file` (`MEGALOOP_IO`).
    #[arg(long, value_enum, env = "MEGALOOP_IO", default_value_t = IoChoice::Auto)]
    io: IoChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the figures as a bar chart (SVG): slots/s per mode, or MB/s per IO
    /// stage with `--io-file`.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// What `bench` measured: the table, `--json` and `--plot` are all made from it.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The backend, with its adapter.
    pub backend: String,
    /// The workload measured.
    pub workload: &'static str,
    /// One row per mode (and the baseline).
    pub results: Vec<BenchRow>,
}

/// One mode's figures: medians over the repetitions.
#[derive(Debug, Serialize)]
pub struct BenchRow {
    /// The mode (`dispatch_per_slot` for the baseline).
    pub mode: String,
    /// Slots per drain.
    pub slots: u32,
    /// Workgroups launched.
    pub workgroups: u32,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// The rule that chose the grid, with its inputs.
    pub geometry_rule: GeometryRule,
    /// The rule in words.
    pub geometry_why: String,
    /// Timed repetitions.
    pub repeat: u32,
    /// Epochs of one drain.
    pub epochs: usize,
    /// Times the measurement was taken again with less fuel after a driver cut-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff_retries: Option<u32>,
    /// Program time (GPU timestamps, or the simulator's lane time), seconds.
    pub program_s: f64,
    /// Wall-clock time (upload, run, readback), seconds.
    pub wall_s: f64,
    /// Slots per second of program time.
    pub slots_per_s: f64,
    /// Slots per second of wall-clock time.
    pub wall_slots_per_s: f64,
}

impl BenchRow {
    fn new(
        mode: &str,
        (geometry, geometry_rule): (Geometry, GeometryRule),
        repeat: u32,
        epochs: usize,
        cutoff_retries: Option<u32>,
        program: Duration,
        wall: Duration,
    ) -> BenchRow {
        let per_s = |t: Duration| f64::from(geometry.slots) / t.as_secs_f64();
        BenchRow {
            mode: mode.to_string(),
            slots: geometry.slots,
            workgroups: geometry.workgroups,
            workgroup_size: geometry.workgroup_size,
            geometry_rule,
            geometry_why: geometry_rule.to_string(),
            repeat,
            epochs,
            cutoff_retries,
            program_s: program.as_secs_f64(),
            wall_s: wall.as_secs_f64(),
            slots_per_s: per_s(program),
            wall_slots_per_s: per_s(wall),
        }
    }
}

impl BenchReport {
    fn print(&self) {
        println!("megaloop bench: {} workload on {}", self.workload, self.backend);
        for r in &self.results {
            println!(
                "  {:<18} {:>9} slots  {:>14.0} slots/s (program)  {:>14.0} slots/s (wall)  [{} x {} lanes, {} epochs]",
                r.mode, r.slots, r.slots_per_s, r.wall_slots_per_s, r.workgroups, r.workgroup_size, r.epochs
            );
            println!("  {:<18} grid: {}", "", r.geometry_why);
        }
    }

    fn plot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let bars: Vec<(String, f64)> = self.results.iter().map(|r| (r.mode.clone(), r.slots_per_s)).collect();
        let title = format!("megaloop bench: {} on {}", self.workload, self.backend);
        crate::commands::plot::bars(path, &title, "slots/s (program time, log scale)", &bars)
    }
}

/// Longest warm-up `--warmup-s` takes (an hour).
const MAX_WARMUP_S: f64 = 3600.0;
/// Longest `--heat-ms` before one timed drain.
const MAX_HEAT_MS: u32 = 60_000;
/// Most `--repeat` repetitions.
const MAX_REPEAT: u32 = 10_000;

/// Run the benchmark.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let slots = positive("--slots", args.slots)?;
    let repeat = positive("--repeat", args.repeat)?;
    ensure!(
        args.warmup_s.is_finite() && (0.0..=MAX_WARMUP_S).contains(&args.warmup_s),
        "--warmup-s {}: give a number of seconds from 0 to {MAX_WARMUP_S}",
        args.warmup_s
    );
    ensure!(repeat <= MAX_REPEAT, "--repeat {repeat}: at most {MAX_REPEAT}");
    ensure!(args.heat_ms <= MAX_HEAT_MS, "--heat-ms {}: at most {MAX_HEAT_MS} (a minute)", args.heat_ms);
    let workload = Workload::builtin("trivial", slots)?;
    let modes: Vec<Mode> = if args.mode.is_empty() {
        if args.io_file.is_some() {
            vec![Mode::Once]
        } else {
            vec![Mode::Once, Mode::Persistent]
        }
    } else {
        args.mode.iter().map(|&m| m.into()).collect()
    };
    let mut gpu = None;
    let mut other = None;
    let engine = args.target.engine(0)?;
    let backend: &mut dyn Backend = if let Engine::Gpu { adapter } = &engine {
        let g = gpu.insert(megaloop_gpu::GpuBackend::new(adapter.as_deref())?);
        g.timeout = args.target.timeout.duration()?;
        g
    } else {
        other.insert(make_backend(&engine, &args.target.timeout)?).as_mut()
    };
    if let Some(path) = &args.io_file {
        let config = run_config(modes[0], &engine, args.workgroup_size, args.workgroups)?;
        let r = bench_io::bench_io(path, &args.stream.options(), args.io, repeat, backend, &config)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            r.print();
        }
        if let Some(plot) = &args.plot {
            r.plot(plot)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.warmup_s > 0.0 {
        warm_up(backend, &workload, args.warmup_s)?;
    }
    let mut results = Vec::new();
    for mode in modes {
        let config = run_config(mode, &engine, args.workgroup_size, args.workgroups)?;
        // A measurement a driver cut short is taken again with less fuel per dispatch, as
        // every run is (`with_cutoff_retries`); one still cut off is an error.
        let heat = Duration::from_millis(u64::from(args.heat_ms));
        let m = with_cutoff_retries(&config, |config| measure(&workload, backend, config, repeat, heat))?;
        if let Some(doubt) = megaloop::host::trust::cut_off(&m.epochs) {
            anyhow::bail!("{} mode: not a valid measurement: {doubt}", mode.name());
        }
        let (program, wall) = (median(m.program_times), median(m.wall_times));
        let geometry = Geometry { slots, ..m.geometry };
        results.push(BenchRow::new(
            mode.name(),
            (geometry, m.geometry_rule),
            repeat,
            m.epochs.len(),
            Some(m.cutoff_retries),
            program,
            wall,
        ));
    }
    let name = backend.name();
    if let (Some(g), true) = (gpu.as_mut(), args.baseline_slots > 0) {
        results.push(baseline(g, args.baseline_slots, repeat)?);
    }
    let report = BenchReport { backend: name, workload: "trivial", results };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print();
    }
    if let Some(plot) = &args.plot {
        report.plot(plot)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One mode's measurement: the times of every timed drain, the epochs of the last.
struct Measurement {
    program_times: Vec<Duration>,
    wall_times: Vec<Duration>,
    epochs: Vec<megaloop::host::ring::EpochReport>,
    geometry: Geometry,
    geometry_rule: GeometryRule,
    cutoff_retries: u32,
}

impl EpochRun for Measurement {
    fn epochs(&self) -> &[megaloop::host::ring::EpochReport] {
        &self.epochs
    }
    fn set_cutoff_retries(&mut self, retries: u32) {
        self.cutoff_retries = retries;
    }
}

/// Drain a fresh copy of the published ring `repeat + 1` times (the first untimed: it
/// compiles the pipeline, as drivers compile lazily); each drain must settle every slot
/// and be trusted. A drain cut off by a driver ends the measurement early, for the
/// caller to take again.
fn measure(
    workload: &Workload,
    backend: &mut dyn Backend,
    config: &RunConfig,
    repeat: u32,
    heat: Duration,
) -> anyhow::Result<Measurement> {
    let slots = workload.slots.len() as u32;
    let Prepared { ring, geometry, geometry_rule, .. } = prepare(workload, config, backend)?;
    let mut m = Measurement {
        program_times: vec![],
        wall_times: vec![],
        epochs: vec![],
        geometry,
        geometry_rule,
        cutoff_retries: 0,
    };
    for rep in 0..=repeat {
        // One drain: a single epoch where the device allows it; where a driver caps loop
        // iterations (lavapipe), as many epochs as it takes, all timed.
        let mut r = ring.clone();
        if rep > 0 && !heat.is_zero() {
            backend.heat(heat)?;
        }
        m.epochs = r.drain(backend, geometry, None, config.max_epochs)?;
        if megaloop::host::trust::cut_off(&m.epochs).is_some() {
            return Ok(m);
        }
        megaloop::host::trust::trust_drain(&r, &m.epochs)
            .map_err(|u| anyhow::anyhow!("{} mode: not a valid measurement: {u}", config.mode.name()))?;
        let settled: u32 = m.epochs.iter().map(|e| e.settled).sum();
        ensure!(
            settled == slots,
            "{} mode settled {settled} of {slots} slots: not a valid measurement",
            config.mode.name()
        );
        if rep > 0 {
            m.program_times.push(m.epochs.iter().map(|e| e.device_time.unwrap_or(e.elapsed)).sum());
            m.wall_times.push(m.epochs.iter().map(|e| e.elapsed).sum());
        }
    }
    Ok(m)
}

/// Run once-mode epochs until `seconds` have passed, so the device reaches its clock.
fn warm_up(backend: &mut dyn Backend, workload: &Workload, seconds: f64) -> anyhow::Result<()> {
    let Prepared { ring, geometry, .. } = prepare(workload, &RunConfig::new(Mode::Once), backend)?;
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        ring.clone().run_epoch(backend, geometry, None)?;
    }
    Ok(())
}

/// The baseline: one dispatch of one lane per slot, all in one submission.
fn baseline(gpu: &mut megaloop_gpu::GpuBackend, slots: u32, repeat: u32) -> anyhow::Result<BenchRow> {
    let workload = Workload::trivial(slots);
    let opts = workload.build_options(Mode::Once);
    let program = build_dispatch_per_slot(&opts)?;
    let ring = workload.ring(opts, 0)?;
    let geometry = Geometry { workgroup_size: 1, workgroups: 1, slots };
    let (mut program_times, mut wall_times) = (Vec::new(), Vec::new());
    for rep in 0..=repeat {
        let mut buffers = ring.buffers().to_vec();
        let report = gpu.run_dispatches(&program, geometry, &mut buffers, slots)?;
        let done =
            buffers[megaloop::host::io::buffer_index::CONTROL][megaloop::protocol::layout::CTRL_DONE_COUNT as usize];
        ensure!(done == slots, "the baseline completed {done} of {slots} slots: not a valid measurement");
        if rep == 0 {
            continue;
        }
        program_times.push(report.device_time.unwrap_or(report.elapsed));
        wall_times.push(report.elapsed);
    }
    let (program, wall) = (median(program_times), median(wall_times));
    Ok(BenchRow::new(
        "dispatch_per_slot",
        (geometry, GeometryRule::Given { workgroups: 1 }),
        repeat,
        1,
        None,
        program,
        wall,
    ))
}
