//! Random deterministic user handlers: typed IR expressions (u32, i32, bool and the
//! bit-exact f32 class of spec 1.6, observed by value), bounded loops, stores to the slot's own private
//! heap words and commutative atomics on shared accumulators. Whatever the schedule,
//! every such handler leaves the same schedule-independent state (spec 2.10).
//!
//! Expression strategies are built bottom-up once per depth and shared (a
//! `BoxedStrategy` clone is a reference count), so a deep generator stays small.

use super::layout::{accumulator_op, ACCUMULATORS, HANDLER_PRIVATE, HANDLER_PRIVATE_WORDS, TABLE, TABLE_WORDS};
use megaloop::builder::UserHandler;
use megaloop::ir::build::stmt::{assign, atomic, for_, if_else, let_, store};
use megaloop::ir::ops::ResultRule;
use megaloop::ir::{AtomicOp, BinaryOp, Block, Expr, ScalarType, UnaryOp};
use megaloop::protocol::Status;
use proptest::prelude::*;
use proptest::sample::select;

const HEAP: &str = "heap";

/// The handler's private word `k % 4`: `heap[HANDLER_PRIVATE + HANDLER_PRIVATE_WORDS * slot + k % 4]`.
fn private_word(k: Expr) -> Expr {
    Expr::u32(HANDLER_PRIVATE) + Expr::var("slot") * Expr::u32(HANDLER_PRIVATE_WORDS) + (k % Expr::u32(4))
}

/// Expressions of each type over a fixed set of u32 variables.
#[derive(Clone)]
struct Exprs {
    u32: BoxedStrategy<Expr>,
    i32: BoxedStrategy<Expr>,
    bool: BoxedStrategy<Expr>,
    f32: BoxedStrategy<Expr>,
}

/// Integer arithmetic, from the op table: every binary op over integers whose result has
/// the operand's type.
fn int_ops() -> Vec<BinaryOp> {
    BinaryOp::ALL
        .into_iter()
        .filter(|op| op.sig().lhs.contains(ScalarType::I32) && matches!(op.sig().result, ResultRule::SameAsLhs))
        .collect()
}

/// Comparisons, from the op table: every binary op over numbers that yields a bool.
fn comparisons() -> Vec<BinaryOp> {
    BinaryOp::ALL
        .into_iter()
        .filter(|op| op.sig().lhs.contains(ScalarType::U32) && matches!(op.sig().result, ResultRule::Bool))
        .collect()
}

/// f32 operations that are bit-for-bit comparable across backends (spec 1.6).
const EXACT_F32_OPS: [BinaryOp; 3] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul];

impl Exprs {
    fn leaves(vars: &[&'static str]) -> Exprs {
        let var_u32 = select(vars.to_vec()).prop_map(Expr::var);
        let u32 = prop_oneof![
            any::<u32>().prop_map(Expr::u32),
            prop_oneof![Just(0u32), Just(1), Just(31), Just(32), Just(u32::MAX)].prop_map(Expr::u32),
            var_u32.clone(),
            (0..TABLE_WORDS).prop_map(|k| Expr::load(HEAP, Expr::u32(TABLE + k))),
            (0u32..4).prop_map(|k| Expr::load(HEAP, private_word(Expr::u32(k)))),
        ]
        .boxed();
        let i32 = prop_oneof![
            any::<i32>().prop_map(Expr::i32),
            prop_oneof![Just(i32::MIN), Just(-1), Just(0), Just(1), Just(i32::MAX)].prop_map(Expr::i32),
            var_u32.clone().prop_map(|v| v.cast(ScalarType::I32)),
        ]
        .boxed();
        let bool =
            prop_oneof![any::<bool>().prop_map(Expr::bool), var_u32.prop_map(|v| v.cast(ScalarType::Bool))].boxed();
        // Leaves are integers below 64, so every result of two levels of add, sub and mul
        // is an integer below 2^24: exact, whether or not a GPU compiler fuses a multiply
        // and an add into one rounding (the H100's driver does; spec 1.6).
        let f32 = (u32.clone(), any::<bool>())
            .prop_map(|(v, negative)| {
                let small = (v & Expr::u32(0x3F)).cast(ScalarType::F32);
                if negative {
                    Expr::unary(UnaryOp::Neg, small)
                } else {
                    small
                }
            })
            .boxed();
        Exprs { u32, i32, bool, f32 }
    }

    /// One level deeper: operations over `self`'s expressions, or `self`'s expressions.
    fn deeper(&self, f32_depth_left: bool) -> Exprs {
        let (u, i, b, f) = (self.u32.clone(), self.i32.clone(), self.bool.clone(), self.f32.clone());
        let u32 = prop_oneof![
            2 => u.clone(),
            3 => (select(int_ops()), u.clone(), u.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            1 => u.clone().prop_map(|v| Expr::unary(UnaryOp::BitNot, v)),
            1 => (b.clone(), u.clone(), u.clone()).prop_map(|(c, t, e)| Expr::select(c, t, e)),
            1 => i.clone().prop_map(|v| v.cast(ScalarType::U32)),
            1 => i.clone().prop_map(|v| v.bitcast(ScalarType::U32)),
            1 => f.clone().prop_map(|v| v.cast(ScalarType::U32)),
            1 => b.clone().prop_map(|v| v.cast(ScalarType::U32)),
        ]
        .boxed();
        let i32 = prop_oneof![
            2 => i.clone(),
            3 => (select(int_ops()), i.clone(), i.clone(), u.clone()).prop_map(|(op, l, r, amount)| {
                // Shift amounts are u32 (spec 1.4).
                let r = if matches!(op, BinaryOp::Shl | BinaryOp::Shr) { amount } else { r };
                Expr::binary(op, l, r)
            }),
            1 => i.clone().prop_map(|v| Expr::unary(UnaryOp::Neg, v)),
            1 => (b.clone(), i.clone(), i.clone()).prop_map(|(c, t, e)| Expr::select(c, t, e)),
            1 => f.clone().prop_map(|v| v.cast(ScalarType::I32)),
        ]
        .boxed();
        let bool = prop_oneof![
            2 => b.clone(),
            2 => (select(comparisons()), u.clone(), u.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            2 => (select(comparisons()), i.clone(), i.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            1 => (select(comparisons()), f.clone(), f.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
            1 => (b.clone(), b.clone(), any::<bool>()).prop_map(|(l, r, and)| if and { l.and(r) } else { l.or(r) }),
            1 => b.clone().prop_map(|v| Expr::unary(UnaryOp::Not, v)),
        ]
        .boxed();
        let f32 = if f32_depth_left {
            prop_oneof![
                2 => f.clone(),
                2 => (select(EXACT_F32_OPS.to_vec()), f.clone(), f.clone()).prop_map(|(op, l, r)| Expr::binary(op, l, r)),
                1 => (b, f.clone(), f.clone()).prop_map(|(c, t, e)| Expr::select(c, t, e)),
            ]
            .boxed()
        } else {
            f
        };
        Exprs { u32, i32, bool, f32 }
    }

    /// Expressions up to `depth` operations deep (f32 arithmetic at most two deep).
    fn up_to(vars: &[&'static str], depth: u32) -> Exprs {
        let mut e = Exprs::leaves(vars);
        for level in 0..depth {
            e = e.deeper(level < 2);
        }
        e
    }
}

const BASE_VARS: [&str; 8] = ["slot", "opcode", "tenant", "priority", "arg0", "arg1", "arg2", "arg3"];

/// How a handler ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// `next_status = c ? DONE : FAULT`.
    DoneOrFault,
    /// A status word that is not an outcome (the slot FAULTs).
    NotAnOutcome(u32),
    /// YIELD (or REQUEUE) the first time, DONE when run again: a private flag word says.
    Once(Status),
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        4 => Just(Ending::DoneOrFault),
        1 => prop_oneof![Just(0u32), Just(1), Just(2), Just(8), Just(u32::MAX)].prop_map(Ending::NotAnOutcome),
        1 => prop_oneof![Just(Status::Yield), Just(Status::Requeue)].prop_map(Ending::Once),
    ]
}

/// A commutative atomic on a shared accumulator (its result unused) or any atomic on a
/// private word (its result used).
fn atomic_stmt(value: BoxedStrategy<Expr>) -> impl Strategy<Value = Block> {
    let shared = (0..ACCUMULATORS, value.clone())
        .prop_map(|(word, v)| vec![atomic(accumulator_op(word), HEAP, Expr::u32(word), vec![v], None)]);
    let private = (0u32..4, value.clone(), value, any::<bool>()).prop_map(|(k, a, b, cas)| {
        let (op, args) = if cas { (AtomicOp::CompareExchange, vec![a, b]) } else { (AtomicOp::Exchange, vec![a]) };
        vec![
            atomic(op, HEAP, private_word(Expr::u32(k)), args, Some("h_old")),
            store(HEAP, private_word(Expr::u32(k + 1)), Expr::var("h_old") ^ Expr::u32(0x5a5a_5a5a)),
        ]
    });
    prop_oneof![2 => shared, 1 => private]
}

/// A random deterministic user handler for `opcode`.
pub fn handler(opcode: u32) -> impl Strategy<Value = UserHandler> {
    let outer = Exprs::up_to(&BASE_VARS, 3);
    let with_a: Vec<&'static str> = BASE_VARS.iter().copied().chain(["h_a"]).collect();
    let inner_vars: Vec<&'static str> = with_a.iter().copied().chain(["h_k"]).collect();
    let after = Exprs::up_to(&with_a, 3);
    let inner = Exprs::up_to(&inner_vars, 2);
    let loop_body = (0u32..4, inner.u32.clone(), atomic_stmt(inner.u32.clone()), inner.bool.clone(), inner.u32.clone())
        .prop_map(|(k, stored, atomic, cond, updated)| {
            let mut body = vec![store(HEAP, private_word(Expr::var("h_k") + Expr::u32(k)), stored)];
            body.extend(atomic);
            body.push(if_else(cond, vec![assign("h_a", updated)], vec![]));
            body
        });
    (
        outer.u32.clone(),
        after.i32.clone(),
        after.f32.clone(),
        0u32..5,
        loop_body,
        after.bool.clone(),
        (after.u32.clone(), after.u32.clone()),
        atomic_stmt(after.u32.clone()),
        (ending(), after.bool.clone()),
    )
        .prop_map(move |(a, b, c, trips, loop_body, cond, (then_v, else_v), atomic, (end, end_cond))| {
            let mut body = vec![
                let_("h_a", ScalarType::U32, a),
                let_("h_b", ScalarType::I32, b),
                let_("h_c", ScalarType::F32, c),
                for_("h_k", Expr::u32(0), Expr::u32(trips), loop_body),
                if_else(
                    cond,
                    vec![store(HEAP, private_word(Expr::u32(0)), then_v)],
                    vec![store(HEAP, private_word(Expr::u32(1)), else_v)],
                ),
                store(HEAP, private_word(Expr::u32(2)), Expr::var("h_b").bitcast(ScalarType::U32)),
                // f32 leaves a handler by value (a cast), never by bits: a GPU may lose the
                // sign of a zero result (spec 1.6).
                store(HEAP, private_word(Expr::u32(3)), Expr::var("h_c").cast(ScalarType::U32) ^ Expr::var("h_a")),
            ];
            body.extend(atomic);
            body.extend(ending_stmts(end, end_cond));
            UserHandler { name: format!("generated_{opcode:#x}"), opcode, body, io: None }
        })
}

fn ending_stmts(end: Ending, cond: Expr) -> Block {
    let status = |s: Status| Expr::u32(s.word());
    match end {
        Ending::DoneOrFault => {
            vec![assign("next_status", Expr::select(cond, status(Status::Done), status(Status::Fault)))]
        }
        Ending::NotAnOutcome(word) => vec![assign("next_status", Expr::u32(word))],
        Ending::Once(parked) => {
            // The flag word follows the four data words, which the body above writes.
            let flag = Expr::u32(HANDLER_PRIVATE + 4) + Expr::var("slot") * Expr::u32(HANDLER_PRIVATE_WORDS);
            let marker = Expr::u32(0xC0DE_0000) + Expr::var("slot");
            vec![if_else(
                Expr::load(HEAP, flag.clone()).ne(marker.clone()),
                vec![store(HEAP, flag, marker), assign("next_status", status(parked))],
                vec![],
            )]
        }
    }
}
