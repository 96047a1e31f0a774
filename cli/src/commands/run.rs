//! `megaloop run`: run a workload on a backend until drained and print a summary
//! (a table, or one JSON object with `--json`).

use crate::commands::common::{make_backend, positive, run_config, BackendArgs, IoChoice, ModeChoice, WorkloadArgs};
use crate::commands::progress;
use anyhow::bail;
use megaloop::builder::Mode;
use megaloop::host::io::IoStats;
use megaloop::host::runner::{run_workload_observed, WorkloadRun};
use megaloop::host::stream::{self, StreamError, StreamReport};
use megaloop::host::Outcome;
use megaloop::protocol::layout::{CTRL_DONE_COUNT, CTRL_FAULT_COUNT};
use megaloop::protocol::layout::{MAX_TENANTS, PRIORITY_IDLE, PRIORITY_LEVELS};
use megaloop::protocol::{Status, STATUS_COUNT};
use megaloop_conformance::engine::Engine;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `megaloop run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    target: BackendArgs,
    /// Execution mode.
    #[arg(long, value_enum, default_value_t = ModeChoice::Once)]
    mode: ModeChoice,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Seed of the deterministic schedule.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lanes per workgroup (default 64; persistent modes on a GPU may run fewer, said on
    /// stderr).
    #[arg(long)]
    workgroup_size: Option<u32>,
    /// Most workgroups (default: 4 in persistent modes, the whole grid in once mode).
    #[arg(long)]
    workgroups: Option<u32>,
    /// Persistent fuel per lane per epoch (default: derived from the ring size).
    #[arg(long)]
    fuel: Option<u32>,
    /// Most epochs.
    #[arg(long, default_value_t = 256)]
    max_epochs: u32,
    /// IO engine for the workload's files (`MEGALOOP_IO`).
    #[arg(long, value_enum, env = "MEGALOOP_IO", default_value_t = IoChoice::Auto)]
    io: IoChoice,
    /// `stream-checksum`: the file to checksum.
    #[arg(long, required_if_eq("builtin", "stream-checksum"))]
    input: Option<PathBuf>,
    /// `stream-checksum`: how the input is cut up.
    #[command(flatten)]
    stream: super::common::StreamArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Run the command: exit 0 when the ring drained cleanly, 1 when it did not.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mode: Mode = args.mode.into();
    let workgroup_size = args.workgroup_size.unwrap_or(megaloop::geometry::DEFAULT_WORKGROUP_SIZE);
    let engine = args.target.engine(args.seed)?;
    let mut config = run_config(mode, &engine, workgroup_size, args.workgroups)?;
    config.fuel = args.fuel;
    config.max_epochs = positive("--max-epochs", args.max_epochs)?;
    config.io_engine = args.io.into();
    if args.workload.builtin.as_deref() == Some("stream-checksum") {
        return stream_checksum(&args, &engine, &config);
    }
    if args.input.is_some() {
        bail!("--input is for --builtin stream-checksum");
    }
    let workload = args.workload.load()?;
    let mut backend = make_backend(&engine, &args.target.timeout)?;
    // Progress over the slots runnable when the drain began (the first epoch's target):
    // how many have ended DONE or FAULT.
    let bar = progress::bar(0, "run");
    let mut observe = |ring: &megaloop::host::ring::Ring, epoch: &megaloop::host::ring::EpochReport| {
        if epoch.epoch == 0 {
            bar.set_length(u64::from(epoch.drain_target));
        }
        let control = &ring.buffers()[megaloop::host::io::buffer_index::CONTROL];
        let ended = u64::from(control[CTRL_DONE_COUNT as usize]) + u64::from(control[CTRL_FAULT_COUNT as usize]);
        bar.set_position(ended);
        bar.set_message(format!("epoch {}", epoch.epoch + 1));
        progress::reveal(&bar);
    };
    let run = run_workload_observed(&workload, backend.as_mut(), &config, &mut observe)?;
    bar.finish_and_clear();
    for e in &run.file_errors {
        eprintln!("warning: workload file {e}; its IO requests failed");
    }
    if let Some(requested) = args.workgroup_size.filter(|&w| w != run.geometry.workgroup_size) {
        eprintln!(
            "note: --workgroup-size {requested} ran as {}: on {} only that many lanes of one workgroup progress \
             while waiting on each other, which the {} mode needs",
            run.geometry.workgroup_size,
            backend.name(),
            mode.name()
        );
    }
    let summary = summarize(&run, &backend.name(), mode, &workload.name)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        summary.print();
    }
    match run.trust() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(untrusted) => {
            eprintln!("megaloop run: {untrusted}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `run --builtin stream-checksum`: print `crc32 ` and the checksum in 8 hex digits (or
/// JSON with `crc32`); an IO failure prints every failed request and exits 1.
fn stream_checksum(
    args: &Args,
    engine: &Engine,
    config: &megaloop::host::runner::RunConfig,
) -> anyhow::Result<ExitCode> {
    let Some(input) = &args.input else { bail!("--builtin stream-checksum needs --input FILE") };
    let mut backend = make_backend(engine, &args.target.timeout)?;
    let bar = super::progress::bar(0, "stream-checksum");
    let mut observe = |p: stream::StreamProgress| {
        bar.set_length(p.bytes);
        bar.set_position(p.bytes_done);
        super::progress::reveal(&bar);
    };
    let result = stream::stream_checksum(input, &args.stream.options(), backend.as_mut(), config, &mut observe);
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&stream_summary(&report, &backend.name(), config.mode))?);
            } else {
                println!("crc32 {:08x}", report.crc32);
                let mb_s = report.bytes as f64 / 1e6 / report.elapsed.as_secs_f64().max(1e-9);
                println!(
                    "  {} bytes in {} chunks of {} on {} ({} mode, {} IO): {} epochs, {:.3} s, {:.1} MB/s",
                    report.bytes,
                    report.chunks,
                    report.options.chunk,
                    backend.name(),
                    config.mode.name(),
                    report.io_engine,
                    report.epochs.len(),
                    report.elapsed.as_secs_f64(),
                    mb_s
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(StreamError::Io { messages, .. }) => {
            eprintln!("megaloop: stream-checksum of {}: {} IO request(s) failed:", input.display(), messages.len());
            for m in &messages {
                eprintln!("  {m}");
            }
            Ok(ExitCode::from(1))
        }
        Err(e @ StreamError::Changed { .. }) => {
            eprintln!("megaloop: stream-checksum: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// `run --builtin stream-checksum --json`: the checksum and how it was computed.
#[derive(Debug, Serialize)]
pub struct StreamSummary {
    workload: &'static str,
    backend: String,
    mode: &'static str,
    crc32: String,
    bytes: u64,
    chunk: u32,
    piece: u32,
    wave: u32,
    chunks: u64,
    epochs: usize,
    cutoff_retries: u32,
    io_engine: &'static str,
    /// Whether each wave's reads were served while the next epoch ran (the GPU) rather
    /// than between epochs.
    io_overlapped: bool,
    io: IoStats,
    elapsed_s: f64,
    /// Of `elapsed_s`, the epochs (upload, dispatch, readback); the rest is the host's.
    epochs_s: f64,
    /// Of `epochs_s`, the programs themselves, where the backend says.
    program_s: Option<f64>,
    mb_per_s: f64,
}

/// The stream checksum's report.
pub fn stream_summary(r: &StreamReport, backend: &str, mode: Mode) -> StreamSummary {
    let seconds = r.elapsed.as_secs_f64();
    StreamSummary {
        workload: "stream-checksum",
        backend: backend.to_string(),
        mode: mode.name(),
        crc32: format!("{:08x}", r.crc32),
        bytes: r.bytes,
        chunk: r.options.chunk,
        piece: r.options.piece,
        wave: r.options.wave,
        chunks: r.chunks,
        epochs: r.epochs.len(),
        cutoff_retries: r.cutoff_retries,
        io_engine: r.io_engine,
        io_overlapped: r.io_overlapped,
        io: r.io_stats,
        elapsed_s: seconds,
        epochs_s: r.epochs_time().as_secs_f64(),
        program_s: r.program_time().map(|t| t.as_secs_f64()),
        mb_per_s: if seconds > 0.0 { r.bytes as f64 / 1e6 / seconds } else { 0.0 },
    }
}

/// Slots per status, by the spec's status names (statuses no slot has are left out).
type StatusCounts = std::collections::BTreeMap<&'static str, u32>;

fn by_status(c: &[u32; STATUS_COUNT]) -> StatusCounts {
    Status::ALL.iter().filter(|s| c[s.word() as usize] > 0).map(|s| (s.name(), c[s.word() as usize])).collect()
}

/// What `run` found: the table and `--json` are both made from it.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    backend: String,
    mode: &'static str,
    workload: String,
    geometry: GeometrySummary,
    slots_published: usize,
    slots_done: u32,
    slots_faulted: u32,
    slots_denied: usize,
    status_counts: StatusCounts,
    per_tenant: Vec<TenantSummary>,
    per_priority: Vec<PrioritySummary>,
    epochs: usize,
    io_engine: &'static str,
    io_completions: usize,
    io_errors: usize,
    file_errors: Vec<String>,
    lanes_out_of_fuel: usize,
    lanes_cut_off: u32,
    cutoff_retries: u32,
    runnable_left: u32,
    drained: bool,
    trusted: bool,
    untrusted_because: Vec<String>,
    elapsed_s: f64,
    /// A rate is a result: none from a run that cannot be trusted.
    slots_per_s: Option<f64>,
}

/// The launch geometry of a run and why it was chosen.
#[derive(Debug, Serialize)]
pub struct GeometrySummary {
    workgroups: u32,
    workgroup_size: u32,
    /// The rule, with its inputs.
    chosen_by: megaloop::geometry::GeometryRule,
    /// The rule in words.
    why: String,
}

impl GeometrySummary {
    /// The summary of `geometry` chosen by `rule`.
    pub fn new(geometry: megaloop::geometry::Geometry, rule: megaloop::geometry::GeometryRule) -> GeometrySummary {
        GeometrySummary {
            workgroups: geometry.workgroups,
            workgroup_size: geometry.workgroup_size,
            chosen_by: rule,
            why: rule.to_string(),
        }
    }
}

/// One tenant's slots.
#[derive(Debug, Serialize)]
struct TenantSummary {
    tenant: u32,
    authorised: bool,
    claims: u32,
    status_counts: StatusCounts,
}

/// One priority level's slots.
#[derive(Debug, Serialize)]
struct PrioritySummary {
    priority: usize,
    claims: u32,
    status_counts: StatusCounts,
}

/// The run's report.
pub fn summarize(run: &WorkloadRun, backend: &str, mode: Mode, workload: &str) -> anyhow::Result<RunSummary> {
    let slots = run.ring.slots()?;
    let control = run.ring.control()?;
    let counts = run.ring.status_counts()?;
    let denied = slots.iter().filter(|s| s.status == Status::Published && !control.tenant_authorised(s.tenant)).count();
    let settled: u64 = run.epochs.iter().map(|e| u64::from(e.settled)).sum();
    let elapsed = run.elapsed.as_secs_f64();
    let mut per_tenant = std::collections::BTreeMap::<u32, [u32; STATUS_COUNT]>::new();
    let mut per_priority = [[0u32; STATUS_COUNT]; PRIORITY_LEVELS as usize];
    for s in &slots {
        per_tenant.entry(s.tenant).or_default()[s.status.word() as usize] += 1;
        per_priority[s.priority.min(PRIORITY_IDLE) as usize][s.status.word() as usize] += 1;
    }
    let exhausted: usize = run
        .epochs
        .iter()
        .map(|e| match &e.outcome {
            Outcome::Completed | Outcome::CutOff { .. } => 0,
            Outcome::FuelExhausted { .. } => e.outcome.lanes_left_early() as usize,
        })
        .sum();
    let cutoff: u32 = run
        .epochs
        .iter()
        .map(|e| match &e.outcome {
            Outcome::CutOff { .. } => e.loop_cutoff.max(e.outcome.lanes_left_early() as u32),
            Outcome::Completed | Outcome::FuelExhausted { .. } => e.loop_cutoff,
        })
        .sum();
    let runnable = run.ring.runnable()?;
    let untrusted_because: Vec<String> =
        run.trust().err().map(|u| u.0.iter().map(ToString::to_string).collect()).unwrap_or_default();
    let trusted = untrusted_because.is_empty();
    Ok(RunSummary {
        backend: backend.to_string(),
        mode: mode.name(),
        workload: workload.to_string(),
        geometry: GeometrySummary::new(run.geometry, run.geometry_rule),
        slots_published: slots.len() - counts[Status::Empty.word() as usize] as usize,
        slots_done: counts[Status::Done.word() as usize],
        slots_faulted: counts[Status::Fault.word() as usize],
        slots_denied: denied,
        status_counts: by_status(&counts),
        per_tenant: per_tenant
            .iter()
            .map(|(&tenant, c)| TenantSummary {
                tenant,
                authorised: tenant < MAX_TENANTS && control.tenant_authorised(tenant),
                claims: control.tenant_fairness.get(tenant as usize).copied().unwrap_or(0),
                status_counts: by_status(c),
            })
            .collect(),
        per_priority: per_priority
            .iter()
            .enumerate()
            .map(|(priority, c)| PrioritySummary {
                priority,
                claims: control.priority_claims[priority],
                status_counts: by_status(c),
            })
            .collect(),
        epochs: run.epochs.len(),
        io_engine: run.io_engine,
        io_completions: run.io.len(),
        io_errors: run.io.iter().filter(|c| !c.is_ok()).count(),
        file_errors: run.file_errors.clone(),
        lanes_out_of_fuel: exhausted,
        lanes_cut_off: cutoff,
        cutoff_retries: run.cutoff_retries,
        runnable_left: runnable,
        drained: runnable == 0 && cutoff == 0,
        trusted,
        untrusted_because,
        elapsed_s: elapsed,
        slots_per_s: (trusted && elapsed > 0.0).then(|| settled as f64 / elapsed),
    })
}

impl RunSummary {
    fn print(&self) {
        println!("megaloop run: workload {} on {} in {} mode", self.workload, self.backend, self.mode);
        let rows: [(&str, String); 13] = [
            ("slots_published", self.slots_published.to_string()),
            ("slots_done", self.slots_done.to_string()),
            ("slots_faulted", self.slots_faulted.to_string()),
            ("slots_denied", self.slots_denied.to_string()),
            ("epochs", self.epochs.to_string()),
            ("io_completions", self.io_completions.to_string()),
            ("io_errors", self.io_errors.to_string()),
            ("lanes_out_of_fuel", self.lanes_out_of_fuel.to_string()),
            ("lanes_cut_off", self.lanes_cut_off.to_string()),
            ("cutoff_retries", self.cutoff_retries.to_string()),
            ("runnable_left", self.runnable_left.to_string()),
            ("drained", self.drained.to_string()),
            ("trusted", self.trusted.to_string()),
        ];
        for (key, value) in rows {
            println!("  {key:<18} {value}");
        }
        let g = &self.geometry;
        println!("  {:<18} {} x {} lanes: {}", "geometry", g.workgroups, g.workgroup_size, g.why);
        println!("  {:<18} {:.6}", "elapsed_s", self.elapsed_s);
        match self.slots_per_s {
            Some(rate) => println!("  {:<18} {rate:.0}", "slots_per_s"),
            None => println!("  {:<18} (none: the run cannot be trusted)", "slots_per_s"),
        }
        let counts = |c: &StatusCounts| serde_json::to_string(c).unwrap_or_default();
        println!("  status counts      {}", counts(&self.status_counts));
        println!("  per tenant:");
        for t in &self.per_tenant {
            println!(
                "    tenant {:<4} authorised {:<5} claims {:<8} {}",
                t.tenant,
                t.authorised,
                t.claims,
                counts(&t.status_counts)
            );
        }
        println!("  per priority:");
        for p in &self.per_priority {
            println!("    priority {} claims {:<8} {}", p.priority, p.claims, counts(&p.status_counts));
        }
    }
}
