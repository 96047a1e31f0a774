//! Launch geometry: workgroup size, grid size and slot coverage.
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
