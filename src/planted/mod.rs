//! Planted faults: a catalogue of realistic protocol bugs, each in one layer of a
//! megakernel runtime (the program builders, an engine's IR semantics, the host's ring
//! driver, its IO service, a backend's upload and readback), for measuring what the
//! checks find (`megaloop mutants`, loom's models, the differential harness's own tests).
//!
//! No production path carries a fault: the builders and the host have no fault switches.
//! A fault is planted from outside, by [`Planted`], a [`Backend`] wrapper that edits every
//! program before the engine runs it ([`Mutation::Program`]) or changes the buffers around
//! each run as the faulty host or backend would have left them ([`Mutation::Host`]). The
//! module is compiled only with the `planted` feature.

mod backend;
pub mod builder_faults;
pub mod handler_faults;
pub mod host_faults;
pub mod rewrite;
pub mod semantic_faults;

pub use backend::Planted;
pub use host_faults::{Hook, RunContext};

use crate::ir::Program;
use serde::Serialize;

/// Where in a runtime a fault lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// The slot sequence every mode shares (spec 2.4).
    SlotSequence,
    /// A mode's lane skeleton: exit test, fuel, sweeps, the priority scan (2.6, 2.7).
    Mode,
    /// A built-in handler (2.5, 2.8).
    Handler,
    /// An engine's IR semantics: the simulator's evaluator or the WGSL lowering (part 1).
    Semantics,
    /// The host's ring driver between epochs (2.6, 2.10).
    HostDriver,
    /// The host's IO service (2.8).
    IoService,
    /// A backend's upload and readback.
    Backend,
}

impl Layer {
    /// The layer's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layer::SlotSequence => "slot-sequence",
            Layer::Mode => "mode",
            Layer::Handler => "handler",
            Layer::Semantics => "semantics",
            Layer::HostDriver => "host-driver",
            Layer::IoService => "io-service",
            Layer::Backend => "backend",
        }
    }
}

/// How a fault is planted.
#[derive(Clone, Copy)]
pub enum Mutation {
    /// An edit of every program the engine runs; returns how many places it changed.
    Program(fn(&mut Program) -> usize),
    /// Changes to the buffers before and after each run.
    Host {
        /// Applied to the buffers the host prepared, before the run.
        before: Option<Hook>,
        /// Applied to the buffers read back, after the run.
        after: Option<Hook>,
    },
}

/// One planted fault.
#[derive(Clone, Copy)]
pub struct Fault {
    /// Its name (`trusting-claim`), as engines name it (`sim+trusting-claim`).
    pub name: &'static str,
    /// Where it lives.
    pub layer: Layer,
    /// What the bug is, and the spec rule it breaks.
    pub about: &'static str,
    /// How it is planted.
    pub mutation: Mutation,
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Fault {
    fn eq(&self, other: &Fault) -> bool {
        self.name == other.name
    }
}

impl Eq for Fault {}

impl Fault {
    /// `program` with this fault planted and how many places changed, for a program
    /// fault; `None` for a host fault.
    pub fn plant(&self, program: &Program) -> Option<(Program, usize)> {
        match self.mutation {
            Mutation::Program(edit) => {
                let mut p = program.clone();
                let n = edit(&mut p);
                Some((p, n))
            }
            Mutation::Host { .. } => None,
        }
    }
}

const fn program(name: &'static str, layer: Layer, about: &'static str, edit: fn(&mut Program) -> usize) -> Fault {
    Fault { name, layer, about, mutation: Mutation::Program(edit) }
}

const fn before(name: &'static str, layer: Layer, about: &'static str, hook: Hook) -> Fault {
    Fault { name, layer, about, mutation: Mutation::Host { before: Some(hook), after: None } }
}

const fn after(name: &'static str, layer: Layer, about: &'static str, hook: Hook) -> Fault {
    Fault { name, layer, about, mutation: Mutation::Host { before: None, after: Some(hook) } }
}

use builder_faults as b;
use handler_faults as h;
use host_faults as o;
use semantic_faults as s;
use Layer::*;

/// Every planted fault, one entry each.
pub static CATALOGUE: &[Fault] = &[
    // The slot sequence (2.4).
    program(
        "trusting-claim",
        SlotSequence,
        "the claim trusts a loaded status instead of a compare-exchange (vyre defect 2): two lanes can run one slot",
        b::trusting_claim,
    ),
    program(
        "unbounded-tenant",
        SlotSequence,
        "tenant ids are not bounds-checked (vyre defect 1): an id past the mask table reads quota words",
        b::unbounded_tenant,
    ),
    program(
        "tenant-bound-inclusive",
        SlotSequence,
        "the tenant bound lets id 29 through (`<=` for `<`)",
        b::tenant_bound_inclusive,
    ),
    program(
        "tenant-mask-ignored",
        SlotSequence,
        "only the tenant bound is checked: a tenant with a zero mask runs",
        b::tenant_mask_ignored,
    ),
    program("done-count-missing", SlotSequence, "DONE_COUNT is never counted", b::done_count_missing),
    program("fault-count-missing", SlotSequence, "FAULT_COUNT is never counted", b::fault_count_missing),
    program("settled-missing", SlotSequence, "SETTLED is never counted", b::settled_missing),
    program("tenant-claims-missing", SlotSequence, "claims are not counted per tenant", b::tenant_claims_missing),
    program(
        "priority-claims-unclamped",
        SlotSequence,
        "the per-priority claim counter is indexed by the raw PRIORITY, not min(PRIORITY, 4)",
        b::priority_claims_unclamped,
    ),
    program(
        "metric-bucket-unreduced",
        SlotSequence,
        "the metric word is 96 + OPCODE, without % 32",
        b::metric_bucket_unreduced,
    ),
    program(
        "yield-claims-kept",
        SlotSequence,
        "a claim that found the IO queue full keeps what it counted (2.10)",
        b::yield_claims_kept,
    ),
    program(
        "status-unsanitized",
        SlotSequence,
        "a user handler's invalid next_status is stored as it is",
        b::status_unsanitized,
    ),
    program(
        "unknown-opcode-done",
        SlotSequence,
        "an opcode without a handler ends DONE instead of FAULT",
        b::unknown_opcode_done,
    ),
    program(
        "argument-word-shifted",
        SlotSequence,
        "handler argument k is read from slot word 5 + k",
        b::argument_word_shifted,
    ),
    program(
        "tally-run-dropped",
        SlotSequence,
        "a lane's tally whose run moves to another control word drops what it held",
        b::tally_run_dropped,
    ),
    // The modes (2.6, 2.7).
    program("shutdown-ignored", Mode, "the exit test does not look at SHUTDOWN", b::shutdown_ignored),
    program("closed-bit-ignored", Mode, "lanes do not leave when another lane closed the epoch", b::closed_bit_ignored),
    program(
        "settled-target-strict",
        Mode,
        "lanes close the epoch only once SETTLED exceeds the drain target",
        b::settled_target_strict,
    ),
    program(
        "settled-tally-held",
        Mode,
        "a lane folds its SETTLED tally in only when it leaves, not after an idle iteration",
        b::settled_tally_held,
    ),
    program("fuel-exhausted-missing", Mode, "FUEL_EXHAUSTED is never counted", b::fuel_exhausted_missing),
    program("fuel-off-by-one", Mode, "each lane runs one iteration more than its fuel", b::fuel_off_by_one),
    program(
        "once-sweeps-round-down",
        Mode,
        "once mode sweeps slots / lanes times, rounding down",
        b::once_sweeps_round_down,
    ),
    program(
        "starvation-lockout",
        Mode,
        "past the starvation threshold only LOW and IDLE are visited and the counter is never reset (vyre defect 3)",
        b::starvation_lockout,
    ),
    program(
        "starvation-not-reset",
        Mode,
        "an idle-first claim does not reset the starvation counter",
        b::starvation_not_reset,
    ),
    program(
        "starvation-threshold-late",
        Mode,
        "the starvation guard fires one claim late (`>` for `>=`)",
        b::starvation_threshold_late,
    ),
    program(
        "priority-order-inverted",
        Mode,
        "the priority scan visits IDLE first, CRITICAL first past the threshold",
        b::priority_order_inverted,
    ),
    program(
        "priority-no-rewind",
        Mode,
        "a lane that finds every sweep finished does not rewind the claim cursors",
        b::priority_no_rewind,
    ),
    // The built-in handlers (2.5, 2.8).
    program("store-bound-inclusive", Handler, "STORE_U32 accepts arg0 == H", h::store_bound_inclusive),
    program("atomic-add-bound-inclusive", Handler, "ATOMIC_ADD accepts arg0 == H", h::atomic_add_bound_inclusive),
    program(
        "observable-bound-inclusive",
        Handler,
        "LOAD_U32 accepts observable arg1 == O",
        h::observable_bound_inclusive,
    ),
    program(
        "compare-swap-reports-new",
        Handler,
        "COMPARE_SWAP reports the value it wrote instead of the old one",
        h::compare_swap_reports_new,
    ),
    program("memcpy-cap-off-by-one", Handler, "MEMCPY accepts 1025 words", h::memcpy_cap_off_by_one),
    program(
        "memcpy-destination-end-exclusive",
        Handler,
        "MEMCPY refuses a destination range that ends at the heap's end",
        h::memcpy_destination_end_exclusive,
    ),
    program(
        "memcpy-source-end-exclusive",
        Handler,
        "MEMCPY refuses a source range that ends at the heap's end",
        h::memcpy_source_end_exclusive,
    ),
    program(
        "io-range-end-exclusive",
        Handler,
        "an IO request's heap range may not end at the heap's end",
        h::io_range_end_exclusive,
    ),
    program(
        "io-error-taken-as-ok",
        Handler,
        "an IO-requesting handler takes a failed request (0x11) as served",
        h::io_error_taken_as_ok,
    ),
    program(
        "io-queue-bound-inclusive",
        Handler,
        "the IO queue takes one entry more than it has",
        h::io_queue_bound_inclusive,
    ),
    program("io-tag-off-by-one", Handler, "an IO entry's TAG is the slot index plus one", h::io_tag_off_by_one),
    program(
        "debug-log-capacity-inclusive",
        Handler,
        "PRINTF writes a record at the log's capacity",
        h::debug_log_capacity_inclusive,
    ),
    program("debug-dropped-missing", Handler, "DEBUG_DROPPED is never counted", b::debug_dropped_missing),
    program(
        "packed-count-unbounded",
        Handler,
        "PACKED_SLOT takes any number of sub-operations",
        h::packed_count_unbounded,
    ),
    program("packed-add-refused", Handler, "PACKED_SLOT refuses ATOMIC_ADD sub-operations", h::packed_add_refused),
    program("shutdown-not-set", Handler, "the SHUTDOWN handler does not set the flag", h::shutdown_not_set),
    program("fence-stores-epoch", Handler, "BATCH_FENCE stores EPOCH instead of raising it", h::fence_stores_epoch),
    // An engine's IR semantics (part 1).
    program(
        "division-by-zero-yields-zero",
        Semantics,
        "integer x / 0 yields 0 instead of x",
        s::division_by_zero_yields_zero,
    ),
    program(
        "remainder-by-zero-yields-dividend",
        Semantics,
        "integer x % 0 yields x instead of 0",
        s::remainder_by_zero_yields_dividend,
    ),
    program(
        "signed-division-overflow-yields-zero",
        Semantics,
        "i32::MIN / -1 yields 0 instead of i32::MIN",
        s::signed_division_overflow_yields_zero,
    ),
    program(
        "signed-remainder-floored",
        Semantics,
        "the i32 remainder takes the divisor's sign",
        s::signed_remainder_floored,
    ),
    program("signed-shift-right-logical", Semantics, "i32 shift right fills with zeros", s::signed_shift_right_logical),
    program(
        "shift-amount-unmasked",
        Semantics,
        "a shift by 32 or more yields 0 instead of shifting by the amount modulo 32",
        s::shift_amount_unmasked,
    ),
    program(
        "signed-compare-unsigned",
        Semantics,
        "i32 ordering compares the bits as unsigned",
        s::signed_compare_unsigned,
    ),
    program(
        "signed-min-max-unsigned",
        Semantics,
        "i32 min and max compare the bits as unsigned",
        s::signed_min_max_unsigned,
    ),
    program(
        "float-to-unsigned-wraps",
        Semantics,
        "f32 to u32 converts through i32: negative values wrap instead of saturating at 0",
        s::float_to_unsigned_wraps,
    ),
    program(
        "select-operands-swapped",
        Semantics,
        "select's operands are taken in the other order",
        s::select_operands_swapped,
    ),
    program(
        "load-index-clamped",
        Semantics,
        "an out-of-bounds load reads the last word instead of yielding 0",
        s::load_index_clamped,
    ),
    program(
        "store-index-clamped",
        Semantics,
        "an out-of-bounds store writes the last word instead of being dropped",
        s::store_index_clamped,
    ),
    // The host's ring driver (2.6, 2.7, 2.10).
    before("settled-not-reset", HostDriver, "the host does not reset SETTLED between epochs", o::settled_not_reset),
    before(
        "fuel-exhausted-not-reset",
        HostDriver,
        "the host does not reset FUEL_EXHAUSTED between epochs",
        o::fuel_exhausted_not_reset,
    ),
    before(
        "io-cursor-not-reset",
        HostDriver,
        "the host does not reset IO_CURSOR between epochs",
        o::io_cursor_not_reset,
    ),
    before(
        "priority-cursors-not-reset",
        HostDriver,
        "the host does not set the priority claim cursors before an epoch",
        o::priority_cursors_not_reset,
    ),
    before(
        "closed-not-cleared",
        HostDriver,
        "the host does not clear DRAIN_TARGET's CLOSED bit after a run",
        o::closed_not_cleared,
    ),
    before(
        "drain-target-one-short",
        HostDriver,
        "the host sets the drain target one below the runnable slots",
        o::drain_target_one_short,
    ),
    before(
        "yield-not-republished",
        HostDriver,
        "the host does not re-publish YIELD slots between epochs",
        o::yield_not_republished,
    ),
    // The IO service (2.8).
    before(
        "io-error-reported-ok",
        IoService,
        "the IO service writes OK into the slot of a failed request",
        o::io_error_reported_ok,
    ),
    before(
        "io-partial-word-dropped",
        IoService,
        "the IO service drops a read's last, partial word",
        o::io_partial_word_dropped,
    ),
    // A backend's upload and readback.
    before(
        "ring-upload-stale",
        Backend,
        "the ring is uploaded once: the host's writes between epochs never reach the device",
        o::ring_upload_stale,
    ),
    after("heap-not-read-back", Backend, "the heap is not read back", o::heap_not_read_back),
    after(
        "readback-last-word-dropped",
        Backend,
        "each buffer's readback range is read back one word short",
        o::readback_last_word_dropped,
    ),
];

/// The fault named `name`.
pub fn find(name: &str) -> Option<&'static Fault> {
    CATALOGUE.iter().find(|f| f.name == name)
}

/// Every fault's name, for messages.
pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|f| f.name).collect()
}
