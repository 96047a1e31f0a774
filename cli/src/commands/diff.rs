//! `megaloop diff`: run a workload on the simulator (parallel and deterministic) and on
//! the GPU, in every mode, and compare every schedule-independent word. Exit 0 when all
//! agree, 1 with the report when not, 2 on bad input.
//!
//! `--workload FILE` takes a workload file or a generated case file (the JSON the
//! generators, fuzz targets and tests write, which names its own mode and launch shape);
//! `--generated SEED` draws the case from a seed.

use crate::commands::common::{ModeChoice, TimeoutArgs, WorkloadArgs};
use crate::commands::progress;
use anyhow::{ensure, Context};
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop_conformance::diff::{diff, diff_case};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::generate::Case;
use std::process::ExitCode;

/// Arguments of `megaloop diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Run the generated case drawn from this seed.
    #[arg(long, conflicts_with_all = ["workload", "builtin"])]
    generated: Option<u64>,
    /// Modes to compare (default: all four, or a case file's own mode).
    #[arg(long, value_enum)]
    mode: Vec<ModeChoice>,
    /// Deterministic-simulator seeds (0..N).
    #[arg(long, default_value_t = 2)]
    seeds: u64,
    /// Engines, replacing the default set (sim, sim-det:0..N, gpu): `sim`,
    /// `sim-det:SEED`, `gpu`, `gpu:ADAPTER`, each optionally `+FAULT` (a planted bug:
    /// trusting-claim, unbounded-tenant, starvation-lockout), or `exec:COMMAND` (an
    /// external runtime speaking the engine protocol; runs it declines are reported as
    /// skipped). The first is the reference.
    #[arg(long)]
    engine: Vec<Engine>,
    /// Most epochs of each drain (reached only by a workload that cannot drain; the
    /// report then says so).
    #[arg(long, default_value_t = 256)]
    max_epochs: u32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    timeout: TimeoutArgs,
}

/// Most deterministic-simulator seeds `--seeds` runs (each is a whole run per mode).
const MAX_SEEDS: u64 = 64;

/// What to run: a workload in some modes with the default launch shape, or a case.
fn load(args: &Args) -> anyhow::Result<(Workload, Option<Case>)> {
    if let Some(seed) = args.generated {
        let case = Case::from_seed(seed);
        return Ok((case.workload.clone(), Some(case)));
    }
    if let Some(path) = &args.workload.workload {
        if let Ok(case) = Case::from_file(path) {
            return Ok((case.workload.clone(), Some(case)));
        }
    }
    Ok((args.workload.load()?, None))
}

/// Everything wrong with the input, found before any engine runs (exit 2, no case file):
/// the workload loads in every mode (slots, tenants, heap, handlers, files), and every
/// engine's backend can be made.
fn check_input(workload: &Workload, modes: &[Mode], instances: &[Instance]) -> anyhow::Result<()> {
    for &mode in modes {
        workload
            .ring(workload.build_options(mode), 1)
            .with_context(|| format!("the workload cannot run in {} mode", mode.name()))?;
    }
    for instance in instances {
        if let Err(e) = &instance.backend {
            anyhow::bail!("engine {}: {e}", instance.engine);
        }
    }
    Ok(())
}

/// Run the comparison.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    ensure!(args.seeds <= MAX_SEEDS, "--seeds {}: at most {MAX_SEEDS} deterministic schedules", args.seeds);
    let max_epochs = crate::commands::common::positive("--max-epochs", args.max_epochs)?;
    let timeout = args.timeout.duration()?;
    let (workload, case) = load(&args)?;
    let modes: Vec<Mode> = match (&case, args.mode.is_empty()) {
        (_, false) => args.mode.iter().map(|&m| m.into()).collect(),
        (Some(case), true) => vec![case.mode],
        (None, true) => Mode::ALL.to_vec(),
    };
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
    let mut instances: Vec<Instance> = engines.into_iter().map(Instance::new).collect();
    check_input(&workload, &modes, &instances)?;
    for instance in &mut instances {
        instance.set_timeout(timeout);
    }
    let config_for = |mode: Mode| {
        let mut c = RunConfig::new(mode);
        c.max_workgroups = 4;
        c.max_epochs = max_epochs;
        c
    };
    let bar = progress::bar(modes.len() as u64, "diff");
    let mut report = diff(&workload, &[], &mut instances, config_for);
    for &mode in &modes {
        if megaloop::host::interrupt::requested() {
            break;
        }
        bar.set_message(mode.name());
        let one = match &case {
            // A case runs with everything it names (launch shape, fuel, initial statuses).
            Some(case) => diff_case(&Case { mode, max_epochs: Some(max_epochs), ..case.clone() }, &mut instances),
            None => diff(&workload, &[mode], &mut instances, config_for),
        };
        report.results.extend(one.results);
        bar.inc(1);
        progress::reveal(&bar);
    }
    bar.finish_and_clear();
    if megaloop::host::interrupt::requested() {
        // What ran is shown; the exit code (130) says the comparison is incomplete.
        eprintln!("{}", report.render(20));
        return Ok(ExitCode::from(130));
    }
    report.seed = case.as_ref().and_then(|c| c.seed);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.render(20));
    }
    if !report.agrees() {
        let case = case.unwrap_or_else(|| Case {
            seed: None,
            mode: modes[0],
            workgroup_size: megaloop::geometry::DEFAULT_WORKGROUP_SIZE,
            workgroups: 4,
            workload: workload.clone(),
            initial_status: vec![],
            fuel: None,
            max_epochs: Some(max_epochs),
        });
        let dir = std::env::temp_dir().join("megaloop-failures");
        match case.save(&dir) {
            Ok(path) => eprintln!("reproduce: {}", reproduce_line(&path, &modes, &instances)),
            Err(e) => eprintln!("could not save the case to {}: {e}", dir.display()),
        }
    }
    Ok(if report.agrees() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The command that replays a saved case with the same modes and engines.
fn reproduce_line(path: &std::path::Path, modes: &[Mode], instances: &[Instance]) -> String {
    let mut line = format!("megaloop diff --workload {}", path.display());
    for mode in modes {
        line.push_str(&format!(" --mode {}", mode.name()));
    }
    for instance in instances {
        line.push_str(&format!(" --engine {}", instance.engine));
    }
    line
}
