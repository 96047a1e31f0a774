//! Planted faults of the program builders: each is the edit a runtime author could make
//! in the slot sequence, a mode's lane skeleton or a built-in handler, applied to the
//! built program (so the builders themselves carry no fault switches). Each returns how
//! many places it changed; 0 means the program has nothing it applies to.

use super::rewrite::{exprs, is_atomic_on, is_load_of, is_u32, is_var, remove_stmts, replace_stmts, stmts};
use crate::builder::names::{self, buffers::*};
use crate::builder::tally;
use crate::ir::build::stmt::{atomic_load, atomic_store, if_};
use crate::ir::{AtomicOp, BinaryOp, Block, Expr, Program, Stmt, UnaryOp};
use crate::protocol::layout::*;
use crate::protocol::Status;

/// Replace every binary node `pick` maps to a new expression.
pub(super) fn rebinary(p: &mut Program, pick: &dyn Fn(BinaryOp, &Expr, &Expr) -> Option<Expr>) -> usize {
    exprs(p, &mut |e| {
        let Expr::Binary { op, lhs, rhs } = e else { return 0 };
        match pick(*op, lhs, rhs) {
            Some(new) => {
                *e = new;
                1
            }
            None => 0,
        }
    })
}

/// Change the operator of every binary node `pick` selects to `to`.
pub(super) fn reop(p: &mut Program, to: BinaryOp, pick: &dyn Fn(BinaryOp, &Expr, &Expr) -> bool) -> usize {
    rebinary(p, &|op, l, r| pick(op, l, r).then(|| Expr::binary(to, l.clone(), r.clone())))
}

fn remove_add_to(p: &mut Program, word: u32) -> usize {
    remove_stmts(p, &|s| is_atomic_on(s, AtomicOp::Add, CONTROL, word))
}

/// The claim loads the status and stores CLAIMED when it saw PUBLISHED (vyre defect 2's
/// effect: two lanes can both win).
pub fn trusting_claim(p: &mut Program) -> usize {
    replace_stmts(p, &|s| match s {
        Stmt::Atomic { op: AtomicOp::CompareExchange, buffer, index, args, result: Some(r) }
            if buffer == RING && r == "ml_old" =>
        {
            Some(vec![
                atomic_load("ml_old", RING, index.clone()),
                if_(Expr::var("ml_old").eq(args[0].clone()), vec![atomic_store(RING, index.clone(), args[1].clone())]),
            ])
        }
        _ => None,
    })
}

/// `tenant < 29 && mask != 0`, rebuilt by `f` from its two halves.
fn tenant_rule(p: &mut Program, f: &dyn Fn(&Expr, &Expr) -> Expr) -> usize {
    rebinary(p, &|op, bound, mask| match (op, bound) {
        (BinaryOp::LogicalAnd, Expr::Binary { op: BinaryOp::Lt, lhs, rhs })
            if is_var(lhs, "ml_tenant") && is_u32(rhs, MAX_TENANTS) =>
        {
            Some(f(bound, mask))
        }
        _ => None,
    })
}

/// vyre defect 1: the tenant id is not bounds-checked.
pub fn unbounded_tenant(p: &mut Program) -> usize {
    tenant_rule(p, &|_, mask| mask.clone())
}

/// The tenant bound lets id 29 through (`<=` for `<`).
pub fn tenant_bound_inclusive(p: &mut Program) -> usize {
    tenant_rule(p, &|_, mask| Expr::var("ml_tenant").le(Expr::u32(MAX_TENANTS)).and(mask.clone()))
}

/// Only the bound is checked: a tenant with a zero mask runs.
pub fn tenant_mask_ignored(p: &mut Program) -> usize {
    tenant_rule(p, &|bound, _| bound.clone())
}

/// vyre defect 3: past the starvation threshold only LOW and IDLE are visited, and the
/// counter is never reset.
pub fn starvation_lockout(p: &mut Program) -> usize {
    let visits = |b: &Block| b.first().is_some_and(|s| matches!(s, Stmt::If { .. }));
    // A visit of partition `p` is `if !drew && control[CURSORS + p] < len_p { ... }`.
    let visits_idle_or_low = |s: &Stmt| match s {
        Stmt::If { cond: Expr::Binary { op: BinaryOp::LogicalAnd, rhs, .. }, .. } => {
            matches!(&**rhs, Expr::Binary { op: BinaryOp::Lt, lhs, .. }
                if [PRIORITY_IDLE, PRIORITY_LOW].iter().any(|p| is_load_of(lhs, CONTROL, CTRL_PRIORITY_CURSORS + p)))
        }
        _ => false,
    };
    let n = starvation_not_reset(p);
    n + stmts(p, &mut |s| match s {
        Stmt::If { cond, then, otherwise } if is_var(cond, "ml_reverse") && visits(then) && visits(otherwise) => {
            then.retain(visits_idle_or_low);
            1
        }
        _ => 0,
    })
}

/// The idle-first scan does not reset the starvation counter.
pub fn starvation_not_reset(p: &mut Program) -> usize {
    remove_stmts(p, &|s| is_atomic_on(s, AtomicOp::Store, CONTROL, CTRL_STARVATION))
}

/// The starvation guard fires one claim late (`>` for `>=`).
pub fn starvation_threshold_late(p: &mut Program) -> usize {
    reop(p, BinaryOp::Gt, &|op, l, r| {
        op == BinaryOp::Ge && is_load_of(l, CONTROL, CTRL_STARVATION) && is_u32(r, STARVATION_THRESHOLD)
    })
}

/// The priority scan visits IDLE first and CRITICAL first past the threshold: the
/// priority order inverted.
pub fn priority_order_inverted(p: &mut Program) -> usize {
    let visits = |b: &Block| b.len() > 1 && b.iter().all(|s| matches!(s, Stmt::If { .. }));
    stmts(p, &mut |s| match s {
        Stmt::If { cond, then, otherwise } if is_var(cond, "ml_reverse") && visits(then) && visits(otherwise) => {
            std::mem::swap(then, otherwise);
            1
        }
        _ => 0,
    })
}

/// A lane that finds every sweep finished does not rewind the claim cursors.
pub fn priority_no_rewind(p: &mut Program) -> usize {
    remove_stmts(
        p,
        &|s| matches!(s, Stmt::Atomic { op: AtomicOp::CompareExchange, result: Some(r), .. } if r.starts_with("ml_rewound")),
    )
}

/// DONE_COUNT is never counted.
pub fn done_count_missing(p: &mut Program) -> usize {
    remove_add_to(p, CTRL_DONE_COUNT)
}

/// FAULT_COUNT is never counted.
pub fn fault_count_missing(p: &mut Program) -> usize {
    remove_add_to(p, CTRL_FAULT_COUNT)
}

/// SETTLED is never counted.
pub fn settled_missing(p: &mut Program) -> usize {
    remove_add_to(p, CTRL_SETTLED)
}

/// FUEL_EXHAUSTED is never counted.
pub fn fuel_exhausted_missing(p: &mut Program) -> usize {
    remove_add_to(p, CTRL_FUEL_EXHAUSTED)
}

/// DEBUG_DROPPED is never counted.
pub fn debug_dropped_missing(p: &mut Program) -> usize {
    remove_add_to(p, CTRL_DEBUG_DROPPED)
}

/// Claims are not counted per tenant (the tenant word's add of the claims tally).
pub fn tenant_claims_missing(p: &mut Program) -> usize {
    remove_stmts(p, &|s| {
        matches!(s, Stmt::Atomic { op: AtomicOp::Add, buffer, index, .. }
            if buffer == CONTROL && is_var(index, tally::TENANT_RUN))
    })
}

/// The per-priority claim counter is indexed by the raw PRIORITY, not `min(PRIORITY, 4)`.
pub fn priority_claims_unclamped(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        (op == BinaryOp::Min && is_var(l, names::PRIORITY) && is_u32(r, PRIORITY_IDLE)).then(|| l.clone())
    })
}

/// The metric word is `96 + OPCODE`, without `% 32`.
pub fn metric_bucket_unreduced(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        (op == BinaryOp::Rem && is_var(l, names::OPCODE) && is_u32(r, METRIC_WORDS)).then(|| l.clone())
    })
}

/// A claim that found the IO queue full keeps what it counted (2.10).
pub fn yield_claims_kept(p: &mut Program) -> usize {
    remove_stmts(p, &|s| tally::ALL.iter().any(|t| t.is_add(s, u32::MAX)))
}

/// A user handler's invalid `next_status` is stored as it is.
pub fn status_unsanitized(p: &mut Program) -> usize {
    let faults = |b: &Block| matches!(b.as_slice(), [Stmt::Assign { name, value }] if name == names::NEXT_STATUS && is_u32(value, Status::Fault.word()));
    remove_stmts(
        p,
        &|s| matches!(s, Stmt::If { cond: Expr::Unary { op: UnaryOp::Not, .. }, then, otherwise } if faults(then) && otherwise.is_empty()),
    )
}

/// An opcode without a handler ends DONE instead of FAULT.
pub fn unknown_opcode_done(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::If { cond: Expr::Binary { op: BinaryOp::Eq, lhs, .. }, otherwise, .. }
            if is_var(lhs, names::OPCODE)
                && matches!(otherwise.as_slice(), [Stmt::Assign { name, value }]
                    if name == names::NEXT_STATUS && is_u32(value, Status::Fault.word())) =>
        {
            otherwise.clear();
            1
        }
        _ => 0,
    })
}

/// Handler argument `k` is read from slot word `5 + k` (one word too far).
pub fn argument_word_shifted(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Let { name, value: Expr::Load { buffer, index }, .. } if buffer == RING && name.starts_with("arg") => {
            let Expr::Binary { op: BinaryOp::Add, rhs, .. } = &mut **index else { return 0 };
            let Expr::Literal(crate::ir::Literal::U32(w)) = &mut **rhs else { return 0 };
            *w += 1;
            1
        }
        _ => 0,
    })
}

/// A lane's SETTLED tally is folded in only when the lane leaves, not when an iteration
/// settles nothing: lanes waiting for the drain never see the others' slots (2.4 step 6).
pub fn settled_tally_held(p: &mut Program) -> usize {
    let settled = tally::SETTLED.count_name();
    remove_stmts(p, &|s| {
        matches!(s, Stmt::If { cond: Expr::Binary { op: BinaryOp::Eq, lhs, rhs }, .. }
            if is_var(lhs, settled) && is_var(rhs, "ml_settled_before"))
    })
}

/// A tally whose run moves to another control word drops the count it held instead of
/// folding it in (2.4 step 6).
pub fn tally_run_dropped(p: &mut Program) -> usize {
    stmts(p, &mut |s| {
        let runs = tally::CLAIMS.is_add(s, 1) || tally::CLAIMS.is_add(s, u32::MAX);
        match s {
            Stmt::If { otherwise, .. } if runs && matches!(otherwise.first(), Some(Stmt::If { .. })) => {
                otherwise.remove(0);
                1
            }
            _ => 0,
        }
    })
}

/// The exit test does not look at SHUTDOWN.
pub fn shutdown_ignored(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        (op == BinaryOp::Ne && is_load_of(l, CONTROL, CTRL_SHUTDOWN) && is_u32(r, 0)).then(|| Expr::bool(false))
    })
}

/// Lanes do not leave when another lane closed the epoch (DRAIN_TARGET's CLOSED bit).
pub fn closed_bit_ignored(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        let tests_closed =
            matches!(l, Expr::Binary { op: BinaryOp::BitAnd, rhs, .. } if is_u32(rhs, DRAIN_TARGET_CLOSED));
        (op == BinaryOp::Ne && tests_closed && is_u32(r, 0)).then(|| Expr::bool(false))
    })
}

/// Lanes close the epoch only once SETTLED exceeds the drain target (`>` for `>=`).
pub fn settled_target_strict(p: &mut Program) -> usize {
    let settled_seen = |l: &Expr| match l {
        Expr::Binary { op: BinaryOp::Add, lhs, rhs } => {
            is_load_of(lhs, CONTROL, CTRL_SETTLED) && is_var(rhs, tally::SETTLED.count_name())
        }
        _ => false,
    };
    reop(p, BinaryOp::Gt, &|op, l, r| op == BinaryOp::Ge && settled_seen(l) && is_var(r, "ml_target"))
}

/// Each lane runs one iteration more than its fuel.
pub fn fuel_off_by_one(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Let { name, value, .. } if name == "ml_fuel" && is_load_of(value, CONTROL, CTRL_FUEL) => {
            *value = value.clone() + Expr::u32(1);
            1
        }
        _ => 0,
    })
}

/// Once mode sweeps `slots / lanes` times, rounding down: the ring's tail is never tried.
pub fn once_sweeps_round_down(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Let { name, value: Expr::Binary { op: BinaryOp::Div, lhs, .. }, .. } if name == "ml_sweeps" => {
            let Expr::Binary { lhs: sum, .. } = &**lhs else { return 0 };
            let Expr::Binary { lhs: slots, .. } = &**sum else { return 0 };
            let slots = (**slots).clone();
            **lhs = slots;
            1
        }
        _ => 0,
    })
}
