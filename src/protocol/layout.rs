//! Every constant of the wire layout: buffers and bindings, slot words, statuses, control
//! words, debug log, IO queue, opcodes, priorities.
//!
//! The layout follows vyre-runtime 0.6 word for word; megaloop's own words (drain target,
//! settled and fault counts, fuel, dropped debug records, IO cursor, loop cut-offs) sit
//! in control words 141..160, which vyre leaves unused, below the observable area at 160.
//! [`LAYOUT`] lists every constant once for `megaloop spec` and the spec's consistency test.

/// Binding of the control buffer.
pub const BINDING_CONTROL: u32 = 0;
/// Binding of the ring buffer.
pub const BINDING_RING: u32 = 1;
/// Binding of the debug log.
pub const BINDING_DEBUG_LOG: u32 = 2;
/// Binding of the IO queue.
pub const BINDING_IO_QUEUE: u32 = 3;
/// Binding of the heap: handler memory (megaloop extension; vyre has no binding 4).
pub const BINDING_HEAP: u32 = 4;

/// Words per ring slot.
pub const SLOT_WORDS: u32 = 16;
/// Slot word: status.
pub const SLOT_STATUS: u32 = 0;
/// Slot word: opcode.
pub const SLOT_OPCODE: u32 = 1;
/// Slot word: tenant id.
pub const SLOT_TENANT: u32 = 2;
/// Slot word: priority level.
pub const SLOT_PRIORITY: u32 = 3;
/// Slot word: first argument.
pub const SLOT_ARG0: u32 = 4;
/// Number of argument words per slot.
pub const SLOT_ARGS: u32 = 12;

/// Control word: shutdown flag (non-zero stops every lane).
pub const CTRL_SHUTDOWN: u32 = 0;
/// Control word: number of slots that reached DONE.
pub const CTRL_DONE_COUNT: u32 = 1;
/// Control word: index of the tenant-mask table (always [`CTRL_TENANT_MASKS`]).
pub const CTRL_TENANT_BASE: u32 = 2;
/// First tenant-mask word; tenant `t` is authorised iff `t < MAX_TENANTS` and its mask is non-zero.
pub const CTRL_TENANT_MASKS: u32 = 3;
/// Number of tenants (mask words 3..32).
pub const MAX_TENANTS: u32 = 29;
/// First tenant-quota word (32 words; reserved, not enforced).
pub const CTRL_TENANT_QUOTAS: u32 = 32;
/// First tenant fairness counter (claims per tenant; 32 words).
pub const CTRL_TENANT_FAIRNESS: u32 = 64;
/// First per-opcode metric word (`opcode % 32`; 32 words).
pub const CTRL_METRICS: u32 = 96;
/// Number of metric words.
pub const METRIC_WORDS: u32 = 32;
/// Control word: epoch (highest BATCH_FENCE sequence reached).
pub const CTRL_EPOCH: u32 = 128;
/// First of 6 priority partition words: 5 starts, then the end.
pub const CTRL_PRIORITY_OFFSETS: u32 = 129;
/// Control word: starvation counter.
pub const CTRL_STARVATION: u32 = 135;
/// First of 5 per-priority claim counters.
pub const CTRL_PRIORITY_CLAIMS: u32 = 136;
/// Control word: slots this epoch must settle before persistent lanes stop (megaloop).
pub const CTRL_DRAIN_TARGET: u32 = 141;
/// Bit of DRAIN_TARGET that a lane sets, by compare-exchange, when it finds the target
/// settled: the epoch is closed, every lane leaves, and nothing may raise the target any
/// more (a host serving IO during the run leaves its slot for the next epoch).
pub const DRAIN_TARGET_CLOSED: u32 = 1 << 31;
/// Control word: slots that left CLAIMED this epoch, to any status (megaloop).
pub const CTRL_SETTLED: u32 = 142;
/// Control word: number of slots that reached FAULT (megaloop).
pub const CTRL_FAULT_COUNT: u32 = 143;
/// Control word: per-lane iteration budget of the persistent loop (megaloop).
pub const CTRL_FUEL: u32 = 144;
/// Control word: lanes whose fuel ran out before their exit condition held (megaloop).
pub const CTRL_FUEL_EXHAUSTED: u32 = 145;
/// Control word: debug records dropped because the log was full (megaloop).
pub const CTRL_DEBUG_DROPPED: u32 = 146;
/// Control word: next IO-queue entry to allocate (megaloop).
pub const CTRL_IO_CURSOR: u32 = 147;
/// Control word: lanes that left the persistent loop with fuel left and the exit
/// condition unmet, i.e. a driver cut the loop off (megaloop).
pub const CTRL_LOOP_CUTOFF: u32 = 148;
/// Control word: next slot of the one-dispatch-per-slot benchmark baseline (megaloop;
/// only the baseline program uses it).
pub const CTRL_BASELINE_HEAD: u32 = 149;
/// Control word: the slot where persistent sweeps start this epoch (host-set: the first
/// runnable slot), so lanes do not spend fuel on slots settled in earlier epochs (megaloop).
pub const CTRL_SCAN_START: u32 = 150;
/// Control words: the claim cursor of each priority partition (5 words, one per level):
/// the next offset inside the partition a priority-mode lane draws; host-set before each
/// epoch to the partition's first runnable offset (megaloop).
pub const CTRL_PRIORITY_CURSORS: u32 = 151;
/// First observable word (handler results).
pub const CTRL_OBSERVABLES: u32 = 160;
/// Default number of observable words.
pub const DEFAULT_OBSERVABLES: u32 = 96;

/// Debug log: word 0 is the cursor, in words.
pub const DEBUG_CURSOR: u32 = 0;
/// Debug log: words per record.
pub const DEBUG_RECORD_WORDS: u32 = 4;
/// Debug log: record capacity.
pub const DEBUG_RECORDS: u32 = 64;
/// Debug log: total words (cursor + records).
pub const DEBUG_LOG_WORDS: u32 = 1 + DEBUG_RECORDS * DEBUG_RECORD_WORDS;

/// IO queue: entries of a ring built with the defaults (vyre's 64); a ring's capacity is
/// a build parameter (`BuildOptions::io_entries`, 1 to [`MAX_IO_ENTRIES`]).
pub const IO_ENTRIES: u32 = 64;
/// IO queue: words per entry.
pub const IO_ENTRY_WORDS: u32 = 8;
/// IO queue: total words of a default ring.
pub const IO_QUEUE_WORDS: u32 = IO_ENTRIES * IO_ENTRY_WORDS;
/// IO queue: most entries a ring may have (the queue is one buffer).
pub const MAX_IO_ENTRIES: u32 = crate::ir::validate::MAX_BUFFER_WORDS / IO_ENTRY_WORDS;
/// IO entry word: operation.
pub const IO_OP_TYPE: u32 = 0;
/// IO entry word: source handle.
pub const IO_SRC_HANDLE: u32 = 1;
/// IO entry word: destination handle (heap word address for reads).
pub const IO_DST_HANDLE: u32 = 2;
/// IO entry word: offset, low 32 bits.
pub const IO_OFFSET_LO: u32 = 3;
/// IO entry word: offset, high 32 bits.
pub const IO_OFFSET_HI: u32 = 4;
/// IO entry word: byte count (on ERROR completion: the error code).
pub const IO_BYTE_COUNT: u32 = 5;
/// IO entry word: status.
pub const IO_STATUS: u32 = 6;
/// IO entry word: tag (the requesting slot's index).
pub const IO_TAG: u32 = 7;
/// IO op: read.
pub const IO_OP_READ: u32 = 1;
/// IO op: write.
pub const IO_OP_WRITE: u32 = 2;
/// IO op: fence.
pub const IO_OP_FENCE: u32 = 3;
/// IO entry status: free.
pub const IO_STATUS_EMPTY: u32 = 0;
/// IO entry status: requested by a lane.
pub const IO_STATUS_REQUESTED: u32 = 1;
/// IO entry status: taken by the host.
pub const IO_STATUS_IN_SERVICE: u32 = 2;
/// IO status: completed.
pub const IO_STATUS_OK: u32 = 0x10;
/// IO status: failed.
pub const IO_STATUS_ERROR: u32 = 0x11;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): the file handle is not registered.
pub const IO_ERROR_BAD_HANDLE: u32 = 1;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): a READ's offset is past the end of the file.
pub const IO_ERROR_OFFSET_PAST_END: u32 = 2;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): the operating system failed the request, or the handle's file could not be opened.
pub const IO_ERROR_OS_ERROR: u32 = 3;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): the heap range is outside the heap.
pub const IO_ERROR_BAD_DESTINATION: u32 = 4;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): OP_TYPE is not READ, WRITE or FENCE.
pub const IO_ERROR_UNSUPPORTED_OP: u32 = 5;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): a WRITE to a file registered read-only.
pub const IO_ERROR_NOT_WRITABLE: u32 = 6;
/// IO error code (BYTE_COUNT of an ERROR completion, 2.8): between epochs, the entry does not match its tagged slot.
pub const IO_ERROR_MISMATCHED_ENTRY: u32 = 7;

/// Priority: critical.
pub const PRIORITY_CRITICAL: u32 = 0;
/// Priority: high.
pub const PRIORITY_HIGH: u32 = 1;
/// Priority: normal.
pub const PRIORITY_NORMAL: u32 = 2;
/// Priority: low.
pub const PRIORITY_LOW: u32 = 3;
/// Priority: idle.
pub const PRIORITY_IDLE: u32 = 4;
/// Number of priority levels.
pub const PRIORITY_LEVELS: u32 = 5;
/// Urgent-first claims after which a lane scans from IDLE upward.
pub const STARVATION_THRESHOLD: u32 = 16;

/// Words the control buffer holds with `observables` observable words.
pub const fn control_words(observables: u32) -> u32 {
    CTRL_OBSERVABLES + observables
}

/// One named constant of the layout.
#[derive(Clone, Copy, Debug)]
pub struct LayoutEntry {
    /// Group (buffer or concept).
    pub group: &'static str,
    /// Constant name.
    pub name: &'static str,
    /// Value.
    pub value: u32,
    /// Meaning.
    pub meaning: &'static str,
}

macro_rules! layout_table {
    ($($group:literal: $($name:ident => $meaning:literal),+;)+) => {
        /// Every layout constant, in spec order.
        pub const LAYOUT: &[LayoutEntry] = &[
            $($(LayoutEntry { group: $group, name: stringify!($name), value: $name, meaning: $meaning },)+)+
        ];
    };
}

layout_table! {
    "bindings":
        BINDING_CONTROL => "control buffer",
        BINDING_RING => "ring buffer",
        BINDING_DEBUG_LOG => "debug log",
        BINDING_IO_QUEUE => "IO queue",
        BINDING_HEAP => "heap (handler memory, megaloop extension)";
    "slot":
        SLOT_WORDS => "words per slot",
        SLOT_STATUS => "status word",
        SLOT_OPCODE => "opcode word",
        SLOT_TENANT => "tenant word",
        SLOT_PRIORITY => "priority word",
        SLOT_ARG0 => "first argument word",
        SLOT_ARGS => "argument words";
    "control":
        CTRL_SHUTDOWN => "shutdown flag",
        CTRL_DONE_COUNT => "slots DONE",
        CTRL_TENANT_BASE => "index of the tenant-mask table (3)",
        CTRL_TENANT_MASKS => "first tenant mask",
        MAX_TENANTS => "tenant masks (3..32)",
        CTRL_TENANT_QUOTAS => "first tenant quota (reserved)",
        CTRL_TENANT_FAIRNESS => "first per-tenant claim counter",
        CTRL_METRICS => "first per-opcode metric (opcode % 32)",
        METRIC_WORDS => "metric words",
        CTRL_EPOCH => "epoch (highest BATCH_FENCE sequence)",
        CTRL_PRIORITY_OFFSETS => "priority partition offsets (5 starts + end)",
        CTRL_STARVATION => "starvation counter",
        CTRL_PRIORITY_CLAIMS => "first per-priority claim counter",
        CTRL_DRAIN_TARGET => "slots to settle before persistent lanes stop",
        CTRL_SETTLED => "slots that left CLAIMED",
        CTRL_FAULT_COUNT => "slots FAULT",
        CTRL_FUEL => "persistent loop iteration budget per lane",
        CTRL_FUEL_EXHAUSTED => "lanes out of fuel",
        CTRL_DEBUG_DROPPED => "debug records dropped",
        CTRL_IO_CURSOR => "next IO entry to allocate",
        CTRL_LOOP_CUTOFF => "lanes cut off by the driver",
        CTRL_BASELINE_HEAD => "next slot of the one-dispatch-per-slot baseline",
        CTRL_SCAN_START => "slot where persistent sweeps start this epoch",
        CTRL_PRIORITY_CURSORS => "first priority claim cursor (5: one per level)",
        CTRL_OBSERVABLES => "first observable word",
        DEFAULT_OBSERVABLES => "default observable words";
    "debug log":
        DEBUG_CURSOR => "cursor word (in words)",
        DEBUG_RECORD_WORDS => "words per record",
        DEBUG_RECORDS => "record capacity",
        DEBUG_LOG_WORDS => "total words";
    "io queue":
        IO_ENTRIES => "entries (default)",
        IO_ENTRY_WORDS => "words per entry",
        IO_QUEUE_WORDS => "total words (default)",
        MAX_IO_ENTRIES => "most entries",
        IO_OP_TYPE => "entry word: op",
        IO_SRC_HANDLE => "entry word: source handle",
        IO_DST_HANDLE => "entry word: destination handle",
        IO_OFFSET_LO => "entry word: offset low",
        IO_OFFSET_HI => "entry word: offset high",
        IO_BYTE_COUNT => "entry word: bytes (error code on ERROR)",
        IO_STATUS => "entry word: status",
        IO_TAG => "entry word: tag (slot index)",
        IO_OP_READ => "op: read",
        IO_OP_WRITE => "op: write",
        IO_OP_FENCE => "op: fence",
        IO_STATUS_EMPTY => "status: free",
        IO_STATUS_REQUESTED => "status: requested by a lane",
        IO_STATUS_IN_SERVICE => "status: taken by the host",
        IO_STATUS_OK => "status: ok",
        IO_STATUS_ERROR => "status: error";
    "io error codes":
        IO_ERROR_BAD_HANDLE => "the file handle is not registered",
        IO_ERROR_OFFSET_PAST_END => "a READ's offset is past the end of the file",
        IO_ERROR_OS_ERROR => "the operating system failed the request, or the handle's file could not be opened",
        IO_ERROR_BAD_DESTINATION => "the heap range is outside the heap",
        IO_ERROR_UNSUPPORTED_OP => "OP_TYPE is not READ, WRITE or FENCE",
        IO_ERROR_NOT_WRITABLE => "a WRITE to a file registered read-only",
        IO_ERROR_MISMATCHED_ENTRY => "between epochs, the entry does not match its tagged slot";
    "priority":
        PRIORITY_CRITICAL => "critical",
        PRIORITY_HIGH => "high",
        PRIORITY_NORMAL => "normal",
        PRIORITY_LOW => "low",
        PRIORITY_IDLE => "idle",
        PRIORITY_LEVELS => "levels",
        STARVATION_THRESHOLD => "urgent-first claims before an idle-first scan";
}
