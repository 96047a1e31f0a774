//! `megaloop mutants`: plant each fault of the catalogue (`megaloop::planted`) in one of
//! megaloop's own engines (or turn on each fault switch an external engine, `exec:` or
//! `wgsl:`, declares), run the conformance corpus and the drain invariants on it, and print the
//! kill matrix, the survivors and the mutation score. Exit 0 when every fault was killed,
//! 1 when one survived, 2 on bad input.

use crate::commands::common::{ReportFiles, TimeoutArgs};
use crate::commands::progress;
use megaloop::planted::CATALOGUE;
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::mutants::{run_mutants, Mutant};
use megaloop_conformance::vectors::{corpus_dir, load_corpus};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `megaloop mutants`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The engine to plant faults in: `sim-det:SEED` (the default: its schedules are
    /// seeded, so the kill matrix is reproducible and races are looked for), `sim`, `gpu`
    /// or `gpu:ADAPTER`; or an external engine (`exec:COMMAND`, `wgsl:FILE`), whose own
    /// declared fault switches are run.
    #[arg(long, default_value = "sim-det:0")]
    engine: Engine,
    /// Only faults whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// The corpus directory.
    #[arg(long)]
    vectors: Option<PathBuf>,
    /// List the catalogue (name, layer, what the fault is) and exit.
    #[arg(long)]
    list: bool,
    // `--json`: every kill of every fault; `--junit`: one test case per fault, passing
    // when it was killed.
    #[command(flatten)]
    reports: ReportFiles,
    #[command(flatten)]
    timeout: TimeoutArgs,
}

/// Run the catalogue.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let keep = |name: &str| args.filter.as_deref().is_none_or(|s| name.contains(s));
    let faults: Vec<Mutant> = match &args.engine {
        Engine::Planted { .. } => {
            anyhow::bail!("--engine {}: name the engine without a fault; `mutants` plants each one", args.engine)
        }
        Engine::External { fault: Some(_), .. } => unreachable!("the CLI parses no fault switch into an engine"),
        // An external engine's faults are the switches it declares in its capabilities.
        Engine::External { runtime, fault: None } => {
            let declared = runtime.declared_faults().map_err(anyhow::Error::msg)?;
            if declared.is_empty() {
                anyhow::bail!(
                    "--engine {}: the engine declares no fault switches (its capabilities' `faults`), so there is \
                     nothing to measure; planted faults apply to megaloop's own engines",
                    args.engine
                );
            }
            declared.iter().filter(|f| keep(f)).map(|f| Mutant::EngineSwitch(f.clone())).collect()
        }
        _ => CATALOGUE.iter().filter(|f| keep(f.name)).map(Mutant::Planted).collect(),
    };
    if args.list {
        for f in &faults {
            match f {
                Mutant::Planted(f) => println!("{:<38} {:<13} {}", f.name, f.layer.name(), f.about),
                Mutant::EngineSwitch(name) => println!("{name:<38} {:<13} declared by {}", "engine", args.engine),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if faults.is_empty() {
        anyhow::bail!("no fault has `{}` in its name (`megaloop mutants --list`)", args.filter.unwrap_or_default());
    }
    let timeout = args.timeout.duration()?;
    let dir = args.vectors.clone().unwrap_or_else(corpus_dir);
    let corpus = load_corpus(&dir).map_err(anyhow::Error::msg)?;
    if corpus.is_empty() {
        anyhow::bail!("no vector in {}", dir.display());
    }
    args.reports.create()?;
    let mut instance = Instance::new(args.engine.clone());
    match &mut instance.backend {
        Ok(_) => instance.set_timeout(timeout),
        Err(e) => anyhow::bail!("cannot start {}: {e}", instance.engine),
    }
    let bar = progress::bar(faults.len() as u64, "mutants");
    let report = run_mutants(&mut instance, &corpus, &faults, &mut |result| {
        bar.set_message(result.fault.clone());
        bar.inc(1);
        progress::reveal(&bar);
    });
    bar.finish_and_clear();
    if report.faults.len() < faults.len() {
        anyhow::bail!("interrupted after {} of {} faults", report.faults.len(), faults.len());
    }
    println!("{}", report.render());
    args.reports.write(&report, || report.junit())?;
    Ok(if report.all_killed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
