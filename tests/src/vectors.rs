//! The conformance corpus (`specs/vectors/`): one JSON file per case, each naming its
//! workload (initial buffers), any raw initial statuses and control words, host actions
//! to apply first, the modes and launch shape, whether to drain or run one epoch, and the
//! expected schedule-independent final state. The runner runs every vector on every
//! engine in every mode it names; a vector may list engines expected to fail it, each
//! with a reason (a listed engine that passes is reported, so stale entries surface).

use crate::engine::Instance;
use megaloop::builder::Mode;
use megaloop::host::runner::{prepare, with_cutoff_retries, RunConfig, RunError};
use megaloop::host::workload::{FileSpec, Workload};
use megaloop::host::Backend;
use megaloop::protocol::status::{Action, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A slot put into a status before the run, as if an earlier epoch had left it there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialStatus {
    /// Ring slot.
    pub slot: usize,
    /// Its status.
    pub status: Status,
}

/// A host action applied before the run, and what the state machine must say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostStep {
    /// Ring slot.
    pub slot: usize,
    /// The action (`host_publish`, `host_cancel`, `host_fault`, `host_recycle`,
    /// `host_io_complete`).
    pub action: Action,
    /// The status it must lead to, or `null` when it must be refused.
    pub expect: Option<Status>,
}

/// An engine expected to fail a vector, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    /// Engine name prefix (`gpu` matches `gpu:llvmpipe`).
    pub engine: String,
    /// Why it fails.
    pub reason: String,
}

/// The expected schedule-independent final state; only the fields given are checked.
/// Sparse maps are keyed by word index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every slot's final status, in ring order.
    #[serde(default)]
    pub statuses: Option<Vec<Status>>,
    /// Control DONE_COUNT.
    #[serde(default)]
    pub done_count: Option<u32>,
    /// Control FAULT_COUNT.
    #[serde(default)]
    pub fault_count: Option<u32>,
    /// Control EPOCH.
    #[serde(default)]
    pub epoch: Option<u32>,
    /// Heap words.
    #[serde(default)]
    pub heap: BTreeMap<usize, u32>,
    /// What some heap words hold, named in failure messages (a table of cases, one per
    /// word, as in `ir/semantics_*`).
    #[serde(default)]
    pub heap_labels: BTreeMap<usize, String>,
    /// Observable words.
    #[serde(default)]
    pub observables: BTreeMap<usize, u32>,
    /// Claims per tenant.
    #[serde(default)]
    pub tenant_claims: BTreeMap<usize, u32>,
    /// Claims per priority, CRITICAL..IDLE.
    #[serde(default)]
    pub priority_claims: Option<[u32; 5]>,
    /// Executions per metric bucket (`opcode % 32`).
    #[serde(default)]
    pub metrics: BTreeMap<usize, u32>,
    /// Debug records, as a multiset.
    #[serde(default)]
    pub debug_records: Option<Vec<[u32; 4]>>,
    /// Number of debug records kept.
    #[serde(default)]
    pub debug_record_count: Option<usize>,
    /// Control DEBUG_DROPPED.
    #[serde(default)]
    pub debug_dropped: Option<u32>,
    /// IO completions: (ok, failed).
    #[serde(default)]
    pub io_completions: Option<[usize; 2]>,
    /// Any control words after the run (SHUTDOWN, SETTLED, FUEL_EXHAUSTED, ...), for
    /// vectors whose run makes them schedule-independent (one lane, a fixed number of
    /// epochs).
    #[serde(default)]
    pub control: BTreeMap<usize, u32>,
}

/// One conformance vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// What it shows, in the spec's words.
    pub about: String,
    /// The spec section it checks.
    pub spec: String,
    /// Modes to run it in (default: all four).
    #[serde(default = "all_modes")]
    pub modes: Vec<Mode>,
    /// Lanes per workgroup.
    #[serde(default = "eight")]
    pub workgroup_size: u32,
    /// Most workgroups.
    #[serde(default = "two")]
    pub workgroups: u32,
    /// The workload: tenants, heap, files (paths relative to the vector), handlers,
    /// slots.
    pub workload: Workload,
    /// Control words to set before the run (index -> value).
    #[serde(default)]
    pub control: BTreeMap<u32, u32>,
    /// Raw statuses to set after publishing.
    #[serde(default)]
    pub initial_status: Vec<InitialStatus>,
    /// Host actions to apply before the run.
    #[serde(default)]
    pub host_actions: Vec<HostStep>,
    /// Run exactly this many epochs, with no IO service and no re-publishing between
    /// them (to see a slot's status right after a lane set it); default: drain.
    #[serde(default)]
    pub epochs: Option<u32>,
    /// Runs per mode (default 1), for a vector whose outcome a rare interleaving could
    /// break: every run must pass, and the deterministic simulator runs each under its
    /// own schedule (seeds `seed`, `seed + 1`, ...), so a race is looked for, not hoped for.
    #[serde(default = "one")]
    pub schedules: u32,
    /// The expected final state.
    pub expect: Expect,
    /// Engines expected to fail, with the reason.
    #[serde(default)]
    pub expected_failures: Vec<ExpectedFailure>,
}

fn all_modes() -> Vec<Mode> {
    Mode::ALL.to_vec()
}
fn one() -> u32 {
    1
}
fn eight() -> u32 {
    8
}
fn two() -> u32 {
    2
}

/// A vector with its name (its path under the corpus, without `.json`).
#[derive(Clone, Debug)]
pub struct NamedVector {
    /// `opcode/store_u32`.
    pub name: String,
    /// The vector.
    pub vector: Vector,
}

/// Where the corpus lives: `specs/vectors` under the current directory when there is
/// one (a checkout, wherever the binary was built), else in the source tree this crate
/// was built from.
pub fn corpus_dir() -> PathBuf {
    let here = Path::new("specs/vectors");
    if here.is_dir() {
        here.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/vectors")
    }
}

/// Load every vector under `dir` (sorted by name); an unreadable or malformed file is
/// an error naming it.
pub fn load_corpus(dir: &Path) -> Result<Vec<NamedVector>, String> {
    let mut files = Vec::new();
    collect_json(dir, &mut files).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = megaloop::json::read_document(path).map_err(|e| format!("cannot read: {e}"))?;
            let mut vector: Vector = megaloop::json::from_str(&text)
                .map_err(|e| format!("{} is not a valid vector: {e}", path.display()))?;
            let base = path.parent().unwrap_or(dir);
            for file in &mut vector.workload.files {
                if let FileSpec::Path(p) | FileSpec::Output(p) = file {
                    if p.is_relative() {
                        *p = base.join(&*p);
                    }
                }
            }
            let name = path.strip_prefix(dir).unwrap_or(path).with_extension("").to_string_lossy().replace('\\', "/");
            Ok(NamedVector { name, vector })
        })
        .collect()
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn check<T: PartialEq + std::fmt::Debug>(out: &mut Vec<String>, what: &str, got: T, want: Option<T>) {
    if let Some(want) = want {
        if got != want {
            out.push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }
}

fn check_words(out: &mut Vec<String>, what: &str, words: &[u32], want: &BTreeMap<usize, u32>) {
    check_labelled_words(out, what, words, want, &BTreeMap::new());
}

/// [`check_words`], naming each labelled word's case beside its index.
fn check_labelled_words(
    out: &mut Vec<String>,
    what: &str,
    words: &[u32],
    want: &BTreeMap<usize, u32>,
    labels: &BTreeMap<usize, String>,
) {
    for (&k, &v) in want {
        let label = labels.get(&k).map(|l| format!(" ({l})")).unwrap_or_default();
        match words.get(k) {
            Some(&got) if got == v => {}
            Some(&got) => out.push(format!("{what}[{k}]{label}: got {got} ({got:#x}), expected {v} ({v:#x})")),
            None => out.push(format!("{what}[{k}]{label}: no such word ({} words)", words.len())),
        }
    }
}

/// A vector's run up to its checks: the ring, the IO completions, the epochs, and the
/// host actions that did not do what the vector expects.
struct VectorRun {
    ring: megaloop::host::ring::Ring,
    io: Vec<megaloop::host::io::IoCompletion>,
    epochs: Vec<megaloop::host::ring::EpochReport>,
    failures: Vec<String>,
}

impl megaloop::host::runner::EpochRun for VectorRun {
    fn epochs(&self) -> &[megaloop::host::ring::EpochReport] {
        &self.epochs
    }
    fn set_cutoff_retries(&mut self, _retries: u32) {}
}

/// Run `vector` on `backend` with `config`: prepare, host actions, epochs or a drain.
fn run_steps(vector: &Vector, backend: &mut dyn Backend, config: &RunConfig) -> Result<VectorRun, Halt> {
    let mut prepared = prepare(&vector.workload, config, backend).map_err(Halt::from)?;
    for (&index, &value) in &vector.control {
        prepared.ring.set_control_word(index, value);
    }
    for s in &vector.initial_status {
        prepared.ring.force_status(s.slot, s.status).map_err(|e| Halt::one(format!("initial_status: {e}")))?;
    }
    let mut failures = Vec::new();
    for (k, step) in vector.host_actions.iter().enumerate() {
        let got = prepared.ring.host_action(step.slot, step.action).ok();
        if got != step.expect {
            let show = |s: Option<Status>| s.map_or("refused".to_string(), |s| s.name().to_string());
            failures.push(format!(
                "host_actions[{k}] {:?} on slot {}: {}, expected {}",
                step.action,
                step.slot,
                show(got),
                show(step.expect)
            ));
        }
    }
    match vector.epochs {
        Some(epochs) => {
            let mut reports = Vec::new();
            for _ in 0..epochs {
                let report = prepared.ring.run_epoch(backend, prepared.geometry, None);
                reports.push(report.map_err(|e| Halt::from(RunError::from(e)))?);
            }
            Ok(VectorRun { ring: prepared.ring, io: vec![], epochs: reports, failures })
        }
        None => {
            let run = prepared.drain(backend, config.max_epochs).map_err(Halt::from)?;
            Ok(VectorRun { ring: run.ring, io: run.io, epochs: run.epochs, failures })
        }
    }
}

/// Why a vector's run did not pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Halt {
    /// Every way the final state differs from the expected one, or why the run failed.
    Failed(Vec<String>),
    /// The engine declined the run (a mode, a size, a feature it lacks): a Skip.
    Declined(String),
}

impl Halt {
    fn one(failure: String) -> Halt {
        Halt::Failed(vec![failure])
    }
}

impl From<RunError> for Halt {
    fn from(e: RunError) -> Halt {
        match e.declined() {
            Some(reason) => Halt::Declined(reason.to_string()),
            None => Halt::one(e.to_string()),
        }
    }
}

/// Run `vector` on one engine in `mode`, [`Vector::schedules`] times: `Ok`, the engine's
/// decline, or every way the first failing run's final state differs (naming its schedule
/// when there are several).
pub fn run_vector(vector: &Vector, instance: &mut Instance, mode: Mode) -> Result<(), Halt> {
    for k in 0..vector.schedules.max(1) {
        let outcome = match instance.with_schedule(u64::from(k)) {
            Some(mut other) => {
                let outcome = run_vector_once(vector, &mut other, mode);
                instance.planted_applied.set(instance.planted_applied.get() + other.planted_applied.get());
                outcome
            }
            None => run_vector_once(vector, instance, mode),
        };
        match outcome {
            Ok(()) => {}
            Err(Halt::Failed(mut failures)) => {
                if vector.schedules > 1 {
                    failures.insert(0, format!("run {} of {}:", k + 1, vector.schedules));
                }
                return Err(Halt::Failed(failures));
            }
            Err(declined) => return Err(declined),
        }
    }
    Ok(())
}

/// Run `vector` once on one engine in `mode`: `Ok` or every way the final state differs.
/// A run a driver cut short is run again with less fuel per dispatch, as every command
/// does ([`with_cutoff_retries`]), and is never judged while still cut off.
fn run_vector_once(vector: &Vector, instance: &mut Instance, mode: Mode) -> Result<(), Halt> {
    let one = Halt::one;
    let mut config = RunConfig::new(mode);
    config.workgroup_size = vector.workgroup_size;
    config.max_workgroups = vector.workgroups;
    let VectorRun { ring, io, epochs, mut failures } = with_cutoff_retries(&config, |config| {
        let mut backend = instance.run_backend().map_err(one)?;
        run_steps(vector, backend.as_mut(), config)
    })?;
    if let Some(doubt) = megaloop::host::trust::cut_off(&epochs) {
        return Err(one(format!("the run cannot be trusted: {doubt}")));
    }
    let e = &vector.expect;
    let slots = ring.slots().map_err(|e| one(e.to_string()))?;
    let c = ring.control().map_err(|e| one(e.to_string()))?;
    let log = ring.debug_log().map_err(|e| one(e.to_string()))?;
    check(&mut failures, "statuses", slots.iter().map(|s| s.status).collect(), e.statuses.clone());
    check(&mut failures, "DONE_COUNT", c.done_count, e.done_count);
    check(&mut failures, "FAULT_COUNT", c.fault_count, e.fault_count);
    check(&mut failures, "EPOCH", c.epoch, e.epoch);
    check_labelled_words(&mut failures, "heap", ring.heap(), &e.heap, &e.heap_labels);
    check_words(&mut failures, "observable", &c.observables, &e.observables);
    check_words(&mut failures, "tenant claims", &c.tenant_fairness, &e.tenant_claims);
    check(&mut failures, "priority claims", c.priority_claims, e.priority_claims);
    check_words(&mut failures, "metrics", &c.metrics, &e.metrics);
    check_words(&mut failures, "control", &ring.buffers()[megaloop::host::io::buffer_index::CONTROL], &e.control);
    let mut records = log.records.clone();
    records.sort_unstable();
    let want_records = e.debug_records.clone().map(|mut r| {
        r.sort_unstable();
        r
    });
    check(&mut failures, "debug records (multiset)", records, want_records);
    check(&mut failures, "debug records kept", log.records.len(), e.debug_record_count);
    check(&mut failures, "DEBUG_DROPPED", log.dropped, e.debug_dropped);
    let completions = [io.iter().filter(|c| c.is_ok()).count(), io.iter().filter(|c| !c.is_ok()).count()];
    check(&mut failures, "IO completions (ok, failed)", completions, e.io_completions);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Halt::Failed(failures))
    }
}

/// What happened to one vector on one engine in one mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// It passed.
    Pass,
    /// It failed.
    Fail {
        /// Every difference.
        failures: Vec<String>,
    },
    /// It failed, as the vector says this engine does.
    ExpectedFail {
        /// The vector's reason.
        reason: String,
    },
    /// It passed although the vector says this engine fails it.
    UnexpectedPass {
        /// The vector's reason.
        reason: String,
    },
    /// The engine declined it (a mode, a size or a feature it declares it lacks): counted
    /// apart from passes and failures.
    Skip {
        /// The engine's reason.
        reason: String,
    },
}

impl Verdict {
    /// Whether this result is acceptable (a pass, an expected failure, or a run the
    /// engine declined: reported and counted as skipped, never as a pass).
    pub fn ok(&self) -> bool {
        matches!(self, Verdict::Pass | Verdict::ExpectedFail { .. } | Verdict::Skip { .. })
    }
}

/// One row of a corpus run.
#[derive(Clone, Debug, Serialize)]
pub struct VectorResult {
    /// Vector name.
    pub vector: String,
    /// Engine name.
    pub engine: String,
    /// Mode.
    pub mode: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Run `vector` on `instance` in every mode it names.
pub fn run_named(named: &NamedVector, instance: &mut Instance) -> Vec<VectorResult> {
    let engine = instance.engine.to_string();
    let expected = named.vector.expected_failures.iter().find(|f| engine.starts_with(&f.engine));
    named
        .vector
        .modes
        .iter()
        .map(|&mode| {
            let start = std::time::Instant::now();
            let outcome = run_vector(&named.vector, instance, mode);
            let verdict = match (outcome, expected) {
                (Ok(()), None) => Verdict::Pass,
                (Err(Halt::Declined(reason)), _) => Verdict::Skip { reason },
                (Err(Halt::Failed(failures)), None) => Verdict::Fail { failures },
                (Err(Halt::Failed(_)), Some(f)) => Verdict::ExpectedFail { reason: f.reason.clone() },
                (Ok(()), Some(f)) => Verdict::UnexpectedPass { reason: f.reason.clone() },
            };
            VectorResult {
                vector: named.name.clone(),
                engine: engine.clone(),
                mode: mode.name(),
                verdict,
                seconds: start.elapsed().as_secs_f64(),
            }
        })
        .collect()
}

/// The vectors whose name contains `filter` (all when `None` or empty).
pub fn filtered(corpus: Vec<NamedVector>, filter: Option<&str>) -> Vec<NamedVector> {
    match filter {
        Some(f) if !f.is_empty() => corpus.into_iter().filter(|v| v.name.contains(f)).collect(),
        _ => corpus,
    }
}

/// The corpus results as JUnit XML: one test suite per engine, one test case per
/// vector and mode.
pub fn junit(results: &[VectorResult]) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("megaloop conformance");
    let mut engines: Vec<&str> = results.iter().map(|r| r.engine.as_str()).collect();
    engines.dedup();
    for engine in engines {
        let mut suite = TestSuite::new(engine);
        for r in results.iter().filter(|r| r.engine == engine) {
            let status = match &r.verdict {
                Verdict::Pass => TestCaseStatus::success(),
                Verdict::ExpectedFail { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("expected failure: {reason}"));
                    s
                }
                Verdict::Skip { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("declined by the engine: {reason}"));
                    s
                }
                Verdict::Fail { failures } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(failures.first().cloned().unwrap_or_default());
                    s.set_description(failures.join("\n"));
                    s
                }
                Verdict::UnexpectedPass { reason } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("passed, but listed as an expected failure: {reason}"));
                    s
                }
            };
            let mut case = TestCase::new(format!("{} [{}]", r.vector, r.mode), status);
            case.set_classname(r.vector.clone());
            case.set_time(std::time::Duration::from_secs_f64(r.seconds));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| e.to_string())
}
