//! `megaloop conformance`: run the conformance corpus (specs/vectors) on one or more
//! engines: megaloop's own (`--backend`) and any named with `--engine` (an external
//! runtime, `exec:COMMAND` or `wgsl:FILE`). Writes JSON and JUnit reports on request. Exit 0 when every
//! run passed, failed as its vector expects, or was declined by its engine (counted and
//! listed as skipped), 1 otherwise, 2 on bad input.

use crate::commands::common::{BackendChoice, ReportFiles, TimeoutArgs};
use crate::commands::progress;
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::vectors::{corpus_dir, filtered, junit, load_corpus, run_named, VectorResult, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which of megaloop's own engines run the corpus: one by its short name, or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// One engine.
    One(BackendChoice),
    /// Every [`BackendChoice`].
    All,
}

impl std::str::FromStr for Which {
    type Err = String;
    fn from_str(s: &str) -> Result<Which, String> {
        if s == "all" {
            return Ok(Which::All);
        }
        <BackendChoice as clap::ValueEnum>::from_str(s, false)
            .map(Which::One)
            .map_err(|_| format!("`{s}` is not sim, sim-det, gpu or all"))
    }
}

/// Arguments of `megaloop conformance`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// megaloop's own engines to run: `sim`, `sim-det`, `gpu` or `all` (the default,
    /// unless `--engine` names some).
    #[arg(long)]
    backend: Option<Which>,
    /// An engine to run, repeatable: `sim`, `sim-det:SEED`, `gpu`, `gpu:ADAPTER`,
    /// `exec:COMMAND` (an external runtime speaking the engine protocol, spec part 3) or
    /// `wgsl:FILE` (a hand-written WGSL megakernel, spec 3.6).
    #[arg(long)]
    engine: Vec<Engine>,
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
    #[command(flatten)]
    reports: ReportFiles,
    #[command(flatten)]
    timeout: TimeoutArgs,
}

/// Run the corpus.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let timeout = args.timeout.duration()?;
    let dir = args.vectors.clone().unwrap_or_else(corpus_dir);
    let vectors = filtered(load_corpus(&dir).map_err(anyhow::Error::msg)?, args.filter.as_deref());
    if vectors.is_empty() {
        match &args.filter {
            Some(filter) => anyhow::bail!("no vector in {} has `{filter}` in its name", dir.display()),
            None => anyhow::bail!("no vector in {}", dir.display()),
        }
    }
    args.reports.create()?;
    let adapter_named = args.adapter.is_some() || std::env::var_os("MEGALOOP_ADAPTER").is_some();
    let backend = args.backend.or(args.engine.is_empty().then_some(Which::All));
    let own = |choices: &[BackendChoice]| -> Vec<Engine> {
        choices.iter().map(|c| c.engine(args.seed, args.adapter.as_deref())).collect()
    };
    let mut engines = match backend {
        None => vec![],
        Some(Which::One(choice)) => own(&[choice]),
        Some(Which::All) => own(<BackendChoice as clap::ValueEnum>::value_variants()),
    };
    engines.extend(args.engine.iter().cloned());
    // Every engine is started before any vector runs: a bad `--adapter` is an error at once.
    let mut instances = Vec::new();
    for engine in engines {
        let mut instance = Instance::new(engine);
        match &mut instance.backend {
            // `--backend all` without a GPU runs the simulator alone, unless an adapter was
            // asked for by name: then a missing one is an error.
            Err(e)
                if backend == Some(Which::All)
                    && instance.engine == Engine::Gpu { adapter: args.adapter.clone() }
                    && !adapter_named =>
            {
                eprintln!("note: skipping the GPU engine: {e}");
                continue;
            }
            Err(e) => anyhow::bail!("cannot start {}: {e}", instance.engine),
            Ok(_) => instance.set_timeout(timeout),
        }
        instances.push(instance);
    }
    let mut results: Vec<VectorResult> = Vec::new();
    for mut instance in instances {
        if megaloop::host::interrupt::requested() {
            break;
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
            "{:<12} {} vectors, {} runs: {} passed, {} expected failures, {} failed, {} unexpectedly passed, {} skipped",
            instance.engine.to_string(),
            vectors.len(),
            mine.len(),
            count(|v| matches!(v, Verdict::Pass)),
            count(|v| matches!(v, Verdict::ExpectedFail { .. })),
            count(|v| matches!(v, Verdict::Fail { .. })),
            count(|v| matches!(v, Verdict::UnexpectedPass { .. })),
            count(|v| matches!(v, Verdict::Skip { .. })),
        );
        // Skips, one line per reason the engine gave.
        let mut reasons: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for r in mine {
            if let Verdict::Skip { reason } = &r.verdict {
                reasons.entry(reason).or_default().push(format!("{} [{}]", r.vector, r.mode));
            }
        }
        for (reason, runs) in reasons {
            let shown: Vec<&str> = runs.iter().take(3).map(String::as_str).collect();
            let more = if runs.len() > 3 { format!(", and {} more", runs.len() - 3) } else { String::new() };
            println!("  SKIP {} runs, declined: {reason} ({}{more})", runs.len(), shown.join(", "));
        }
        for r in mine.iter().filter(|r| !r.verdict.ok()) {
            match &r.verdict {
                Verdict::Fail { failures } => println!("  FAIL {} [{}]: {}", r.vector, r.mode, failures.join("; ")),
                Verdict::UnexpectedPass { reason } => {
                    println!("  UNEXPECTED PASS {} [{}] (listed as failing: {reason})", r.vector, r.mode)
                }
                Verdict::Pass | Verdict::ExpectedFail { .. } | Verdict::Skip { .. } => {}
            }
        }
    }
    args.reports.write(&results, || junit(&results))?;
    Ok(if results.iter().all(|r| r.verdict.ok()) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
