//! What a litmus run found: each test's outcome counts and verdict, the run's failures
//! and its mutation score, as a table and as JSON.

use crate::litmus::catalogue::{Kind, LitmusTest, Observation, Placement};
use crate::litmus::params::Stress;
use crate::litmus::program::Shape;
use crate::litmus::run::LitmusOptions;
use serde::Serialize;
use std::collections::BTreeMap;

/// A test's verdict against the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A forbidden outcome was not seen.
    Pass,
    /// A forbidden outcome, or a value no access wrote, was seen: the engine breaks a
    /// rule the protocol relies on.
    Fail,
    /// An allowed weak outcome was seen (its rate is reported).
    WeakSeen,
    /// An allowed weak outcome was not seen in this run.
    WeakNotSeen,
    /// A mutant's outcome was seen: the stress can make roles overlap.
    Killed,
    /// A mutant's outcome was not seen.
    Survived,
}

impl Verdict {
    /// Its word in the table.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::WeakSeen => "weak seen",
            Verdict::WeakNotSeen => "not seen",
            Verdict::Killed => "killed",
            Verdict::Survived => "survived",
        }
    }
}

/// One outcome and how many instances saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeCount {
    /// The outcome (`r0=1 r1=0`).
    pub outcome: String,
    /// Instances that saw it.
    pub count: u64,
    /// Whether it is the test's watched outcome.
    pub watched: bool,
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestReport {
    /// Test name.
    pub test: String,
    /// `forbidden`, `allowed` or `mutant`.
    pub kind: String,
    /// The test in litmus notation.
    pub about: String,
    /// Where its roles ran.
    pub placement: Placement,
    /// The outcome it watches for.
    pub watched_outcome: String,
    /// The spec rule: the one a forbidden outcome breaks, or the one that guards the
    /// protocol against an allowed one; for a mutant, the test it was made from and how.
    pub rule: String,
    /// Dispatches.
    pub iterations: u32,
    /// Instances over all dispatches.
    pub instances: u64,
    /// Instances that saw the watched outcome.
    pub watched: u64,
    /// `watched / instances`.
    pub rate: f64,
    /// Instances that read a value no access wrote (the first such outcome in `outcomes`).
    pub corrupt: u64,
    /// Every outcome seen, most frequent first.
    pub outcomes: Vec<OutcomeCount>,
    /// The verdict.
    pub verdict: Verdict,
}

impl TestReport {
    /// The report of `test` from its outcome counts.
    pub fn new(test: &LitmusTest, options: &LitmusOptions, counts: &BTreeMap<Observation, u64>) -> TestReport {
        let instances: u64 = counts.values().sum();
        let watched: u64 = counts.iter().filter(|(o, _)| (test.watched)(o)).map(|(_, n)| n).sum();
        let corrupt: u64 = counts.iter().filter(|(o, _)| test.corrupt(o).is_some()).map(|(_, n)| n).sum();
        let mut outcomes: Vec<OutcomeCount> = counts
            .iter()
            .map(|(o, &count)| {
                let mut outcome = test.describe(o);
                if let Some((what, value)) = test.corrupt(o) {
                    outcome.push_str(&format!(" (corrupt: no access writes {value} to {what})"));
                }
                OutcomeCount { outcome, count, watched: (test.watched)(o) }
            })
            .collect();
        outcomes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.outcome.cmp(&b.outcome)));
        let (rule, verdict) = match test.kind {
            Kind::Forbidden { rule } => (rule.to_string(), if watched > 0 { Verdict::Fail } else { Verdict::Pass }),
            Kind::Allowed { guarded_by } => {
                (guarded_by.to_string(), if watched > 0 { Verdict::WeakSeen } else { Verdict::WeakNotSeen })
            }
            Kind::Mutant { of, mutator } => (
                format!("mutant of {of} ({})", mutator.name()),
                if watched > 0 { Verdict::Killed } else { Verdict::Survived },
            ),
        };
        TestReport {
            test: test.name.into(),
            kind: test.kind_name().into(),
            about: test.about.into(),
            placement: test.placement,
            watched_outcome: test.watched_text.into(),
            rule,
            iterations: options.iterations,
            instances,
            watched,
            rate: if instances == 0 { 0.0 } else { watched as f64 / instances as f64 },
            corrupt,
            outcomes,
            verdict: if corrupt > 0 { Verdict::Fail } else { verdict },
        }
    }
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LitmusReport {
    /// The engine (`gpu:NVIDIA H200`).
    pub engine: String,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// Testing workgroups.
    pub testing_workgroups: u32,
    /// Stressing workgroups.
    pub stress_workgroups: u32,
    /// The stress bounds.
    pub stress: Stress,
    /// The seed.
    pub seed: u64,
    /// Each test run.
    pub tests: Vec<TestReport>,
    /// Mutants killed.
    pub mutants_killed: usize,
    /// Mutants run.
    pub mutants: usize,
}

impl LitmusReport {
    /// The report of `tests` on `engine`.
    pub fn new(engine: String, options: &LitmusOptions, tests: Vec<TestReport>) -> LitmusReport {
        let Shape { workgroup_size, testing_workgroups, stress_workgroups } = options.shape;
        let mutants = tests.iter().filter(|t| matches!(t.verdict, Verdict::Killed | Verdict::Survived)).count();
        let mutants_killed = tests.iter().filter(|t| t.verdict == Verdict::Killed).count();
        LitmusReport {
            engine,
            workgroup_size,
            testing_workgroups,
            stress_workgroups,
            stress: options.stress,
            seed: options.seed,
            tests,
            mutants_killed,
            mutants,
        }
    }

    /// The tests that failed.
    pub fn failures(&self) -> impl Iterator<Item = &TestReport> {
        self.tests.iter().filter(|t| t.verdict == Verdict::Fail)
    }

    /// The table, the failures with their rules, the weak outcomes with their guards, and
    /// the mutation score.
    pub fn render(&self) -> String {
        let mut out = format!(
            "litmus on {}: {} lanes x {} testing + {} stressing workgroups, seed {}\n\n",
            self.engine, self.workgroup_size, self.testing_workgroups, self.stress_workgroups, self.seed
        );
        out.push_str(&format!(
            "{:<24} {:<9} {:>10} {:>12} {:>12} {:>10}  {}\n",
            "test", "kind", "iterations", "instances", "watched", "rate", "verdict"
        ));
        for t in &self.tests {
            out.push_str(&format!(
                "{:<24} {:<9} {:>10} {:>12} {:>12} {:>10.3e}  {}\n",
                t.test,
                t.kind,
                t.iterations,
                t.instances,
                t.watched,
                t.rate,
                t.verdict.word()
            ));
        }
        for t in &self.tests {
            match t.verdict {
                Verdict::Fail if t.corrupt > 0 => out.push_str(&format!(
                    "\nFAIL {}: {} instances read a value no access wrote ({})\n",
                    t.test,
                    t.corrupt,
                    t.outcomes.iter().find(|o| o.outcome.contains("corrupt")).map_or("", |o| o.outcome.as_str())
                )),
                Verdict::Fail => out.push_str(&format!(
                    "\nFAIL {}: {} of {} instances saw the forbidden outcome {} ({})\n  rule: {}\n",
                    t.test, t.watched, t.instances, t.watched_outcome, t.about, t.rule
                )),
                Verdict::WeakSeen => out.push_str(&format!(
                    "\nweak {}: {} ({}) in {} of {} instances ({:.3e}); allowed, and guarded by {}\n",
                    t.test, t.watched_outcome, t.about, t.watched, t.instances, t.rate, t.rule
                )),
                _ => {}
            }
        }
        for t in self.tests.iter().filter(|t| t.verdict == Verdict::Survived) {
            out.push_str(&format!(
                "\nsurvived {} ({}): {} never seen, so this run's stress did not show it can make those roles \
                 overlap\n",
                t.test, t.rule, t.watched_outcome
            ));
        }
        if self.mutants > 0 {
            out.push_str(&format!(
                "\nmutation score: {}/{} mutants killed ({:.0}%)\n",
                self.mutants_killed,
                self.mutants,
                100.0 * self.mutants_killed as f64 / self.mutants as f64
            ));
        }
        let failed = self.failures().count();
        out.push_str(&if failed == 0 {
            "no forbidden outcome seen\n".to_string()
        } else {
            format!("{failed} test(s) saw a forbidden outcome\n")
        });
        out
    }
}
