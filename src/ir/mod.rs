//! The megakernel IR: one tree-shaped program description that the simulator interprets
//! and the GPU backend lowers to WGSL.
//!
//! - [`types`]: scalar types and literals;
//! - [`ops`]: the op table, where every operation is declared once with its signature;
//! - [`program`]: programs, buffers, statements and expressions;
//! - [`validate`](mod@validate): the validator and [`ValidProgram`], the proof that a program passed it;
//! - [`print`](mod@print): the readable text form used in errors, snapshots and the CLI;
//! - [`crc`]: what the `crc32` statement computes, for the engines that run it;
//! - [`build`]: small constructors that keep hand-written programs short.
//!
//! Serialization is serde (JSON round trip is exact, f32 literals travel as bits).

pub mod build;
pub mod crc;
pub mod ops;
pub mod print;
pub mod program;
pub mod types;
pub mod validate;
pub mod walk;

#[cfg(test)]
mod tests;

pub use ops::{AtomicOp, BinaryOp, Builtin, UnaryOp};
pub use program::{Access, Block, BufferDecl, Expr, Program, Stmt, WordRange};
pub use types::{Literal, ScalarType};
pub use validate::{validate, ErrorKind, ValidProgram, ValidationError, ValidationErrors};
