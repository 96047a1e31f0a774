//! `megaloop diff`: run a workload on the simulator (parallel and deterministic) and on
//! the GPU, in every mode, and compare every schedule-independent word. Exit 0 when all
//! agree, 1 with the report when not, 2 on bad input.

use crate::commands::common::{ModeChoice, WorkloadArgs};
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop_conformance::diff::diff;
use megaloop_conformance::engine::Engine;
use std::process::ExitCode;

/// Arguments of `megaloop diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Modes to compare (default: all four).
    #[arg(long, value_enum)]
    mode: Vec<ModeChoice>,
    /// Deterministic-simulator seeds (0..N).
    #[arg(long, default_value_t = 2)]
    seeds: u64,
    /// Engines, replacing the default set (sim, sim-det:0..N, gpu): `sim`,
    /// `sim-det:SEED`, `gpu`, `gpu:ADAPTER`. The first is the reference.
    #[arg(long)]
    engine: Vec<Engine>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Run the comparison.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let workload = args.workload.load()?;
    let modes: Vec<Mode> =
        if args.mode.is_empty() { Mode::ALL.to_vec() } else { args.mode.iter().map(|&m| m.into()).collect() };
    let engines = if args.engine.is_empty() {
        let mut e = vec![Engine::SimParallel];
        e.extend((0..args.seeds).map(|seed| Engine::SimDet { seed }));
        if megaloop_gpu::device::adapters().is_empty() {
            eprintln!("note: no GPU adapter found, comparing the simulator's schedules only (install mesa-vulkan-drivers and libvulkan1 for lavapipe)");
        } else {
            e.push(Engine::Gpu { adapter: None });
        }
        e
    } else {
        args.engine.clone()
    };
    let report = diff(&workload, &modes, &engines, |mode| {
        let mut c = RunConfig::new(mode);
        c.max_workgroups = 4;
        c
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "megaloop diff: workload {} ({} slots), reference {}",
            report.workload, report.slots, report.reference
        );
        for r in &report.results {
            let verdict = if r.agrees() { "agrees" } else { "DIFFERS" };
            println!("  {:<10} {:<24} {verdict} ({} epochs)", r.mode, r.engine, r.epochs);
            if let Some(e) = &r.error {
                println!("      error: {e}");
            }
            for m in r.mismatches.iter().take(20) {
                println!("      {}: {} {}, {} {}", m.word, report.reference, m.expected, r.engine, m.got);
            }
            if r.mismatches.len() > 20 {
                println!("      ... and {} more differing words (--json lists all)", r.mismatches.len() - 20);
            }
            for f in &r.invariant_failures {
                println!("      invariant: {f}");
            }
        }
        println!("{}", if report.agrees() { "all engines agree" } else { "engines disagree" });
    }
    Ok(if report.agrees() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
