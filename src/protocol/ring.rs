//! Ring slots as host-side values: decode and encode the ring, and publish into it in
//! the protocol's order (payload words first, the status word last).

use crate::protocol::error::CodecError;
use crate::protocol::layout::*;
use crate::protocol::opcode::BATCH_FENCE;
use crate::protocol::status::{transition, Action, Status};
use serde::{Deserialize, Serialize};

/// One decoded slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Word 0.
    pub status: Status,
    /// Word 1.
    pub opcode: u32,
    /// Word 2.
    pub tenant: u32,
    /// Word 3 (any value; priority scans use the partition, not this word).
    pub priority: u32,
    /// Words 4..16.
    pub args: [u32; SLOT_ARGS as usize],
}

impl Slot {
    /// An EMPTY slot.
    pub fn empty() -> Slot {
        Slot { status: Status::Empty, opcode: 0, tenant: 0, priority: 0, args: [0; SLOT_ARGS as usize] }
    }

    /// A PUBLISHED slot with the given fields; missing arguments are 0.
    pub fn published(opcode: u32, tenant: u32, priority: u32, args: &[u32]) -> Result<Slot, CodecError> {
        if args.len() > SLOT_ARGS as usize {
            return Err(CodecError::WrongLength {
                what: "slot arguments",
                expected: format!("at most {SLOT_ARGS}"),
                got: args.len(),
            });
        }
        let mut a = [0; SLOT_ARGS as usize];
        a[..args.len()].copy_from_slice(args);
        Ok(Slot { status: Status::Published, opcode, tenant, priority, args: a })
    }

    /// The slot's 16 words.
    pub fn words(&self) -> [u32; SLOT_WORDS as usize] {
        let mut w = [0; SLOT_WORDS as usize];
        w[SLOT_STATUS as usize] = self.status.word();
        w[SLOT_OPCODE as usize] = self.opcode;
        w[SLOT_TENANT as usize] = self.tenant;
        w[SLOT_PRIORITY as usize] = self.priority;
        w[SLOT_ARG0 as usize..].copy_from_slice(&self.args);
        w
    }

    /// Decode one slot (`index` names it in errors).
    pub fn decode(index: usize, w: &[u32]) -> Result<Slot, CodecError> {
        if w.len() != SLOT_WORDS as usize {
            return Err(CodecError::WrongLength { what: "slot", expected: SLOT_WORDS.to_string(), got: w.len() });
        }
        let status = Status::from_word(w[0]).ok_or(CodecError::BadStatus { slot: index, value: w[0] })?;
        let mut args = [0; SLOT_ARGS as usize];
        args.copy_from_slice(&w[SLOT_ARG0 as usize..]);
        Ok(Slot { status, opcode: w[1], tenant: w[2], priority: w[3], args })
    }
}

/// Decode a whole ring; its length must be a multiple of 16 words.
pub fn decode_ring(words: &[u32]) -> Result<Vec<Slot>, CodecError> {
    if words.len() % SLOT_WORDS as usize != 0 {
        return Err(CodecError::WrongLength {
            what: "ring",
            expected: format!("a multiple of {SLOT_WORDS}"),
            got: words.len(),
        });
    }
    words.chunks_exact(SLOT_WORDS as usize).enumerate().map(|(i, w)| Slot::decode(i, w)).collect()
}

/// Encode a ring.
pub fn encode_ring(slots: &[Slot]) -> Vec<u32> {
    slots.iter().flat_map(|s| s.words()).collect()
}

/// Where the host writes slot words. Publishing writes every payload word before the
/// status word, so a lane that sees PUBLISHED (with the ordering the memory model gives)
/// sees the payload.
pub trait RingWords {
    /// Number of words.
    fn len(&self) -> usize;
    /// Whether there are no words.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read one word.
    fn load(&self, index: usize) -> u32;
    /// Write one word.
    fn store(&mut self, index: usize, value: u32);
}

impl RingWords for [u32] {
    fn len(&self) -> usize {
        <[u32]>::len(self)
    }
    fn load(&self, index: usize) -> u32 {
        self[index]
    }
    fn store(&mut self, index: usize, value: u32) {
        self[index] = value;
    }
}

impl RingWords for Vec<u32> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn load(&self, index: usize) -> u32 {
        self[index]
    }
    fn store(&mut self, index: usize, value: u32) {
        self[index] = value;
    }
}

fn slot_base(ring: &(impl RingWords + ?Sized), index: usize) -> Result<usize, CodecError> {
    let slots = ring.len() / SLOT_WORDS as usize;
    if index >= slots {
        return Err(CodecError::SlotOutOfRange { index, slots });
    }
    Ok(index * SLOT_WORDS as usize)
}

/// The status of slot `index`.
pub fn slot_status(ring: &(impl RingWords + ?Sized), index: usize) -> Result<Status, CodecError> {
    let base = slot_base(ring, index)?;
    let w = ring.load(base);
    Status::from_word(w).ok_or(CodecError::BadStatus { slot: index, value: w })
}

/// Publish `slot` (whose status is ignored) at `index`: the current status must allow
/// [`Action::HostPublish`]; payload words are written first, the status last.
pub fn publish(ring: &mut (impl RingWords + ?Sized), index: usize, slot: &Slot) -> Result<(), CodecError> {
    let base = slot_base(ring, index)?;
    let from = slot_status(ring, index)?;
    let to = transition(from, Action::HostPublish).map_err(|source| CodecError::Transition { slot: index, source })?;
    let words = slot.words();
    for (k, w) in words.iter().enumerate().skip(1) {
        ring.store(base + k, *w);
    }
    ring.store(base, to.word());
    Ok(())
}

/// Apply a host action to slot `index`'s status (cancel, fault, recycle, IO complete).
pub fn host_action(ring: &mut (impl RingWords + ?Sized), index: usize, action: Action) -> Result<Status, CodecError> {
    let base = slot_base(ring, index)?;
    let from = slot_status(ring, index)?;
    let to = transition(from, action).map_err(|source| CodecError::Transition { slot: index, source })?;
    ring.store(base, to.word());
    Ok(to)
}

/// Publish a batch at `start..start + slots.len()`, followed by a BATCH_FENCE slot with
/// sequence number `sequence` (tenant and priority of the batch's last slot, or 0).
/// Returns the fence's slot index. Nothing is written unless every target slot accepts a
/// publish.
pub fn publish_batch(
    ring: &mut (impl RingWords + ?Sized),
    start: usize,
    slots: &[Slot],
    tenant: u32,
    sequence: u32,
) -> Result<usize, CodecError> {
    let fence_index = start + slots.len();
    for index in start..=fence_index {
        let from = slot_status(ring, index)?;
        transition(from, Action::HostPublish).map_err(|source| CodecError::Transition { slot: index, source })?;
    }
    for (k, slot) in slots.iter().enumerate() {
        publish(ring, start + k, slot)?;
    }
    let priority = slots.last().map_or(PRIORITY_NORMAL, |s| s.priority);
    let fence = Slot::published(BATCH_FENCE, tenant, priority, &[sequence])?;
    publish(ring, fence_index, &fence)?;
    Ok(fence_index)
}
