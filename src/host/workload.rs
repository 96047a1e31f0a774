//! Workloads: tenants, slots, heap contents, files and user handlers, as a JSON file or
//! a built-in (`mixed`, `trivial`), and how a [`Ring`] loads one.
//!
//! Slots are placed in the ring in priority order (stable), and the priority partition
//! offsets are set to match, so every mode sees the same ring.

use crate::builder::{BuildOptions, Mode, UserHandler, MAX_SLOTS};
use crate::host::io::{FileAccess, FileTable};
use crate::host::ring::{HostError, Ring};
use crate::protocol::control::priority_offsets;
use crate::protocol::layout::*;
use crate::protocol::opcode::{self, BuiltinOp};
use crate::protocol::packed::{encode_packed, PackedOp};
use crate::protocol::ring::Slot;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An opcode by number or by built-in name (`"STORE_U32"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OpcodeSpec {
    /// A number.
    Number(u32),
    /// A built-in's name.
    Name(String),
}

/// One slot of a workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    /// Opcode.
    pub opcode: OpcodeSpec,
    /// Tenant id.
    #[serde(default)]
    pub tenant: u32,
    /// Priority (0 CRITICAL .. 4 IDLE; larger values are placed with IDLE).
    #[serde(default = "normal")]
    pub priority: u32,
    /// Up to 12 argument words.
    #[serde(default)]
    pub args: Vec<u32>,
}

fn normal() -> u32 {
    PRIORITY_NORMAL
}

/// A tenant's mask (non-zero authorises).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Tenant id (below 29).
    pub id: u32,
    /// Mask word.
    pub mask: u32,
}

/// Initial heap words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeapInit {
    /// First word.
    pub at: usize,
    /// Words.
    pub words: Vec<u32>,
}

/// A file IO requests may use, registered as handle 0, 1, ... in order. One that cannot be
/// opened keeps its handle, and requests on it complete with ERROR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum FileSpec {
    /// An existing file, read-only.
    Path(PathBuf),
    /// A file WRITE requests may write (and READ read), created if missing.
    Output(PathBuf),
    /// A file of `len` deterministic bytes made from `seed`, written for each run into an
    /// unnamed temporary file (see [`FileSpec::register`]).
    Generated {
        /// Length in bytes.
        len: u64,
        /// Content seed.
        seed: u64,
    },
}

impl FileSpec {
    /// Register the file as the next handle of `files`. A generated file is written to an
    /// unnamed temporary file in `dir`: every run has its own (no run truncates a file
    /// another is reading) and nothing is left behind. A path that cannot be opened keeps
    /// its handle, and the open error is returned for the caller to report; `Err` only when
    /// a generated file cannot be written.
    pub fn register(&self, files: &mut FileTable, dir: &Path) -> std::io::Result<Option<std::io::Error>> {
        match self {
            FileSpec::Path(path) | FileSpec::Output(path) => Ok(files.register_or_record(path, self.access()).1),
            FileSpec::Generated { len, seed } => {
                let mut file = tempfile::tempfile_in(dir).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("a temporary file in {}: {e}", dir.display()))
                })?;
                file.write_all(&generated_bytes(*len, *seed))?;
                let label = PathBuf::from(format!("<generated: {len} bytes, seed {seed}>"));
                files.register_open(label, file, self.access());
                Ok(None)
            }
        }
    }

    /// How the file is registered.
    pub fn access(&self) -> FileAccess {
        match self {
            FileSpec::Path(_) | FileSpec::Generated { .. } => FileAccess::Read,
            FileSpec::Output(_) => FileAccess::ReadWrite,
        }
    }
}

/// SHUTDOWN slots of a `mixed` workload, whatever its size.
pub const MIXED_SHUTDOWNS: u32 = 8;

/// Largest `generated` file: its bytes are made in memory before they are written.
pub const MAX_GENERATED_FILE_BYTES: u64 = 1 << 30;

/// The bytes of a generated file.
pub fn generated_bytes(len: u64, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Name for reports.
    pub name: String,
    /// Tenant masks (every other tenant is denied).
    #[serde(default)]
    pub tenants: Vec<TenantSpec>,
    /// Heap size in words.
    #[serde(default = "default_heap")]
    pub heap_words: u32,
    /// Initial heap contents.
    #[serde(default)]
    pub heap_init: Vec<HeapInit>,
    /// Files for LOAD_MISS, handle = position.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// IO queue entries of the ring (default: vyre's 64): how many IO requests one epoch
    /// takes before a requesting slot must YIELD for a later epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_entries: Option<u32>,
    /// User handlers.
    #[serde(default)]
    pub handlers: Vec<UserHandler>,
    /// Slots, in publication order.
    pub slots: Vec<SlotSpec>,
}

fn default_heap() -> u32 {
    crate::builder::DEFAULT_HEAP_WORDS
}

/// A workload file or value that does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// Unreadable file.
    #[error("cannot read workload: {cause}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        cause: std::io::Error,
    },
    /// Malformed JSON.
    #[error("workload {path} is not valid: {cause}")]
    Parse {
        /// Path.
        path: PathBuf,
        /// Cause.
        cause: serde_json::Error,
    },
    /// A bad field.
    #[error("workload `{workload}`: {message}")]
    Invalid {
        /// Workload name.
        workload: String,
        /// What is wrong and where.
        message: String,
    },
    /// An unknown built-in workload.
    #[error("unknown built-in workload `{0}` (known: mixed, trivial)")]
    UnknownBuiltin(String),
}

impl Workload {
    /// Read a JSON workload file.
    pub fn from_file(path: &Path) -> Result<Workload, WorkloadError> {
        let text =
            crate::json::read_document(path).map_err(|cause| WorkloadError::Read { path: path.into(), cause })?;
        crate::json::from_str(&text).map_err(|cause| WorkloadError::Parse { path: path.into(), cause })
    }

    /// A built-in workload of `slots` slots (1 to [`MAX_SLOTS`], checked before anything
    /// is made).
    pub fn builtin(name: &str, slots: u32) -> Result<Workload, WorkloadError> {
        if !(1..=MAX_SLOTS).contains(&slots) {
            return Err(WorkloadError::Invalid {
                workload: name.to_string(),
                message: format!("--slots {slots}: a ring holds 1 to {MAX_SLOTS} slots"),
            });
        }
        match name {
            "mixed" => Ok(Workload::mixed(slots)),
            "trivial" => Ok(Workload::trivial(slots)),
            other => Err(WorkloadError::UnknownBuiltin(other.to_string())),
        }
    }

    /// `slots` NOP slots of one authorised tenant: for throughput.
    pub fn trivial(slots: u32) -> Workload {
        Workload {
            name: "trivial".into(),
            tenants: vec![TenantSpec { id: 0, mask: 1 }],
            heap_words: 1,
            heap_init: vec![],
            files: vec![],
            io_entries: None,
            handlers: vec![],
            slots: (0..slots)
                .map(|_| SlotSpec {
                    opcode: OpcodeSpec::Number(opcode::NOP),
                    tenant: 0,
                    priority: PRIORITY_NORMAL,
                    args: vec![],
                })
                .collect(),
        }
    }

    /// Every built-in opcode, an opcode without a handler, tenants 0 and 1 authorised,
    /// tenant 2 denied, tenant 40 out of range, all five priorities. Every
    /// schedule-independent word of its final state is the same under every schedule.
    ///
    /// It drains in a number of epochs that does not grow with the ring: its IO queue
    /// holds every LOAD_MISS request it makes (one slot in 12), and only the first
    /// [`MIXED_SHUTDOWNS`] SHUTDOWN positions hold SHUTDOWN slots (each ends a persistent
    /// epoch); the later ones hold NOPs.
    pub fn mixed(slots: u32) -> Workload {
        let unique = |i: u32| 1024 + 2 * i;
        let tenants = [0, 1, 0, 1, 0, 1, 2, 40];
        let file_len = 4096u32;
        let slot = |i: u32| -> SlotSpec {
            let (op, args): (u32, Vec<u32>) = match i % 12 {
                0 => (opcode::NOP, vec![]),
                1 => (opcode::STORE_U32, vec![unique(i), i.wrapping_mul(3).wrapping_add(1)]),
                2 => (opcode::ATOMIC_ADD, vec![i % 8, 1 + i % 5]),
                3 => (opcode::LOAD_U32, vec![64 + i % 32, i % 32]),
                4 => (opcode::COMPARE_SWAP, vec![unique(i), 0, i + 1, 32 + i % 32]),
                5 => (opcode::MEMCPY, vec![unique(i), 64 + i % 30, 2]),
                6 => (opcode::BATCH_FENCE, vec![i]),
                7 => (opcode::PRINTF, vec![i, 7, 9]),
                8 => {
                    let ops = [
                        PackedOp { opcode: opcode::STORE_U32, addr: unique(i) + 1, value: i },
                        PackedOp { opcode: opcode::ATOMIC_ADD, addr: 8 + i % 8, value: 2 },
                    ];
                    (opcode::PACKED_SLOT, encode_packed(&ops).map(|a| a.to_vec()).unwrap_or_default())
                }
                9 if i / 12 < MIXED_SHUTDOWNS => (opcode::SHUTDOWN, vec![]),
                9 => (opcode::NOP, vec![]),
                10 => (opcode::LOAD_MISS, vec![0, (i * 16) % file_len, 0, 8, unique(i), 0]),
                _ => (0x1234, vec![i]),
            };
            SlotSpec { opcode: OpcodeSpec::Number(op), tenant: tenants[(i % 8) as usize], priority: i % 5, args }
        };
        Workload {
            name: "mixed".into(),
            tenants: vec![
                TenantSpec { id: 0, mask: 1 },
                TenantSpec { id: 1, mask: 0xFFFF_FFFF },
                TenantSpec { id: 2, mask: 0 },
            ],
            heap_words: 1024 + 2 * slots.max(1),
            heap_init: vec![HeapInit { at: 64, words: (0..64).map(|k| k * 7 + 1).collect() }],
            files: vec![FileSpec::Generated { len: u64::from(file_len), seed: 1 }],
            io_entries: Some(slots.div_ceil(12).max(IO_ENTRIES)),
            handlers: vec![],
            slots: (0..slots).map(slot).collect(),
        }
    }

    fn invalid(&self, message: String) -> WorkloadError {
        WorkloadError::Invalid { workload: self.name.clone(), message }
    }

    /// Check what the JSON form cannot say: the ring holds the slots, no tenant id is
    /// given twice, every generated file fits in memory. Every path that loads a workload
    /// ([`Workload::ring`]) checks this first.
    pub fn check(&self) -> Result<(), WorkloadError> {
        if self.slots.len() > MAX_SLOTS as usize {
            return Err(self.invalid(format!("slots: {} slots; a ring holds at most {MAX_SLOTS}", self.slots.len())));
        }
        for (k, t) in self.tenants.iter().enumerate() {
            if let Some(first) = self.tenants[..k].iter().position(|u| u.id == t.id) {
                return Err(self.invalid(format!("tenants[{k}]: tenant {} is already given at tenants[{first}]", t.id)));
            }
        }
        for (k, f) in self.files.iter().enumerate() {
            if let FileSpec::Generated { len, .. } = f {
                if *len > MAX_GENERATED_FILE_BYTES {
                    return Err(self.invalid(format!(
                        "files[{k}].generated.len: {len} bytes; a generated file has at most {MAX_GENERATED_FILE_BYTES}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The resolved slots, in ring order (stable by priority).
    pub fn ring_slots(&self) -> Result<Vec<Slot>, WorkloadError> {
        self.check()?;
        let mut slots = Vec::with_capacity(self.slots.len());
        for (i, s) in self.slots.iter().enumerate() {
            let op = match &s.opcode {
                OpcodeSpec::Number(n) => *n,
                OpcodeSpec::Name(name) => BuiltinOp::from_name(name)
                    .ok_or_else(|| self.invalid(format!("slots[{i}].opcode: `{name}` is not a built-in opcode name")))?
                    .opcode(),
            };
            let slot = Slot::published(op, s.tenant, s.priority, &s.args)
                .map_err(|e| self.invalid(format!("slots[{i}].args: {e}")))?;
            slots.push(slot);
        }
        slots.sort_by_key(|s| s.priority.min(PRIORITY_IDLE));
        Ok(slots)
    }

    /// Build options for this workload in `mode`.
    pub fn build_options(&self, mode: Mode) -> BuildOptions {
        let mut o = BuildOptions::new(mode, (self.slots.len() as u32).max(1));
        o.heap_words = self.heap_words;
        o.io_entries = self.io_entries.unwrap_or(IO_ENTRIES);
        o.user_handlers = self.handlers.clone();
        o
    }

    /// A ring with this workload published, in `mode`, with persistent `fuel`.
    pub fn ring(&self, opts: BuildOptions, fuel: u32) -> Result<Ring, WorkloadError> {
        let slots = self.ring_slots()?;
        let wrap = |e: HostError| self.invalid(e.to_string());
        let mut ring = Ring::new(opts, fuel).map_err(wrap)?;
        for (k, t) in self.tenants.iter().enumerate() {
            ring.set_tenant(t.id, t.mask).map_err(|e| self.invalid(format!("tenants[{k}]: {e}")))?;
        }
        for (k, h) in self.heap_init.iter().enumerate() {
            ring.write_heap(h.at, &h.words).map_err(|e| self.invalid(format!("heap_init[{k}]: {e}")))?;
        }
        let mut counts = [0u32; 5];
        for s in &slots {
            counts[s.priority.min(PRIORITY_IDLE) as usize] += 1;
        }
        ring.set_priority_offsets(priority_offsets(counts).map_err(|e| self.invalid(e.to_string()))?);
        for (i, s) in slots.iter().enumerate() {
            ring.publish(i, s).map_err(wrap)?;
        }
        Ok(ring)
    }
}
