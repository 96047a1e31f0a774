//! Programs: buffers, statements and expressions.
//!
//! A program is a tree: a block of statements run by every lane of a one-dimensional
//! grid. Expressions are pure; every side effect (stores, atomics) is a statement, and an
//! atomic binds its result to a new variable. Variables are block-scoped, typed and
//! mutable (`let` declares, `assign` updates); names are never shadowed.

use crate::ir::ops::{AtomicOp, BinaryOp, Builtin, UnaryOp};
use crate::ir::types::{Literal, ScalarType};
use serde::{Deserialize, Serialize};

/// A whole megakernel program.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// A name used in reports and as the WGSL entry point's comment.
    pub name: String,
    /// Lanes per workgroup (1-D), 1..=256.
    pub workgroup_size: u32,
    /// Storage buffers, each an array of u32 words.
    pub buffers: Vec<BufferDecl>,
    /// The body every lane runs.
    pub body: Block,
}

/// How a buffer may be accessed by the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Loads only.
    Read,
    /// Loads, stores and atomics.
    ReadWrite,
}

/// A half-open range of word indices `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct WordRange {
    /// First word.
    pub start: u32,
    /// One past the last word.
    pub end: u32,
}

/// A storage buffer of u32 words.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct BufferDecl {
    /// Identifier used by loads, stores and atomics.
    pub name: String,
    /// Binding index in bind group 0; unique per program.
    pub binding: u32,
    /// Access mode.
    pub access: Access,
    /// Number of u32 words; nothing is ever read or written past it.
    pub words: u32,
    /// Which words the host reads back after a run (`None`: none).
    pub readback: Option<WordRange>,
    /// Words from this index on are the device's alone (IO landing areas): a backend that
    /// keeps buffers between runs uploads them when it creates the buffer and never
    /// again, and never reads them back; after that they change only by lanes and by IO
    /// landing in the device's memory. Past the readback range. `None`: the host mirrors
    /// the whole buffer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_only_from: Option<u32>,
}

impl BufferDecl {
    /// The words the host mirrors: all but the device-only ones.
    pub fn mirrored_words(&self) -> u32 {
        self.device_only_from.map_or(self.words, |from| from.min(self.words))
    }
}

/// A sequence of statements with its own variable scope.
pub type Block = Vec<Stmt>;

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Stmt {
    /// Declare a mutable variable of type `ty`, initialised to `value`.
    Let {
        /// Variable name (an identifier, unique among the names in scope).
        name: String,
        /// Declared type; must equal the value's type.
        ty: ScalarType,
        /// Initial value.
        value: Expr,
    },
    /// Overwrite a variable declared by `let` (not a loop counter, not an atomic result).
    Assign {
        /// Variable name.
        name: String,
        /// New value, of the variable's type.
        value: Expr,
    },
    /// Plain store of a u32 word; out-of-bounds stores are dropped.
    Store {
        /// Target buffer (read_write).
        buffer: String,
        /// Word index (u32).
        index: Expr,
        /// Stored word (u32).
        value: Expr,
    },
    /// An atomic operation on one word; out-of-bounds atomics do nothing and yield 0.
    Atomic {
        /// The operation.
        op: AtomicOp,
        /// Target buffer (read_write, even for loads).
        buffer: String,
        /// Word index (u32).
        index: Expr,
        /// Value operands (u32), as many as the op's signature says.
        args: Vec<Expr>,
        /// A new immutable u32 variable that receives the result, if the op has one.
        result: Option<String>,
    },
    /// `var = crc32(var, bytes)`: zlib's CRC-32 (IEEE 802.3, reflected, with pre- and
    /// post-inversion) of the bytes of `buffer` from byte `4 * word` on, continuing the
    /// CRC in `var` (a u32 variable declared by `let`; 0 starts a new CRC). Words are
    /// little-endian; the range stops at the buffer's end (none when `word` is past it).
    /// Each word is read as a plain load.
    Crc32 {
        /// The running CRC (a `let` u32 variable, read and overwritten).
        var: String,
        /// Buffer read.
        buffer: String,
        /// First word (u32).
        word: Expr,
        /// Byte count (u32).
        bytes: Expr,
    },
    /// Two-way branch.
    If {
        /// Condition (bool).
        cond: Expr,
        /// Runs when true.
        then: Block,
        /// Runs when false.
        otherwise: Block,
    },
    /// Counted loop: `var` takes `from, from + 1, ..., to - 1` (u32); empty when
    /// `from >= to`. The counter is read-only in the body.
    For {
        /// Counter name.
        var: String,
        /// First value (u32).
        from: Expr,
        /// Exclusive bound (u32), evaluated once.
        to: Expr,
        /// Loop body.
        body: Block,
    },
    /// The persistent loop: at most `fuel` iterations (u32, evaluated once); before each
    /// iteration `exit_when` is evaluated and the loop ends if it holds. If the fuel runs
    /// out first, `on_exhausted` runs once after the loop (a `break` does not count as
    /// running out).
    PersistentLoop {
        /// Iteration budget, set by the host.
        fuel: Expr,
        /// Exit condition (bool), checked before every iteration.
        exit_when: Expr,
        /// Loop body.
        body: Block,
        /// Runs when the fuel ran out with the exit condition unmet.
        on_exhausted: Block,
    },
    /// Leave the innermost `for` or persistent loop.
    Break,
    /// End this lane's invocation.
    Return,
    /// Workgroup barrier over storage memory; allowed only in the program's top-level
    /// block, where control flow is uniform.
    Barrier,
}

/// A pure expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Expr {
    /// A constant.
    Literal(Literal),
    /// A variable in scope.
    Var(String),
    /// Word `index` of a buffer (u32); 0 when out of bounds.
    Load {
        /// Buffer name.
        buffer: String,
        /// Word index (u32).
        index: Box<Expr>,
    },
    /// The declared word count of a buffer (u32).
    BufferLen {
        /// Buffer name.
        buffer: String,
    },
    /// An invocation builtin (u32).
    Builtin(Builtin),
    /// A unary operation.
    Unary {
        /// Operation.
        op: UnaryOp,
        /// Operand.
        operand: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// Operation.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? if_true : if_false` (both sides evaluated; they are pure).
    Select {
        /// Condition (bool).
        cond: Box<Expr>,
        /// Value when true.
        if_true: Box<Expr>,
        /// Value when false, of the same type.
        if_false: Box<Expr>,
    },
    /// Value conversion to `to`.
    Cast {
        /// Target type.
        to: ScalarType,
        /// Converted value.
        value: Box<Expr>,
    },
    /// Bit reinterpretation between u32, i32 and f32.
    Bitcast {
        /// Target type.
        to: ScalarType,
        /// Reinterpreted value.
        value: Box<Expr>,
    },
}
