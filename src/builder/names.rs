//! Variable names the builders declare. Handler bodies see the documented names; the
//! builder's own variables start with `ml_`, a prefix user handlers may not use.

/// The slot's index in the ring (u32).
pub const SLOT: &str = "slot";
/// The slot's OPCODE word (u32).
pub const OPCODE: &str = "opcode";
/// The slot's TENANT word (u32, always an authorised tenant's id).
pub const TENANT: &str = "tenant";
/// The slot's PRIORITY word (u32, as published).
pub const PRIORITY: &str = "priority";
/// The status the slot gets when the handler ends (mutable u32, starts as DONE).
pub const NEXT_STATUS: &str = "next_status";
/// Prefix reserved for builder variables.
pub const RESERVED_PREFIX: &str = "ml_";

/// The name of argument word `k` (`arg0`..`arg11`).
pub fn arg(k: u32) -> String {
    format!("arg{k}")
}

/// Every documented name a handler sees.
pub fn documented() -> Vec<String> {
    let mut v: Vec<String> = [SLOT, OPCODE, TENANT, PRIORITY, NEXT_STATUS].iter().map(|s| s.to_string()).collect();
    v.extend((0..crate::protocol::layout::SLOT_ARGS).map(arg));
    v
}

/// Buffer names.
pub mod buffers {
    /// Binding 0.
    pub const CONTROL: &str = "control";
    /// Binding 1.
    pub const RING: &str = "ring";
    /// Binding 2.
    pub const DEBUG_LOG: &str = "debug_log";
    /// Binding 3.
    pub const IO_QUEUE: &str = "io_queue";
    /// Binding 4.
    pub const HEAP: &str = "heap";
}
