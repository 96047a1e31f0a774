//! `megaloop mutants`: plant each fault of the catalogue (`megaloop::planted`) in one of
//! megaloop's own engines, run the conformance corpus and the drain invariants on it, and
//! print the kill matrix, the survivors and the mutation score. Exit 0 when every fault
//! was killed, 1 when one survived, 2 on bad input.

use crate::commands::common::{ReportFiles, TimeoutArgs};
use crate::commands::progress;
use megaloop::planted::{Fault, CATALOGUE};
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::mutants::run_mutants;
use megaloop_conformance::vectors::{corpus_dir, load_corpus};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `megaloop mutants`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The engine to plant faults in: `sim-det:SEED` (the default: its schedules are
    /// seeded, so the kill matrix is reproducible and races are looked for), `sim`, `gpu`
    /// or `gpu:ADAPTER`.
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
    let faults: Vec<&'static Fault> =
        CATALOGUE.iter().filter(|f| args.filter.as_deref().is_none_or(|s| f.name.contains(s))).collect();
    if args.list {
        for f in &faults {
            println!("{:<38} {:<13} {}", f.name, f.layer.name(), f.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Engine::Planted { .. } = args.engine {
        anyhow::bail!("--engine {}: name the engine without a fault; `mutants` plants each one", args.engine);
    }
    if faults.is_empty() {
        anyhow::bail!(
            "no planted fault has `{}` in its name (`megaloop mutants --list`)",
            args.filter.unwrap_or_default()
        );
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
        bar.set_message(result.fault);
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
