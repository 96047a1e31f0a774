//! Planted faults of the built-in handlers (spec 2.5, 2.8): bounds at their edge, IO
//! request rules, what a handler reports. Edits of the built program, as in
//! `builder_faults`.

use super::builder_faults::{rebinary, reop};
use super::rewrite::{is_atomic_on, is_u32, is_var, remove_stmts, stmts};
use crate::builder::names::{self, buffers::*};
use crate::ir::{AtomicOp, BinaryOp, Expr, Program, Stmt};
use crate::protocol::layout::*;
use crate::protocol::opcode::{ATOMIC_ADD, MEMCPY_MAX_WORDS};
use crate::protocol::packed::PACKED_MAX_OPS;

fn is_arg(e: &Expr, k: u32) -> bool {
    is_var(e, &names::arg(k))
}

/// The bound check of a handler whose first checked statement is `guarded` made
/// inclusive (`arg0 <= H` for `arg0 < H`).
fn heap_bound_inclusive(p: &mut Program, guarded: &dyn Fn(&Stmt) -> bool) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::If { cond: Expr::Binary { op, lhs, .. }, then, .. }
            if *op == BinaryOp::Lt && is_arg(lhs, 0) && then.first().is_some_and(guarded) =>
        {
            *op = BinaryOp::Le;
            1
        }
        _ => 0,
    })
}

/// STORE_U32 accepts `arg0 == H`.
pub fn store_bound_inclusive(p: &mut Program) -> usize {
    heap_bound_inclusive(p, &|s| matches!(s, Stmt::Store { buffer, .. } if buffer == HEAP))
}

/// ATOMIC_ADD accepts `arg0 == H`.
pub fn atomic_add_bound_inclusive(p: &mut Program) -> usize {
    heap_bound_inclusive(p, &|s| matches!(s, Stmt::Atomic { op: AtomicOp::Add, buffer, .. } if buffer == HEAP))
}

/// LOAD_U32 accepts observable `arg1 == O`.
pub fn observable_bound_inclusive(p: &mut Program) -> usize {
    reop(p, BinaryOp::Le, &|op, l, r| op == BinaryOp::Lt && is_arg(l, 1) && matches!(r, Expr::Literal(_)))
}

/// COMPARE_SWAP reports the value it wrote instead of the old one.
pub fn compare_swap_reports_new(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Store { buffer, value, .. } if buffer == CONTROL && is_var(value, "ml_cas_old") => {
            *value = Expr::var(&names::arg(2));
            1
        }
        _ => 0,
    })
}

/// MEMCPY accepts 1025 words.
pub fn memcpy_cap_off_by_one(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        (op == BinaryOp::Le && is_arg(l, 2) && is_u32(r, MEMCPY_MAX_WORDS))
            .then(|| l.clone().le(Expr::u32(MEMCPY_MAX_WORDS + 1)))
    })
}

/// MEMCPY's `len <= H - start` made strict for the range starting at `arg{k}`.
fn memcpy_end_exclusive(p: &mut Program, k: u32) -> usize {
    reop(p, BinaryOp::Lt, &|op, l, r| {
        op == BinaryOp::Le && is_arg(l, 2) && matches!(r, Expr::Binary { op: BinaryOp::Sub, rhs, .. } if is_arg(rhs, k))
    })
}

/// MEMCPY refuses a destination range that ends at the heap's end.
pub fn memcpy_destination_end_exclusive(p: &mut Program) -> usize {
    memcpy_end_exclusive(p, 0)
}

/// MEMCPY refuses a source range that ends at the heap's end.
pub fn memcpy_source_end_exclusive(p: &mut Program) -> usize {
    memcpy_end_exclusive(p, 1)
}

/// An IO request's heap range may not end at the heap's end (`<` for `<=`).
pub fn io_range_end_exclusive(p: &mut Program) -> usize {
    reop(p, BinaryOp::Lt, &|op, _, r| {
        op == BinaryOp::Le && matches!(r, Expr::Binary { op: BinaryOp::Sub, rhs, .. } if is_arg(rhs, 4))
    })
}

/// An IO-requesting handler takes any served state (OK or ERROR) as OK.
pub fn io_error_taken_as_ok(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| {
        (op == BinaryOp::Eq && is_arg(l, 5) && is_u32(r, IO_STATUS_OK)).then(|| l.clone().ge(r.clone()))
    })
}

/// The IO queue takes one entry more than it has (`e <= entries`).
pub fn io_queue_bound_inclusive(p: &mut Program) -> usize {
    reop(p, BinaryOp::Le, &|op, l, _| op == BinaryOp::Lt && is_var(l, "ml_io"))
}

/// An IO entry's TAG is the slot index plus one.
pub fn io_tag_off_by_one(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Store { buffer, value, .. } if buffer == IO_QUEUE && is_var(value, names::SLOT) => {
            *value = value.clone() + Expr::u32(1);
            1
        }
        _ => 0,
    })
}

/// PRINTF writes a record at the log's capacity (`cursor <= capacity`).
pub fn debug_log_capacity_inclusive(p: &mut Program) -> usize {
    reop(p, BinaryOp::Le, &|op, l, _| op == BinaryOp::Lt && is_var(l, "ml_log_at"))
}

/// PACKED_SLOT takes any number of sub-operations.
pub fn packed_count_unbounded(p: &mut Program) -> usize {
    rebinary(p, &|op, l, r| (op == BinaryOp::Le && is_arg(l, 0) && is_u32(r, PACKED_MAX_OPS)).then(|| Expr::bool(true)))
}

/// PACKED_SLOT refuses ATOMIC_ADD sub-operations (`>=` for `>`).
pub fn packed_add_refused(p: &mut Program) -> usize {
    reop(p, BinaryOp::Ge, &|op, l, r| {
        op == BinaryOp::Gt && matches!(l, Expr::Binary { op: BinaryOp::Shr, .. }) && is_u32(r, ATOMIC_ADD)
    })
}

/// The SHUTDOWN handler does not set the flag.
pub fn shutdown_not_set(p: &mut Program) -> usize {
    remove_stmts(p, &|s| is_atomic_on(s, AtomicOp::Store, CONTROL, CTRL_SHUTDOWN))
}

/// BATCH_FENCE stores EPOCH instead of raising it (a later, lower fence lowers it).
pub fn fence_stores_epoch(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Atomic { op, buffer, index, .. }
            if *op == AtomicOp::Max && buffer == CONTROL && is_u32(index, CTRL_EPOCH) =>
        {
            *op = AtomicOp::Store;
            1
        }
        _ => 0,
    })
}
