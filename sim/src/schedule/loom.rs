//! The loom schedule (`--cfg loom`): one loom thread per lane over loom's atomics, so
//! loom explores the interleavings of the real interpreter. Call it inside
//! `loom::model`. Persistent-loop rounds are loom yield points, so spinning lanes let
//! the others run. The code and memory are shared through std's `Arc`: loom tracks the
//! atomic words themselves.

use crate::code::Code;
use crate::exec::{Hooks, Warp, WarpPlace};
use crate::memory::Memory;
use crate::SimError;
use megaloop::geometry::Geometry;
use megaloop::host::ExhaustedLane;
use std::sync::Arc;

struct LoomHooks;

impl Hooks for LoomHooks {
    fn round(&self, _warp: u32) {
        loom::thread::yield_now();
    }
}

/// Run every lane of `geometry` as a loom thread; returns the lanes out of fuel.
pub fn run(code: Arc<Code>, mem: Arc<Memory>, geometry: Geometry) -> Result<Vec<ExhaustedLane>, SimError> {
    if code.has_barrier {
        return Err(SimError::Unsupported("barriers in the loom schedule".into()));
    }
    let lanes = geometry.lanes() as u32;
    let handles: Vec<_> = (0..lanes)
        .map(|lane| {
            let (code, mem) = (code.clone(), mem.clone());
            let wg = geometry.workgroup_size;
            loom::thread::spawn(move || {
                let place = WarpPlace {
                    id: lane,
                    workgroup: lane / wg,
                    num_workgroups: geometry.workgroups,
                    first_local: lane % wg,
                    width: 1,
                };
                let mut warp = Warp::new(&code, &mem, &LoomHooks, place);
                warp.run();
                warp.exhausted
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.join().map_err(|_| SimError::Internal("a loom lane panicked".into()))?);
    }
    Ok(out)
}
