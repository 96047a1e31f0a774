//! Planted faults of an engine's IR semantics: what an interpreter or a lowering (the
//! simulator's evaluator, the WGSL lowering) gets wrong at an operation's edge values
//! (spec part 1), planted as an edit of every program the engine runs, so the same fault
//! runs on every engine.

use super::rewrite::{exprs, stmts, Types};
use crate::ir::{BinaryOp, Expr, Literal, Program, ScalarType, Stmt};

/// The zero of an integer type.
fn zero(ty: ScalarType) -> Expr {
    match ty {
        ScalarType::I32 => Expr::i32(0),
        _ => Expr::u32(0),
    }
}

/// Replace every binary node of operand type in `types` that `pick` maps.
fn retype_binary(
    p: &mut Program,
    ops: &[BinaryOp],
    types: &[ScalarType],
    pick: &dyn Fn(BinaryOp, ScalarType, Expr, Expr) -> Expr,
) -> usize {
    let env = Types::of(p);
    exprs(p, &mut |e| {
        let Expr::Binary { op, lhs, rhs } = e else { return 0 };
        match env.of_expr(lhs) {
            Some(ty) if ops.contains(op) && types.contains(&ty) => {
                *e = pick(*op, ty, (**lhs).clone(), (**rhs).clone());
                1
            }
            _ => 0,
        }
    })
}

const INTEGERS: [ScalarType; 2] = [ScalarType::U32, ScalarType::I32];

/// Integer `x / 0` yields 0 instead of `x`.
pub fn division_by_zero_yields_zero(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Div], &INTEGERS, &|op, ty, l, r| {
        Expr::select(r.clone().eq(zero(ty)), zero(ty), Expr::binary(op, l, r))
    })
}

/// Integer `x % 0` yields `x` instead of 0.
pub fn remainder_by_zero_yields_dividend(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Rem], &INTEGERS, &|op, ty, l, r| {
        Expr::select(r.clone().eq(zero(ty)), l.clone(), Expr::binary(op, l, r))
    })
}

/// `i32::MIN / -1` yields 0 instead of `i32::MIN`.
pub fn signed_division_overflow_yields_zero(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Div], &[ScalarType::I32], &|op, _, l, r| {
        let overflow = l.clone().eq(Expr::i32(i32::MIN)).and(r.clone().eq(Expr::i32(-1)));
        Expr::select(overflow, Expr::i32(0), Expr::binary(op, l, r))
    })
}

/// The i32 remainder takes the divisor's sign (a floored modulo) instead of the dividend's.
pub fn signed_remainder_floored(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Rem], &[ScalarType::I32], &|op, _, l, r| {
        Expr::binary(op, Expr::binary(op, l, r.clone()) + r.clone(), r)
    })
}

/// i32 shift right is logical (zero-filling) instead of arithmetic.
pub fn signed_shift_right_logical(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Shr], &[ScalarType::I32], &|op, _, l, r| {
        Expr::binary(op, l.bitcast(ScalarType::U32), r).bitcast(ScalarType::I32)
    })
}

/// A shift by 32 or more yields 0 instead of shifting by the amount modulo 32.
pub fn shift_amount_unmasked(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Shl, BinaryOp::Shr], &INTEGERS, &|op, ty, l, r| {
        Expr::select(r.clone().ge(Expr::u32(32)), zero(ty), Expr::binary(op, l, r))
    })
}

/// i32 ordering compares the bits as unsigned.
pub fn signed_compare_unsigned(p: &mut Program) -> usize {
    let ops = [BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge];
    retype_binary(p, &ops, &[ScalarType::I32], &|op, _, l, r| {
        Expr::binary(op, l.bitcast(ScalarType::U32), r.bitcast(ScalarType::U32))
    })
}

/// i32 minimum and maximum compare the bits as unsigned.
pub fn signed_min_max_unsigned(p: &mut Program) -> usize {
    retype_binary(p, &[BinaryOp::Min, BinaryOp::Max], &[ScalarType::I32], &|op, _, l, r| {
        Expr::binary(op, l.bitcast(ScalarType::U32), r.bitcast(ScalarType::U32)).bitcast(ScalarType::I32)
    })
}

/// f32 to u32 converts through i32 (a C cast): negative values wrap instead of
/// saturating at 0.
pub fn float_to_unsigned_wraps(p: &mut Program) -> usize {
    let env = Types::of(p);
    exprs(p, &mut |e| match e {
        Expr::Cast { to: ScalarType::U32, value } if env.of_expr(value) == Some(ScalarType::F32) => {
            let v = std::mem::replace(&mut **value, Expr::bool(false));
            *e = v.cast(ScalarType::I32).bitcast(ScalarType::U32);
            1
        }
        _ => 0,
    })
}

/// `select` takes its operands in WGSL's order (false first) as if they were true first.
pub fn select_operands_swapped(p: &mut Program) -> usize {
    exprs(p, &mut |e| match e {
        Expr::Select { if_true, if_false, .. } => {
            std::mem::swap(if_true, if_false);
            1
        }
        _ => 0,
    })
}

/// An out-of-bounds load clamps its index to the last word (robust buffer access)
/// instead of yielding 0.
pub fn load_index_clamped(p: &mut Program) -> usize {
    exprs(p, &mut |e| match e {
        Expr::Load { buffer, index } if !matches!(**index, Expr::Literal(Literal::U32(_))) => {
            let last = Expr::buffer_len(buffer) - Expr::u32(1);
            let i = std::mem::replace(&mut **index, Expr::bool(false));
            **index = i.min(last);
            1
        }
        _ => 0,
    })
}

/// An out-of-bounds store writes the last word instead of being dropped.
pub fn store_index_clamped(p: &mut Program) -> usize {
    stmts(p, &mut |s| match s {
        Stmt::Store { buffer, index, .. } if !matches!(index, Expr::Literal(Literal::U32(_))) => {
            let last = Expr::buffer_len(buffer) - Expr::u32(1);
            let i = std::mem::replace(index, Expr::bool(false));
            *index = i.min(last);
            1
        }
        _ => 0,
    })
}
