//! Measuring the checks by the faults they find (MC Mutants' idea, applied to a runtime's
//! conformance suite): every fault of [`megaloop::planted::CATALOGUE`] is planted in one
//! of megaloop's own engines (or, for an external engine, each fault switch it declares
//! is turned on), and the conformance corpus and the drain invariants of spec 2.10 run
//! on it.
//! A fault is killed when some check fails on it; the kill matrix records which checks
//! did, and how long the first one took. A fault nothing fails on survives.
//!
//! Only checks the clean engine passes count: the corpus and the invariant runs are run
//! on the unplanted engine first, and a check that fails there is left out (and
//! reported), so a kill is always the fault's doing.

use crate::diff::{invariants, run_on, DECLINED};
use crate::engine::{Engine, Instance};
use crate::vectors::{run_vector, Halt, NamedVector};
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop::planted::Fault;
use serde::Serialize;

/// One fault to measure the checks against.
#[derive(Clone, Debug)]
pub enum Mutant {
    /// A fault of megaloop's catalogue, planted in one of its own engines.
    Planted(&'static Fault),
    /// An external engine's own fault switch (declared in its handshake), by name.
    EngineSwitch(String),
}

impl Mutant {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Mutant::Planted(f) => f.name,
            Mutant::EngineSwitch(name) => name,
        }
    }

    /// The engine running with this fault, for `base` (the clean engine).
    fn engine(&self, base: &Engine) -> Engine {
        match (self, base) {
            (Mutant::EngineSwitch(name), Engine::External { runtime, .. }) => {
                Engine::External { runtime: runtime.clone(), fault: Some(name.clone()) }
            }
            (Mutant::Planted(fault), _) => Engine::Planted { base: Box::new(base.clone()), fault },
            (Mutant::EngineSwitch(name), other) => {
                unreachable!("fault switch `{name}` of {other}: only external engines declare switches")
            }
        }
    }
}
use std::time::Instant;

/// Slots of the `mixed` workload the invariant checks drain in every mode.
pub const INVARIANT_SLOTS: u32 = 600;

/// One check that failed on a planted fault.
#[derive(Clone, Debug, Serialize)]
pub struct Kill {
    /// The vector (`opcode/store_u32`) or invariant check (`invariants/mixed`).
    pub check: String,
    /// The mode it failed in.
    pub mode: &'static str,
    /// The first way it failed.
    pub failure: String,
    /// Seconds from the start of this fault's checks to the end of this check.
    pub after_s: f64,
}

/// What the checks did to one fault.
#[derive(Clone, Debug, Serialize)]
pub struct FaultResult {
    /// The fault's name.
    pub fault: String,
    /// Its layer (`engine` for an external engine's own switch).
    pub layer: &'static str,
    /// What it is.
    pub about: String,
    /// Every check that failed on it, in the order they ran.
    pub kills: Vec<Kill>,
    /// Runs in which the fault changed something (0: it never applied, so no check could
    /// see it: a catalogue bug, reported apart); `None` for an external engine's switch,
    /// whose effect megaloop cannot see.
    pub applied_runs: Option<u64>,
    /// Seconds all its checks took.
    pub seconds: f64,
}

impl FaultResult {
    /// Whether some check failed on it.
    pub fn killed(&self) -> bool {
        !self.kills.is_empty()
    }

    /// Seconds until the first check failed on it.
    pub fn time_to_kill(&self) -> Option<f64> {
        self.kills.first().map(|k| k.after_s)
    }
}

/// A check left out because it fails on the clean engine.
#[derive(Clone, Debug, Serialize)]
pub struct Excluded {
    /// The check.
    pub check: String,
    /// The mode.
    pub mode: &'static str,
    /// Why it failed.
    pub failure: String,
}

/// A whole mutation run.
#[derive(Clone, Debug, Serialize)]
pub struct MutantsReport {
    /// The engine the faults were planted in.
    pub engine: String,
    /// Corpus vectors run against each fault.
    pub vectors: usize,
    /// Checks (vector x mode, invariant runs) run against each fault.
    pub checks: usize,
    /// Checks the clean engine fails, left out.
    pub excluded: Vec<Excluded>,
    /// Checks the engine declines (a mode, a feature it lacks), left out and counted.
    pub declined: usize,
    /// One result per fault.
    pub faults: Vec<FaultResult>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

impl MutantsReport {
    /// Faults killed.
    pub fn killed(&self) -> usize {
        self.faults.iter().filter(|f| f.killed()).count()
    }

    /// Killed faults as a share of all (1.0 when there are none).
    pub fn score(&self) -> f64 {
        if self.faults.is_empty() {
            1.0
        } else {
            self.killed() as f64 / self.faults.len() as f64
        }
    }

    /// The faults no check failed on.
    pub fn survivors(&self) -> impl Iterator<Item = &FaultResult> {
        self.faults.iter().filter(|f| !f.killed())
    }

    /// Whether every fault was killed.
    pub fn all_killed(&self) -> bool {
        self.survivors().next().is_none()
    }

    /// The kill matrix as text: one line per fault (its layer, how many checks killed it,
    /// the first and the time to kill), then the survivors and the score.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "megaloop mutants: {} faults planted in {}, {} checks each ({} vectors x modes, invariant runs; {} declined by the engine, left out)",
            self.faults.len(),
            self.engine,
            self.checks,
            self.vectors,
            self.declined
        );
        for e in &self.excluded {
            let _ = writeln!(out, "  left out (fails on the clean engine): {} [{}]: {}", e.check, e.mode, e.failure);
        }
        let width = self.faults.iter().map(|f| f.fault.len()).max().unwrap_or(0);
        for f in &self.faults {
            match f.kills.first() {
                Some(k) => {
                    let _ = writeln!(
                        out,
                        "  killed   {:<width$} {:<13} by {:>3} checks, first {} [{}] after {:.2} s",
                        f.fault,
                        f.layer,
                        f.kills.len(),
                        k.check,
                        k.mode,
                        k.after_s
                    );
                }
                None if f.applied_runs == Some(0) => {
                    let _ = writeln!(
                        out,
                        "  SURVIVED {:<width$} {:<13} (it never applied: a catalogue bug)",
                        f.fault, f.layer
                    );
                }
                None => {
                    let applied = f.applied_runs.map_or(String::new(), |n| format!(" applied in {n} runs,"));
                    let _ = writeln!(
                        out,
                        "  SURVIVED {:<width$} {:<13}{applied} no check failed: {}",
                        f.fault, f.layer, f.about
                    );
                }
            }
        }
        let _ = write!(
            out,
            "mutation score {}/{} ({:.1}%), {:.1} s",
            self.killed(),
            self.faults.len(),
            100.0 * self.score(),
            self.seconds
        );
        out
    }

    /// The run as JUnit XML: one test case per fault, passing when it was killed.
    pub fn junit(&self) -> Result<String, String> {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("megaloop mutants");
        let mut suite = TestSuite::new(format!("mutants on {}", self.engine));
        for f in &self.faults {
            let status = match f.kills.first() {
                Some(_) => TestCaseStatus::success(),
                None => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("survived: {}", f.about));
                    s
                }
            };
            let mut case = TestCase::new(f.fault.as_str(), status);
            case.set_classname(format!("{}.{}", self.engine, f.layer));
            case.set_time(std::time::Duration::from_secs_f64(f.seconds));
            if let Some(k) = f.kills.first() {
                case.set_system_out(format!(
                    "killed by {} checks; first {} [{}] after {:.3} s: {}",
                    f.kills.len(),
                    k.check,
                    k.mode,
                    k.after_s,
                    k.failure
                ));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
        report.to_string().map_err(|e| e.to_string())
    }
}

/// One check: a vector in one mode, or the invariant run of one mode.
#[derive(Clone, Copy)]
enum Check<'a> {
    Vector(&'a NamedVector, Mode),
    Invariants(Mode),
}

impl Check<'_> {
    fn name(&self) -> String {
        match self {
            Check::Vector(v, _) => v.name.clone(),
            Check::Invariants(_) => "invariants/mixed".to_string(),
        }
    }

    fn mode(&self) -> Mode {
        match self {
            Check::Vector(_, m) | Check::Invariants(m) => *m,
        }
    }

    /// Run the check on `instance`: `Ok(true)` when it passed, `Ok(false)` when the engine
    /// declined it, `Err` with the first failure when it failed.
    fn run(&self, instance: &mut Instance, mixed: &Workload) -> Result<bool, String> {
        match self {
            Check::Vector(v, mode) => match run_vector(&v.vector, instance, *mode) {
                Ok(()) => Ok(true),
                Err(Halt::Failed(failures)) => Err(failures.join("; ")),
                Err(Halt::Declined(_)) => Ok(false),
            },
            Check::Invariants(mode) => {
                let mut config = RunConfig::new(*mode);
                config.max_workgroups = 4;
                let (run, _) = match run_on(instance, mixed, &config) {
                    Err(e) if e.starts_with(DECLINED) => return Ok(false),
                    other => other?,
                };
                match invariants(&run).into_iter().next() {
                    Some(failure) => Err(failure),
                    None => Ok(true),
                }
            }
        }
    }
}

/// Plant each of `faults` in the engine already started in `instance` (a catalogue fault
/// in one of megaloop's own engines; a declared switch in an external one, started afresh
/// with it on) and run `corpus` and the invariant checks on it. `on_fault` is called after
/// each fault (progress).
pub fn run_mutants(
    instance: &mut Instance,
    corpus: &[NamedVector],
    faults: &[Mutant],
    on_fault: &mut dyn FnMut(&FaultResult),
) -> MutantsReport {
    let start = Instant::now();
    let base = instance.engine.clone();
    let mixed = Workload::mixed(INVARIANT_SLOTS);
    let engine_name = base.to_string();
    let mut checks: Vec<Check> = Vec::new();
    for v in corpus {
        // A vector the engine is listed as failing says nothing about a fault.
        if v.vector.expected_failures.iter().any(|f| engine_name.starts_with(&f.engine)) {
            continue;
        }
        checks.extend(v.vector.modes.iter().map(|&m| Check::Vector(v, m)));
    }
    checks.extend(Mode::ALL.iter().map(|&m| Check::Invariants(m)));
    let mut excluded = Vec::new();
    let mut declined = 0;
    checks.retain(|c| match c.run(instance, &mixed) {
        Ok(true) => true,
        // A check the engine declines checks nothing, clean or faulty.
        Ok(false) => {
            declined += 1;
            false
        }
        Err(failure) => {
            excluded.push(Excluded { check: c.name(), mode: c.mode().name(), failure });
            false
        }
    });
    let mut results = Vec::new();
    for fault in faults {
        if megaloop::host::interrupt::requested() {
            break;
        }
        let engine = fault.engine(&base);
        let mut planted = match fault {
            // The clean engine's backend (its device, its caches) is lent to the fault.
            Mutant::Planted(_) => Instance::lent(
                engine,
                std::mem::replace(&mut instance.backend, Err("lent to a planted fault".into())),
                instance.timeout(),
            ),
            // The engine is started afresh with its switch on.
            Mutant::EngineSwitch(_) => {
                let mut started = Instance::new(engine);
                if let Some(timeout) = instance.timeout() {
                    started.set_timeout(timeout);
                }
                started
            }
        };
        let fault_start = Instant::now();
        let mut kills = Vec::new();
        // A switched engine that does not start is not killed by any check: it survives,
        // with the reason (below), rather than counting every check's start failure.
        let started = planted.backend.as_ref().err().cloned();
        for c in checks.iter().filter(|_| started.is_none()) {
            if let Err(failure) = c.run(&mut planted, &mixed) {
                kills.push(Kill {
                    check: c.name(),
                    mode: c.mode().name(),
                    failure,
                    after_s: fault_start.elapsed().as_secs_f64(),
                });
            }
        }
        let (layer, about, applied_runs) = match fault {
            Mutant::Planted(f) => {
                instance.backend = std::mem::replace(&mut planted.backend, Err("returned".into()));
                (f.layer.name(), f.about.to_string(), Some(planted.planted_applied.get()))
            }
            Mutant::EngineSwitch(name) => match started {
                Some(why) => ("engine", format!("the engine did not start with switch `{name}`: {why}"), None),
                None => ("engine", format!("the engine's own fault switch `{name}`"), None),
            },
        };
        let result = FaultResult {
            fault: fault.name().to_string(),
            layer,
            about,
            kills,
            applied_runs,
            seconds: fault_start.elapsed().as_secs_f64(),
        };
        on_fault(&result);
        results.push(result);
    }
    MutantsReport {
        engine: engine_name,
        vectors: corpus.len(),
        checks: checks.len(),
        excluded,
        declined,
        faults: results,
        seconds: start.elapsed().as_secs_f64(),
    }
}
