//! A run whose lanes a driver cut off is run again from the start with a quarter of the
//! fuel per dispatch, at most `CUTOFF_RETRIES` times, only in the persistent modes; the
//! run kept says how many re-runs it took. The cut-off is planted into real simulator
//! runs (the simulator has no loop limit), so the retry logic is checked on every
//! machine; `gpu_behaviour` checks lavapipe's real limit.

use megaloop::builder::Mode;
use megaloop::host::runner::{run_workload, with_cutoff_retries, RunConfig, CUTOFF_RETRIES};
use megaloop::host::workload::Workload;
use megaloop::host::{ExhaustedLane, Outcome};
use megaloop_sim::{Schedule, SimBackend};

/// Run `mode` through `with_cutoff_retries`, planting a cut-off into every attempt whose
/// fuel-cap divisor is below `cut_below`; the divisors the attempts saw, and the run.
fn attempts(mode: Mode, cut_below: u32) -> (Vec<u32>, megaloop::host::runner::WorkloadRun) {
    let workload = Workload::mixed(40);
    let mut sim = SimBackend::new(Schedule::Parallel);
    let mut seen = Vec::new();
    let run = with_cutoff_retries(&RunConfig::new(mode), |config| {
        seen.push(config.fuel_cap_divisor);
        let mut run = run_workload(&workload, &mut sim, config)?;
        if config.fuel_cap_divisor < cut_below {
            let lanes = vec![ExhaustedLane { lane: 0, loop_path: "body[2]".into() }];
            run.epochs[0].outcome = Outcome::CutOff { lanes, unrecorded: 0 };
        }
        Ok::<_, megaloop::host::runner::RunError>(run)
    })
    .unwrap();
    (seen, run)
}

#[test]
fn a_cut_off_run_is_run_again_with_less_fuel_per_dispatch() {
    let (seen, run) = attempts(Mode::Priority, 16);
    assert_eq!(seen, vec![1, 4, 16]);
    assert_eq!(run.cutoff_retries, 2);
    assert!(megaloop::host::trust::cut_off(&run.epochs).is_none());
    assert_eq!(run.ring.runnable().unwrap(), 0);
}

#[test]
fn retries_are_bounded_and_the_last_run_still_says_it_was_cut_off() {
    let (seen, run) = attempts(Mode::Persistent, u32::MAX);
    assert_eq!(seen.len() as u32, 1 + CUTOFF_RETRIES);
    assert_eq!(run.cutoff_retries, CUTOFF_RETRIES);
    assert!(megaloop::host::trust::cut_off(&run.epochs).is_some(), "the run kept is the last, still cut off");
}

#[test]
fn once_mode_is_not_retried_fuel_does_not_bound_it() {
    let (seen, run) = attempts(Mode::Once, u32::MAX);
    assert_eq!(seen, vec![1]);
    assert!(megaloop::host::trust::cut_off(&run.epochs).is_some());
}

#[test]
fn an_untouched_run_is_not_retried() {
    let (seen, run) = attempts(Mode::Priority, 0);
    assert_eq!(seen, vec![1]);
    assert_eq!(run.cutoff_retries, 0);
}
