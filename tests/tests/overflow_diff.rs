//! Spec 2.10 holds past the bounded resources: once more slots request IO than the IO
//! queue holds (they YIELD and come back) and more records are printed than the debug log
//! holds (which are kept depends on the schedule), identical engines still agree on every
//! compared word in every mode. Before the claim counters took back queue-full claims and
//! the debug log was compared by count once it overflowed, `diff --slots 2000 --engine sim
//! --engine sim --engine sim` reported disagreements between identical engines.

use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop::protocol::layout::{DEBUG_RECORDS, IO_ENTRIES};
use megaloop_conformance::diff::diff;
use megaloop_conformance::engine::{Engine, Instance};
use megaloop_conformance::snapshot::Snapshot;

#[test]
fn identical_engines_agree_when_the_io_queue_and_the_debug_log_overflow() {
    // `mixed` has one LOAD_MISS and one PRINTF slot in 12, half of them authorised.
    let slots = 32 * IO_ENTRIES.max(DEBUG_RECORDS);
    let mut workload = Workload::mixed(slots);
    // `mixed` sizes its queue to its requests; vyre's 64 entries overflow.
    workload.io_entries = Some(IO_ENTRIES);
    let engines = [Engine::SimParallel, Engine::SimParallel, Engine::SimParallel, Engine::SimDet { seed: 0 }];
    let mut instances: Vec<Instance> = engines.into_iter().map(Instance::new).collect();
    let report = diff(&workload, &Mode::ALL, &mut instances, |mode| {
        let mut c = RunConfig::new(mode);
        c.max_workgroups = 4;
        c
    });
    assert!(report.agrees(), "{}", report.render(20));
    // The case really overflows both.
    let run =
        megaloop_conformance::diff::run_on(&mut instances[0], &workload, &RunConfig::new(Mode::Persistent)).unwrap();
    let snapshot: Snapshot = run.1;
    assert!(
        snapshot.debug_dropped > 0,
        "the debug log must overflow: {} records, {} dropped",
        snapshot.debug_records.len(),
        snapshot.debug_dropped
    );
    let yielded_and_returned = run.0.epochs.len() > 1 && run.0.io.len() > IO_ENTRIES as usize;
    assert!(yielded_and_returned, "more IO requests than the queue holds: {} completions", run.0.io.len());
}
