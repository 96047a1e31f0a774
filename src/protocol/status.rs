//! Slot statuses and the slot state machine: one function, [`transition`], gives every
//! legal transition; everything else is illegal.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How many statuses there are (the status words are `0..STATUS_COUNT`).
pub const STATUS_COUNT: usize = 8;

/// The status word of a ring slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u32)]
pub enum Status {
    /// Free; the host may publish into it.
    Empty = 0,
    /// Published by the host, waiting to be claimed.
    Published = 1,
    /// Claimed by exactly one lane, whose handler is running.
    Claimed = 2,
    /// The handler finished.
    Done = 3,
    /// Parked until the host services its IO request and re-publishes it.
    WaitIo = 4,
    /// The handler yielded; the host re-publishes it in a later epoch.
    Yield = 5,
    /// The handler asked to be re-queued; the host re-publishes it.
    Requeue = 6,
    /// The slot failed (bad opcode, bad arguments, IO error).
    Fault = 7,
}

impl Status {
    /// Every status, in wire order (status `s` is `ALL[s]`).
    pub const ALL: [Status; STATUS_COUNT] = [
        Status::Empty,
        Status::Published,
        Status::Claimed,
        Status::Done,
        Status::WaitIo,
        Status::Yield,
        Status::Requeue,
        Status::Fault,
    ];

    /// The status from its word, if it is one.
    pub fn from_word(word: u32) -> Option<Status> {
        Status::ALL.get(word as usize).copied()
    }

    /// The wire word.
    pub fn word(self) -> u32 {
        self as u32
    }

    /// The spec's name (`WAIT_IO`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Empty => "EMPTY",
            Status::Published => "PUBLISHED",
            Status::Claimed => "CLAIMED",
            Status::Done => "DONE",
            Status::WaitIo => "WAIT_IO",
            Status::Yield => "YIELD",
            Status::Requeue => "REQUEUE",
            Status::Fault => "FAULT",
        }
    }

    /// Whether a claimed slot may end a handler in this status.
    pub fn is_handler_outcome(self) -> bool {
        matches!(self, Status::Done | Status::WaitIo | Status::Yield | Status::Requeue | Status::Fault)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who changes a slot's status, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Host: write a new slot (EMPTY), or give a parked slot another turn
    /// (YIELD, REQUEUE) -> PUBLISHED.
    HostPublish,
    /// Host: withdraw a slot nobody holds (PUBLISHED, YIELD, REQUEUE) -> EMPTY.
    HostCancel,
    /// Host: give up on a slot nobody holds (PUBLISHED, WAIT_IO, YIELD, REQUEUE) -> FAULT.
    HostFault,
    /// Host: recycle a finished slot (DONE, FAULT) -> EMPTY.
    HostRecycle,
    /// Host: the slot's IO request was serviced (WAIT_IO) -> PUBLISHED.
    HostIoComplete,
    /// Device: a lane wins the compare-exchange (PUBLISHED) -> CLAIMED.
    DeviceClaim,
    /// Device: the handler finished (CLAIMED) -> DONE.
    DeviceDone,
    /// Device: the handler published an IO request (CLAIMED) -> WAIT_IO.
    DeviceWaitIo,
    /// Device: the handler yielded (CLAIMED) -> YIELD.
    DeviceYield,
    /// Device: the handler asked to be re-queued (CLAIMED) -> REQUEUE.
    DeviceRequeue,
    /// Device: the handler failed (CLAIMED) -> FAULT.
    DeviceFault,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 11] = [
        Action::HostPublish,
        Action::HostCancel,
        Action::HostFault,
        Action::HostRecycle,
        Action::HostIoComplete,
        Action::DeviceClaim,
        Action::DeviceDone,
        Action::DeviceWaitIo,
        Action::DeviceYield,
        Action::DeviceRequeue,
        Action::DeviceFault,
    ];

    /// Whether the host (not a lane) performs it.
    pub fn by_host(self) -> bool {
        matches!(
            self,
            Action::HostPublish | Action::HostCancel | Action::HostFault | Action::HostRecycle | Action::HostIoComplete
        )
    }
}

/// A status change the state machine does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{action:?} is not allowed from {from}")]
pub struct TransitionError {
    /// The current status.
    pub from: Status,
    /// The attempted action.
    pub action: Action,
}

/// The slot state machine: the status after `action`, or why it is illegal.
pub fn transition(from: Status, action: Action) -> Result<Status, TransitionError> {
    use Status as S;
    let to = match (action, from) {
        (Action::HostPublish, S::Empty | S::Yield | S::Requeue) => S::Published,
        (Action::HostCancel, S::Published | S::Yield | S::Requeue) => S::Empty,
        (Action::HostFault, S::Published | S::WaitIo | S::Yield | S::Requeue) => S::Fault,
        (Action::HostRecycle, S::Done | S::Fault) => S::Empty,
        (Action::HostIoComplete, S::WaitIo) => S::Published,
        (Action::DeviceClaim, S::Published) => S::Claimed,
        (Action::DeviceDone, S::Claimed) => S::Done,
        (Action::DeviceWaitIo, S::Claimed) => S::WaitIo,
        (Action::DeviceYield, S::Claimed) => S::Yield,
        (Action::DeviceRequeue, S::Claimed) => S::Requeue,
        (Action::DeviceFault, S::Claimed) => S::Fault,
        _ => return Err(TransitionError { from, action }),
    };
    Ok(to)
}
