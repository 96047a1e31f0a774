//! The heap layout of generated workloads, which is what makes them deterministic: every
//! word is either read-only, private to one slot, or a shared accumulator updated by one
//! commutative atomic operation. No slot ever reads a word another slot writes, so every
//! schedule leaves the same heap, observables and statuses (spec 2.10).

use megaloop::ir::AtomicOp;

/// Heap words of a generated workload.
pub const HEAP_WORDS: u32 = 2048;
/// Shared accumulators: `heap[0..ACCUMULATORS]`, each updated by one commutative op.
pub const ACCUMULATORS: u32 = 16;
/// The read-only table: `heap[TABLE..TABLE + TABLE_WORDS]` (initialised, never written).
pub const TABLE: u32 = 16;
/// Words of the read-only table.
pub const TABLE_WORDS: u32 = 112;
/// Built-in slots' private words: slot `i` (publication order) owns
/// `heap[BUILTIN_PRIVATE + 8 i ..][..8]`.
pub const BUILTIN_PRIVATE: u32 = 128;
/// Private words per built-in slot.
pub const BUILTIN_PRIVATE_WORDS: u32 = 8;
/// User handlers' private words: ring slot `s` owns
/// `heap[HANDLER_PRIVATE + 5 s ..][..5]` (four data words and a flag).
pub const HANDLER_PRIVATE: u32 = 640;
/// Private words per handler slot.
pub const HANDLER_PRIVATE_WORDS: u32 = 5;
/// Most slots in a generated workload (the private areas are sized for it).
pub const MAX_GENERATED_SLOTS: u32 = 64;
/// Most ring slots of a generated case: [`super::overflowing`] appends its PRINTF burst,
/// and the ring sorts slots by priority, so a handler slot's ring index (which picks its
/// private words) can reach this.
pub const MAX_RING_SLOTS: u32 = MAX_GENERATED_SLOTS + super::workload::PRINTF_BURST;

const _: () = assert!(BUILTIN_PRIVATE + BUILTIN_PRIVATE_WORDS * MAX_GENERATED_SLOTS <= HANDLER_PRIVATE);
const _: () = assert!(HANDLER_PRIVATE + HANDLER_PRIVATE_WORDS * MAX_RING_SLOTS <= HEAP_WORDS);

/// The one commutative operation that updates accumulator `word`.
pub fn accumulator_op(word: u32) -> AtomicOp {
    [AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor, AtomicOp::Min, AtomicOp::Max][(word % 6) as usize]
}

/// Accumulators updated by addition (the targets of ATOMIC_ADD and packed adds).
pub const ADD_ACCUMULATORS: [u32; 3] = [0, 6, 12];

/// Built-in slot `i`'s private word `k`.
pub fn builtin_private(i: u32, k: u32) -> u32 {
    BUILTIN_PRIVATE + BUILTIN_PRIVATE_WORDS * i + k
}
