//! The seeded deterministic schedule: one OS thread runs every lane as a state machine
//! ([`crate::lane`]). Before every shared access (and every persistent-loop round) the
//! running lane asks a seeded generator whether to hand over, and to which runnable
//! participant; so a seed fixes the whole interleaving, and the trace of accesses (lane,
//! kind, word, value) reproduces exactly. A hand-over is a change of index, not of thread.
//!
//! How long a lane runs between switches is drawn from the seed too: after each switch,
//! a number of switch points uniform in `0..2m`, where the mean `m` (2 to 32) is fixed
//! per seed, so a range of seeds covers both fine and coarse interleavings. A host service, when given, is one
//! more participant that polls once per turn.

use crate::code::Code;
use crate::lane::{Access, Lane, Pause, Scheduler};
use crate::memory::Memory;
use crate::SimError;
use megaloop::geometry::Geometry;
use megaloop::host::{ExhaustedLane, HostService};

/// Most lanes the deterministic schedule runs (each holds its registers and position).
pub const MAX_DETERMINISTIC_LANES: u64 = 1 << 16;

/// Accesses a trace keeps in full (the digest and the count cover all of them).
pub const TRACE_HEAD: usize = 4096;

/// What a deterministic run recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The first [`TRACE_HEAD`] shared accesses, in execution order.
    pub head: Vec<Access>,
    /// Every shared access made.
    pub accesses: u64,
    /// A 64-bit digest of every access in order (lane, kind, buffer, word, value).
    pub digest: u64,
    /// How many times the running participant changed.
    pub switches: u64,
}

impl Trace {
    #[inline]
    fn record(&mut self, a: Access) {
        if self.head.len() < TRACE_HEAD {
            self.head.push(a);
        }
        self.accesses += 1;
        let words = [
            u64::from(a.lane) << 32 | u64::from(a.index),
            (a.kind as u64) << 48 | u64::from(a.buf) << 32 | u64::from(a.value),
        ];
        for w in words {
            self.digest = (self.digest.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

/// SplitMix64: small, fast, and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` (multiply-shift, no division).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Runnable,
    AtBarrier,
    Done,
}

/// The participants (lanes `0..lanes`, then the host service if any), who runs, and the
/// seeded choices.
struct Baton {
    current: usize,
    status: Vec<Status>,
    /// The runnable participants, in an order only the seed decides; `slot[p]` is
    /// participant `p`'s index in it.
    runnable: Vec<usize>,
    slot: Vec<usize>,
    rng: Rng,
    /// Switch points between switches are drawn uniformly from `0..2 * mean_run` (a
    /// power of two), so runs average `mean_run` switch points.
    mean_run: u64,
    /// Switch points left before the next switch.
    countdown: u64,
    trace: Trace,
    lanes: usize,
    workgroup_size: usize,
}

impl Baton {
    fn set_status(&mut self, p: usize, status: Status) {
        let was_runnable = self.status[p] == Status::Runnable;
        self.status[p] = status;
        match (was_runnable, status == Status::Runnable) {
            (true, false) => {
                let at = self.slot[p];
                self.runnable.swap_remove(at);
                if let Some(&moved) = self.runnable.get(at) {
                    self.slot[moved] = at;
                }
            }
            (false, true) => {
                self.slot[p] = self.runnable.len();
                self.runnable.push(p);
            }
            _ => {}
        }
    }

    /// A random runnable participant (possibly the current one), if any.
    fn pick(&mut self) -> Option<usize> {
        (!self.runnable.is_empty()).then(|| self.runnable[self.rng.below(self.runnable.len())])
    }

    /// Hand the turn to a random runnable participant; false if none is left.
    fn pass(&mut self) -> bool {
        match self.pick() {
            Some(next) => {
                if next != self.current {
                    self.trace.switches += 1;
                }
                self.current = next;
                true
            }
            None => false,
        }
    }

    /// Release the barrier of `workgroup` when every lane of it has arrived or ended.
    fn release_barrier(&mut self, workgroup: usize) {
        let lanes = workgroup * self.workgroup_size..((workgroup + 1) * self.workgroup_size).min(self.lanes);
        if lanes.clone().all(|p| self.status[p] != Status::Runnable) {
            for p in lanes {
                if self.status[p] == Status::AtBarrier {
                    self.set_status(p, Status::Runnable);
                }
            }
        }
    }
}

impl Scheduler for Baton {
    #[inline]
    fn switch_here(&mut self) -> bool {
        if self.countdown > 0 {
            self.countdown -= 1;
            return false;
        }
        self.countdown = self.rng.next() & (2 * self.mean_run - 1);
        let me = self.current;
        self.pass() && self.current != me
    }

    #[inline]
    fn record(&mut self, access: Access) {
        self.trace.record(access);
    }
}

/// Run `code` over `geometry` with the interleaving `seed` determines.
pub fn run(
    code: &Code,
    mem: &Memory,
    geometry: Geometry,
    seed: u64,
    mut service: Option<&mut dyn HostService>,
) -> Result<(Vec<ExhaustedLane>, Trace), SimError> {
    let lanes = geometry.lanes();
    if lanes > MAX_DETERMINISTIC_LANES {
        return Err(SimError::TooManyLanes { lanes, max: MAX_DETERMINISTIC_LANES });
    }
    let lanes = lanes as usize;
    let workgroup_size = geometry.workgroup_size.max(1) as usize;
    let participants = lanes + usize::from(service.is_some());
    let mut rng = Rng(seed);
    let mean_run = 2u64 << rng.below(5);
    if participants == 0 {
        return Ok((Vec::new(), Trace::default()));
    }
    let current = rng.below(participants);
    let mut baton = Baton {
        current,
        status: vec![Status::Runnable; participants],
        runnable: (0..participants).collect(),
        slot: (0..participants).collect(),
        rng,
        mean_run,
        countdown: 0,
        trace: Trace::default(),
        lanes,
        workgroup_size,
    };
    let mut machines: Vec<Lane> = (0..lanes)
        .map(|l| {
            let (workgroup, local) = ((l / workgroup_size) as u32, (l % workgroup_size) as u32);
            Lane::new(code, workgroup, geometry.workgroups, local)
        })
        .collect();
    let mut lanes_left = lanes;
    loop {
        let me = baton.current;
        if me == lanes {
            // The host service: polls once per turn, ends when every lane has.
            if lanes_left == 0 {
                baton.set_status(me, Status::Done);
            } else if let Some(s) = service.as_deref_mut() {
                s.poll(mem);
            }
        } else {
            match machines[me].run(mem, &mut baton) {
                Pause::Switch => continue,
                Pause::Barrier => {
                    baton.set_status(me, Status::AtBarrier);
                    baton.release_barrier(me / workgroup_size);
                }
                Pause::Done => {
                    baton.set_status(me, Status::Done);
                    baton.release_barrier(me / workgroup_size);
                    lanes_left -= 1;
                }
            }
        }
        if !baton.pass() {
            break;
        }
    }
    let mut exhausted: Vec<ExhaustedLane> =
        machines.iter_mut().flat_map(|m| std::mem::take(&mut m.exhausted)).collect();
    exhausted.sort_by_key(|l| l.lane);
    Ok((exhausted, baton.trace))
}
