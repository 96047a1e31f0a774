//! The `Backend` trait every executor implements (the simulator, the wgpu backend), and
//! what a run reports.
//!
//! A backend takes a validated program, a launch geometry and the host's copy of every
//! buffer; it uploads them, runs, and writes each buffer's declared readback range back
//! into the host copy. Program behaviour (including running out of fuel) is an
//! [`Outcome`]; only failures of the backend itself are a [`BackendError`].

use crate::builder::BuildOptions;
use crate::geometry::Geometry;
use crate::host::io::RawRegion;
use crate::ir::ValidProgram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a run ended, as far as the program is concerned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every lane returned with its loops' exit conditions met.
    Completed,
    /// Some lanes left a persistent loop because their fuel ran out.
    FuelExhausted {
        /// Which lanes, and which loop.
        lanes: Vec<ExhaustedLane>,
        /// Lanes more than the backend could record (a GPU's outcome buffer has room
        /// for 1,024).
        #[serde(default, skip_serializing_if = "is_zero")]
        unrecorded: u32,
    },
    /// Some lanes left a persistent loop with fuel left and its exit condition unmet:
    /// the driver cut the loop off (lavapipe does after 65,535 iterations). Such a run
    /// must not be trusted as complete. `lanes` also lists lanes of the run that ran out
    /// of fuel.
    CutOff {
        /// Which lanes, and which loop.
        lanes: Vec<ExhaustedLane>,
        /// Lanes more than the backend could record.
        #[serde(default, skip_serializing_if = "is_zero")]
        unrecorded: u32,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Outcome {
    /// Lanes out of fuel, all recorded.
    pub fn fuel_exhausted(lanes: Vec<ExhaustedLane>) -> Outcome {
        Outcome::FuelExhausted { lanes, unrecorded: 0 }
    }

    /// How many lanes left a loop early (out of fuel or cut off), recorded or not.
    pub fn lanes_left_early(&self) -> u64 {
        match self {
            Outcome::Completed => 0,
            Outcome::FuelExhausted { lanes, unrecorded } | Outcome::CutOff { lanes, unrecorded } => {
                lanes.len() as u64 + u64::from(*unrecorded)
            }
        }
    }
}

/// A lane whose persistent loop ran out of fuel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhaustedLane {
    /// Global invocation id.
    pub lane: u32,
    /// Path of the loop in the program tree (`body[2].then[3]`).
    pub loop_path: String,
}

/// What a run reports besides the buffers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Program outcome.
    pub outcome: Outcome,
    /// Wall-clock time of the run (upload to readback).
    pub elapsed: Duration,
    /// Time the program itself ran, without upload and readback: GPU timestamps on the
    /// GPU backend, the time the lanes ran in the simulator.
    pub device_time: Option<Duration>,
}

/// A failure of the backend (not of the program).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The host passed the wrong number of buffers.
    #[error("program `{program}` declares {expected} buffers, the host passed {got}")]
    BufferCount {
        /// Program name.
        program: String,
        /// Declared.
        expected: usize,
        /// Passed.
        got: usize,
    },
    /// A host buffer has the wrong size.
    #[error("buffer `{name}` is declared with {expected} words, the host passed {got}")]
    BufferSize {
        /// Buffer name.
        name: String,
        /// Declared words.
        expected: u32,
        /// Passed words.
        got: usize,
    },
    /// The geometry cannot be launched.
    #[error("geometry {geometry:?} cannot be launched: {reason}")]
    Geometry {
        /// The geometry.
        geometry: Geometry,
        /// Why.
        reason: String,
    },
    /// The backend cannot run a launch this large or of this kind.
    #[error("this backend cannot run the launch: {0}")]
    Limit(String),
    /// The device failed (lost, out of memory, driver error).
    #[error("device error: {0}")]
    Device(String),
    /// The run did not finish in time (`--timeout`).
    #[error("the run did not finish within {0:?} (--timeout)")]
    Timeout(Duration),
    /// The run was stopped on request (SIGINT).
    #[error("interrupted")]
    Interrupted,
    /// An external engine failed: it exited, hung up, or answered what the engine
    /// protocol does not allow (the message names the engine and the run).
    #[error("external engine failed: {0}")]
    External(String),
    /// The engine does not run this kind of launch (a mode, a size, a feature it
    /// declares it lacks): the run is skipped, never counted as a pass or a failure.
    #[error("the engine declines: {0}")]
    Declined(String),
    /// A bug in the backend itself.
    #[error("internal backend error (a megaloop bug, please report): {0}")]
    Internal(String),
}

/// Word access to the buffers of a run in progress (the simulator's real atomics), for
/// host services that run concurrently with the lanes. Every access is one atomic word
/// access.
///
/// # Safety
///
/// The regions [`LiveMemory::landing`] and [`LiveMemory::source`] return are raw memory
/// that an IO engine reads and writes without further checks: an implementation must
/// return only regions valid for reads and writes of their whole length for as long as
/// the memory itself is borrowed, that no safe reference to those bytes aliases while an
/// engine uses them except the memory's own atomic word accesses, and that mirror the
/// buffer as the methods say.
pub unsafe trait LiveMemory: Sync {
    /// Read a word (0 outside the buffer).
    fn load(&self, buffer: usize, index: usize) -> u32;
    /// Write a word (dropped outside the buffer).
    fn store(&self, buffer: usize, index: usize, value: u32);
    /// Strong compare-exchange; `Ok(old)` when it exchanged, `Err(actual)` otherwise.
    fn compare_exchange(&self, buffer: usize, index: usize, current: u32, new: u32) -> Result<u32, u32>;
    /// Wrapping add; returns the old value.
    fn fetch_add(&self, buffer: usize, index: usize, value: u32) -> u32;

    /// Where IO reads into `buffer` land directly (zero-copy): raw memory that mirrors the
    /// buffer byte for byte (the buffer itself, or a staging area copied into it before the
    /// next dispatch), valid as long as this memory is. `None`: the IO service stores words.
    fn landing(&self, buffer: usize) -> Option<RawRegion> {
        let _ = buffer;
        None
    }

    /// Words `word..word + words` of `buffer` were written through [`LiveMemory::landing`].
    fn landed(&self, buffer: usize, word: usize, words: usize) {
        let _ = (buffer, word, words);
    }

    /// The current bytes of `buffer` as raw memory IO writes may read directly, or `None`
    /// (the IO service then loads words).
    fn source(&self, buffer: usize) -> Option<RawRegion> {
        let _ = buffer;
        None
    }
}

/// A host service that runs beside the lanes (on backends that allow it) and between
/// epochs (on every backend), such as the IO queue service.
pub trait HostService: Send {
    /// Do what can be done now; return how many requests were completed.
    fn poll(&mut self, memory: &dyn LiveMemory) -> usize;

    /// Whether polling during a run can complete anything (a backend may skip the
    /// concurrent poller otherwise; the host services everything between epochs anyway).
    fn worth_polling(&self) -> bool {
        true
    }
}

/// How long one run (one epoch's dispatch) may take by default before the backend's
/// watchdog stops it and reports [`BackendError::Timeout`].
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// IO that lands reads while a run goes on ([`Backend::run_kernel_overlapped`]).
pub type LandingIo<'a> = dyn FnMut(&dyn LiveMemory) + 'a;

/// An executor of validated programs.
pub trait Backend {
    /// A name for reports (`sim-parallel`, `gpu:NVIDIA H200`).
    fn name(&self) -> String;

    /// How long one run may take before it is stopped and reported as
    /// [`BackendError::Timeout`] (default [`DEFAULT_RUN_TIMEOUT`]). A run stopped this way
    /// leaves the host's buffers as they were.
    fn set_timeout(&mut self, timeout: Duration);

    /// After `error` ended a run: make the backend usable again (a GPU backend opens a
    /// new device after a lost device or a timeout) and say whether running the same
    /// epoch again may succeed. `Ok(false)`: the failure is the program's own (the
    /// simulator is deterministic about a timeout) or cannot be recovered from.
    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        let _ = error;
        Ok(false)
    }

    /// How many workgroups of `workgroup_size` lanes are known to be co-resident (a
    /// persistent launch must not use more); `None` when every workgroup makes progress
    /// regardless (the simulator).
    fn co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        let _ = workgroup_size;
        Ok(None)
    }

    /// The largest workgroup whose lanes all make progress while waiting on each other;
    /// `None` when any size does.
    fn progress_width(&mut self) -> Result<Option<u32>, BackendError> {
        Ok(None)
    }

    /// The grid this backend runs `mode` fastest at for `workgroup_size` lanes, with the
    /// rule behind it; `None` when it has no advice (a persistent launch is still capped at
    /// [`Backend::co_resident_workgroups`]).
    fn preferred_workgroups(
        &mut self,
        mode: crate::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<crate::geometry::GeometryRule>, BackendError> {
        let _ = (mode, workgroup_size);
        Ok(None)
    }

    /// A driver cap on the total loop iterations of one invocation, if any (lavapipe).
    fn loop_iteration_limit(&self) -> Option<u32> {
        None
    }

    /// Keep the device busy for `duration` right before a timed run, so a device that
    /// lowers its clock under light load is measured at its working clock (benchmarks
    /// only; nothing to do where there is no such device).
    fn heat(&mut self, duration: Duration) -> Result<(), BackendError> {
        let _ = duration;
        Ok(())
    }

    /// Between epochs, when IO will land in buffer `landing`: run `service` over the
    /// memory host services see. By default that is the host's buffers; a backend whose
    /// buffers live on a device also mirrors each landed range into its own staging area
    /// and copies it into the device before the next dispatch (the host's copy stays the
    /// whole truth).
    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<(), BackendError> {
        let _ = landing;
        service(&crate::host::HostBuffers::new(buffers));
        Ok(())
    }

    /// Whether [`Backend::run_kernel_overlapped`] really lands IO while the program runs
    /// (the GPU backend); by default it serves the IO after the run.
    fn overlaps_io(&self) -> bool {
        false
    }

    /// [`Backend::run_kernel`] while `io` lands reads in the device-only words of buffer
    /// `landing` (words the running program does not touch: the host guarantees it), to
    /// be there before the next run; `io` sees only that landing area. By default the run
    /// comes first and `io` runs between epochs ([`Backend::serve_between_epochs`]).
    fn run_kernel_overlapped(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        landing: usize,
        io: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<RunReport, BackendError> {
        run_then_serve(self, kernel, program, geometry, buffers, landing, io)
    }

    /// Upload `buffers` (one per declared buffer, in declaration order), run `program`
    /// over `geometry`, and write each buffer's readback range back into `buffers`.
    /// `service`, when given, is polled while the lanes run where the backend allows it.
    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError>;

    /// [`Backend::run`] for a program the builder made from `kernel` (the [`Ring`] runs
    /// every epoch this way). Engines that run their own megakernel rather than the IR (an
    /// external runtime, a user's WGSL) need the mode and layout; megaloop's own engines
    /// run the program.
    ///
    /// [`Ring`]: crate::host::ring::Ring
    fn run_kernel(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        let _ = kernel;
        self.run(program, geometry, buffers, service)
    }
}

/// [`Backend::run_kernel_overlapped`] without the overlap: the run, then `io` between
/// epochs. The trait's default, and a backend's answer where it cannot overlap.
pub fn run_then_serve<B: Backend + ?Sized>(
    backend: &mut B,
    kernel: &BuildOptions,
    program: &ValidProgram,
    geometry: Geometry,
    buffers: &mut [Vec<u32>],
    landing: usize,
    io: &mut LandingIo<'_>,
) -> Result<RunReport, BackendError> {
    let report = backend.run_kernel(kernel, program, geometry, buffers, None)?;
    backend.serve_between_epochs(buffers, landing, io)?;
    Ok(report)
}

/// A borrowed backend is a backend (a wrapper may hold one for the length of a run).
impl<B: Backend + ?Sized> Backend for &mut B {
    fn name(&self) -> String {
        (**self).name()
    }
    fn set_timeout(&mut self, timeout: Duration) {
        (**self).set_timeout(timeout)
    }
    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        (**self).recover(error)
    }
    fn co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        (**self).co_resident_workgroups(workgroup_size)
    }
    fn progress_width(&mut self) -> Result<Option<u32>, BackendError> {
        (**self).progress_width()
    }
    fn preferred_workgroups(
        &mut self,
        mode: crate::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<crate::geometry::GeometryRule>, BackendError> {
        (**self).preferred_workgroups(mode, workgroup_size)
    }
    fn loop_iteration_limit(&self) -> Option<u32> {
        (**self).loop_iteration_limit()
    }
    fn heat(&mut self, duration: Duration) -> Result<(), BackendError> {
        (**self).heat(duration)
    }
    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<(), BackendError> {
        (**self).serve_between_epochs(buffers, landing, service)
    }
    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        (**self).run(program, geometry, buffers, service)
    }
    fn run_kernel(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        (**self).run_kernel(kernel, program, geometry, buffers, service)
    }
    fn overlaps_io(&self) -> bool {
        (**self).overlaps_io()
    }
    fn run_kernel_overlapped(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        landing: usize,
        io: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<RunReport, BackendError> {
        (**self).run_kernel_overlapped(kernel, program, geometry, buffers, landing, io)
    }
}

/// Check a launch before running it: the host buffers match the program's declarations,
/// and the geometry has the program's workgroup size and `1..=max_workgroups` workgroups.
pub fn check_launch(
    program: &ValidProgram,
    geometry: Geometry,
    buffers: &[Vec<u32>],
    max_workgroups: u32,
) -> Result<(), BackendError> {
    if geometry.workgroup_size != program.workgroup_size
        || geometry.workgroups == 0
        || geometry.workgroups > max_workgroups
    {
        return Err(BackendError::Geometry {
            geometry,
            reason: format!(
                "needs the program's workgroup size {} and 1..={max_workgroups} workgroups",
                program.workgroup_size
            ),
        });
    }
    check_buffers(program, buffers)
}

/// Check that the host buffers match the program's declarations.
pub fn check_buffers(program: &ValidProgram, buffers: &[Vec<u32>]) -> Result<(), BackendError> {
    if buffers.len() != program.buffers.len() {
        return Err(BackendError::BufferCount {
            program: program.name.clone(),
            expected: program.buffers.len(),
            got: buffers.len(),
        });
    }
    for (decl, words) in program.buffers.iter().zip(buffers) {
        if words.len() != decl.words as usize {
            return Err(BackendError::BufferSize { name: decl.name.clone(), expected: decl.words, got: words.len() });
        }
    }
    Ok(())
}
