//! The parallel schedule: real threads, real relaxed atomics.
//!
//! Each workgroup is one warp. A program without persistent loops (no lane ever waits
//! for another) runs its workgroups over the rayon pool. A program with persistent loops
//! gets one OS thread per workgroup, so the operating system's preemption guarantees that
//! every workgroup makes progress however few cores there are. Like co-resident
//! workgroups on a GPU, they also advance together: a workgroup may run at most
//! [`ROUND_SLACK`] persistent-loop rounds ahead of the slowest live one, and waits (without
//! spending fuel) when it gets further ahead, so a thread the OS has descheduled cannot
//! make the others burn their fuel. A host service, when given, is polled on its own
//! thread while the lanes run.

use crate::code::Code;
use crate::exec::{Hooks, Warp, WarpPlace};
use crate::memory::Memory;
use crate::sync::{AtomicBool, AtomicU64, Backoff, Ordering};
use crate::SimError;
use crossbeam_utils::CachePadded;
use megaloop::geometry::Geometry;
use megaloop::host::{ExhaustedLane, HostService};
use rayon::prelude::*;
use std::sync::Mutex;

/// Most OS threads a persistent program may ask for (one per workgroup).
pub const MAX_PERSISTENT_WORKGROUPS: u32 = 1024;

struct Free;
impl Hooks for Free {}

/// Most persistent-loop rounds a workgroup may run ahead of the slowest live one.
pub const ROUND_SLACK: u64 = 8;

/// Rounds run by each workgroup (`u64::MAX` once it finished), each on its own cache
/// line (every round writes one and reads all).
struct RoundGate {
    rounds: Vec<CachePadded<AtomicU64>>,
    /// Most rounds a workgroup may run ahead of the slowest live one.
    slack: u64,
}

impl RoundGate {
    fn new(workgroups: u32, slack: u64) -> RoundGate {
        RoundGate { rounds: (0..workgroups).map(|_| CachePadded::new(AtomicU64::new(0))).collect(), slack }
    }
}

/// Marks a workgroup finished when dropped, even if its thread panics, so the others
/// never wait for it.
struct Finished<'a>(&'a RoundGate, u32);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.rounds[self.1 as usize].store(u64::MAX, Ordering::Release);
    }
}

impl Hooks for RoundGate {
    fn round(&self, warp: u32) {
        let mine = self.rounds[warp as usize].fetch_add(1, Ordering::AcqRel) + 1;
        let backoff = Backoff::new();
        loop {
            let slowest = self.rounds.iter().map(|r| r.load(Ordering::Acquire)).min().unwrap_or(u64::MAX);
            if mine <= slowest.saturating_add(self.slack) {
                return;
            }
            backoff.snooze();
        }
    }
}

fn place(geometry: Geometry, workgroup: u32) -> WarpPlace {
    WarpPlace {
        id: workgroup,
        workgroup,
        num_workgroups: geometry.workgroups,
        first_local: 0,
        width: geometry.workgroup_size,
    }
}

/// Run `code` over `geometry`; returns the lanes whose fuel ran out.
pub fn run(
    code: &Code,
    mem: &Memory,
    geometry: Geometry,
    service: Option<&mut dyn HostService>,
) -> Result<Vec<ExhaustedLane>, SimError> {
    let service = service.filter(|s| s.worth_polling());
    if code.has_persistent_loop && geometry.workgroups == 1 && service.is_none() {
        // One workgroup and nothing to poll: run it here, without a thread.
        let gate = RoundGate::new(1, ROUND_SLACK);
        let mut warp = Warp::new(code, mem, &gate, place(geometry, 0));
        warp.run();
        let mut lanes = std::mem::take(&mut warp.exhausted);
        lanes.sort_by_key(|l| l.lane);
        return Ok(lanes);
    }
    let done = AtomicBool::new(false);
    let exhausted = Mutex::new(Vec::new());
    let mut scope_gate = None;
    // The poller parks between polls that found nothing, and is woken when the lanes end.
    let parker = crossbeam_utils::sync::Parker::new();
    let unparker = parker.unparker().clone();
    std::thread::scope(|scope| {
        let poller = service.map(|service| {
            let done = &done;
            scope.spawn(move || {
                while !done.load(Ordering::Acquire) {
                    if service.poll(mem) == 0 {
                        parker.park_timeout(std::time::Duration::from_micros(20));
                    }
                }
                service.poll(mem);
            })
        });
        let result = if code.has_persistent_loop {
            if geometry.workgroups > MAX_PERSISTENT_WORKGROUPS {
                Err(SimError::TooManyWorkgroups { workgroups: geometry.workgroups, max: MAX_PERSISTENT_WORKGROUPS })
            } else {
                let gate = &*scope_gate.insert(RoundGate::new(geometry.workgroups, ROUND_SLACK));
                let threads: Vec<_> = (0..geometry.workgroups)
                    .map(|wg| {
                        let exhausted = &exhausted;
                        scope.spawn(move || {
                            let _finished = Finished(gate, wg);
                            let mut warp = Warp::new(code, mem, gate, place(geometry, wg));
                            warp.run();
                            exhausted.lock().unwrap_or_else(|e| e.into_inner()).append(&mut warp.exhausted);
                        })
                    })
                    .collect();
                let mut panicked = false;
                for t in threads {
                    panicked |= t.join().is_err();
                }
                if panicked {
                    Err(SimError::Internal("a lane thread panicked".into()))
                } else {
                    Ok(())
                }
            }
        } else {
            (0..geometry.workgroups).into_par_iter().for_each_init(
                || None,
                |warp: &mut Option<Warp<'_, Free>>, wg| {
                    let w = warp.get_or_insert_with(|| Warp::new(code, mem, &Free, place(geometry, wg)));
                    w.reset(place(geometry, wg));
                    w.run();
                },
            );
            Ok(())
        };
        done.store(true, Ordering::Release);
        unparker.unpark();
        if let Some(p) = poller {
            if p.join().is_err() {
                return Err(SimError::Internal("the host service thread panicked".into()));
            }
        }
        result
    })?;
    let mut lanes = exhausted.into_inner().unwrap_or_else(|e| e.into_inner());
    lanes.sort_by_key(|l| l.lane);
    Ok(lanes)
}

/// loom: the round gate lets no workgroup run more than its slack ahead of the slowest
/// live one, and never makes one wait for a workgroup that has finished.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    #[test]
    fn the_round_gate_bounds_the_lead_and_never_waits_on_a_finished_workgroup() {
        loom::model(|| {
            let gate = std::sync::Arc::new(RoundGate::new(2, 1));
            let worker = |warp: u32, rounds: u64| {
                let gate = std::sync::Arc::clone(&gate);
                loom::thread::spawn(move || {
                    let _finished = Finished(&gate, warp);
                    for _ in 0..rounds {
                        gate.round(warp);
                        let mine = gate.rounds[warp as usize].load(Ordering::Acquire);
                        let other = gate.rounds[1 - warp as usize].load(Ordering::Acquire);
                        assert!(mine <= other.saturating_add(gate.slack), "warp {warp} at {mine}, other at {other}");
                    }
                })
            };
            // Warp 1 stops early: warp 0 must still finish (a finished warp counts as MAX).
            let (a, b) = (worker(0, 3), worker(1, 1));
            a.join().unwrap();
            b.join().unwrap();
        });
    }
}
