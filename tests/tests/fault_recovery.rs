//! Faults survived: a lost device or a timeout in the middle of a long workload is
//! recovered (the backend recovers, the ring runs the failed epoch again from its own copy
//! of the buffers), and the result equals the fault-free run: every schedule-independent
//! word, the IO completions (each request completed once), and the trust verdict. A fault
//! that keeps coming back is an error, never a result. On the simulator in every mode,
//! and on the GPU (lavapipe in CI), where recovering opens a new device.

use megaloop::builder::Mode;
use megaloop::host::ring::MAX_RECOVERIES;
use megaloop::host::runner::{run_workload, RunConfig, WorkloadRun};
use megaloop::host::workload::Workload;
use megaloop::host::Backend;
use megaloop_conformance::diff::compare;
use megaloop_conformance::fault::{FaultInjector, InjectedFault};
use megaloop_conformance::snapshot::Snapshot;
use megaloop_gpu::GpuBackend;
use megaloop_sim::{Schedule, SimBackend};

/// The IO completions as a sorted list of (slot, ok, value): what was completed, once each.
fn completions(run: &WorkloadRun) -> Vec<(u32, bool, u32)> {
    let mut c: Vec<_> = run.io.iter().map(|c| (c.slot, c.is_ok(), c.bytes().or(c.error_code()).unwrap_or(0))).collect();
    c.sort_unstable();
    c
}

/// Run `workload` in `mode` fault-free and with `faults` injected; assert the results agree.
fn survives(make: &dyn Fn() -> Box<dyn Backend>, workload: &Workload, mode: Mode, faults: &[(u32, InjectedFault)]) {
    let config = RunConfig::new(mode);
    let clean = run_workload(workload, make().as_mut(), &config).unwrap();
    assert!(clean.epochs.len() >= 2, "{mode:?}: the workload must run several epochs, ran {}", clean.epochs.len());
    clean.trust().unwrap();
    // And a late epoch too, when the faults above are all in earlier epochs (they fail
    // epochs 0 and 1): run numbers count the failed runs before it. How many epochs a
    // parallel schedule takes varies, so that one is injected only if the run gets there.
    let late = (clean.epochs.len() - 1 + faults.len()) as u32;
    let late_too = (clean.epochs.len() > 2).then_some((late, InjectedFault::LostDevice));
    let mut faulty = FaultInjector::new(make(), faults.iter().copied().chain(late_too));
    let run = run_workload(workload, &mut faulty, &config).unwrap();
    let name = faulty.name();
    assert!(faulty.injected as usize >= faults.len(), "{name} {mode:?}: every early fault was injected");
    let recovered: u32 = run.epochs.iter().map(|e| e.recoveries).sum();
    assert_eq!(recovered, faulty.injected, "{name} {mode:?}: every fault recovered");
    run.trust().unwrap();
    let mismatches = compare(&Snapshot::of(&clean.ring).unwrap(), &Snapshot::of(&run.ring).unwrap());
    assert!(mismatches.is_empty(), "{name} {mode:?}: the recovered run differs: {mismatches:?}");
    assert_eq!(completions(&clean), completions(&run), "{name} {mode:?}: IO completed once each");
    assert!(!run.io.is_empty(), "the workload must do IO");
    println!(
        "{name} {mode:?}: {} faults injected and recovered over {} epochs, result equal",
        faulty.injected,
        run.epochs.len()
    );
}

const FAULTS: [(u32, InjectedFault); 3] =
    [(0, InjectedFault::LostDevice), (2, InjectedFault::Timeout), (3, InjectedFault::LostDevice)];

#[test]
fn the_simulator_survives_lost_devices_and_timeouts_in_every_mode() {
    // `mixed` ends an epoch at every SHUTDOWN slot, so 300 slots take many epochs, with
    // LOAD_MISS slots served by the IO service while lanes run.
    let workload = Workload::mixed(300);
    for mode in Mode::ALL {
        survives(&|| Box::new(SimBackend::new(Schedule::Parallel)), &workload, mode, &FAULTS);
        survives(&|| Box::new(SimBackend::new(Schedule::Deterministic { seed: 3 })), &workload, mode, &FAULTS[..1]);
    }
}

#[test]
fn a_fault_that_keeps_coming_back_is_an_error_not_a_result() {
    let workload = Workload::mixed(100);
    let faults = (0..=MAX_RECOVERIES).map(|k| (k, InjectedFault::LostDevice));
    let mut faulty = FaultInjector::new(Box::new(SimBackend::new(Schedule::Parallel)), faults);
    let e = run_workload(&workload, &mut faulty, &RunConfig::new(Mode::Persistent)).err().expect("an error");
    assert!(e.to_string().contains("injected: the device was lost in run 2"), "{e}");
}

/// One slot whose handler loops 2^32 times (nested, as a user might by mistake).
fn endless() -> Workload {
    use megaloop::builder::names::buffers::HEAP;
    use megaloop::builder::UserHandler;
    use megaloop::host::workload::{OpcodeSpec, SlotSpec};
    use megaloop::ir::build::stmt::{atomic_add, for_};
    use megaloop::ir::Expr;
    let inner = for_("j", Expr::u32(0), Expr::u32(1 << 16), vec![atomic_add(HEAP, Expr::u32(0), Expr::u32(1))]);
    let body = vec![for_("i", Expr::u32(0), Expr::u32(1 << 16), vec![inner])];
    let mut w = Workload::trivial(1);
    w.handlers = vec![UserHandler { name: "endless".into(), opcode: 0x7000, body, io: None }];
    w.slots = vec![SlotSpec { opcode: OpcodeSpec::Number(0x7000), tenant: 0, priority: 2, args: vec![] }];
    w
}

#[test]
fn a_simulator_run_past_its_timeout_is_stopped_and_not_retried() {
    // The simulator is deterministic about running too long: its own timeout is reported,
    // within about the watchdog's tick, and the host's buffers are left as they were.
    for schedule in [Schedule::Parallel, Schedule::Deterministic { seed: 1 }] {
        for mode in Mode::ALL {
            let mut sim = SimBackend::new(schedule);
            sim.set_timeout(std::time::Duration::from_millis(200));
            let start = std::time::Instant::now();
            let e = run_workload(&endless(), &mut sim, &RunConfig::new(mode)).err().expect("a timeout");
            assert!(e.to_string().contains("did not finish within 200ms"), "{schedule:?} {mode:?}: {e}");
            assert!(start.elapsed() < std::time::Duration::from_secs(20), "{schedule:?} {mode:?}: stopped late");
        }
    }
}

#[test]
fn the_gpu_survives_lost_devices_by_opening_a_new_one() {
    if let Err(e) = GpuBackend::new(None) {
        println!("SKIPPED: no GPU adapter at all ({e})");
        return;
    }
    let workload = Workload::mixed(300);
    for mode in [Mode::Once, Mode::Persistent] {
        survives(&|| Box::new(GpuBackend::new(None).unwrap()), &workload, mode, &FAULTS[..2]);
    }
}
