//! Launch geometry: workgroup size, grid size and slot coverage, and the rule that chose
//! the grid ([`GeometryRule`], which `run --json` and `bench` report).
//!
//! Once mode covers every slot: lanes take slots `lane, lane + lanes, ...`, so even a
//! grid capped at [`MAX_WORKGROUPS`] reaches all of them. Persistent modes launch at most
//! a caller-given number of workgroups (the co-resident count a backend discovers).

use serde::{Deserialize, Serialize};

/// Largest grid dimension WebGPU guarantees (`maxComputeWorkgroupsPerDimension`).
pub const MAX_WORKGROUPS: u32 = 65_535;
/// Default lanes per workgroup.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 64;
/// Default persistent workgroups when nothing better is known.
pub const DEFAULT_PERSISTENT_WORKGROUPS: u32 = 4;

/// Why a run launches the workgroups it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum GeometryRule {
    /// The caller's count (`--workgroups`, a vector's, a test's, the simulator's default).
    Given {
        /// The count asked for.
        workgroups: u32,
    },
    /// Once mode with no advice from the backend: one lane per slot (up to the grid limit).
    LanePerSlot,
    /// A share of the workgroups the backend found co-resident: each lane strides over the
    /// ring (once) or its shard (persistent).
    CoResidentShare {
        /// Workgroups found co-resident.
        co_resident: u32,
        /// The divisor.
        share: u32,
    },
    /// A device that runs workgroups on host threads (lavapipe): a few workgroups per thread.
    HostThreads {
        /// Host threads available.
        threads: u32,
        /// Workgroups per thread.
        per_thread: u32,
    },
    /// A persistent launch cut down to the workgroups found co-resident (its lanes wait on
    /// each other, so more could deadlock).
    CappedToCoResident {
        /// The count asked for or advised.
        asked: u32,
        /// Workgroups found co-resident.
        co_resident: u32,
    },
    /// Once mode widened so no lane loops past the driver's iteration limit.
    WidenedForLoopLimit {
        /// The count the rule above chose.
        chosen: u32,
        /// Iterations of the once loop one lane may run.
        sweeps_per_lane: u32,
    },
}

impl GeometryRule {
    /// The workgroups this rule asks for (before the grid's and the slots' caps).
    pub fn workgroups(&self) -> u32 {
        match *self {
            GeometryRule::Given { workgroups } => workgroups,
            GeometryRule::LanePerSlot => MAX_WORKGROUPS,
            GeometryRule::CoResidentShare { co_resident, share } => (co_resident / share.max(1)).max(1),
            GeometryRule::HostThreads { threads, per_thread } => threads.saturating_mul(per_thread).max(1),
            GeometryRule::CappedToCoResident { co_resident, .. } => co_resident.max(1),
            GeometryRule::WidenedForLoopLimit { chosen, .. } => chosen,
        }
    }
}

impl std::fmt::Display for GeometryRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            GeometryRule::Given { workgroups: 1 } => write!(f, "1 workgroup as asked"),
            GeometryRule::Given { workgroups } => write!(f, "{workgroups} workgroups as asked"),
            GeometryRule::LanePerSlot => write!(f, "one lane per slot (the backend gave no advice)"),
            GeometryRule::CoResidentShare { co_resident, share: 1 } => write!(
                f,
                "the {co_resident} workgroups found co-resident (persistent lanes wait on each other)"
            ),
            GeometryRule::CoResidentShare { co_resident, share } => write!(
                f,
                "1/{share} of the {co_resident} workgroups found co-resident, each lane striding (measured fastest)"
            ),
            GeometryRule::HostThreads { threads, per_thread } => {
                write!(f, "{per_thread} workgroups per host thread ({threads} threads run the device's workgroups)")
            }
            GeometryRule::CappedToCoResident { asked, co_resident } => write!(
                f,
                "{asked} asked, capped to the {co_resident} found co-resident (persistent lanes wait on each other)"
            ),
            GeometryRule::WidenedForLoopLimit { chosen, sweeps_per_lane } => write!(
                f,
                "widened from {chosen} workgroups so no lane sweeps more than {sweeps_per_lane} times (driver loop limit)"
            ),
        }
    }
}

/// A bad geometry request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    /// Zero or oversized workgroups.
    #[error("workgroup size {0} is outside 1..={max}", max = crate::ir::validate::MAX_WORKGROUP_SIZE)]
    WorkgroupSize(u32),
    /// No slots.
    #[error("a ring needs at least one slot")]
    NoSlots,
    /// No workgroups allowed.
    #[error("at most {0} workgroups allowed: need at least 1")]
    NoWorkgroups(u32),
}

/// How a program is launched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// Workgroups in the grid (1-D).
    pub workgroups: u32,
    /// Slots in the ring.
    pub slots: u32,
}

impl Geometry {
    fn check(slots: u32, workgroup_size: u32) -> Result<(), GeometryError> {
        if workgroup_size == 0 || workgroup_size > crate::ir::validate::MAX_WORKGROUP_SIZE {
            return Err(GeometryError::WorkgroupSize(workgroup_size));
        }
        if slots == 0 {
            return Err(GeometryError::NoSlots);
        }
        Ok(())
    }

    /// One lane per slot where the grid allows, capped at [`MAX_WORKGROUPS`].
    pub fn once(slots: u32, workgroup_size: u32) -> Result<Geometry, GeometryError> {
        Self::check(slots, workgroup_size)?;
        let workgroups = slots.div_ceil(workgroup_size).min(MAX_WORKGROUPS);
        Ok(Geometry { workgroup_size, workgroups, slots })
    }

    /// At most `max_workgroups` workgroups (co-resident), and no more than the slots need.
    pub fn persistent(slots: u32, workgroup_size: u32, max_workgroups: u32) -> Result<Geometry, GeometryError> {
        Self::check(slots, workgroup_size)?;
        if max_workgroups == 0 {
            return Err(GeometryError::NoWorkgroups(max_workgroups));
        }
        let workgroups = slots.div_ceil(workgroup_size).min(max_workgroups).min(MAX_WORKGROUPS);
        Ok(Geometry { workgroup_size, workgroups, slots })
    }

    /// Total lanes.
    pub fn lanes(&self) -> u64 {
        u64::from(self.workgroups) * u64::from(self.workgroup_size)
    }

    /// Slots each lane visits per sweep in once mode: `ceil(slots / lanes)`.
    pub fn slots_per_lane(&self) -> u64 {
        u64::from(self.slots).div_ceil(self.lanes())
    }

    /// The slot count rounded up to whole sweeps of the grid.
    pub fn padded_slots(&self) -> u64 {
        self.slots_per_lane() * self.lanes()
    }

    /// The lane that owns `slot` in a sharded mode.
    pub fn owner(&self, slot: u32) -> u64 {
        u64::from(slot) % self.lanes()
    }
}
