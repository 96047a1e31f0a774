//! The megakernel wire protocol (vyre-runtime 0.6 layout, six defects fixed): constants,
//! host-side codecs with strict errors, and the slot state machine.
//!
//! - [`layout`]: every word's index and every constant, plus the [`layout::LAYOUT`] table;
//! - [`status`]: statuses, actions and [`status::transition`];
//! - [`opcode`]: built-in opcodes and reserved ranges;
//! - [`control`], [`ring`], [`debug_log`], [`io_queue`], [`packed`], [`replay`]: codecs;
//! - [`error`]: the codecs' error type.
//!
//! Codecs never panic on input: every malformed buffer is a [`CodecError`] naming the
//! buffer and word.

pub mod control;
pub mod debug_log;
pub mod error;
pub mod io_queue;
pub mod layout;
pub mod opcode;
pub mod packed;
pub mod replay;
pub mod ring;
pub mod status;

pub use error::CodecError;
pub use status::{transition, Action, Status, STATUS_COUNT};

#[cfg(test)]
mod tests;
