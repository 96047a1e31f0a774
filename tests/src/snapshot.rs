//! The schedule-independent part of a run's final state (specs/protocol.md 2.10): what
//! every correct backend and schedule must agree on bit for bit. Schedule-dependent words
//! (starvation counter, record order, cursors, per-epoch settle counts) are left out or
//! normalised (debug records are kept as a sorted multiset).

use megaloop::host::ring::{HostError, Ring};
use megaloop::protocol::ring::Slot;
use serde::Serialize;

/// Schedule-independent state after a full drain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Every slot (status, opcode, tenant, priority, arguments).
    pub slots: Vec<Slot>,
    /// Control DONE_COUNT.
    pub done_count: u32,
    /// Control FAULT_COUNT.
    pub fault_count: u32,
    /// Control SHUTDOWN (the host clears it after each epoch).
    pub shutdown: u32,
    /// Claims per tenant.
    pub tenant_fairness: Vec<u32>,
    /// Claims per priority.
    pub priority_claims: [u32; 5],
    /// Executions per opcode bucket.
    pub metrics: Vec<u32>,
    /// Control EPOCH.
    pub epoch: u32,
    /// Debug records, sorted.
    pub debug_records: Vec<[u32; 4]>,
    /// Debug records dropped.
    pub debug_dropped: u32,
    /// Observables.
    pub observables: Vec<u32>,
    /// The heap.
    pub heap: Vec<u32>,
}

impl Snapshot {
    /// Take the snapshot of a drained ring.
    pub fn of(ring: &Ring) -> Result<Snapshot, HostError> {
        let c = ring.control()?;
        let log = ring.debug_log()?;
        let mut debug_records = log.records;
        debug_records.sort_unstable();
        Ok(Snapshot {
            slots: ring.slots()?,
            done_count: c.done_count,
            fault_count: c.fault_count,
            shutdown: c.shutdown,
            tenant_fairness: c.tenant_fairness,
            priority_claims: c.priority_claims,
            metrics: c.metrics,
            epoch: c.epoch,
            debug_records,
            debug_dropped: log.dropped,
            observables: c.observables,
            heap: ring.heap().to_vec(),
        })
    }
}
