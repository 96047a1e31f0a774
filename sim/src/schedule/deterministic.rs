//! The seeded deterministic schedule: every lane is its own warp on its own thread, but
//! only the holder of a baton runs. At every shared access (and every persistent-loop
//! round) the holder asks a seeded generator whether to hand the baton to another
//! runnable lane, and to which; so a seed fixes the whole interleaving, and the recorded
//! trace of accesses (lane, kind, word, value) reproduces exactly.
//!
//! The switch probability itself is drawn from the seed (1/2 to 1/32), so a range of
//! seeds covers both fine and coarse interleavings. A host service, when given, is one
//! more participant that polls once per turn.

use crate::code::Code;
use crate::exec::{Access, Hooks, Warp, WarpPlace};
use crate::memory::Memory;
use crate::SimError;
use megaloop::geometry::Geometry;
use megaloop::host::{ExhaustedLane, HostService};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Most lanes the deterministic schedule runs (one thread each).
pub const MAX_DETERMINISTIC_LANES: u64 = 4096;

/// What a deterministic run recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Every shared access, in execution order.
    pub accesses: Vec<Access>,
    /// How many times the baton changed hands.
    pub switches: u64,
}

impl Trace {
    /// A 64-bit FNV-1a digest of the accesses, for quick comparison.
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for a in &self.accesses {
            for w in [a.lane, a.kind as u32, u32::from(a.buf), a.index, a.value] {
                for b in w.to_le_bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        h
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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Runnable,
    AtBarrier,
    Done,
}

struct State {
    current: usize,
    status: Vec<Status>,
    rng: Rng,
    switch_one_in: u64,
    trace: Trace,
}

struct Baton {
    state: Mutex<State>,
    wake: Vec<Condvar>,
    lanes: usize,
    workgroup_size: usize,
}

impl Baton {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Block until participant `me` holds the baton.
    fn wait_turn<'a>(&'a self, mut s: MutexGuard<'a, State>, me: usize) -> MutexGuard<'a, State> {
        while s.current != me {
            s = self.wake[me].wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s
    }

    /// Hand the baton to a random runnable participant (possibly `me`), if any.
    fn pass<'a>(&'a self, mut s: MutexGuard<'a, State>, me: usize) -> MutexGuard<'a, State> {
        let runnable: Vec<usize> = (0..s.status.len()).filter(|&p| s.status[p] == Status::Runnable).collect();
        if runnable.is_empty() {
            return s;
        }
        let next = runnable[s.rng.below(runnable.len())];
        if next != s.current {
            s.trace.switches += 1;
        }
        s.current = next;
        self.wake[next].notify_one();
        if s.status[me] == Status::Done {
            return s;
        }
        self.wait_turn(s, me)
    }

    fn maybe_switch(&self, me: usize) {
        let mut s = self.lock();
        let one_in = s.switch_one_in;
        if s.rng.next() % one_in == 0 {
            drop(self.pass(s, me));
        }
    }

    /// Release the barrier of `me`'s workgroup when every live lane of it has arrived.
    fn release_barrier(&self, s: &mut State, workgroup: usize) {
        let lanes = workgroup * self.workgroup_size..((workgroup + 1) * self.workgroup_size).min(self.lanes);
        let all_there = lanes.clone().all(|p| s.status[p] != Status::Runnable);
        if all_there {
            for p in lanes {
                if s.status[p] == Status::AtBarrier {
                    s.status[p] = Status::Runnable;
                }
            }
        }
    }

    fn finish(&self, me: usize) {
        let mut s = self.lock();
        s.status[me] = Status::Done;
        if me < self.lanes {
            self.release_barrier(&mut s, me / self.workgroup_size);
        }
        drop(self.pass(s, me));
    }
}

impl Hooks for Baton {
    const SEES_ACCESSES: bool = true;

    fn before_access(&self, warp: u32) {
        self.maybe_switch(warp as usize);
    }

    fn access(&self, _warp: u32, access: Access) {
        self.lock().trace.accesses.push(access);
    }

    fn round(&self, warp: u32) {
        self.maybe_switch(warp as usize);
    }

    fn barrier(&self, warp: u32) {
        let me = warp as usize;
        let mut s = self.lock();
        s.status[me] = Status::AtBarrier;
        self.release_barrier(&mut s, me / self.workgroup_size);
        drop(self.pass(s, me));
    }
}

/// Run `code` over `geometry` with the interleaving `seed` determines.
pub fn run(
    code: &Code,
    mem: &Memory,
    geometry: Geometry,
    seed: u64,
    service: Option<&mut dyn HostService>,
) -> Result<(Vec<ExhaustedLane>, Trace), SimError> {
    let lanes = geometry.lanes();
    if lanes > MAX_DETERMINISTIC_LANES {
        return Err(SimError::TooManyLanes { lanes, max: MAX_DETERMINISTIC_LANES });
    }
    let lanes = lanes as usize;
    let participants = lanes + usize::from(service.is_some());
    let mut rng = Rng(seed);
    let switch_one_in = 2 << rng.below(5);
    let first = rng.below(participants);
    let baton = Baton {
        state: Mutex::new(State {
            current: first,
            status: vec![Status::Runnable; participants],
            rng,
            switch_one_in,
            trace: Trace::default(),
        }),
        wake: (0..participants).map(|_| Condvar::new()).collect(),
        lanes,
        workgroup_size: geometry.workgroup_size as usize,
    };
    let exhausted = Mutex::new(Vec::new());
    let panicked = std::thread::scope(|scope| {
        let baton = &baton;
        let mut handles = Vec::with_capacity(participants);
        for lane in 0..lanes {
            let exhausted = &exhausted;
            let builder = std::thread::Builder::new().stack_size(512 * 1024);
            let spawned = builder.spawn_scoped(scope, move || {
                drop(baton.wait_turn(baton.lock(), lane));
                let place = WarpPlace {
                    id: lane as u32,
                    workgroup: (lane / baton.workgroup_size) as u32,
                    num_workgroups: geometry.workgroups,
                    first_local: (lane % baton.workgroup_size) as u32,
                    width: 1,
                };
                let mut warp = Warp::new(code, mem, baton, place);
                warp.run();
                exhausted.lock().unwrap_or_else(|e| e.into_inner()).append(&mut warp.exhausted);
                baton.finish(lane);
            });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => return Err(SimError::Internal(format!("cannot spawn lane thread {lane}: {e}"))),
            }
        }
        if let Some(service) = service {
            let me = lanes;
            handles.push(scope.spawn(move || {
                let mut s = baton.wait_turn(baton.lock(), me);
                loop {
                    if s.status[..lanes].iter().all(|&st| st == Status::Done) {
                        drop(s);
                        baton.finish(me);
                        return;
                    }
                    drop(s);
                    service.poll(mem);
                    s = baton.pass(baton.lock(), me);
                }
            }));
        }
        Ok(handles.into_iter().map(|h| h.join().is_err()).fold(false, |a, b| a | b))
    })?;
    if panicked {
        return Err(SimError::Internal("a lane thread panicked".into()));
    }
    let mut lanes = exhausted.into_inner().unwrap_or_else(|e| e.into_inner());
    lanes.sort_by_key(|l| l.lane);
    let trace = baton.state.into_inner().unwrap_or_else(|e| e.into_inner()).trace;
    Ok((lanes, trace))
}
