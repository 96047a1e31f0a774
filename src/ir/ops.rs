//! The op table: every IR operation is declared here once, with its name, its operand
//! types, its result type and its side effects.
//!
//! The validator types programs from these signatures; the printer, the simulator and
//! the WGSL lowering each `match` on these enums exhaustively, with no wildcard arm, so a
//! new operation does not compile until every consumer handles it.

use crate::ir::types::ScalarType;
use serde::{Deserialize, Serialize};

/// The set of operand types an operation accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeClass {
    /// u32 or i32.
    Integer,
    /// u32, i32 or f32.
    Numeric,
    /// The signed types: i32 or f32.
    Signed,
    /// bool only.
    Bool,
    /// Any scalar type.
    Any,
    /// u32 only.
    U32,
}

impl TypeClass {
    /// Whether `ty` belongs to the class.
    pub fn contains(self, ty: ScalarType) -> bool {
        match self {
            TypeClass::Integer => ty.is_integer(),
            TypeClass::Numeric => ty.is_numeric(),
            TypeClass::Signed => matches!(ty, ScalarType::I32 | ScalarType::F32),
            TypeClass::Bool => ty == ScalarType::Bool,
            TypeClass::Any => true,
            TypeClass::U32 => ty == ScalarType::U32,
        }
    }

    /// Human-readable description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            TypeClass::Integer => "u32 or i32",
            TypeClass::Numeric => "u32, i32 or f32",
            TypeClass::Signed => "i32 or f32",
            TypeClass::Bool => "bool",
            TypeClass::Any => "any scalar",
            TypeClass::U32 => "u32",
        }
    }
}

/// Unary operations (pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// Arithmetic negation; wrapping for i32 (`-i32::MIN == i32::MIN`).
    Neg,
    /// Logical not.
    Not,
    /// Bitwise complement.
    BitNot,
}

/// Signature of a unary operation: operand class; the result has the operand's type.
#[derive(Clone, Copy, Debug)]
pub struct UnarySig {
    /// Printer and diagnostics name.
    pub name: &'static str,
    /// Accepted operand types.
    pub operand: TypeClass,
}

impl UnaryOp {
    /// Every unary op.
    pub const ALL: [UnaryOp; 3] = [UnaryOp::Neg, UnaryOp::Not, UnaryOp::BitNot];

    /// The op's signature.
    pub fn sig(self) -> UnarySig {
        match self {
            UnaryOp::Neg => UnarySig { name: "neg", operand: TypeClass::Signed },
            UnaryOp::Not => UnarySig { name: "not", operand: TypeClass::Bool },
            UnaryOp::BitNot => UnarySig { name: "bit_not", operand: TypeClass::Integer },
        }
    }

    /// Whether the op accepts this operand type (u32 negation is not allowed, as in WGSL).
    pub fn accepts(self, ty: ScalarType) -> bool {
        self.sig().operand.contains(ty)
    }
}

/// Binary operations (pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// Wrapping addition (f32: IEEE, correctly rounded).
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication.
    Mul,
    /// Division: integer `x / 0 == x`, `i32::MIN / -1 == i32::MIN`; f32 within CTS bounds.
    Div,
    /// Remainder: integer `x % 0 == 0`, `i32::MIN % -1 == 0`; f32 within CTS bounds.
    Rem,
    /// Bitwise and.
    BitAnd,
    /// Bitwise or.
    BitOr,
    /// Bitwise xor.
    BitXor,
    /// Shift left; the amount (u32) is taken modulo 32.
    Shl,
    /// Shift right (arithmetic for i32, logical for u32); the amount is taken modulo 32.
    Shr,
    /// Equality.
    Eq,
    /// Inequality.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Logical and (both sides are pure, so short-circuiting is unobservable).
    LogicalAnd,
    /// Logical or.
    LogicalOr,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
}

/// What type a binary op's right operand must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RhsRule {
    /// The same type as the left operand.
    SameAsLhs,
    /// Always u32 (shift amounts).
    U32,
}

/// What type a binary op produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultRule {
    /// The left operand's type.
    SameAsLhs,
    /// bool.
    Bool,
}

/// Signature of a binary operation.
#[derive(Clone, Copy, Debug)]
pub struct BinarySig {
    /// Printer name.
    pub name: &'static str,
    /// Infix symbol in the printed form.
    pub symbol: &'static str,
    /// Accepted left operand types.
    pub lhs: TypeClass,
    /// Right operand rule.
    pub rhs: RhsRule,
    /// Result rule.
    pub result: ResultRule,
}

impl BinaryOp {
    /// Every binary op.
    pub const ALL: [BinaryOp; 20] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::BitAnd,
        BinaryOp::BitOr,
        BinaryOp::BitXor,
        BinaryOp::Shl,
        BinaryOp::Shr,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::LogicalAnd,
        BinaryOp::LogicalOr,
        BinaryOp::Min,
        BinaryOp::Max,
    ];

    /// The op's signature.
    pub fn sig(self) -> BinarySig {
        use ResultRule as R;
        use RhsRule as H;
        use TypeClass as T;
        let (name, symbol, lhs, rhs, result) = match self {
            BinaryOp::Add => ("add", "+", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Sub => ("sub", "-", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Mul => ("mul", "*", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Div => ("div", "/", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Rem => ("rem", "%", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::BitAnd => ("bit_and", "&", T::Integer, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::BitOr => ("bit_or", "|", T::Integer, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::BitXor => ("bit_xor", "^", T::Integer, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Shl => ("shl", "<<", T::Integer, H::U32, R::SameAsLhs),
            BinaryOp::Shr => ("shr", ">>", T::Integer, H::U32, R::SameAsLhs),
            BinaryOp::Eq => ("eq", "==", T::Any, H::SameAsLhs, R::Bool),
            BinaryOp::Ne => ("ne", "!=", T::Any, H::SameAsLhs, R::Bool),
            BinaryOp::Lt => ("lt", "<", T::Numeric, H::SameAsLhs, R::Bool),
            BinaryOp::Le => ("le", "<=", T::Numeric, H::SameAsLhs, R::Bool),
            BinaryOp::Gt => ("gt", ">", T::Numeric, H::SameAsLhs, R::Bool),
            BinaryOp::Ge => ("ge", ">=", T::Numeric, H::SameAsLhs, R::Bool),
            BinaryOp::LogicalAnd => ("logical_and", "&&", T::Bool, H::SameAsLhs, R::Bool),
            BinaryOp::LogicalOr => ("logical_or", "||", T::Bool, H::SameAsLhs, R::Bool),
            BinaryOp::Min => ("min", "min", T::Numeric, H::SameAsLhs, R::SameAsLhs),
            BinaryOp::Max => ("max", "max", T::Numeric, H::SameAsLhs, R::SameAsLhs),
        };
        BinarySig { name, symbol, lhs, rhs, result }
    }

    /// Whether the op prints as a function call (`min(a, b)`) rather than infix.
    pub fn is_call(self) -> bool {
        matches!(self, BinaryOp::Min | BinaryOp::Max)
    }

    /// The result type for operands of these types, or `None` when they do not fit the
    /// signature.
    pub fn result_type(self, lhs: ScalarType, rhs: ScalarType) -> Option<ScalarType> {
        let sig = self.sig();
        if !sig.lhs.contains(lhs) {
            return None;
        }
        let rhs_ok = match sig.rhs {
            RhsRule::SameAsLhs => rhs == lhs,
            RhsRule::U32 => rhs == ScalarType::U32,
        };
        if !rhs_ok {
            return None;
        }
        Some(match sig.result {
            ResultRule::SameAsLhs => lhs,
            ResultRule::Bool => ScalarType::Bool,
        })
    }
}

/// Atomic read-modify-write operations on one u32 word of a buffer. All are relaxed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum AtomicOp {
    /// Atomic load; binds the word.
    Load,
    /// Atomic store; binds nothing.
    Store,
    /// Wrapping add; binds the old value.
    Add,
    /// Wrapping subtract; binds the old value.
    Sub,
    /// Bitwise and; binds the old value.
    And,
    /// Bitwise or; binds the old value.
    Or,
    /// Bitwise xor; binds the old value.
    Xor,
    /// Unsigned minimum; binds the old value.
    Min,
    /// Unsigned maximum; binds the old value.
    Max,
    /// Exchange; binds the old value.
    Exchange,
    /// Strong compare-exchange `(expected, desired)`: binds the old value; the exchange
    /// happened exactly when `old == expected` (never a spurious failure).
    CompareExchange,
}

/// Signature of an atomic op: how many u32 value operands it takes and whether it
/// produces a u32 result that a statement may bind.
#[derive(Clone, Copy, Debug)]
pub struct AtomicSig {
    /// Printer name.
    pub name: &'static str,
    /// Number of u32 value operands after the index.
    pub operands: usize,
    /// Whether the op produces a result (the old value, or the loaded word).
    pub has_result: bool,
    /// Whether the op writes memory.
    pub writes: bool,
}

impl AtomicOp {
    /// Every atomic op.
    pub const ALL: [AtomicOp; 11] = [
        AtomicOp::Load,
        AtomicOp::Store,
        AtomicOp::Add,
        AtomicOp::Sub,
        AtomicOp::And,
        AtomicOp::Or,
        AtomicOp::Xor,
        AtomicOp::Min,
        AtomicOp::Max,
        AtomicOp::Exchange,
        AtomicOp::CompareExchange,
    ];

    /// The op's signature.
    pub fn sig(self) -> AtomicSig {
        let (name, operands, has_result, writes) = match self {
            AtomicOp::Load => ("atomic_load", 0, true, false),
            AtomicOp::Store => ("atomic_store", 1, false, true),
            AtomicOp::Add => ("atomic_add", 1, true, true),
            AtomicOp::Sub => ("atomic_sub", 1, true, true),
            AtomicOp::And => ("atomic_and", 1, true, true),
            AtomicOp::Or => ("atomic_or", 1, true, true),
            AtomicOp::Xor => ("atomic_xor", 1, true, true),
            AtomicOp::Min => ("atomic_min", 1, true, true),
            AtomicOp::Max => ("atomic_max", 1, true, true),
            AtomicOp::Exchange => ("atomic_exchange", 1, true, true),
            AtomicOp::CompareExchange => ("atomic_compare_exchange", 2, true, true),
        };
        AtomicSig { name, operands, has_result, writes }
    }
}

/// Built-in invocation values, all u32, over a one-dimensional grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// `workgroup_id * workgroup_size + local_invocation_id`.
    GlobalInvocationId,
    /// The lane's index inside its workgroup.
    LocalInvocationId,
    /// The workgroup's index in the grid.
    WorkgroupId,
    /// The number of workgroups dispatched.
    NumWorkgroups,
    /// The program's workgroup size.
    WorkgroupSize,
}

impl Builtin {
    /// Every builtin.
    pub const ALL: [Builtin; 5] = [
        Builtin::GlobalInvocationId,
        Builtin::LocalInvocationId,
        Builtin::WorkgroupId,
        Builtin::NumWorkgroups,
        Builtin::WorkgroupSize,
    ];

    /// Printer name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::GlobalInvocationId => "global_invocation_id",
            Builtin::LocalInvocationId => "local_invocation_id",
            Builtin::WorkgroupId => "workgroup_id",
            Builtin::NumWorkgroups => "num_workgroups",
            Builtin::WorkgroupSize => "workgroup_size",
        }
    }
}

/// Whether a bit cast between these types is allowed (32-bit types only).
///
/// Value conversions (`cast`) are allowed between every pair of types: u32 <-> i32 keep
/// the bits, float -> int truncates toward zero and saturates (NaN -> 0), int -> float
/// rounds to nearest even, bool <-> number is 0/1 and `!= 0`.
pub fn bitcast_allowed(from: ScalarType, to: ScalarType) -> bool {
    from != ScalarType::Bool && to != ScalarType::Bool
}
