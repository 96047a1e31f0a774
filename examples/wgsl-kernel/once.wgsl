// A once-mode megakernel written by hand, in the style of vyre-runtime 0.6's WGSL
// (specs/protocol.md part 2, with vyre's defects fixed), checked by megaloop as the
// `wgsl:FILE` engine (specs/protocol.md 3.6):
//
//     megaloop conformance --engine wgsl:examples/wgsl-kernel/once.wgsl
//     megaloop mutants --engine wgsl:examples/wgsl-kernel/once.wgsl
//
// megaloop declines, as a Skip, every epoch outside the line below (other modes, user
// handlers, plain IR programs), binds the megakernel's buffers at group 0, gives the
// `override`s it knows (WORKGROUP_SIZE, SLOTS, HEAP_WORDS, OBSERVABLES, IO_ENTRIES), and
// turns a fault switch `name` on through `override fault_name: bool`.
//
// megaloop-engine: {"modes":["once"],"io":true,"max_slots":4194304,"max_workgroups":65535,"faults":["unbounded-tenant","debug-log-overrun","memcpy-unbounded"]}

override WORKGROUP_SIZE: u32 = 64u;
override SLOTS: u32;
override HEAP_WORDS: u32;
override OBSERVABLES: u32;
override IO_ENTRIES: u32 = 64u;

// Fault switches: vyre 0.6's defect 1 (tenant ids past the mask table read quota
// words), defect 6 (the debug log's cursor runs past its capacity), and a MEMCPY that
// forgets its length bound.
override fault_unbounded_tenant: bool = false;
override fault_debug_log_overrun: bool = false;
override fault_memcpy_unbounded: bool = false;

@group(0) @binding(0) var<storage, read_write> control: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read_write> ring_buffer: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> debug_log: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> io_queue: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> heap: array<atomic<u32>>;

// The layout (2.2); megaloop's tests check every value against its own tables.
const SLOT_WORDS: u32 = 16u;
const SLOT_STATUS: u32 = 0u;
const SLOT_OPCODE: u32 = 1u;
const SLOT_TENANT: u32 = 2u;
const SLOT_PRIORITY: u32 = 3u;
const SLOT_ARG0: u32 = 4u;
const CTRL_SHUTDOWN: u32 = 0u;
const CTRL_DONE_COUNT: u32 = 1u;
const CTRL_TENANT_MASKS: u32 = 3u;
const MAX_TENANTS: u32 = 29u;
const CTRL_TENANT_FAIRNESS: u32 = 64u;
const CTRL_METRICS: u32 = 96u;
const METRIC_WORDS: u32 = 32u;
const CTRL_EPOCH: u32 = 128u;
const CTRL_PRIORITY_CLAIMS: u32 = 136u;
const CTRL_SETTLED: u32 = 142u;
const CTRL_FAULT_COUNT: u32 = 143u;
const CTRL_DEBUG_DROPPED: u32 = 146u;
const CTRL_IO_CURSOR: u32 = 147u;
const CTRL_OBSERVABLES: u32 = 160u;
const PRIORITY_IDLE: u32 = 4u;
const DEBUG_CURSOR: u32 = 0u;
const DEBUG_RECORD_WORDS: u32 = 4u;
const DEBUG_RECORDS: u32 = 64u;
const IO_ENTRY_WORDS: u32 = 8u;
const IO_OP_TYPE: u32 = 0u;
const IO_SRC_HANDLE: u32 = 1u;
const IO_DST_HANDLE: u32 = 2u;
const IO_OFFSET_LO: u32 = 3u;
const IO_OFFSET_HI: u32 = 4u;
const IO_BYTE_COUNT: u32 = 5u;
const IO_STATUS: u32 = 6u;
const IO_TAG: u32 = 7u;
const IO_OP_READ: u32 = 1u;
const IO_STATUS_REQUESTED: u32 = 1u;
const IO_STATUS_OK: u32 = 16u;

const STATUS_PUBLISHED: u32 = 1u;
const STATUS_CLAIMED: u32 = 2u;
const STATUS_DONE: u32 = 3u;
const STATUS_WAIT_IO: u32 = 4u;
const STATUS_YIELD: u32 = 5u;
const STATUS_FAULT: u32 = 7u;

const OP_NOP: u32 = 0u;
const OP_STORE_U32: u32 = 1u;
const OP_ATOMIC_ADD: u32 = 2u;
const OP_LOAD_U32: u32 = 3u;
const OP_COMPARE_SWAP: u32 = 4u;
const OP_MEMCPY: u32 = 5u;
const OP_BATCH_FENCE: u32 = 7u;
const OP_LOAD_MISS: u32 = 65533u;
const OP_PRINTF: u32 = 65534u;
const OP_PACKED_SLOT: u32 = 2147483649u;
const OP_SHUTDOWN: u32 = 4294967295u;
const MEMCPY_MAX_WORDS: u32 = 1024u;
const PACKED_MAX_OPS: u32 = 5u;
const PACKED_ADDR_LIMIT: u32 = 16777216u;
const PACKED_OP_SHIFT: u32 = 24u;

fn arg(base: u32, k: u32) -> u32 {
    return atomicLoad(&ring_buffer[base + SLOT_ARG0 + k]);
}

// Strong compare-exchange (deviation 2): WGSL's exchange is weak, so retry while the
// old value still equals the expected one but nothing was exchanged (bounded, as 1.8
// allows: after 65,536 spurious failures in a row it reports the exchange failed).
fn compare_exchange_ring(index: u32, expected: u32, desired: u32) -> u32 {
    for (var i = 0u; i < 65536u; i++) {
        let r = atomicCompareExchangeWeak(&ring_buffer[index], expected, desired);
        if r.exchanged || r.old_value != expected {
            return r.old_value;
        }
    }
    return expected ^ 1u;
}

fn compare_exchange_heap(index: u32, expected: u32, desired: u32) -> u32 {
    for (var i = 0u; i < 65536u; i++) {
        let r = atomicCompareExchangeWeak(&heap[index], expected, desired);
        if r.exchanged || r.old_value != expected {
            return r.old_value;
        }
    }
    return expected ^ 1u;
}

fn claim(base: u32) -> bool {
    return compare_exchange_ring(base + SLOT_STATUS, STATUS_PUBLISHED, STATUS_CLAIMED) == STATUS_PUBLISHED;
}

// The tenant rule (2.4 step 2, deviation 1).
fn authorised(tenant: u32) -> bool {
    if tenant >= MAX_TENANTS && !fault_unbounded_tenant {
        return false;
    }
    let at = CTRL_TENANT_MASKS + tenant;
    return at < arrayLength(&control) && atomicLoad(&control[at]) != 0u;
}

// Whether `words` words from `start` lie in the heap.
fn in_heap(start: u32, words: u32) -> bool {
    return start <= HEAP_WORDS && words <= HEAP_WORDS - start;
}

fn memcpy(base: u32) -> u32 {
    let dst = arg(base, 0u);
    let src = arg(base, 1u);
    let n = arg(base, 2u);
    if (n > MEMCPY_MAX_WORDS && !fault_memcpy_unbounded) || !in_heap(dst, n) || !in_heap(src, n) {
        return STATUS_FAULT;
    }
    for (var i = 0u; i < n; i++) {
        atomicStore(&heap[dst + i], atomicLoad(&heap[src + i]));
    }
    return STATUS_DONE;
}

fn printf(slot: u32, base: u32) -> u32 {
    let at = atomicAdd(&debug_log[DEBUG_CURSOR], DEBUG_RECORD_WORDS);
    if at < DEBUG_RECORDS * DEBUG_RECORD_WORDS || fault_debug_log_overrun {
        var record = array<u32, 4>(slot, arg(base, 0u), arg(base, 1u), arg(base, 2u));
        for (var k = 0u; k < DEBUG_RECORD_WORDS; k++) {
            if 1u + at + k < arrayLength(&debug_log) {
                atomicStore(&debug_log[1u + at + k], record[k]);
            }
        }
    } else {
        atomicAdd(&control[CTRL_DEBUG_DROPPED], 1u);
    }
    return STATUS_DONE;
}

// Every sub-operation is checked before any runs.
fn packed(base: u32) -> u32 {
    let n = arg(base, 0u);
    if n < 1u || n > PACKED_MAX_OPS {
        return STATUS_FAULT;
    }
    for (var k = 0u; k < n; k++) {
        let head = arg(base, 1u + 2u * k);
        if (head >> PACKED_OP_SHIFT) > OP_ATOMIC_ADD || (head & (PACKED_ADDR_LIMIT - 1u)) >= HEAP_WORDS {
            return STATUS_FAULT;
        }
    }
    for (var k = 0u; k < n; k++) {
        let head = arg(base, 1u + 2u * k);
        let value = arg(base, 2u + 2u * k);
        let addr = head & (PACKED_ADDR_LIMIT - 1u);
        if (head >> PACKED_OP_SHIFT) == OP_STORE_U32 {
            atomicStore(&heap[addr], value);
        } else if (head >> PACKED_OP_SHIFT) == OP_ATOMIC_ADD {
            atomicAdd(&heap[addr], value);
        }
    }
    return STATUS_DONE;
}

// LOAD_MISS (2.8): request the read and park as WAIT_IO; YIELD when the queue is full
// (taking back what the claim counted); DONE once the host has served it.
fn load_miss(slot: u32, base: u32, tenant: u32, priority: u32) -> u32 {
    let state = arg(base, 5u);
    if state == IO_STATUS_OK {
        return STATUS_DONE;
    }
    if state != 0u {
        return STATUS_FAULT;
    }
    let bytes = arg(base, 3u);
    let words = bytes / 4u + select(0u, 1u, bytes % 4u != 0u);
    if !in_heap(arg(base, 4u), words) {
        return STATUS_FAULT;
    }
    let entry = atomicAdd(&control[CTRL_IO_CURSOR], 1u);
    if entry >= IO_ENTRIES {
        atomicSub(&control[CTRL_TENANT_FAIRNESS + tenant], 1u);
        atomicSub(&control[CTRL_PRIORITY_CLAIMS + min(priority, PRIORITY_IDLE)], 1u);
        atomicSub(&control[CTRL_METRICS + OP_LOAD_MISS % METRIC_WORDS], 1u);
        return STATUS_YIELD;
    }
    let e = entry * IO_ENTRY_WORDS;
    atomicStore(&io_queue[e + IO_OP_TYPE], IO_OP_READ);
    atomicStore(&io_queue[e + IO_SRC_HANDLE], arg(base, 0u));
    atomicStore(&io_queue[e + IO_DST_HANDLE], arg(base, 4u));
    atomicStore(&io_queue[e + IO_OFFSET_LO], arg(base, 1u));
    atomicStore(&io_queue[e + IO_OFFSET_HI], arg(base, 2u));
    atomicStore(&io_queue[e + IO_BYTE_COUNT], bytes);
    atomicStore(&io_queue[e + IO_TAG], slot);
    atomicStore(&io_queue[e + IO_STATUS], IO_STATUS_REQUESTED);
    return STATUS_WAIT_IO;
}

// The built-in handlers (2.5): the slot's next status.
fn run_handler(slot: u32, base: u32, opcode: u32, tenant: u32, priority: u32) -> u32 {
    switch opcode {
        case OP_NOP: {
            return STATUS_DONE;
        }
        case OP_STORE_U32: {
            if arg(base, 0u) >= HEAP_WORDS {
                return STATUS_FAULT;
            }
            atomicStore(&heap[arg(base, 0u)], arg(base, 1u));
            return STATUS_DONE;
        }
        case OP_ATOMIC_ADD: {
            if arg(base, 0u) >= HEAP_WORDS {
                return STATUS_FAULT;
            }
            atomicAdd(&heap[arg(base, 0u)], arg(base, 1u));
            return STATUS_DONE;
        }
        case OP_LOAD_U32: {
            if arg(base, 0u) >= HEAP_WORDS || arg(base, 1u) >= OBSERVABLES {
                return STATUS_FAULT;
            }
            atomicStore(&control[CTRL_OBSERVABLES + arg(base, 1u)], atomicLoad(&heap[arg(base, 0u)]));
            return STATUS_DONE;
        }
        case OP_COMPARE_SWAP: {
            if arg(base, 0u) >= HEAP_WORDS || arg(base, 3u) >= OBSERVABLES {
                return STATUS_FAULT;
            }
            let old = compare_exchange_heap(arg(base, 0u), arg(base, 1u), arg(base, 2u));
            atomicStore(&control[CTRL_OBSERVABLES + arg(base, 3u)], old);
            return STATUS_DONE;
        }
        case OP_MEMCPY: {
            return memcpy(base);
        }
        case OP_BATCH_FENCE: {
            atomicMax(&control[CTRL_EPOCH], arg(base, 0u));
            return STATUS_DONE;
        }
        case OP_LOAD_MISS: {
            return load_miss(slot, base, tenant, priority);
        }
        case OP_PRINTF: {
            return printf(slot, base);
        }
        case OP_PACKED_SLOT: {
            return packed(base);
        }
        case OP_SHUTDOWN: {
            atomicStore(&control[CTRL_SHUTDOWN], 1u);
            return STATUS_DONE;
        }
        default: {
            return STATUS_FAULT;
        }
    }
}

// The lane's sequence for one slot (2.4).
fn try_slot(slot: u32) {
    let base = slot * SLOT_WORDS;
    if atomicLoad(&ring_buffer[base + SLOT_STATUS]) != STATUS_PUBLISHED {
        return;
    }
    let tenant = atomicLoad(&ring_buffer[base + SLOT_TENANT]);
    if !authorised(tenant) || !claim(base) {
        return;
    }
    let opcode = atomicLoad(&ring_buffer[base + SLOT_OPCODE]);
    let priority = atomicLoad(&ring_buffer[base + SLOT_PRIORITY]);
    atomicAdd(&control[CTRL_TENANT_FAIRNESS + tenant], 1u);
    atomicAdd(&control[CTRL_PRIORITY_CLAIMS + min(priority, PRIORITY_IDLE)], 1u);
    let next = run_handler(slot, base, opcode, tenant, priority);
    atomicStore(&ring_buffer[base + SLOT_STATUS], next);
    atomicAdd(&control[CTRL_METRICS + opcode % METRIC_WORDS], 1u);
    atomicAdd(&control[CTRL_SETTLED], 1u);
    if next == STATUS_DONE {
        atomicAdd(&control[CTRL_DONE_COUNT], 1u);
    } else if next == STATUS_FAULT {
        atomicAdd(&control[CTRL_FAULT_COUNT], 1u);
    }
}

// Once mode (2.6): lane g of L tries slots g, g + L, ... below the slot count.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let lanes = groups.x * WORKGROUP_SIZE;
    var slot = gid.x;
    while slot < SLOTS {
        try_slot(slot);
        if lanes >= SLOTS - slot {
            break;
        }
        slot += lanes;
    }
}
