//! Whether a run's result may be trusted: the one place that decides it. Every command
//! that prints a result (`run`, `diff`, `conformance`, `bench`, `stream-checksum`) asks
//! here, and prints no result from a run this module doubts.
//!
//! A run is trusted when no driver cut a lane off in any epoch (a cut-off lane may have
//! stopped inside a handler, so its slot's effects are partial) and, where the caller
//! expects a drain, nothing runnable is left and no slot still waits for IO. Lanes that ran out of *fuel* do not make a
//! run untrusted: fuel is tested only between slots (a lane never stops with a slot
//! CLAIMED), so the work simply continues in the next epoch; a drain that fuel kept from
//! finishing is caught as slots left runnable.

use crate::host::ring::{EpochReport, Ring};
use crate::host::Outcome;
use std::fmt;

/// One reason a run's result cannot be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Doubt {
    /// A driver cut lanes off (lavapipe's loop-iteration limit).
    CutOff {
        /// Epochs with a lane cut off.
        epochs: usize,
        /// Lanes cut off, over all those epochs.
        lanes: u64,
    },
    /// The drain stopped with runnable slots left.
    NotDrained {
        /// PUBLISHED slots of authorised tenants left.
        runnable: u32,
        /// Epochs that ran.
        epochs: usize,
        /// Whether it stopped because an epoch changed nothing (else `max_epochs` ran).
        stalled: bool,
    },
    /// Slots still parked WAIT_IO after the drain: their IO never completed.
    IoUnfinished {
        /// Slots left WAIT_IO.
        slots: u32,
    },
    /// The ring's buffers no longer decode.
    Undecodable(String),
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::CutOff { epochs, lanes } => write!(
                f,
                "{lanes} lane(s) were cut off by the driver in {epochs} epoch(s), so a handler may have stopped \
                 half way"
            ),
            Doubt::NotDrained { runnable, epochs, stalled: true } => write!(
                f,
                "{runnable} runnable slot(s) were left after {epochs} epoch(s): the last epoch claimed no slot, \
                 served no IO and re-published nothing, so no further epoch could drain them"
            ),
            Doubt::NotDrained { runnable, epochs, stalled: false } => write!(
                f,
                "{runnable} runnable slot(s) were left after {epochs} epoch(s), the most allowed (raise \
                 --max-epochs if the workload can drain)"
            ),
            Doubt::IoUnfinished { slots } => {
                write!(f, "{slots} slot(s) were left waiting for IO (WAIT_IO): their requests never completed")
            }
            Doubt::Undecodable(e) => write!(f, "the ring does not decode: {e}"),
        }
    }
}

/// Why a run's result is not reported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the run cannot be trusted: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Untrusted(pub Vec<Doubt>);

/// Lanes a driver cut off in `epochs`, and in how many epochs (`None` when none was).
pub fn cut_off(epochs: &[EpochReport]) -> Option<Doubt> {
    let mut doubt = (0usize, 0u64);
    for e in epochs {
        let lanes = match &e.outcome {
            Outcome::CutOff { .. } => e.outcome.lanes_left_early().max(u64::from(e.loop_cutoff)),
            Outcome::Completed | Outcome::FuelExhausted { .. } => u64::from(e.loop_cutoff),
        };
        if lanes > 0 {
            doubt = (doubt.0 + 1, doubt.1 + lanes);
        }
    }
    (doubt.0 > 0).then_some(Doubt::CutOff { epochs: doubt.0, lanes: doubt.1 })
}

/// Every doubt about a drain of `ring` that ran `epochs`: cut-off lanes, runnable slots
/// left, slots left waiting for IO.
pub fn drain_doubts(ring: &Ring, epochs: &[EpochReport]) -> Vec<Doubt> {
    let mut doubts: Vec<Doubt> = cut_off(epochs).into_iter().collect();
    match ring.status_counts() {
        Ok(counts) if counts[crate::protocol::Status::WaitIo.word() as usize] > 0 => {
            doubts.push(Doubt::IoUnfinished { slots: counts[crate::protocol::Status::WaitIo.word() as usize] })
        }
        Ok(_) => {}
        Err(e) => doubts.push(Doubt::Undecodable(e.to_string())),
    }
    match ring.runnable() {
        Ok(0) => {}
        Ok(runnable) => doubts.push(Doubt::NotDrained {
            runnable,
            epochs: epochs.len(),
            stalled: epochs.last().is_some_and(|e| e.stalled),
        }),
        Err(e) => doubts.push(Doubt::Undecodable(e.to_string())),
    }
    doubts
}

/// `Ok` when a drain of `ring` over `epochs` may be trusted.
pub fn trust_drain(ring: &Ring, epochs: &[EpochReport]) -> Result<(), Untrusted> {
    let doubts = drain_doubts(ring, epochs);
    if doubts.is_empty() {
        Ok(())
    } else {
        Err(Untrusted(doubts))
    }
}
