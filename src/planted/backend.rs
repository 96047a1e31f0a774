//! [`Planted`]: a backend that runs another with one fault planted. Program faults edit
//! every program before the inner backend runs it (each edited program is validated once
//! and cached by the original's id); host faults change the buffers around each run. A
//! wrapper stands for one ring: make a new one for each run of a workload, so a host
//! fault's "previous run" is the same ring's.

use super::{Fault, Mutation, RunContext};
use crate::geometry::Geometry;
use crate::host::LiveMemory;
use crate::host::{Backend, BackendError, HostService, RunReport};
use crate::ir::{validate, ValidProgram};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// `inner` with `fault` planted.
pub struct Planted<'a> {
    inner: &'a mut dyn Backend,
    fault: &'static Fault,
    /// Edited programs by the original's id (`None`: the fault changes nothing in it).
    programs: HashMap<u64, Option<Arc<ValidProgram>>>,
    /// The buffers the previous run left.
    previous_end: Option<Vec<Vec<u32>>>,
    /// Counts the runs in which the fault changed something.
    tally: &'a Cell<u64>,
}

impl<'a> Planted<'a> {
    /// Plant `fault` in `inner`; `tally` counts the runs in which the fault changed
    /// something (a program edit, a buffer word), so a fault that never applied is told
    /// apart from one the checks missed.
    pub fn new(inner: &'a mut dyn Backend, fault: &'static Fault, tally: &'a Cell<u64>) -> Planted<'a> {
        Planted { inner, fault, programs: HashMap::new(), previous_end: None, tally }
    }

    /// The program the inner backend runs: `program` with the fault planted, or an error
    /// when the edit makes an invalid program (a bug in the catalogue, not a kill).
    fn edited(&mut self, program: &ValidProgram) -> Result<Option<Arc<ValidProgram>>, BackendError> {
        if let Some(cached) = self.programs.get(&program.key()) {
            return Ok(cached.clone());
        }
        let edited = match self.fault.plant(program.program()) {
            Some((edited, n)) if n > 0 => Some(Arc::new(validate(&edited).map_err(|e| {
                BackendError::Internal(format!(
                    "planted fault `{}` makes program `{}` invalid: {e}",
                    self.fault.name, program.name
                ))
            })?)),
            Some(_) | None => None,
        };
        self.programs.insert(program.key(), edited.clone());
        Ok(edited)
    }
}

impl Backend for Planted<'_> {
    fn name(&self) -> String {
        format!("{}+{}", self.inner.name(), self.fault.name)
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        self.inner.recover(error)
    }

    fn co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        self.inner.co_resident_workgroups(workgroup_size)
    }

    fn progress_width(&mut self) -> Result<Option<u32>, BackendError> {
        self.inner.progress_width()
    }

    fn preferred_workgroups(
        &mut self,
        mode: crate::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<crate::geometry::GeometryRule>, BackendError> {
        self.inner.preferred_workgroups(mode, workgroup_size)
    }

    fn loop_iteration_limit(&self) -> Option<u32> {
        self.inner.loop_iteration_limit()
    }

    fn heat(&mut self, duration: std::time::Duration) -> Result<(), BackendError> {
        self.inner.heat(duration)
    }

    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<(), BackendError> {
        self.inner.serve_between_epochs(buffers, landing, service)
    }

    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        let report = match self.fault.mutation {
            Mutation::Program(_) => {
                let edited = self.edited(program)?;
                self.tally.set(self.tally.get() + u64::from(edited.is_some()));
                self.inner.run(edited.as_deref().unwrap_or(program), geometry, buffers, service)?
            }
            Mutation::Host { before, after } => {
                let mut changed = 0;
                if let Some(hook) = before {
                    let cx = RunContext { program, start: &[], previous_end: self.previous_end.as_deref() };
                    changed += hook(buffers, &cx);
                }
                let start = after.map(|_| buffers.to_vec());
                let report = self.inner.run(program, geometry, buffers, service)?;
                if let (Some(hook), Some(start)) = (after, start) {
                    let cx = RunContext { program, start: &start, previous_end: self.previous_end.as_deref() };
                    changed += hook(buffers, &cx);
                }
                self.tally.set(self.tally.get() + u64::from(changed > 0));
                self.previous_end = Some(buffers.to_vec());
                report
            }
        };
        Ok(report)
    }
}
