//! `megaloop bench`: throughput of the `trivial` workload. Each repetition runs one
//! epoch on a fresh copy of the published ring and must settle every slot; the figure is
//! slots per second of program time (GPU timestamps, or the simulator's lane time), with
//! wall-clock time (upload, run, readback) beside it.

use crate::commands::common::{make_backend, positive, BackendChoice, ModeChoice};
use anyhow::ensure;
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `megaloop bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Executor.
    #[arg(long, value_enum, default_value_t = BackendChoice::Sim)]
    backend: BackendChoice,
    /// GPU adapter (a name substring; default: `MEGALOOP_ADAPTER`, else the best adapter).
    #[arg(long)]
    adapter: Option<String>,
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
    #[arg(long, default_value_t = 64)]
    workgroup_size: u32,
    /// Most workgroups in persistent modes.
    #[arg(long)]
    workgroups: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Run the benchmark.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let slots = positive("--slots", args.slots)?;
    let repeat = positive("--repeat", args.repeat)?;
    let modes: Vec<Mode> = if args.mode.is_empty() {
        vec![Mode::Once, Mode::Persistent]
    } else {
        args.mode.iter().map(|&m| m.into()).collect()
    };
    let workload = Workload::trivial(slots);
    let mut backend = make_backend(args.backend, 0, args.adapter.as_deref())?;
    let mut results = Vec::new();
    for mode in modes {
        let mut config = RunConfig::new(mode);
        config.workgroup_size = positive("--workgroup-size", args.workgroup_size)?;
        if let Some(w) = args.workgroups {
            config.max_workgroups = positive("--workgroups", w)?;
        }
        config.fit(backend.as_mut(), slots)?;
        let mut opts = workload.build_options(mode);
        opts.workgroup_size = config.workgroup_size;
        let geometry = config.geometry(slots)?;
        let ring = workload.ring(opts, config.fuel_for(&geometry))?;
        let (mut program_times, mut wall_times) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let mut r = ring.clone();
            let epoch = r.run_epoch(backend.as_mut(), geometry, None)?;
            ensure!(
                epoch.settled == slots,
                "{} mode settled {} of {slots} slots: the run is not a valid measurement",
                mode.name(),
                epoch.settled
            );
            program_times.push(epoch.device_time.unwrap_or(epoch.elapsed));
            wall_times.push(epoch.elapsed);
        }
        let (program, wall) = (median(program_times), median(wall_times));
        results.push(json!({
            "mode": mode.name(),
            "slots": slots,
            "workgroups": geometry.workgroups,
            "workgroup_size": geometry.workgroup_size,
            "repeat": repeat,
            "program_s": program.as_secs_f64(),
            "wall_s": wall.as_secs_f64(),
            "slots_per_s": f64::from(slots) / program.as_secs_f64(),
            "wall_slots_per_s": f64::from(slots) / wall.as_secs_f64(),
        }));
    }
    let out = json!({"backend": backend.name(), "workload": "trivial", "results": results});
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("megaloop bench: trivial workload on {}", backend.name());
        for r in &results {
            println!(
                "  {:<10} {:>9} slots  {:>14.0} slots/s (program)  {:>14.0} slots/s (wall)  [{} x {} lanes]",
                r["mode"].as_str().unwrap_or(""),
                r["slots"],
                r["slots_per_s"].as_f64().unwrap_or(0.0),
                r["wall_slots_per_s"].as_f64().unwrap_or(0.0),
                r["workgroups"],
                r["workgroup_size"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
