//! Opcodes: the built-in set, the reserved ranges user handlers may not use, and the
//! metric bucket each opcode counts in.

use crate::protocol::layout::METRIC_WORDS;

/// Does nothing.
pub const NOP: u32 = 0;
/// `heap[arg0] = arg1`.
pub const STORE_U32: u32 = 1;
/// `atomic_add(heap[arg0], arg1)`.
pub const ATOMIC_ADD: u32 = 2;
/// `control[OBSERVABLES + arg1] = heap[arg0]`.
pub const LOAD_U32: u32 = 3;
/// `control[OBSERVABLES + arg3] = compare_exchange(heap[arg0], arg1, arg2)`.
pub const COMPARE_SWAP: u32 = 4;
/// Copy `arg2` words from `heap[arg1..]` to `heap[arg0..]`.
pub const MEMCPY: u32 = 5;
/// Ends a batch: `atomic_max(control[EPOCH], arg0)`.
pub const BATCH_FENCE: u32 = 7;
/// Requests `arg3` bytes of handle `arg0` at offset `arg1 | arg2 << 32` into `heap[arg4..]`.
pub const LOAD_MISS: u32 = 0xFFFD;
/// Appends `[slot, arg0, arg1, arg2]` to the debug log.
pub const PRINTF: u32 = 0xFFFE;
/// Up to 5 packed STORE_U32/ATOMIC_ADD/NOP sub-operations.
pub const PACKED_SLOT: u32 = 0x8000_0001;
/// Sets control SHUTDOWN.
pub const SHUTDOWN: u32 = 0xFFFF_FFFF;

/// Largest MEMCPY length in words; longer copies FAULT.
pub const MEMCPY_MAX_WORDS: u32 = 1024;

/// The built-in opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuiltinOp {
    /// [`NOP`]
    Nop,
    /// [`STORE_U32`]
    StoreU32,
    /// [`ATOMIC_ADD`]
    AtomicAdd,
    /// [`LOAD_U32`]
    LoadU32,
    /// [`COMPARE_SWAP`]
    CompareSwap,
    /// [`MEMCPY`]
    Memcpy,
    /// [`BATCH_FENCE`]
    BatchFence,
    /// [`LOAD_MISS`]
    LoadMiss,
    /// [`PRINTF`]
    Printf,
    /// [`PACKED_SLOT`]
    PackedSlot,
    /// [`SHUTDOWN`]
    Shutdown,
}

impl BuiltinOp {
    /// Every built-in opcode.
    pub const ALL: [BuiltinOp; 11] = [
        BuiltinOp::Nop,
        BuiltinOp::StoreU32,
        BuiltinOp::AtomicAdd,
        BuiltinOp::LoadU32,
        BuiltinOp::CompareSwap,
        BuiltinOp::Memcpy,
        BuiltinOp::BatchFence,
        BuiltinOp::LoadMiss,
        BuiltinOp::Printf,
        BuiltinOp::PackedSlot,
        BuiltinOp::Shutdown,
    ];

    /// The opcode word.
    pub fn opcode(self) -> u32 {
        match self {
            BuiltinOp::Nop => NOP,
            BuiltinOp::StoreU32 => STORE_U32,
            BuiltinOp::AtomicAdd => ATOMIC_ADD,
            BuiltinOp::LoadU32 => LOAD_U32,
            BuiltinOp::CompareSwap => COMPARE_SWAP,
            BuiltinOp::Memcpy => MEMCPY,
            BuiltinOp::BatchFence => BATCH_FENCE,
            BuiltinOp::LoadMiss => LOAD_MISS,
            BuiltinOp::Printf => PRINTF,
            BuiltinOp::PackedSlot => PACKED_SLOT,
            BuiltinOp::Shutdown => SHUTDOWN,
        }
    }

    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinOp::Nop => "NOP",
            BuiltinOp::StoreU32 => "STORE_U32",
            BuiltinOp::AtomicAdd => "ATOMIC_ADD",
            BuiltinOp::LoadU32 => "LOAD_U32",
            BuiltinOp::CompareSwap => "COMPARE_SWAP",
            BuiltinOp::Memcpy => "MEMCPY",
            BuiltinOp::BatchFence => "BATCH_FENCE",
            BuiltinOp::LoadMiss => "LOAD_MISS",
            BuiltinOp::Printf => "PRINTF",
            BuiltinOp::PackedSlot => "PACKED_SLOT",
            BuiltinOp::Shutdown => "SHUTDOWN",
        }
    }

    /// The built-in with this opcode word.
    pub fn from_opcode(op: u32) -> Option<BuiltinOp> {
        BuiltinOp::ALL.into_iter().find(|b| b.opcode() == op)
    }

    /// The built-in with this name (case-insensitive).
    pub fn from_name(name: &str) -> Option<BuiltinOp> {
        BuiltinOp::ALL.into_iter().find(|b| b.name().eq_ignore_ascii_case(name))
    }
}

/// Whether user handlers may not use this opcode: `<= 7`, `0xFFF0..=0xFFFF`, or top bit set.
pub fn is_reserved(op: u32) -> bool {
    op <= 7 || (0xFFF0..=0xFFFF).contains(&op) || op & 0x8000_0000 != 0
}

/// The metric word (relative to `CTRL_METRICS`) an opcode is counted in.
pub fn metric_bucket(op: u32) -> u32 {
    op % METRIC_WORDS
}
