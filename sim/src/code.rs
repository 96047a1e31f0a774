//! The compiled form the simulator executes: a tree of nodes over numbered registers,
//! with every operation already resolved to its typed kind.
//!
//! Pure expressions become flat [`Op`] sequences that write registers; statements
//! become [`Node`]s. Values are u32 words (bool 0/1, i32 and f32 as bits).

use megaloop::ir::{AtomicOp, Builtin};

/// A register index.
pub type Reg = u32;

/// A typed unary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Un {
    /// Wrapping i32 negation.
    NegI32,
    /// f32 sign flip.
    NegF32,
    /// bool not.
    Not,
    /// Integer complement.
    BitNot,
}

/// A typed binary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    DivU,
    DivI,
    RemU,
    RemI,
    AddF,
    SubF,
    MulF,
    DivF,
    RemF,
    And,
    Or,
    Xor,
    Shl,
    ShrU,
    ShrI,
    Eq,
    Ne,
    EqF,
    NeF,
    LtU,
    LtI,
    LtF,
    LeU,
    LeI,
    LeF,
    GtU,
    GtI,
    GtF,
    GeU,
    GeI,
    GeF,
    LogicalAnd,
    LogicalOr,
    MinU,
    MinI,
    MinF,
    MaxU,
    MaxI,
    MaxF,
}

/// A typed conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// Same bits (u32 <-> i32, bitcasts, identity).
    Bits,
    /// f32 -> u32, truncating and saturating, NaN -> 0.
    F32ToU32,
    /// f32 -> i32, truncating and saturating, NaN -> 0.
    F32ToI32,
    /// u32 -> f32, nearest even.
    U32ToF32,
    /// i32 -> f32, nearest even.
    I32ToF32,
    /// bool -> f32.
    BoolToF32,
    /// integer -> bool (`!= 0`).
    IntToBool,
    /// f32 -> bool (`!= 0.0`).
    F32ToBool,
}

/// A pure operation writing one register (fields: `dst` is written, the rest read).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `dst = value`.
    Const { dst: Reg, value: u32 },
    /// `dst = builtin`.
    Builtin { dst: Reg, which: Builtin },
    /// `dst = src`.
    Copy { dst: Reg, src: Reg },
    /// `dst = op a`.
    Un { dst: Reg, op: Un, a: Reg },
    /// `dst = a op b`.
    Bin { dst: Reg, op: Bin, a: Reg, b: Reg },
    /// `dst = a op imm`.
    BinImm { dst: Reg, op: Bin, a: Reg, imm: u32 },
    /// `dst = c ? a : b`.
    Select { dst: Reg, c: Reg, a: Reg, b: Reg },
    /// `dst = conv(a)`.
    Conv { dst: Reg, conv: Conv, a: Reg },
    /// `dst = buffer[idx + offset]` (0 out of bounds; the add wraps).
    Load { dst: Reg, buf: u16, idx: Reg, offset: u32 },
    /// `dst = buffer[index]`.
    LoadConst { dst: Reg, buf: u16, index: u32 },
}

/// A statement.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Evaluate pure ops for every lane of the warp (they only write temporaries and
    /// freshly declared variables).
    Eval(Vec<Op>),
    /// `dst = src` for active lanes (assignment to an existing variable).
    Assign { dst: Reg, src: Reg },
    /// `buffer[idx] = val` for active lanes.
    Store { buf: u16, idx: Reg, val: Reg },
    /// `var = crc32(var, bytes of buf from word on)` for active lanes (spec 1.5).
    Crc32 { var: Reg, buf: u16, word: Reg, bytes: Reg },
    /// An atomic for active lanes, in lane order.
    Atomic { op: AtomicOp, buf: u16, idx: Reg, a: Reg, b: Reg, dst: Option<Reg> },
    /// Two-way branch on `cond`.
    If { cond: Reg, then: Vec<Node>, otherwise: Vec<Node> },
    /// Counted loop: `var` from `var`'s current value while `< to`.
    For { var: Reg, to: Reg, body: Vec<Node> },
    /// Persistent loop with per-lane fuel in `fuel`, iteration counter `count`.
    Persistent {
        /// Fuel register.
        fuel: Reg,
        /// Iteration counter register.
        count: Reg,
        /// Ops computing `exit`.
        exit_ops: Vec<Op>,
        /// Exit condition register.
        exit: Reg,
        /// Body.
        body: Vec<Node>,
        /// Runs for lanes whose fuel ran out.
        on_exhausted: Vec<Node>,
        /// Path of the loop, for reports.
        path: String,
    },
    /// Leave the innermost loop.
    Break,
    /// End the lane.
    Return,
    /// Workgroup barrier (top level only).
    Barrier,
}

/// A compiled program.
#[derive(Clone, Debug)]
pub struct Code {
    /// The body.
    pub body: Vec<Node>,
    /// Registers each lane needs.
    pub registers: u32,
    /// Declared words of each buffer.
    pub buffer_words: Vec<u32>,
    /// Workgroup size.
    pub workgroup_size: u32,
    /// Whether any lane may wait for another (a persistent loop exists).
    pub has_persistent_loop: bool,
    /// Whether the body has a barrier.
    pub has_barrier: bool,
}
