//! Small constructors for hand-written programs, so builders and tests read like the
//! programs they make: `Expr::var("i") + Expr::u32(1)`, `stmt::store("ring", i, v)`.

use crate::ir::ops::{AtomicOp, BinaryOp, Builtin, UnaryOp};
use crate::ir::program::{Block, Expr, Stmt};
use crate::ir::types::{Literal, ScalarType};

impl Expr {
    /// A u32 literal.
    pub fn u32(v: u32) -> Expr {
        Expr::Literal(Literal::U32(v))
    }
    /// An i32 literal.
    pub fn i32(v: i32) -> Expr {
        Expr::Literal(Literal::I32(v))
    }
    /// An f32 literal.
    pub fn f32(v: f32) -> Expr {
        Expr::Literal(Literal::f32(v))
    }
    /// A bool literal.
    pub fn bool(v: bool) -> Expr {
        Expr::Literal(Literal::Bool(v))
    }
    /// A variable reference.
    pub fn var(name: &str) -> Expr {
        Expr::Var(name.to_string())
    }
    /// A builtin value.
    pub fn builtin(b: Builtin) -> Expr {
        Expr::Builtin(b)
    }
    /// A plain word load.
    pub fn load(buffer: &str, index: Expr) -> Expr {
        Expr::Load { buffer: buffer.to_string(), index: Box::new(index) }
    }
    /// A buffer's declared word count.
    pub fn buffer_len(buffer: &str) -> Expr {
        Expr::BufferLen { buffer: buffer.to_string() }
    }
    /// A binary operation.
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }
    }
    /// A unary operation.
    pub fn unary(op: UnaryOp, operand: Expr) -> Expr {
        Expr::Unary { op, operand: Box::new(operand) }
    }
    /// `cond ? a : b`.
    pub fn select(cond: Expr, if_true: Expr, if_false: Expr) -> Expr {
        Expr::Select { cond: Box::new(cond), if_true: Box::new(if_true), if_false: Box::new(if_false) }
    }
    /// A value conversion.
    pub fn cast(self, to: ScalarType) -> Expr {
        Expr::Cast { to, value: Box::new(self) }
    }
    /// A bit reinterpretation.
    pub fn bitcast(self, to: ScalarType) -> Expr {
        Expr::Bitcast { to, value: Box::new(self) }
    }
    /// `self == rhs`.
    pub fn eq(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Eq, self, rhs)
    }
    /// `self != rhs`.
    pub fn ne(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Ne, self, rhs)
    }
    /// `self < rhs`.
    pub fn lt(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Lt, self, rhs)
    }
    /// `self <= rhs`.
    pub fn le(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Le, self, rhs)
    }
    /// `self > rhs`.
    pub fn gt(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Gt, self, rhs)
    }
    /// `self >= rhs`.
    pub fn ge(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Ge, self, rhs)
    }
    /// `self && rhs`.
    pub fn and(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::LogicalAnd, self, rhs)
    }
    /// `self || rhs`.
    pub fn or(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::LogicalOr, self, rhs)
    }
    /// `min(self, rhs)`.
    pub fn min(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Min, self, rhs)
    }
    /// `max(self, rhs)`.
    pub fn max(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Max, self, rhs)
    }
}

macro_rules! binary_operator {
    ($($trait:ident :: $method:ident => $op:ident),* $(,)?) => {$(
        #[doc = concat!("`lhs ", stringify!($method), " rhs` as an IR expression.")]
        impl std::ops::$trait for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                Expr::binary(BinaryOp::$op, self, rhs)
            }
        }
    )*};
}

binary_operator! {
    Add::add => Add,
    Sub::sub => Sub,
    Mul::mul => Mul,
    Div::div => Div,
    Rem::rem => Rem,
    BitAnd::bitand => BitAnd,
    BitOr::bitor => BitOr,
    BitXor::bitxor => BitXor,
    Shl::shl => Shl,
    Shr::shr => Shr,
}

/// `!e`: logical not (bool only; integers use [`UnaryOp::BitNot`]).
impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::unary(UnaryOp::Not, self)
    }
}

/// `-e`: arithmetic negation.
impl std::ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::unary(UnaryOp::Neg, self)
    }
}

/// Statement constructors.
pub mod stmt {
    use super::*;

    /// `let name: ty = value;`
    pub fn let_(name: &str, ty: ScalarType, value: Expr) -> Stmt {
        Stmt::Let { name: name.to_string(), ty, value }
    }
    /// `let name: u32 = value;`
    pub fn let_u32(name: &str, value: Expr) -> Stmt {
        let_(name, ScalarType::U32, value)
    }
    /// `name = value;`
    pub fn assign(name: &str, value: Expr) -> Stmt {
        Stmt::Assign { name: name.to_string(), value }
    }
    /// `buffer[index] = value;`
    pub fn store(buffer: &str, index: Expr, value: Expr) -> Stmt {
        Stmt::Store { buffer: buffer.to_string(), index, value }
    }
    /// `var = crc32(var, bytes of buffer from word on)`.
    pub fn crc32(var: &str, buffer: &str, word: Expr, bytes: Expr) -> Stmt {
        Stmt::Crc32 { var: var.to_string(), buffer: buffer.to_string(), word, bytes }
    }
    /// An atomic whose result, if any, is bound to `result`.
    pub fn atomic(op: AtomicOp, buffer: &str, index: Expr, args: Vec<Expr>, result: Option<&str>) -> Stmt {
        Stmt::Atomic { op, buffer: buffer.to_string(), index, args, result: result.map(str::to_string) }
    }
    /// `atomic_add(buffer[index], value)` with the old value discarded.
    pub fn atomic_add(buffer: &str, index: Expr, value: Expr) -> Stmt {
        atomic(AtomicOp::Add, buffer, index, vec![value], None)
    }
    /// `atomic_store(buffer[index], value)`.
    pub fn atomic_store(buffer: &str, index: Expr, value: Expr) -> Stmt {
        atomic(AtomicOp::Store, buffer, index, vec![value], None)
    }
    /// `let result = atomic_load(buffer[index]);`
    pub fn atomic_load(result: &str, buffer: &str, index: Expr) -> Stmt {
        atomic(AtomicOp::Load, buffer, index, vec![], Some(result))
    }
    /// `let result = atomic_compare_exchange(buffer[index], expected, desired);`
    pub fn compare_exchange(result: &str, buffer: &str, index: Expr, expected: Expr, desired: Expr) -> Stmt {
        atomic(AtomicOp::CompareExchange, buffer, index, vec![expected, desired], Some(result))
    }
    /// `if cond { then } else { otherwise }`
    pub fn if_else(cond: Expr, then: Block, otherwise: Block) -> Stmt {
        Stmt::If { cond, then, otherwise }
    }
    /// `if cond { then }`
    pub fn if_(cond: Expr, then: Block) -> Stmt {
        if_else(cond, then, Vec::new())
    }
    /// `for var in from..to { body }`
    pub fn for_(var: &str, from: Expr, to: Expr, body: Block) -> Stmt {
        Stmt::For { var: var.to_string(), from, to, body }
    }
    /// The persistent loop.
    pub fn persistent_loop(fuel: Expr, exit_when: Expr, body: Block, on_exhausted: Block) -> Stmt {
        Stmt::PersistentLoop { fuel, exit_when, body, on_exhausted }
    }
}
