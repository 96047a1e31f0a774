//! Running one litmus test on a backend: draw each iteration's stress, dispatch, and
//! count what every instance saw.

use crate::geometry::Geometry;
use crate::host::{Backend, BackendError, Outcome};
use crate::ir::validate;
use crate::litmus::catalogue::{LitmusTest, Observation, Placement};
use crate::litmus::params::{draw, Stress};
use crate::litmus::program::{build, Shape, MAX_INSTANCES, REGISTERS};
use crate::litmus::report::TestReport;
use std::collections::BTreeMap;

/// How a litmus run is sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LitmusOptions {
    /// The program's size.
    pub shape: Shape,
    /// How hard iterations stress.
    pub stress: Stress,
    /// Dispatches per test.
    pub iterations: u32,
    /// Seed of every iteration's draw.
    pub seed: u64,
}

impl LitmusOptions {
    /// `megaloop litmus`'s defaults on a GPU: 256-lane workgroups, 32 testing and 32
    /// stressing workgroups (8,192 instances a dispatch), 100 dispatches a test.
    pub const GPU: LitmusOptions = LitmusOptions {
        shape: Shape { workgroup_size: 256, testing_workgroups: 32, stress_workgroups: 32 },
        stress: Stress::DEFAULT,
        iterations: 100,
        seed: 0,
    };

    /// Check the options for `test`: what is wrong, naming the option.
    pub fn check(&self, test: &LitmusTest) -> Result<(), LitmusError> {
        let s = &self.shape;
        let bad = |what: String| Err(LitmusError::Options(what));
        let max_size = crate::ir::validate::MAX_WORKGROUP_SIZE;
        if !s.workgroup_size.is_power_of_two() || s.workgroup_size > max_size {
            return bad(format!("--workgroup-size {}: a power of two from 1 to {max_size}", s.workgroup_size));
        }
        let roles = test.roles() as u32;
        match test.placement {
            Placement::AcrossWorkgroups if s.testing_workgroups < roles.max(2) => {
                return bad(format!(
                "--testing-workgroups {}: `{}` puts its {roles} roles in different workgroups, so it needs at least {}",
                s.testing_workgroups,
                test.name,
                roles.max(2)
            ))
            }
            Placement::OneWorkgroup if s.workgroup_size < roles => {
                return bad(format!(
                    "--workgroup-size {}: `{}` puts its {roles} roles on different lanes of one workgroup",
                    s.workgroup_size, test.name
                ))
            }
            _ => {}
        }
        if s.testing_workgroups == 0
            || u64::from(s.workgroup_size) * u64::from(s.testing_workgroups) > u64::from(MAX_INSTANCES)
        {
            return bad(format!(
                "--testing-workgroups {}: 1 and at most {MAX_INSTANCES} lanes in testing workgroups",
                s.testing_workgroups
            ));
        }
        if s.workgroups() > crate::geometry::MAX_WORKGROUPS {
            return bad(format!(
                "--testing-workgroups {} and --stress-workgroups {}: a dispatch has at most {} workgroups",
                s.testing_workgroups,
                s.stress_workgroups,
                crate::geometry::MAX_WORKGROUPS
            ));
        }
        let st = &self.stress;
        let max = Stress::MAX_ITERATIONS;
        if st.stress_iterations > max || st.pre_stress_iterations > max || st.spin > max {
            return bad(format!(
                "--stress-iterations {}: at most {max}",
                st.stress_iterations.max(st.pre_stress_iterations)
            ));
        }
        if self.iterations == 0 {
            return bad("--iterations 0: at least 1".into());
        }
        Ok(())
    }
}

/// Why a litmus test gave no result.
#[derive(Debug, thiserror::Error)]
pub enum LitmusError {
    /// The options cannot run the test.
    #[error("{0}")]
    Options(String),
    /// The backend failed.
    #[error("litmus `{test}`, iteration {iteration}: {source}")]
    Backend {
        /// Test name.
        test: String,
        /// Iteration (from 0).
        iteration: u32,
        /// The failure.
        source: BackendError,
    },
    /// A dispatch's lanes did not all finish (a driver cut a loop off): its outcomes are
    /// not counted, and the test has no result.
    #[error("litmus `{test}`, iteration {iteration}: the lanes did not all finish ({outcome}); nothing is reported")]
    Untrusted {
        /// Test name.
        test: String,
        /// Iteration.
        iteration: u32,
        /// What happened.
        outcome: String,
    },
    /// The test's program did not validate (a megaloop bug: every test is built and run
    /// by the test suite).
    #[error("litmus `{test}`: its program does not validate (a megaloop bug):\n{errors}")]
    Program {
        /// Test name.
        test: String,
        /// The validator's report.
        errors: String,
    },
    /// The run was interrupted.
    #[error("interrupted")]
    Interrupted,
}

/// Run `test` for `options.iterations` dispatches on `backend`; `progress` is told after
/// each one.
pub fn run_test(
    backend: &mut dyn Backend,
    test: &LitmusTest,
    options: &LitmusOptions,
    progress: &mut dyn FnMut(u32),
) -> Result<TestReport, LitmusError> {
    options.check(test)?;
    let shape = options.shape;
    let program = validate(&build(test, &shape))
        .map_err(|e| LitmusError::Program { test: test.name.into(), errors: e.to_string() })?;
    let geometry = Geometry { workgroup_size: shape.workgroup_size, workgroups: shape.workgroups(), slots: 0 };
    // Each test draws from its own stream of the seed, so `--test` picks do not change it.
    let mut rng = fastrand::Rng::with_seed(options.seed ^ name_hash(test.name));
    let mut counts: BTreeMap<Observation, u64> = BTreeMap::new();
    for iteration in 0..options.iterations {
        if crate::host::interrupt::requested() {
            return Err(LitmusError::Interrupted);
        }
        let (params, shuffle) = draw(&mut rng, test, &shape, &options.stress);
        let mut memory = vec![0u32; shape.memory_words() as usize];
        for loc in test.locs() {
            let initial = test.initial[loc.index()];
            if initial != 0 {
                for i in 0..shape.instances() {
                    memory[params.address(&shape, loc, i) as usize] = initial;
                }
            }
        }
        let mut buffers = vec![
            params.words.clone(),
            shuffle,
            memory,
            vec![0u32; (shape.instances() * REGISTERS) as usize],
            vec![0u32; 1],
        ];
        let report = backend.run(&program, geometry, &mut buffers, None).map_err(|source| LitmusError::Backend {
            test: test.name.into(),
            iteration,
            source,
        })?;
        if report.outcome != Outcome::Completed {
            return Err(LitmusError::Untrusted {
                test: test.name.into(),
                iteration,
                outcome: format!("{:?}", report.outcome),
            });
        }
        let results = &buffers[3];
        for i in 0..shape.instances() {
            let at = (i * REGISTERS) as usize;
            let mut seen = Observation::default();
            seen.registers.copy_from_slice(&results[at..at + REGISTERS as usize]);
            if test.watches_finals {
                for loc in test.locs() {
                    seen.finals[loc.index()] = buffers[2][params.address(&shape, loc, i) as usize];
                }
            }
            *counts.entry(seen).or_default() += 1;
        }
        progress(iteration + 1);
    }
    Ok(TestReport::new(test, options, &counts))
}

/// FNV-1a of a test's name.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
