//! The lane skeletons of each mode: once (one sweep over the grid), persistent (sharded,
//! fuel-bounded loop until the drain target or SHUTDOWN), priority (partition scan with
//! the starvation guard). Jit uses the persistent skeleton with a fused handler set.

use crate::builder::names::buffers::*;
use crate::builder::slot::{exit_test, try_slot};
use crate::builder::tally;
use crate::builder::{BuildOptions, Handler};
use crate::ir::build::stmt::*;
use crate::ir::{AtomicOp, Block, Builtin, Expr, ScalarType, Stmt};
use crate::protocol::layout::*;

fn u(v: u32) -> Expr {
    Expr::u32(v)
}

fn var(name: &str) -> Expr {
    Expr::var(name)
}

fn lane_ids() -> Block {
    vec![
        let_u32("ml_gid", Expr::builtin(Builtin::GlobalInvocationId)),
        let_u32("ml_lanes", Expr::builtin(Builtin::NumWorkgroups) * Expr::builtin(Builtin::WorkgroupSize)),
    ]
}

/// Once: lane `g` tries slots `g, g + lanes, ...`, one pass, so any grid covers the ring;
/// it folds its tallies in after the pass.
pub fn once(opts: &BuildOptions, handlers: &[Handler]) -> Block {
    let mut body = lane_ids();
    body.extend(tally::declare_all());
    body.push(let_u32("ml_sweeps", (u(opts.slots) + var("ml_lanes") - u(1)) / var("ml_lanes")));
    body.push(for_(
        "ml_k",
        u(0),
        var("ml_sweeps"),
        vec![
            let_u32("ml_slot", var("ml_gid") + var("ml_k") * var("ml_lanes")),
            if_(var("ml_slot").lt(u(opts.slots)), try_slot(opts, handlers, var("ml_slot"), vec![])),
        ],
    ));
    body.extend(tally::flush_all());
    body
}

/// Wrap a per-iteration body in the fuel-bounded persistent loop, with the fuel and
/// cut-off accounting every persistent mode shares. Lanes past the ring have no work.
///
/// The exit test is the first statement of each iteration and records that it fired
/// (`ml_exited`), so the cut-off check after the loop does not re-read counters a host
/// may have changed meanwhile (the simulator's IO thread raises DRAIN_TARGET); see
/// [`exit_test`] for how lanes close the epoch. An iteration that settled nothing folds
/// the lane's SETTLED tally in (so lanes waiting for the drain see it); the lane folds
/// every tally in when it leaves the loop, however it leaves.
fn persistent_loop_around(opts: &BuildOptions, prelude: Block, iteration: Block) -> Block {
    let mut body = lane_ids();
    let mut per_lane = prelude;
    per_lane.extend(tally::declare_all());
    per_lane.extend([
        let_u32("ml_iters", u(0)),
        let_u32("ml_exited", u(0)),
        let_u32("ml_fuel", Expr::load(CONTROL, u(CTRL_FUEL))),
    ]);
    let settled = tally::SETTLED;
    let mut loop_body = vec![assign("ml_iters", var("ml_iters") + u(1))];
    loop_body.extend(exit_test(vec![assign("ml_exited", u(1)), Stmt::Break]));
    loop_body.push(let_u32("ml_settled_before", settled.pending()));
    loop_body.extend(iteration);
    loop_body.push(if_(settled.pending().eq(var("ml_settled_before")), vec![settled.flush()]));
    per_lane.push(persistent_loop(
        var("ml_fuel"),
        Expr::bool(false),
        loop_body,
        vec![atomic_add(CONTROL, u(CTRL_FUEL_EXHAUSTED), u(1))],
    ));
    per_lane.extend(tally::flush_all());
    // A lane that left with fuel left and without its exit test firing was cut off by
    // the driver (lavapipe stops loops after 65,535 iterations): report it, never trust it.
    per_lane.push(if_(
        var("ml_exited").eq(u(0)).and(var("ml_iters").lt(var("ml_fuel"))),
        vec![atomic_add(CONTROL, u(CTRL_LOOP_CUTOFF), u(1))],
    ));
    body.push(if_(var("ml_gid").lt(u(opts.slots)), per_lane));
    body
}

/// Persistent (sharded): lane `g` cycles over slots `g, g + lanes, ...`, one per
/// iteration, starting at its first shard slot at or after SCAN_START.
pub fn persistent(opts: &BuildOptions, handlers: &[Handler]) -> Block {
    let start = || var("ml_scan");
    let first = start() + (var("ml_gid") + var("ml_lanes") - start() % var("ml_lanes")) % var("ml_lanes");
    let prelude = vec![
        let_u32("ml_scan", Expr::load(CONTROL, u(CTRL_SCAN_START)).min(u(opts.slots - 1))),
        let_u32("ml_cursor", first),
        if_(var("ml_cursor").ge(u(opts.slots)), vec![assign("ml_cursor", var("ml_gid"))]),
    ];
    let mut iteration = vec![
        let_u32("ml_slot", var("ml_cursor")),
        assign("ml_cursor", var("ml_cursor") + var("ml_lanes")),
        if_(var("ml_cursor").ge(u(opts.slots)), vec![assign("ml_cursor", var("ml_gid"))]),
    ];
    iteration.extend(try_slot(opts, handlers, var("ml_slot"), vec![]));
    persistent_loop_around(opts, prelude, iteration)
}

/// Priority: each iteration visits the partitions CRITICAL first, or IDLE first once the
/// starvation counter reached the threshold, and draws one ticket from the first
/// partition whose sweep has tickets left (its claim cursor below its length): the slot
/// at that offset is tried, claimed or not, and the iteration ends. So a claim costs O(1)
/// amortised, a lower partition is drawn from only once every higher one is swept, and a
/// slot that is not claimable costs one iteration. An urgent-first claim counts up; an
/// idle-first claim resets the counter. Idle-first still ends at CRITICAL, so urgent work
/// alone is never locked out (vyre defect 3 fixed). A lane that finds every sweep
/// finished rewinds each finished cursor to 0 (by compare-exchange from the value it
/// saw), so slots published during the epoch (IO completed while lanes run, a handler's
/// publication) are found by the next sweep (spec 2.7). The partition bounds are host-set
/// before the epoch, so each lane reads them once.
pub fn priority(opts: &BuildOptions, handlers: &[Handler]) -> Block {
    let starvation: Stmt = if_else(
        var("ml_reverse"),
        vec![atomic_store(CONTROL, u(CTRL_STARVATION), u(0))],
        vec![atomic_add(CONTROL, u(CTRL_STARVATION), u(1))],
    );
    let start = |p: u32| format!("ml_start{p}");
    let len = |p: u32| format!("ml_len{p}");
    let cursor = |p: u32| u(CTRL_PRIORITY_CURSORS + p);
    let bound = |w: u32| Expr::load(CONTROL, u(w)).min(u(opts.slots));
    // Offsets a handler made decrease leave a partition empty, never wrap its length.
    let mut prelude = vec![let_u32(&start(0), bound(CTRL_PRIORITY_OFFSETS))];
    for p in 0..PRIORITY_LEVELS {
        let (end, start_p) = (format!("ml_end{p}"), var(&start(p)));
        prelude.push(let_u32(&end, bound(CTRL_PRIORITY_OFFSETS + p + 1)));
        prelude.push(let_u32(&len(p), Expr::select(var(&end).gt(start_p.clone()), var(&end) - start_p, u(0))));
        if p + 1 < PRIORITY_LEVELS {
            prelude.push(let_u32(&start(p + 1), var(&end)));
        }
    }
    let visit = |p: u32| {
        if_(
            (!var("ml_drew")).and(Expr::load(CONTROL, cursor(p)).lt(var(&len(p)))),
            vec![
                atomic(AtomicOp::Add, CONTROL, cursor(p), vec![u(1)], Some(&format!("ml_ticket{p}"))),
                if_(
                    var(&format!("ml_ticket{p}")).lt(var(&len(p))),
                    vec![
                        assign("ml_drew", Expr::bool(true)),
                        assign("ml_pick", var(&start(p)) + var(&format!("ml_ticket{p}"))),
                    ],
                ),
            ],
        )
    };
    let idle_first: Vec<u32> = (0..PRIORITY_LEVELS).rev().collect();
    let rewind = (0..PRIORITY_LEVELS).flat_map(|p| {
        let seen = format!("ml_seen{p}");
        [
            let_u32(&seen, Expr::load(CONTROL, cursor(p))),
            if_(
                var(&seen).ge(var(&len(p))).and(var(&seen).ne(u(0))),
                vec![compare_exchange(&format!("ml_rewound{p}"), CONTROL, cursor(p), var(&seen), u(0))],
            ),
        ]
    });
    let iteration = vec![
        let_("ml_reverse", ScalarType::Bool, Expr::load(CONTROL, u(CTRL_STARVATION)).ge(u(STARVATION_THRESHOLD))),
        let_("ml_drew", ScalarType::Bool, Expr::bool(false)),
        let_u32("ml_pick", u(0)),
        if_else(
            var("ml_reverse"),
            idle_first.into_iter().map(visit).collect(),
            (0..PRIORITY_LEVELS).map(visit).collect(),
        ),
        if_else(var("ml_drew"), try_slot(opts, handlers, var("ml_pick"), vec![starvation]), rewind.collect()),
    ];
    persistent_loop_around(opts, prelude, iteration)
}

/// The benchmark baseline: one slot per dispatch of one lane. Each dispatch takes the
/// next slot from control word CTRL_BASELINE_HEAD, so the host dispatches the same
/// program once per slot.
pub fn dispatch_per_slot(opts: &BuildOptions, handlers: &[Handler]) -> Block {
    let mut body = vec![atomic(AtomicOp::Add, CONTROL, u(CTRL_BASELINE_HEAD), vec![u(1)], Some("ml_slot"))];
    body.extend(tally::declare_all());
    body.push(if_(var("ml_slot").lt(u(opts.slots)), try_slot(opts, handlers, var("ml_slot"), vec![])));
    body.extend(tally::flush_all());
    body
}
