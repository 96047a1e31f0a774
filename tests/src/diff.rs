//! The differential comparison: the same workload and mode on several engines, compared
//! as the spec says (2.10): schedule-independent words bit for bit, each difference named
//! by its protocol meaning (`ring slot 17 STATUS: sim DONE, gpu CLAIMED`), and the
//! schedule-dependent words by their invariants.

use crate::engine::Instance;
use crate::generate::{Case, InitialStatus};
use crate::snapshot::Snapshot;
use megaloop::builder::Mode;
use megaloop::host::io::buffer_index;
use megaloop::host::runner::{prepare, with_cutoff_retries, RunConfig, WorkloadRun};
use megaloop::host::workload::Workload;
use megaloop::protocol::layout::*;
use serde::Serialize;

/// One differing word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// What the word means (`ring slot 17 STATUS`, `control DONE_COUNT`).
    pub word: String,
    /// The reference engine's value.
    pub expected: String,
    /// The other engine's value.
    pub got: String,
}

/// The result of one engine on one mode.
#[derive(Clone, Debug, Serialize)]
pub struct EngineResult {
    /// Engine name.
    pub engine: String,
    /// Mode.
    pub mode: &'static str,
    /// Differences from the reference engine (the first one listed).
    pub mismatches: Vec<Mismatch>,
    /// Broken invariants of schedule-dependent words.
    pub invariant_failures: Vec<String>,
    /// A failure to run at all.
    pub error: Option<String>,
    /// The engine declined the run (a mode, a feature it lacks): skipped, compared with
    /// nothing and counted apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Epochs the drain took.
    pub epochs: usize,
    /// Wall-clock seconds the engine took (preparing, every attempt, every epoch).
    pub elapsed_s: f64,
}

impl EngineResult {
    /// Whether this engine agreed with the reference and kept every invariant.
    pub fn agrees(&self) -> bool {
        self.mismatches.is_empty() && self.invariant_failures.is_empty() && self.error.is_none()
    }
}

/// A whole differential run.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Workload name.
    pub workload: String,
    /// Slots.
    pub slots: usize,
    /// The seed a generated case was drawn from.
    pub seed: Option<u64>,
    /// The reference engine.
    pub reference: String,
    /// Every engine x mode result, the reference's own included.
    pub results: Vec<EngineResult>,
}

impl DiffReport {
    /// Whether every engine agreed in every mode.
    pub fn agrees(&self) -> bool {
        self.results.iter().all(EngineResult::agrees)
    }

    /// The report as text, each differing word on its own line (at most `limit` per
    /// engine).
    pub fn render(&self, limit: usize) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let seed = self.seed.map(|s| format!(", seed {s}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "megaloop diff: workload {} ({} slots{seed}), reference {}",
            self.workload, self.slots, self.reference
        );
        for r in &self.results {
            let verdict = match (&r.skipped, r.agrees()) {
                (Some(_), _) => "SKIPPED",
                (None, true) => "agrees",
                (None, false) => "DIFFERS",
            };
            let _ = writeln!(
                out,
                "  {:<10} {:<24} {verdict} ({} epochs, {:.2} s)",
                r.mode, r.engine, r.epochs, r.elapsed_s
            );
            if let Some(e) = &r.error {
                let _ = writeln!(out, "      error: {e}");
            }
            if let Some(reason) = &r.skipped {
                let _ = writeln!(out, "      declined by the engine: {reason}");
            }
            for m in r.mismatches.iter().take(limit) {
                let _ = writeln!(out, "      {}: {} {}, {} {}", m.word, self.reference, m.expected, r.engine, m.got);
            }
            if r.mismatches.len() > limit {
                let _ = writeln!(
                    out,
                    "      ... and {} more differing words (--json lists all)",
                    r.mismatches.len() - limit
                );
            }
            for f in &r.invariant_failures {
                let _ = writeln!(out, "      invariant: {f}");
            }
        }
        let skipped = self.results.iter().filter(|r| r.skipped.is_some()).count();
        out.push_str(
            match (self.agrees(), skipped) {
                (true, 0) => "all engines agree".to_string(),
                (true, n) => format!("every engine that ran agrees ({n} runs skipped: declined by their engine)"),
                (false, _) => "engines disagree".to_string(),
            }
            .as_str(),
        );
        out
    }
}

fn push(out: &mut Vec<Mismatch>, word: String, expected: impl ToString, got: impl ToString) {
    out.push(Mismatch { word, expected: expected.to_string(), got: got.to_string() });
}

/// Every schedule-independent difference between two snapshots, named by meaning.
pub fn compare(expected: &Snapshot, got: &Snapshot) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if expected.slots.len() != got.slots.len() {
        push(&mut out, "ring slot count".into(), expected.slots.len(), got.slots.len());
    }
    for (i, (a, b)) in expected.slots.iter().zip(&got.slots).enumerate() {
        if a.status != b.status {
            push(&mut out, format!("ring slot {i} STATUS"), a.status, b.status);
        }
        for (name, x, y) in
            [("OPCODE", a.opcode, b.opcode), ("TENANT", a.tenant, b.tenant), ("PRIORITY", a.priority, b.priority)]
        {
            if x != y {
                push(&mut out, format!("ring slot {i} {name}"), x, y);
            }
        }
        for (k, (x, y)) in a.args.iter().zip(&b.args).enumerate() {
            if x != y {
                push(&mut out, format!("ring slot {i} arg{k}"), x, y);
            }
        }
    }
    let scalars = [
        ("control DONE_COUNT", expected.done_count, got.done_count),
        ("control FAULT_COUNT", expected.fault_count, got.fault_count),
        ("control SHUTDOWN", expected.shutdown, got.shutdown),
        ("control EPOCH", expected.epoch, got.epoch),
        ("control DEBUG_DROPPED", expected.debug_dropped, got.debug_dropped),
    ];
    for (name, x, y) in scalars {
        if x != y {
            push(&mut out, name.into(), x, y);
        }
    }
    let tables: [(&str, &[u32], &[u32]); 5] = [
        ("control tenant claims", &expected.tenant_fairness, &got.tenant_fairness),
        ("control priority claims", &expected.priority_claims, &got.priority_claims),
        ("control metrics", &expected.metrics, &got.metrics),
        ("control observable", &expected.observables, &got.observables),
        ("heap", &expected.heap, &got.heap),
    ];
    for (name, a, b) in tables {
        if a.len() != b.len() {
            push(&mut out, format!("{name} length"), a.len(), b.len());
        }
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                push(&mut out, format!("{name}[{k}]"), x, y);
            }
        }
    }
    // Past the log's capacity, which records are kept depends on the order lanes reached
    // the log (spec 2.10): then only how many were kept is compared (DEBUG_DROPPED above).
    let overflowed = expected.debug_dropped > 0 || got.debug_dropped > 0;
    if overflowed && expected.debug_records.len() != got.debug_records.len() {
        push(&mut out, "debug log records kept".into(), expected.debug_records.len(), got.debug_records.len());
    }
    if !overflowed && expected.debug_records != got.debug_records {
        push(
            &mut out,
            "debug log records (as a multiset)".into(),
            format!("{} records", expected.debug_records.len()),
            format!(
                "{} records, {} differ",
                got.debug_records.len(),
                multiset_difference(&expected.debug_records, &got.debug_records)
            ),
        );
    }
    out
}

fn multiset_difference(a: &[[u32; 4]], b: &[[u32; 4]]) -> usize {
    let (mut i, mut j, mut differ) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                differ += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                differ += 1;
                j += 1;
            }
        }
    }
    differ + (a.len() - i) + (b.len() - j)
}

/// The invariants of the schedule-dependent words after a drain (spec 2.10): the drain
/// finished and can be trusted (as the host judges it, and recounted from the raw words),
/// the per-epoch counters agree with what the epochs reported, and the words themselves
/// are in bounds.
pub fn invariants(run: &WorkloadRun) -> Vec<String> {
    let mut failures = drain_invariants(run);
    failures.extend(raw_drain_invariants(run));
    failures.extend(epoch_invariants(run));
    failures.extend(word_invariants(run));
    failures
}

/// The drain judged from the raw words with the protocol's constants alone, not by the
/// host's own bookkeeping (a host driver bug would agree with itself): no slot is left
/// PUBLISHED for an authorised tenant, CLAIMED or WAIT_IO, and IO_CURSOR was reset.
pub fn raw_drain_invariants(run: &WorkloadRun) -> Vec<String> {
    use megaloop::protocol::Status;
    let buffers = run.ring.buffers();
    let (ring, control) = (&buffers[buffer_index::RING], &buffers[buffer_index::CONTROL]);
    let mut left = [0u32; 3];
    for slot in ring.chunks_exact(SLOT_WORDS as usize) {
        let tenant = slot[SLOT_TENANT as usize];
        let authorised = tenant < MAX_TENANTS && control[(CTRL_TENANT_MASKS + tenant) as usize] != 0;
        match slot[SLOT_STATUS as usize] {
            s if s == Status::Published.word() && authorised => left[0] += 1,
            s if s == Status::Claimed.word() => left[1] += 1,
            s if s == Status::WaitIo.word() => left[2] += 1,
            _ => {}
        }
    }
    let mut failures: Vec<String> = ["runnable (PUBLISHED, tenant authorised)", "CLAIMED", "WAIT_IO"]
        .iter()
        .zip(left)
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} slot(s) left {what} after the drain (recounted from the ring's words)"))
        .collect();
    let cursor = control[CTRL_IO_CURSOR as usize];
    if cursor != 0 {
        failures.push(format!("control IO_CURSOR is {cursor} after the drain; the host resets it after every epoch"));
    }
    failures
}

/// The per-epoch counters against the epochs' reports: the final SETTLED, FUEL_EXHAUSTED
/// and LOOP_CUTOFF are the last epoch's; every epoch's FUEL_EXHAUSTED equals the lanes its
/// backend saw run out of fuel (counted apart, by the loop itself) and is at most the
/// lanes; every outcome that settled was counted in SETTLED (the epochs' sum is at least
/// DONE_COUNT + FAULT_COUNT).
pub fn epoch_invariants(run: &WorkloadRun) -> Vec<String> {
    use megaloop::host::Outcome;
    let mut failures = Vec::new();
    let control = &run.ring.buffers()[buffer_index::CONTROL];
    let lanes = run.geometry.lanes();
    if let Some(last) = run.epochs.last() {
        for (name, word, reported) in [
            ("SETTLED", CTRL_SETTLED, last.settled),
            ("FUEL_EXHAUSTED", CTRL_FUEL_EXHAUSTED, last.fuel_exhausted),
            ("LOOP_CUTOFF", CTRL_LOOP_CUTOFF, last.loop_cutoff),
        ] {
            let value = control[word as usize];
            if value != reported {
                failures.push(format!("control {name} is {value}, but the last epoch ended with {reported}"));
            }
        }
    }
    for e in &run.epochs {
        if u64::from(e.fuel_exhausted) > lanes {
            failures.push(format!("epoch {}: FUEL_EXHAUSTED {} is above the {lanes} lanes", e.epoch, e.fuel_exhausted));
        }
        let seen = match &e.outcome {
            Outcome::Completed => Some(0),
            // A backend that could not record every lane says so with an entry past the grid.
            Outcome::FuelExhausted { lanes: out, unrecorded: 0 } if out.iter().all(|l| u64::from(l.lane) < lanes) => {
                Some(out.len())
            }
            Outcome::FuelExhausted { .. } | Outcome::CutOff { .. } => None,
        };
        if let Some(seen) = seen.filter(|&n| n != e.fuel_exhausted as usize) {
            failures.push(format!(
                "epoch {}: FUEL_EXHAUSTED counts {} lanes, the backend saw {seen} run out of fuel",
                e.epoch, e.fuel_exhausted
            ));
        }
    }
    let settled: u64 = run.epochs.iter().map(|e| u64::from(e.settled)).sum();
    let outcomes = u64::from(control[CTRL_DONE_COUNT as usize]) + u64::from(control[CTRL_FAULT_COUNT as usize]);
    if settled < outcomes {
        failures.push(format!(
            "the epochs settled {settled} slots, fewer than DONE_COUNT + FAULT_COUNT = {outcomes} outcomes"
        ));
    }
    failures
}

/// The drain finished and can be trusted ([`megaloop::host::trust`]): no lane cut off by
/// a driver, nothing runnable left.
pub fn drain_invariants(run: &WorkloadRun) -> Vec<String> {
    run.trust().err().map(|u| u.0.iter().map(ToString::to_string).collect()).unwrap_or_default()
}

/// The schedule-dependent words are within their bounds, however far the run got: the
/// starvation counter, and the debug log cursor against its records and drops.
pub fn word_invariants(run: &WorkloadRun) -> Vec<String> {
    let mut failures = Vec::new();
    let words = &run.ring.buffers()[buffer_index::CONTROL];
    let lanes = run.geometry.lanes();
    let starvation = u64::from(words[CTRL_STARVATION as usize]);
    if starvation > u64::from(STARVATION_THRESHOLD) + lanes {
        failures.push(format!(
            "control STARVATION is {starvation}, above the bound {} + {lanes} lanes",
            STARVATION_THRESHOLD
        ));
    }
    let partitions = match run.ring.control() {
        Ok(control) => control.partitions(run.ring.options().slots),
        Err(e) => {
            failures.push(format!("control does not decode: {e}"));
            Default::default()
        }
    };
    for (p, range) in partitions.iter().enumerate() {
        let len = range.len() as u64;
        let cursor = u64::from(words[CTRL_PRIORITY_CURSORS as usize + p]);
        if cursor > len + lanes {
            failures.push(format!(
                "control priority cursor {p} is {cursor}, above its partition's length {len} + {lanes} lanes"
            ));
        }
    }
    match run.ring.debug_log() {
        Ok(log) => {
            let cursor = run.ring.buffers()[buffer_index::DEBUG_LOG][DEBUG_CURSOR as usize];
            let accounted = 4 * (log.records.len() as u64 + u64::from(log.dropped));
            if u64::from(cursor) != accounted {
                failures.push(format!("debug log cursor {cursor} is not 4 x (records + dropped) = {accounted}"));
            }
        }
        Err(e) => failures.push(format!("debug log does not decode: {e}")),
    }
    failures
}

/// Run `workload` with `config` on one engine: the run and its snapshot.
pub fn run_on(
    instance: &mut Instance,
    workload: &Workload,
    config: &RunConfig,
) -> Result<(WorkloadRun, Snapshot), String> {
    run_prepared(instance, workload, config, &[])
}

/// Run a case (its mode, launch shape, fuel and initial statuses) on one engine.
pub fn run_case_on(instance: &mut Instance, case: &Case) -> Result<(WorkloadRun, Snapshot), String> {
    run_prepared(instance, &case.workload, &case.config(), &case.initial_status)
}

/// How a run that an engine declined (a mode, a feature it lacks) begins its error: such a
/// run is a skip, never a disagreement.
pub const DECLINED: &str = "declined by the engine: ";

/// A run's error as text, declines marked with [`DECLINED`].
fn run_error(e: megaloop::host::runner::RunError) -> String {
    match e.declined() {
        Some(reason) => format!("{DECLINED}{reason}"),
        None => e.to_string(),
    }
}

fn run_prepared(
    instance: &mut Instance,
    workload: &Workload,
    config: &RunConfig,
    initial_status: &[InitialStatus],
) -> Result<(WorkloadRun, Snapshot), String> {
    let run = with_cutoff_retries(config, |config| {
        let mut backend = instance.run_backend()?;
        let mut prepared = prepare(workload, config, backend.as_mut()).map_err(run_error)?;
        for s in initial_status {
            prepared.ring.force_status(s.slot, s.status).map_err(|e| format!("initial_status: {e}"))?;
        }
        prepared.drain(backend.as_mut(), config.max_epochs).map_err(run_error)
    })?;
    let snapshot = Snapshot::of(&run.ring).map_err(|e| e.to_string())?;
    Ok((run, snapshot))
}

/// Run `workload` in every mode of `modes` on every engine and compare each with the
/// first engine.
pub fn diff(
    workload: &Workload,
    modes: &[Mode],
    instances: &mut [Instance],
    config_for: impl Fn(Mode) -> RunConfig,
) -> DiffReport {
    let results = compare_engines(modes, instances, |instance, mode| run_on(instance, workload, &config_for(mode)));
    DiffReport {
        workload: workload.name.clone(),
        slots: workload.slots.len(),
        seed: None,
        reference: reference(instances),
        results,
    }
}

/// Run a case on every engine (in its one mode) and compare them.
pub fn diff_case(case: &Case, instances: &mut [Instance]) -> DiffReport {
    let results = compare_engines(&[case.mode], instances, |instance, _| run_case_on(instance, case));
    DiffReport {
        workload: case.workload.name.clone(),
        slots: case.workload.slots.len(),
        seed: case.seed,
        reference: reference(instances),
        results,
    }
}

fn reference(instances: &[Instance]) -> String {
    instances.first().map(|i| i.engine.to_string()).unwrap_or_default()
}

/// Every engine x mode result, each compared with the first engine's run of the mode.
fn compare_engines(
    modes: &[Mode],
    instances: &mut [Instance],
    mut run: impl FnMut(&mut Instance, Mode) -> Result<(WorkloadRun, Snapshot), String>,
) -> Vec<EngineResult> {
    let mut results = Vec::new();
    for &mode in modes {
        let mut reference_snapshot: Option<Snapshot> = None;
        for instance in instances.iter_mut() {
            let mut result = EngineResult {
                engine: instance.engine.to_string(),
                mode: mode.name(),
                mismatches: vec![],
                invariant_failures: vec![],
                error: None,
                skipped: None,
                epochs: 0,
                elapsed_s: 0.0,
            };
            let start = std::time::Instant::now();
            let ran = run(instance, mode);
            result.elapsed_s = start.elapsed().as_secs_f64();
            match ran {
                Err(e) => match e.strip_prefix(DECLINED) {
                    Some(reason) => result.skipped = Some(reason.to_string()),
                    None => result.error = Some(e),
                },
                Ok((run, snapshot)) => {
                    result.epochs = run.epochs.len();
                    result.invariant_failures = invariants(&run);
                    match &reference_snapshot {
                        None => reference_snapshot = Some(snapshot),
                        Some(r) => result.mismatches = compare(r, &snapshot),
                    }
                }
            }
            results.push(result);
        }
    }
    results
}
