//! Builders: megakernel programs as plain IR, for every mode.
//!
//! The builders are where slots, tenants, priorities and opcodes exist; what they emit is
//! ordinary IR, so the simulator and the GPU backend never know what a tenant is.
//!
//! - [`Mode::Once`]: each lane drains its share of the ring once;
//! - [`Mode::Persistent`]: lanes loop over their shard until SHUTDOWN, the drain target,
//!   or their fuel runs out;
//! - [`Mode::Priority`]: persistent, scanning priority partitions with the starvation guard;
//! - [`Mode::Jit`]: persistent with only a build-time handler set fused into the loop body.
//!
//! Every program binds the four vyre buffers (control, ring, debug log, IO queue) and the
//! heap; LOAD_MISS makes every program self-loading (it parks its slot as WAIT_IO and
//! never waits for the host). [`Readback::ControlOnly`] reads back only control.

mod handlers;
mod modes;
pub mod names;
mod slot;
pub mod tally;
mod user;

pub use user::UserHandler;

use crate::geometry::GeometryError;
use crate::ir::{validate, Access, Block, BufferDecl, Program, ValidProgram, ValidationErrors, WordRange};
use crate::protocol::layout::*;
use crate::protocol::opcode::BuiltinOp;
use names::buffers::*;
use serde::{Deserialize, Serialize};

/// Most user handlers in one program (the opcode chain nests one level per handler).
pub const MAX_USER_HANDLERS: usize = 32;
/// Largest ring: the ring buffer must fit the largest buffer the validator accepts.
pub const MAX_SLOTS: u32 = crate::ir::validate::MAX_BUFFER_WORDS / SLOT_WORDS;
/// Default heap size in words.
pub const DEFAULT_HEAP_WORDS: u32 = 4096;
/// Default persistent fuel: iterations per lane per epoch.
pub const DEFAULT_FUEL: u32 = 1 << 16;

/// Execution mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One pass.
    Once,
    /// Sharded persistent loop.
    Persistent,
    /// Persistent priority scan with the starvation guard.
    Priority,
    /// Persistent with a fused build-time handler set.
    Jit,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [Mode::Once, Mode::Persistent, Mode::Priority, Mode::Jit];

    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Once => "once",
            Mode::Persistent => "persistent",
            Mode::Priority => "priority",
            Mode::Jit => "jit",
        }
    }

    /// Whether lanes loop (and so use fuel and the drain target).
    pub fn is_persistent(self) -> bool {
        !matches!(self, Mode::Once)
    }
}

/// What the host reads back after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readback {
    /// Every buffer.
    Full,
    /// Control only (throughput runs).
    ControlOnly,
}

/// Everything a program is built from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BuildOptions {
    /// Execution mode.
    pub mode: Mode,
    /// Ring slots.
    pub slots: u32,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// Heap words.
    pub heap_words: u32,
    /// Observable words after control word 160.
    pub observables: u32,
    /// Built-in handlers in jit mode (other modes have all of them).
    pub jit_builtins: Vec<BuiltinOp>,
    /// The built-in opcodes the ring can meet in the coming epoch, where the host knows
    /// them (`None`: any): the program then holds only those built-in handlers (in jit
    /// mode, those of `jit_builtins`). An opcode outside the set cannot reach a lane, so
    /// the program behaves as the full one; a smaller dispatch is faster where a device
    /// runs every branch under a mask (lavapipe). Set by the ring ([`crate::host::ring`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_builtins: Option<Vec<BuiltinOp>>,
    /// User handlers (every mode).
    pub user_handlers: Vec<UserHandler>,
    /// What is read back.
    pub readback: Readback,
    /// IO queue entries: how many IO requests one epoch can take before a slot that
    /// requests IO must YIELD (vyre's 64 by default).
    #[serde(default = "default_io_entries")]
    pub io_entries: u32,
    /// Heap words the host mirrors (`None`: all). The words past them are IO landing
    /// areas that only IO requests fill and only lanes read: they are the device's alone
    /// ([`crate::ir::BufferDecl::device_only_from`]), never read back, and a backend that
    /// keeps its buffers between epochs does not upload them again (the stream checksum's
    /// windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_mirrored_words: Option<u32>,
}

fn default_io_entries() -> u32 {
    IO_ENTRIES
}

impl BuildOptions {
    /// Defaults: workgroup size 64, 4096 heap words, 96 observables, full readback, and
    /// every built-in in jit mode.
    pub fn new(mode: Mode, slots: u32) -> BuildOptions {
        BuildOptions {
            mode,
            slots,
            workgroup_size: crate::geometry::DEFAULT_WORKGROUP_SIZE,
            heap_words: DEFAULT_HEAP_WORDS,
            observables: DEFAULT_OBSERVABLES,
            jit_builtins: BuiltinOp::ALL.to_vec(),
            met_builtins: None,
            user_handlers: Vec::new(),
            readback: Readback::Full,
            io_entries: IO_ENTRIES,
            heap_mirrored_words: None,
        }
    }

    /// Control buffer words.
    pub fn control_words(&self) -> u32 {
        control_words(self.observables)
    }
}

/// Why a program could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Bad slot count or workgroup size.
    #[error(transparent)]
    Geometry(#[from] GeometryError),
    /// Too many slots.
    #[error("{slots} slots is more than the {MAX_SLOTS} a ring buffer can hold")]
    TooManySlots {
        /// Requested.
        slots: u32,
    },
    /// Bad heap or observable size.
    #[error("{what} of {words} words is outside 1..={max}")]
    BadSize {
        /// Which.
        what: &'static str,
        /// Requested.
        words: u32,
        /// Largest allowed.
        max: u32,
    },
    /// A user handler on a reserved opcode.
    #[error("user handler `{name}`: opcode {opcode:#x} is reserved (<= 7, 0xFFF0..=0xFFFF, or top bit set)")]
    ReservedOpcode {
        /// Handler name.
        name: String,
        /// Opcode.
        opcode: u32,
    },
    /// Two handlers on one opcode.
    #[error("user handlers `{first}` and `{second}` both claim opcode {opcode:#x}")]
    DuplicateOpcode {
        /// Opcode.
        opcode: u32,
        /// First handler.
        first: String,
        /// Second handler.
        second: String,
    },
    /// Too many user handlers.
    #[error("{count} user handlers; at most {MAX_USER_HANDLERS}")]
    TooManyHandlers {
        /// Given.
        count: usize,
    },
    /// A user handler body breaks a handler rule or does not validate.
    #[error("user handler `{name}` (opcode {opcode:#x}): {problem}")]
    Handler {
        /// Handler name.
        name: String,
        /// Opcode.
        opcode: u32,
        /// What is wrong.
        problem: String,
    },
    /// The assembled program failed validation (a builder bug, or a handler too deep).
    #[error("the built program is invalid: {0}")]
    Invalid(#[from] ValidationErrors),
}

/// A handler as the dispatch sees it.
#[derive(Clone, Debug)]
pub(crate) struct Handler {
    pub opcode: u32,
    pub body: Block,
}

/// Build and validate the program for `opts`.
pub fn build(opts: &BuildOptions) -> Result<ValidProgram, BuildError> {
    build_with(opts, None)
}

/// The one-dispatch-per-slot benchmark baseline for `opts` (every built-in handler, one
/// lane per dispatch; dispatch it once per slot).
pub fn build_dispatch_per_slot(opts: &BuildOptions) -> Result<ValidProgram, BuildError> {
    let mut o = opts.clone();
    o.workgroup_size = 1;
    build_with(&o, Some(modes::dispatch_per_slot))
}

type Skeleton = fn(&BuildOptions, &[Handler]) -> Block;

fn build_with(opts: &BuildOptions, skeleton: Option<Skeleton>) -> Result<ValidProgram, BuildError> {
    crate::geometry::Geometry::once(opts.slots, opts.workgroup_size)?;
    if opts.slots > MAX_SLOTS {
        return Err(BuildError::TooManySlots { slots: opts.slots });
    }
    let max_words = crate::ir::validate::MAX_BUFFER_WORDS;
    if opts.heap_words == 0 || opts.heap_words > max_words {
        return Err(BuildError::BadSize { what: "heap", words: opts.heap_words, max: max_words });
    }
    if opts.io_entries == 0 || opts.io_entries > MAX_IO_ENTRIES {
        return Err(BuildError::BadSize {
            what: "IO queue",
            words: opts.io_entries.saturating_mul(IO_ENTRY_WORDS),
            max: MAX_IO_ENTRIES * IO_ENTRY_WORDS,
        });
    }
    if opts.observables == 0 || opts.observables > max_words - CTRL_OBSERVABLES {
        return Err(BuildError::BadSize {
            what: "observable area",
            words: opts.observables,
            max: max_words - CTRL_OBSERVABLES,
        });
    }
    user::check_all(opts)?;
    let mut builtins: Vec<BuiltinOp> = match opts.mode {
        Mode::Jit => opts.jit_builtins.clone(),
        Mode::Once | Mode::Persistent | Mode::Priority => BuiltinOp::ALL.to_vec(),
    };
    if let Some(met) = &opts.met_builtins {
        builtins.retain(|op| met.contains(op));
    }
    let mut handlers: Vec<Handler> =
        builtins.iter().map(|&op| Handler { opcode: op.opcode(), body: handlers::builtin_body(op, opts) }).collect();
    handlers.extend(opts.user_handlers.iter().map(|h| {
        let body = match h.io {
            Some(op) => handlers::io_body(op.word(), h.body.clone(), opts),
            None => h.body.clone(),
        };
        Handler { opcode: h.opcode, body }
    }));
    let body = match (skeleton, opts.mode) {
        (Some(f), _) => f(opts, &handlers),
        (None, Mode::Once) => modes::once(opts, &handlers),
        (None, Mode::Persistent | Mode::Jit) => modes::persistent(opts, &handlers),
        (None, Mode::Priority) => modes::priority(opts, &handlers),
    };
    let variant = if skeleton.is_some() { "dispatch_per_slot" } else { opts.mode.name() };
    let program = Program {
        name: format!("megaloop_{variant}_{}", opts.slots),
        workgroup_size: opts.workgroup_size,
        buffers: protocol_buffers(opts),
        body,
    };
    Ok(validate(&program)?)
}

/// The five buffers every megakernel program binds.
pub fn protocol_buffers(opts: &BuildOptions) -> Vec<BufferDecl> {
    let full = opts.readback == Readback::Full;
    let decl = |name: &str, binding: u32, words: u32, read_back: bool| BufferDecl {
        name: name.to_string(),
        binding,
        access: Access::ReadWrite,
        words,
        readback: read_back.then_some(WordRange { start: 0, end: words }),
        device_only_from: None,
    };
    let mirrored = opts.heap_mirrored_words.map_or(opts.heap_words, |m| m.min(opts.heap_words));
    let heap = BufferDecl {
        readback: full.then_some(WordRange { start: 0, end: mirrored }),
        device_only_from: opts.heap_mirrored_words.map(|_| mirrored),
        ..decl(HEAP, BINDING_HEAP, opts.heap_words, full)
    };
    vec![
        decl(CONTROL, BINDING_CONTROL, opts.control_words(), true),
        decl(RING, BINDING_RING, opts.slots * SLOT_WORDS, full),
        decl(DEBUG_LOG, BINDING_DEBUG_LOG, DEBUG_LOG_WORDS, full),
        decl(IO_QUEUE, BINDING_IO_QUEUE, opts.io_entries * IO_ENTRY_WORDS, full),
        heap,
    ]
}

#[cfg(test)]
mod tests;
