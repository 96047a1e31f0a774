//! The differential comparison reports each differing word by its protocol meaning.

use megaloop::builder::Mode;
use megaloop::host::runner::{run_workload, RunConfig};
use megaloop::host::workload::Workload;
use megaloop::protocol::Status;
use megaloop_conformance::diff::{compare, Mismatch};
use megaloop_conformance::snapshot::Snapshot;
use megaloop_sim::{Schedule, SimBackend};

#[test]
fn differences_are_named_by_protocol_meaning() {
    let run = run_workload(&Workload::mixed(40), &mut SimBackend::new(Schedule::Parallel), &RunConfig::new(Mode::Once))
        .unwrap();
    let a = Snapshot::of(&run.ring).unwrap();
    assert!(compare(&a, &a).is_empty());
    let mut b = a.clone();
    b.slots[17].status = Status::Claimed;
    b.done_count -= 1;
    b.heap[5] ^= 1;
    b.debug_records.pop();
    let m = compare(&a, &b);
    let words: Vec<&str> = m.iter().map(|m: &Mismatch| m.word.as_str()).collect();
    assert_eq!(words, ["ring slot 17 STATUS", "control DONE_COUNT", "heap[5]", "debug log records (as a multiset)"]);
    assert_eq!((m[0].expected.as_str(), m[0].got.as_str()), (a.slots[17].status.name(), "CLAIMED"));
}
