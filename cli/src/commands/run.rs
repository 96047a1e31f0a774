//! `megaloop run`: run a workload on a backend until drained and print a summary
//! (a table, or one JSON object with `--json`).

use crate::commands::common::{make_backend, positive, run_config, BackendArgs, IoChoice, ModeChoice, WorkloadArgs};
use crate::commands::progress;
use anyhow::bail;
use megaloop::builder::Mode;
use megaloop::host::runner::{run_workload_observed, WorkloadRun};
use megaloop::host::stream::{self, StreamError, StreamReport};
use megaloop::host::Outcome;
use megaloop::protocol::layout::{CTRL_DONE_COUNT, CTRL_FAULT_COUNT};
use megaloop::protocol::layout::{MAX_TENANTS, PRIORITY_IDLE};
use megaloop::protocol::{Status, STATUS_COUNT};
use megaloop_conformance::engine::Engine;
use serde_json::json;
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
    /// `stream-checksum`: bytes per chunk (a multiple of 4, at most 512 KiB).
    #[arg(long, default_value_t = stream::DEFAULT_CHUNK)]
    chunk: u32,
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
        print_table(&summary);
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
    match stream::stream_checksum(input, args.chunk, backend.as_mut(), config) {
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
                    report.chunk,
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
        Err(e) => Err(e.into()),
    }
}

/// The stream checksum as one JSON object.
pub fn stream_summary(r: &StreamReport, backend: &str, mode: Mode) -> serde_json::Value {
    let seconds = r.elapsed.as_secs_f64();
    json!({
        "workload": "stream-checksum",
        "backend": backend,
        "mode": mode.name(),
        "crc32": format!("{:08x}", r.crc32),
        "bytes": r.bytes,
        "chunk": r.chunk,
        "chunks": r.chunks,
        "epochs": r.epochs.len(),
        "cutoff_retries": r.cutoff_retries,
        "io_engine": r.io_engine,
        "io": r.io_stats,
        "elapsed_s": seconds,
        "mb_per_s": if seconds > 0.0 { r.bytes as f64 / 1e6 / seconds } else { 0.0 },
    })
}

/// The run as one JSON object (the table prints the same).
pub fn summarize(run: &WorkloadRun, backend: &str, mode: Mode, workload: &str) -> anyhow::Result<serde_json::Value> {
    let slots = run.ring.slots()?;
    let control = run.ring.control()?;
    let counts = run.ring.status_counts()?;
    let denied = slots.iter().filter(|s| s.status == Status::Published && !control.tenant_authorised(s.tenant)).count();
    let settled: u64 = run.epochs.iter().map(|e| u64::from(e.settled)).sum();
    let elapsed = run.elapsed.as_secs_f64();
    let mut per_tenant = std::collections::BTreeMap::<u32, [u32; STATUS_COUNT]>::new();
    let mut per_priority = [[0u32; 8]; 5];
    for s in &slots {
        per_tenant.entry(s.tenant).or_default()[s.status.word() as usize] += 1;
        per_priority[s.priority.min(PRIORITY_IDLE) as usize][s.status.word() as usize] += 1;
    }
    let by_status = |c: &[u32; STATUS_COUNT]| -> serde_json::Value {
        Status::ALL
            .iter()
            .filter(|s| c[s.word() as usize] > 0)
            .map(|s| (s.name().to_string(), json!(c[s.word() as usize])))
            .collect()
    };
    let exhausted: usize = run
        .epochs
        .iter()
        .map(|e| match &e.outcome {
            Outcome::Completed | Outcome::CutOff { .. } => 0,
            Outcome::FuelExhausted { lanes } => lanes.len(),
        })
        .sum();
    let cutoff: u32 = run
        .epochs
        .iter()
        .map(|e| match &e.outcome {
            Outcome::CutOff { lanes } => e.loop_cutoff.max(lanes.len() as u32),
            Outcome::Completed | Outcome::FuelExhausted { .. } => e.loop_cutoff,
        })
        .sum();
    let runnable = run.ring.runnable()?;
    let doubts: Vec<String> =
        run.trust().err().map(|u| u.0.iter().map(ToString::to_string).collect()).unwrap_or_default();
    let trusted = doubts.is_empty();
    Ok(json!({
        "backend": backend,
        "mode": mode.name(),
        "workload": workload,
        "geometry": {"workgroups": run.geometry.workgroups, "workgroup_size": run.geometry.workgroup_size},
        "slots_published": slots.len() - counts[Status::Empty.word() as usize] as usize,
        "slots_done": counts[Status::Done.word() as usize],
        "slots_faulted": counts[Status::Fault.word() as usize],
        "slots_denied": denied,
        "status_counts": by_status(&counts),
        "per_tenant": per_tenant.iter().map(|(t, c)| json!({
            "tenant": t,
            "authorised": *t < MAX_TENANTS && control.tenant_authorised(*t),
            "claims": if *t < 32 { control.tenant_fairness[*t as usize] } else { 0 },
            "status_counts": by_status(c),
        })).collect::<Vec<_>>(),
        "per_priority": per_priority.iter().enumerate().map(|(p, c)| json!({
            "priority": p,
            "claims": control.priority_claims[p],
            "status_counts": by_status(c),
        })).collect::<Vec<_>>(),
        "epochs": run.epochs.len(),
        "io_engine": run.io_engine,
        "io_completions": run.io.len(),
        "io_errors": run.io.iter().filter(|c| !c.ok).count(),
        "file_errors": run.file_errors,
        "lanes_out_of_fuel": exhausted,
        "lanes_cut_off": cutoff,
        "cutoff_retries": run.cutoff_retries,
        "runnable_left": runnable,
        "drained": runnable == 0 && cutoff == 0,
        "trusted": trusted,
        "untrusted_because": doubts,
        "elapsed_s": elapsed,
        // A rate is a result: none from a run that cannot be trusted.
        "slots_per_s": if trusted && elapsed > 0.0 { json!(settled as f64 / elapsed) } else { serde_json::Value::Null },
    }))
}

fn print_table(s: &serde_json::Value) {
    let text = |key: &str| s[key].as_str().unwrap_or_default().to_string();
    println!("megaloop run: workload {} on {} in {} mode", text("workload"), text("backend"), text("mode"));
    for key in [
        "slots_published",
        "slots_done",
        "slots_faulted",
        "slots_denied",
        "epochs",
        "io_completions",
        "io_errors",
        "lanes_out_of_fuel",
        "lanes_cut_off",
        "cutoff_retries",
        "runnable_left",
        "drained",
        "trusted",
    ] {
        println!("  {key:<18} {}", s[key]);
    }
    println!("  {:<18} {:.6}", "elapsed_s", s["elapsed_s"].as_f64().unwrap_or(0.0));
    match s["slots_per_s"].as_f64() {
        Some(rate) => println!("  {:<18} {rate:.0}", "slots_per_s"),
        None => println!("  {:<18} (none: the run cannot be trusted)", "slots_per_s"),
    }
    println!("  status counts      {}", s["status_counts"]);
    println!("  per tenant:");
    for t in s["per_tenant"].as_array().into_iter().flatten() {
        println!(
            "    tenant {:<4} authorised {:<5} claims {:<8} {}",
            t["tenant"], t["authorised"], t["claims"], t["status_counts"]
        );
    }
    println!("  per priority:");
    for p in s["per_priority"].as_array().into_iter().flatten() {
        println!("    priority {} claims {:<8} {}", p["priority"], p["claims"], p["status_counts"]);
    }
}
