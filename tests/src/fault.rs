//! A backend wrapper that injects backend failures (a lost device, a timeout) into chosen
//! runs, to prove that the host survives them: the ring re-runs the failed epoch from its
//! own copy of the buffers once the backend recovers, and the result equals a fault-free
//! run (no slot lost, none run twice, every IO request completed once).
//!
//! A failing run first really runs on a scratch copy of the buffers, with the IO service
//! polling it where the backend allows, so work was done (and IO served) before the
//! "device" was lost; then the wrapper reports the failure and the scratch copy is thrown
//! away, as a lost GPU's memory is.

use megaloop::builder::BuildOptions;
use megaloop::geometry::Geometry;
use megaloop::host::LiveMemory;
use megaloop::host::{Backend, BackendError, HostService, RunReport};
use megaloop::ir::ValidProgram;
use std::collections::BTreeMap;
use std::time::Duration;

/// A failure to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    /// The device is lost during the run.
    LostDevice,
    /// The run does not finish in time.
    Timeout,
}

/// `inner` with failures injected into the runs numbered in `faults` (0: the first run).
pub struct FaultInjector {
    inner: Box<dyn Backend>,
    faults: BTreeMap<u32, InjectedFault>,
    runs: u32,
    /// How many failures were injected so far.
    pub injected: u32,
    /// Whether the last run's failure was injected (so `recover` knows it is ours).
    last_injected: bool,
}

impl FaultInjector {
    /// Wrap `inner`.
    pub fn new(inner: Box<dyn Backend>, faults: impl IntoIterator<Item = (u32, InjectedFault)>) -> FaultInjector {
        FaultInjector { inner, faults: faults.into_iter().collect(), runs: 0, injected: 0, last_injected: false }
    }
}

impl Backend for FaultInjector {
    fn name(&self) -> String {
        format!("{}+injected-faults", self.inner.name())
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    /// An injected failure recovers as the real backend does after such a failure (a GPU
    /// opens a new device), and may be retried whatever the real backend would say about
    /// its own failures.
    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        if self.last_injected {
            self.inner.recover(error)?;
            return Ok(true);
        }
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
        mode: megaloop::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<megaloop::geometry::GeometryRule>, BackendError> {
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
        self.run_injecting(None, program, geometry, buffers, service)
    }

    /// Forwarded as a kernel run, so an engine that runs the megakernel itself (an
    /// external one) gets its options through the wrapper too.
    fn run_kernel(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        self.run_injecting(Some(kernel), program, geometry, buffers, service)
    }
}

impl FaultInjector {
    /// Run on the inner backend, or (on a run with a fault) run it on a scratch copy of
    /// the buffers and report the injected failure.
    fn run_injecting(
        &mut self,
        kernel: Option<&BuildOptions>,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        let run = self.runs;
        self.runs += 1;
        self.last_injected = false;
        let fault = self.faults.get(&run).copied();
        let mut scratch = fault.map(|_| buffers.to_vec());
        let target = scratch.as_deref_mut().unwrap_or(buffers);
        let report = match kernel {
            Some(kernel) => self.inner.run_kernel(kernel, program, geometry, target, service),
            None => self.inner.run(program, geometry, target, service),
        };
        // What the lost run did is thrown away with its memory, whatever it was.
        let Some(fault) = fault else { return report };
        self.injected += 1;
        self.last_injected = true;
        Err(match fault {
            InjectedFault::LostDevice => BackendError::Device(format!("injected: the device was lost in run {run}")),
            InjectedFault::Timeout => BackendError::Timeout(Duration::from_millis(1)),
        })
    }
}
