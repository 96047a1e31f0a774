//! `megaloop conformance`: run the conformance corpus (specs/vectors) on one or more
//! backends, for CI jobs on GPU hardware. Writes JSON and JUnit reports on request.
//! Exit 0 when every run passed or failed as its vector expects, 1 otherwise, 2 on bad
//! input.

use crate::commands::progress;
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::vectors::{corpus_dir, filtered, junit, load_corpus, run_named, VectorResult, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which engines run the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// The parallel simulator.
    Sim,
    /// The deterministic simulator (`--seed`).
    SimDet,
    /// The GPU backend (`--adapter`).
    Gpu,
    /// All three.
    All,
}

/// Arguments of `megaloop conformance`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Engines to run.
    #[arg(long, value_enum, default_value_t = Which::All)]
    backend: Which,
    /// Only vectors whose name contains this (e.g. `opcode/`, `transition/illegal`).
    #[arg(long, env = "MEGALOOP_VECTOR_FILTER")]
    filter: Option<String>,
    /// The corpus directory.
    #[arg(long)]
    vectors: Option<PathBuf>,
    /// Deterministic-simulator seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// GPU adapter name substring.
    #[arg(long)]
    adapter: Option<String>,
    /// Write every result as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
}

/// Run the corpus.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.vectors.clone().unwrap_or_else(corpus_dir);
    let vectors = filtered(load_corpus(&dir).map_err(anyhow::Error::msg)?, args.filter.as_deref());
    if vectors.is_empty() {
        anyhow::bail!("no vector in {} matches the filter {:?}", dir.display(), args.filter);
    }
    let gpu = Engine::Gpu { adapter: args.adapter.clone() };
    let engines = match args.backend {
        Which::Sim => vec![Engine::SimParallel],
        Which::SimDet => vec![Engine::SimDet { seed: args.seed }],
        Which::Gpu => vec![gpu],
        Which::All => vec![Engine::SimParallel, Engine::SimDet { seed: args.seed }, gpu],
    };
    let mut results: Vec<VectorResult> = Vec::new();
    for engine in engines {
        let mut instance = Instance::new(engine);
        if let Err(e) = &instance.backend {
            if args.backend == Which::All && instance.engine.is_gpu() {
                eprintln!("note: skipping the GPU engine: {e}");
                continue;
            }
            anyhow::bail!("cannot start {}: {e}", instance.engine);
        }
        let bar = progress::bar(vectors.len() as u64, &instance.engine.to_string());
        let before = results.len();
        for v in &vectors {
            bar.set_message(v.name.clone());
            results.extend(run_named(v, &mut instance));
            bar.inc(1);
            progress::reveal(&bar);
        }
        bar.finish_and_clear();
        let mine = &results[before..];
        let count = |f: fn(&Verdict) -> bool| mine.iter().filter(|r| f(&r.verdict)).count();
        println!(
            "{:<12} {} vectors, {} runs: {} passed, {} expected failures, {} failed, {} unexpectedly passed",
            instance.engine.to_string(),
            vectors.len(),
            mine.len(),
            count(|v| matches!(v, Verdict::Pass)),
            count(|v| matches!(v, Verdict::ExpectedFail { .. })),
            count(|v| matches!(v, Verdict::Fail { .. })),
            count(|v| matches!(v, Verdict::UnexpectedPass { .. })),
        );
        for r in mine.iter().filter(|r| !r.verdict.ok()) {
            match &r.verdict {
                Verdict::Fail { failures } => println!("  FAIL {} [{}]: {}", r.vector, r.mode, failures.join("; ")),
                Verdict::UnexpectedPass { reason } => {
                    println!("  UNEXPECTED PASS {} [{}] (listed as failing: {reason})", r.vector, r.mode)
                }
                Verdict::Pass | Verdict::ExpectedFail { .. } => {}
            }
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        let xml = junit(&results).map_err(anyhow::Error::msg)?;
        std::fs::write(path, xml).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(if results.iter().all(|r| r.verdict.ok()) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
