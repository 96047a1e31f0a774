//! `megaloop litmus`: memory-model litmus tests across workgroups on one engine (the GPU
//! by default): each test's outcome counts, the verdicts against the spec (a forbidden
//! outcome exits 1), the weak outcomes the hardware allows with the rules that guard
//! against them, and the mutation score that says whether the stress could see anything.

use crate::commands::common::{positive, TimeoutArgs};
use crate::commands::progress;
use megaloop::litmus::params::Stress;
use megaloop::litmus::program::Shape;
use megaloop::litmus::{run_test, select, LitmusError, LitmusOptions, LitmusReport, CATALOGUE};
use megaloop_conformance::engine::Engine;
use std::process::ExitCode;

/// Arguments of `megaloop litmus`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// GPU adapter (a name substring; runs `gpu:ADAPTER`).
    #[arg(long, conflicts_with = "engine")]
    adapter: Option<String>,
    /// The engine: `gpu` (the default), `gpu:ADAPTER`, `sim` or `sim-det:SEED`.
    #[arg(long)]
    engine: Option<Engine>,
    /// Dispatches per test (default 100 on a GPU, 10 on the simulator).
    #[arg(long)]
    iterations: Option<u32>,
    /// Run only this test (and its mutant); repeatable. `--list` names them.
    #[arg(long = "test")]
    tests: Vec<String>,
    /// Print the report as JSON on standard output instead of the table.
    #[arg(long)]
    json: bool,
    /// List the tests and exit.
    #[arg(long)]
    list: bool,
    /// Lanes per workgroup, a power of two (default 256 on a GPU, 32 on the simulator).
    #[arg(long)]
    workgroup_size: Option<u32>,
    /// Workgroups that run the test (default 32 on a GPU, 8 on the simulator).
    #[arg(long)]
    testing_workgroups: Option<u32>,
    /// Spare workgroups that stress memory meanwhile (default as many as test; 0 for none).
    #[arg(long)]
    stress_workgroups: Option<u32>,
    /// Most stress iterations of a spare lane (each dispatch draws below it).
    #[arg(long, default_value_t = Stress::DEFAULT.stress_iterations)]
    stress_iterations: u32,
    /// Seed of every dispatch's stress draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    timeout: TimeoutArgs,
}

/// Run the litmus tests.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for t in CATALOGUE {
            println!("{:<24} {:<9} {:<28} {}", t.name, t.kind_name(), t.watched_text, t.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let tests = select(&args.tests).map_err(anyhow::Error::msg)?;
    let engine = match (&args.engine, &args.adapter) {
        (Some(engine), _) => engine.clone(),
        (None, adapter) => Engine::Gpu { adapter: adapter.clone() },
    };
    let on_simulator = match &engine {
        Engine::SimParallel | Engine::SimDet { .. } => true,
        Engine::Gpu { .. } => false,
        Engine::External { .. } | Engine::Planted { .. } => anyhow::bail!(
            "--engine {engine}: litmus tests are IR programs, run by megaloop's own engines (gpu, sim, sim-det); \
             an external runtime runs only its megakernel"
        ),
    };
    let defaults = if on_simulator {
        LitmusOptions {
            shape: Shape { workgroup_size: 32, testing_workgroups: 8, stress_workgroups: 8 },
            iterations: 10,
            ..LitmusOptions::GPU
        }
    } else {
        LitmusOptions::GPU
    };
    let testing_workgroups = args.testing_workgroups.unwrap_or(defaults.shape.testing_workgroups);
    let options = LitmusOptions {
        shape: Shape {
            workgroup_size: args.workgroup_size.unwrap_or(defaults.shape.workgroup_size),
            testing_workgroups,
            stress_workgroups: args.stress_workgroups.unwrap_or(testing_workgroups),
        },
        stress: Stress { stress_iterations: args.stress_iterations, ..Stress::DEFAULT },
        iterations: positive("--iterations", args.iterations.unwrap_or(defaults.iterations))?,
        seed: args.seed,
    };
    for test in &tests {
        options.check(test)?;
    }
    let mut backend = engine.backend().map_err(|e| anyhow::anyhow!("cannot start {engine}: {e}"))?;
    backend.set_timeout(args.timeout.duration()?);
    let bar = progress::bar(u64::from(options.iterations) * tests.len() as u64, "litmus");
    let mut reports = Vec::new();
    for test in &tests {
        bar.set_message(test.name);
        let progress = &mut |_| {
            bar.inc(1);
            progress::reveal(&bar);
        };
        match run_test(backend.as_mut(), test, &options, progress) {
            Ok(report) => reports.push(report),
            // A run that failed or cannot be trusted found a problem; no counts are shown.
            Err(err @ (LitmusError::Untrusted { .. } | LitmusError::Backend { .. })) => {
                bar.finish_and_clear();
                eprintln!("megaloop litmus: {err}");
                return Ok(ExitCode::from(1));
            }
            Err(err) => {
                bar.finish_and_clear();
                return Err(err.into());
            }
        }
    }
    bar.finish_and_clear();
    let report = LitmusReport::new(backend.name(), &options, reports);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.failures().next().is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
