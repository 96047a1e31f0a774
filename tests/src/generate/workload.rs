//! Random valid workloads: slot streams with every built-in opcode (PACKED_SLOT and
//! LOAD_MISS included), user-handler opcodes and opcodes without a handler; tenants
//! allowed, denied and out of range; every priority; arguments in and out of bounds.
//! Slots follow the heap discipline of [`super::layout`], so the final
//! schedule-independent state is the same under every correct schedule.

use super::handler::handler;
use super::layout::*;
use megaloop::host::workload::{generated_bytes, FileSpec, HeapInit, OpcodeSpec, SlotSpec, TenantSpec, Workload};
use megaloop::protocol::layout::{DEBUG_RECORDS, DEFAULT_OBSERVABLES};
use megaloop::protocol::opcode::*;
use megaloop::protocol::packed::{PackedOp, PACKED_OP_SHIFT};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// First opcode given to generated user handlers.
pub const FIRST_USER_OPCODE: u32 = 0x100;

/// One packed sub-operation, relative to the slot.
#[derive(Clone, Debug)]
enum PackedPlan {
    Nop,
    /// Store into private word `k`.
    Store(u32, u32),
    /// Add to an addition accumulator.
    Add(usize, u32),
}

/// A slot before it knows its index: addresses are relative to its private area.
#[derive(Clone, Debug)]
enum SlotPlan {
    Nop,
    Store { k: u32, value: u32, out_of_heap: Option<u32> },
    AtomicAdd { acc: usize, value: u32, out_of_heap: Option<u32> },
    LoadU32 { table: u32, bad_source: bool, bad_observable: bool },
    CompareSwap { k: u32, matches: bool, expected: u32, desired: u32, bad_observable: bool },
    Memcpy { k: u32, table: u32, len: u32, bad: u8 },
    Fence(u32),
    Printf([u32; 3]),
    Packed { ops: Vec<PackedPlan>, bad: u8 },
    Shutdown,
    LoadMiss { offset: u32, bytes: u32, k: u32, bad: u8 },
    NoHandler(u32),
    User { handler: u32, args: Vec<u32> },
}

fn packed_plan() -> impl Strategy<Value = PackedPlan> {
    prop_oneof![
        Just(PackedPlan::Nop),
        (0u32..8, any::<u32>()).prop_map(|(k, v)| PackedPlan::Store(k, v)),
        (0usize..3, any::<u32>()).prop_map(|(a, v)| PackedPlan::Add(a, v)),
    ]
}

fn slot_plan(handlers: u32) -> impl Strategy<Value = SlotPlan> {
    let oob =
        prop_oneof![4 => Just(None), 1 => (HEAP_WORDS..HEAP_WORDS + 64).prop_map(Some), 1 => Just(Some(u32::MAX))];
    // With no handlers generated, a user opcode is one more opcode without a handler.
    let user =
        (0..handlers.max(1), vec(any::<u32>(), 0..=4)).prop_map(|(handler, args)| SlotPlan::User { handler, args });
    prop_oneof![
        1 => Just(SlotPlan::Nop),
        2 => (0u32..8, any::<u32>(), oob.clone()).prop_map(|(k, value, out_of_heap)| SlotPlan::Store { k, value, out_of_heap }),
        2 => (0usize..3, any::<u32>(), oob).prop_map(|(acc, value, out_of_heap)| SlotPlan::AtomicAdd { acc, value, out_of_heap }),
        2 => (0..TABLE_WORDS, prop::bool::weighted(0.15), prop::bool::weighted(0.15))
            .prop_map(|(table, bad_source, bad_observable)| SlotPlan::LoadU32 { table, bad_source, bad_observable }),
        2 => (0u32..8, any::<bool>(), any::<u32>(), any::<u32>(), prop::bool::weighted(0.15)).prop_map(
            |(k, matches, expected, desired, bad_observable)| SlotPlan::CompareSwap { k, matches, expected, desired, bad_observable }
        ),
        2 => (0u32..8, 0..TABLE_WORDS, 0u32..=8, prop_oneof![5 => Just(0u8), 1 => 1u8..=3])
            .prop_map(|(k, table, len, bad)| SlotPlan::Memcpy { k, table, len, bad }),
        1 => any::<u32>().prop_map(SlotPlan::Fence),
        1 => any::<[u32; 3]>().prop_map(SlotPlan::Printf),
        2 => (vec(packed_plan(), 1..=5), prop_oneof![5 => Just(0u8), 1 => 1u8..=4])
            .prop_map(|(ops, bad)| SlotPlan::Packed { ops, bad }),
        1 => Just(SlotPlan::Shutdown),
        2 => (0u32..256, 0u32..=32, 0u32..8, prop_oneof![5 => Just(0u8), 1 => 1u8..=4])
            .prop_map(|(offset, bytes, k, bad)| SlotPlan::LoadMiss { offset, bytes, k, bad }),
        1 => prop_oneof![Just(0x1234u32), Just(6), Just(0xFFF0), Just(0x8000_0002), Just(FIRST_USER_OPCODE + 31)]
            .prop_map(SlotPlan::NoHandler),
        4 => user,
    ]
}

/// What a slot plan needs to know to become a slot.
struct Context<'a> {
    heap: &'a [u32],
    file_len: u32,
}

impl SlotPlan {
    fn resolve(&self, i: u32, cx: &Context) -> (u32, Vec<u32>) {
        let private = |k: u32| builtin_private(i, k);
        let observable = |bad: bool| if bad { DEFAULT_OBSERVABLES + i } else { i % DEFAULT_OBSERVABLES };
        match self {
            SlotPlan::Nop => (NOP, vec![]),
            SlotPlan::Store { k, value, out_of_heap } => (STORE_U32, vec![out_of_heap.unwrap_or(private(*k)), *value]),
            SlotPlan::AtomicAdd { acc, value, out_of_heap } => {
                (ATOMIC_ADD, vec![out_of_heap.unwrap_or(ADD_ACCUMULATORS[*acc]), *value])
            }
            SlotPlan::LoadU32 { table, bad_source, bad_observable } => {
                let source = if *bad_source { HEAP_WORDS + table } else { TABLE + table };
                (LOAD_U32, vec![source, observable(*bad_observable)])
            }
            SlotPlan::CompareSwap { k, matches, expected, desired, bad_observable } => {
                let addr = private(*k);
                let expected = if *matches { cx.heap[addr as usize] } else { *expected };
                (COMPARE_SWAP, vec![addr, expected, *desired, observable(*bad_observable)])
            }
            SlotPlan::Memcpy { k, table, len, bad } => {
                let len = (*len).min(BUILTIN_PRIVATE_WORDS - k);
                let (dst, src, len) = match bad {
                    0 => (private(*k), TABLE + table.min(&(TABLE_WORDS - len)), len),
                    1 => (HEAP_WORDS - 1, TABLE, 2),
                    2 => (private(*k), HEAP_WORDS, 1),
                    _ => (private(*k), TABLE, MEMCPY_MAX_WORDS + 1),
                };
                (MEMCPY, vec![dst, src, len])
            }
            SlotPlan::Fence(sequence) => (BATCH_FENCE, vec![*sequence]),
            SlotPlan::Printf(words) => (PRINTF, words.to_vec()),
            SlotPlan::Packed { ops, bad } => {
                let mut packed: Vec<PackedOp> = ops
                    .iter()
                    .map(|op| match *op {
                        PackedPlan::Nop => PackedOp { opcode: NOP, addr: 0, value: 0 },
                        PackedPlan::Store(k, value) => PackedOp { opcode: STORE_U32, addr: private(k), value },
                        PackedPlan::Add(a, value) => PackedOp { opcode: ATOMIC_ADD, addr: ADD_ACCUMULATORS[a], value },
                    })
                    .collect();
                let last = packed.len() - 1;
                match bad {
                    0 => {}
                    1 => packed[last].addr = HEAP_WORDS,
                    2 => packed[last].opcode = MEMCPY,
                    _ => {}
                }
                let mut args = vec![packed.len() as u32];
                for op in &packed {
                    args.extend([op.opcode << PACKED_OP_SHIFT | op.addr, op.value]);
                }
                match bad {
                    3 => args[0] = 0,
                    4 => args[0] = 6,
                    _ => {}
                }
                (PACKED_SLOT, args)
            }
            SlotPlan::Shutdown => (SHUTDOWN, vec![]),
            SlotPlan::LoadMiss { offset, bytes, k, bad } => {
                let bytes = (*bytes).min((BUILTIN_PRIVATE_WORDS - k) * 4);
                let offset = if cx.file_len == 0 { 0 } else { offset % cx.file_len };
                let (handle, offset, dst, bytes, state) = match bad {
                    0 => (0, offset, private(*k), bytes, 0),
                    1 => (1, offset, private(*k), bytes, 0),
                    2 => (0, cx.file_len + 1 + offset, private(*k), bytes, 0),
                    // At least 5 bytes from the last word, so the range always crosses the
                    // heap's end: with 4 or fewer it fit, and two such slots raced on heap[1023].
                    3 => (0, offset, HEAP_WORDS - 1, bytes.max(5), 0),
                    _ => (0, offset, private(*k), bytes, 0x33),
                };
                (LOAD_MISS, vec![handle, offset, 0, bytes, dst, state])
            }
            SlotPlan::NoHandler(op) => (*op, vec![i]),
            SlotPlan::User { handler, args } => (FIRST_USER_OPCODE + handler, args.clone()),
        }
    }
}

/// Slot counts of generated workloads: a few sizes, so a GPU backend compiles few
/// distinct programs.
pub const SLOT_COUNTS: [u32; 5] = [1, 5, 16, 33, MAX_GENERATED_SLOTS];

/// Tenant ids a slot may carry: authorised or denied by the generated masks (0..=3), just
/// past the mask table (29), far past it (40), landing on DRAIN_TARGET for a kernel that
/// forgets the bound (138), and the largest id.
const TENANT_IDS: [u32; 8] = [0, 1, 2, 3, 29, 40, 138, u32::MAX];

/// PRINTF slots [`overflowing`] appends, past the debug log's capacity: the log
/// overflows, and which records are kept depends on the schedule (spec 2.10).
pub const PRINTF_BURST: u32 = DEBUG_RECORDS + 8;

/// IO queue entries [`overflowing`] gives a case: a few LOAD_MISS slots overflow it, YIELD
/// and come back in later epochs (spec 2.10).
pub const SMALL_IO_QUEUE: u32 = 2;

/// `workload` made to overflow the bounded resources: its IO queue shrunk to
/// [`SMALL_IO_QUEUE`] entries and [`PRINTF_BURST`] PRINTF slots of tenant 0 (always
/// authorised) appended; PRINTF writes no heap word, so the heap discipline holds.
pub fn overflowing(mut workload: Workload) -> Workload {
    workload.io_entries = Some(SMALL_IO_QUEUE);
    workload.slots.extend((0..PRINTF_BURST).map(|k| SlotSpec {
        opcode: OpcodeSpec::Number(PRINTF),
        tenant: 0,
        priority: k % 5,
        args: vec![k, k.wrapping_mul(0x9e37_79b9), 7],
    }));
    workload
}

/// A random valid workload.
pub fn workload() -> impl Strategy<Value = Workload> {
    let masks = (1u32.., prop_oneof![Just(0u32), 1u32..], prop_oneof![Just(0u32), 1u32..], Just(0u32));
    (select(SLOT_COUNTS.to_vec()), 0u32..=2, masks, any::<u64>(), 0u64..200, any::<u64>()).prop_flat_map(
        |(slots, handler_count, masks, heap_seed, file_len, file_seed)| {
            let tenant = prop_oneof![8 => 0usize..4, 1 => 4usize..8].prop_map(|k| TENANT_IDS[k]);
            let slot = (slot_plan(handler_count), tenant, 0u32..7);
            let handlers: Vec<_> = (0..handler_count).map(|k| handler(FIRST_USER_OPCODE + k)).collect();
            (vec(slot, slots as usize), handlers).prop_map(move |(plans, handlers)| {
                let heap: Vec<u32> =
                    bytemuck::pod_collect_to_vec(&generated_bytes(u64::from(HEAP_WORDS) * 4, heap_seed));
                let cx = Context { heap: &heap, file_len: file_len as u32 };
                let slots = plans
                    .iter()
                    .enumerate()
                    .map(|(i, (plan, tenant, priority))| {
                        let (op, args) = plan.resolve(i as u32, &cx);
                        SlotSpec { opcode: OpcodeSpec::Number(op), tenant: *tenant, priority: *priority, args }
                    })
                    .collect();
                let (m0, m1, m2, m3) = masks;
                Workload {
                    name: format!("generated-{heap_seed:016x}"),
                    tenants: [m0, m1, m2, m3]
                        .iter()
                        .enumerate()
                        .map(|(id, &mask)| TenantSpec { id: id as u32, mask })
                        .collect(),
                    heap_words: HEAP_WORDS,
                    heap_init: vec![HeapInit { at: 0, words: heap.clone() }],
                    files: vec![FileSpec::Generated { len: file_len, seed: file_seed }],
                    io_entries: None,
                    handlers,
                    slots,
                }
            })
        },
    )
}
