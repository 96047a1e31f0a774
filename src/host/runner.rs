//! Run a whole workload on a backend: open or generate its files, register them for IO,
//! build and load the ring, choose geometry and fuel, and drain it epoch by epoch.
//! The CLI's `run`, the tests and the differential harness all go through here.

use crate::builder::Mode;
use crate::geometry::{Geometry, GeometryRule};
use crate::host::io::{open_engine, EngineChoice, FileTable, IoCompletion, IoEngine, IoQueueService};
use crate::host::ring::{EpochReport, Ring};
use crate::host::trust::{cut_off, trust_drain, Untrusted};
use crate::host::workload::{Workload, WorkloadError};
use crate::host::Backend;
use std::time::{Duration, Instant};

/// How to run a workload.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Execution mode.
    pub mode: Mode,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// Most workgroups to launch (the co-resident count for persistent modes).
    pub max_workgroups: u32,
    /// Let the backend choose the grid for speed ([`Backend::preferred_workgroups`]) in
    /// place of `max_workgroups` (persistent launches stay within the co-resident count).
    pub auto_workgroups: bool,
    /// Why the grid is what it is: set by [`RunConfig::fit`] and [`RunConfig::geometry`].
    pub geometry_rule: GeometryRule,
    /// Persistent fuel per lane per epoch (`None`: derived from the ring size).
    pub fuel: Option<u32>,
    /// Most epochs before giving up on a drain.
    pub max_epochs: u32,
    /// Largest fuel the backend's driver allows (see [`RunConfig::fit`]).
    pub fuel_cap: Option<u32>,
    /// The IO engine (io_uring where available, by default).
    pub io_engine: EngineChoice,
    /// Divides the fuel cap [`RunConfig::fit`] derives (1 by default): a run whose lanes a
    /// driver cut off anyway is run again with a larger divisor ([`with_cutoff_retries`]).
    pub fuel_cap_divisor: u32,
    /// Most loop iterations one slot's handler may count against a driver's loop limit
    /// (0: the built-in handlers' few). A workload whose handlers loop long (the stream
    /// checksum's CRC loops) says so, and [`RunConfig::fit`] caps fuel to match.
    pub slot_loop_cost: u32,
}

impl RunConfig {
    /// Defaults for `mode`: 64 lanes per workgroup, 4 persistent workgroups (once mode is
    /// not capped), derived fuel, at most 256 epochs.
    pub fn new(mode: Mode) -> RunConfig {
        let max_workgroups = if mode.is_persistent() { 4 } else { crate::geometry::MAX_WORKGROUPS };
        let geometry_rule = if mode.is_persistent() {
            GeometryRule::Given { workgroups: max_workgroups }
        } else {
            GeometryRule::LanePerSlot
        };
        RunConfig {
            mode,
            workgroup_size: crate::geometry::DEFAULT_WORKGROUP_SIZE,
            max_workgroups,
            auto_workgroups: false,
            geometry_rule,
            fuel: None,
            max_epochs: 256,
            fuel_cap: None,
            io_engine: EngineChoice::Auto,
            fuel_cap_divisor: 1,
            slot_loop_cost: 0,
        }
    }

    /// The launch geometry for `slots`.
    pub fn geometry(&self, slots: u32) -> Result<Geometry, crate::geometry::GeometryError> {
        self.geometry_and_rule(slots).map(|(g, _)| g)
    }

    /// The launch geometry for `slots` and the rule that chose it. A once-mode grid the
    /// backend advised is widened where a driver's loop limit (the fitted fuel cap, in
    /// sweeps) would otherwise cut its lanes off.
    pub fn geometry_and_rule(&self, slots: u32) -> Result<(Geometry, GeometryRule), crate::geometry::GeometryError> {
        if self.mode.is_persistent() {
            return Ok((Geometry::persistent(slots, self.workgroup_size, self.max_workgroups)?, self.geometry_rule));
        }
        let mut g = Geometry::once(slots, self.workgroup_size)?;
        let one_lane_per_slot = g.workgroups;
        g.workgroups = g.workgroups.min(self.max_workgroups.max(1));
        let mut rule = self.geometry_rule;
        if let (true, Some(sweeps)) = (self.auto_workgroups, self.fuel_cap) {
            let lanes_needed = u64::from(slots).div_ceil(u64::from(sweeps.max(1)));
            let needed = lanes_needed.div_ceil(u64::from(g.workgroup_size)).min(u64::from(one_lane_per_slot)) as u32;
            if needed > g.workgroups {
                rule = GeometryRule::WidenedForLoopLimit { chosen: g.workgroups, sweeps_per_lane: sweeps };
                g.workgroups = needed;
            }
        }
        Ok((g, rule))
    }

    /// Fuel: enough for 64 sweeps of a lane's shard plus slack, unless set; never above
    /// the backend's cap.
    pub fn fuel_for(&self, geometry: &Geometry) -> u32 {
        let fuel = self.fuel.unwrap_or_else(|| {
            let shard = u64::from(geometry.slots).div_ceil(geometry.lanes());
            (shard * 64 + 4096).min(u64::from(u32::MAX)) as u32
        });
        self.fuel_cap.map_or(fuel, |cap| fuel.min(cap))
    }

    /// Fit the configuration to `backend`: in persistent modes, a
    /// workgroup no larger than the backend's progress width and at most the co-resident
    /// workgroups; and fuel below the driver's loop-iteration cap
    /// (a round of any persistent mode runs no inner loop but its handlers' own).
    pub fn fit(&mut self, backend: &mut dyn Backend) -> Result<(), crate::host::BackendError> {
        if self.mode.is_persistent() {
            if let Some(w) = backend.progress_width()? {
                self.workgroup_size = self.workgroup_size.min(w.max(1));
            }
        }
        let advice =
            if self.auto_workgroups { backend.preferred_workgroups(self.mode, self.workgroup_size)? } else { None };
        self.geometry_rule = match advice {
            Some(rule) => {
                self.max_workgroups = rule.workgroups();
                rule
            }
            None if !self.mode.is_persistent() && self.max_workgroups >= crate::geometry::MAX_WORKGROUPS => {
                GeometryRule::LanePerSlot
            }
            None => GeometryRule::Given { workgroups: self.max_workgroups },
        };
        if self.mode.is_persistent() {
            if let Some(n) = backend.co_resident_workgroups(self.workgroup_size)?.map(|n| n.max(1)) {
                if self.max_workgroups > n {
                    self.geometry_rule =
                        GeometryRule::CappedToCoResident { asked: self.max_workgroups, co_resident: n };
                    self.max_workgroups = n;
                }
            }
        }
        if let Some(limit) = backend.loop_iteration_limit() {
            // The driver counts every loop iteration of a lane, in every loop, against one
            // limit per dispatch. Measured on lavapipe (a 2-core machine like CI's, 16
            // lanes, the drain target out of reach, the largest fuel not cut off found by
            // bisection over explicit fuel): a persistent round costs about 6 counted
            // iterations. A priority round draws one ticket (spec 2.7), with no inner loop,
            // so it costs the same.
            let per_round = 8u32.saturating_add(self.slot_loop_cost);
            let divisor = self.fuel_cap_divisor.max(1);
            self.fuel_cap = Some((limit / per_round.max(1) / divisor).max(1));
        }
        Ok(())
    }
}

/// What a workload run produced.
pub struct WorkloadRun {
    /// The ring, with every buffer as the last epoch left it.
    pub ring: Ring,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// Every IO completion.
    pub io: Vec<IoCompletion>,
    /// The IO engine that served them (`io_uring`, `positioned`).
    pub io_engine: &'static str,
    /// The geometry used.
    pub geometry: Geometry,
    /// Why the grid is what it is.
    pub geometry_rule: GeometryRule,
    /// Wall-clock time of all epochs.
    pub elapsed: Duration,
    /// How many times the run was started again because a driver cut lanes off.
    pub cutoff_retries: u32,
    /// Workload files that could not be opened (`files[2] /path: No such file`): their
    /// handles stayed, and every request on them failed.
    pub file_errors: Vec<String>,
}

impl WorkloadRun {
    /// `Ok` when the drain may be trusted ([`crate::host::trust`]).
    pub fn trust(&self) -> Result<(), Untrusted> {
        trust_drain(&self.ring, &self.epochs)
    }
}

/// A run [`with_cutoff_retries`] can judge and re-run: its epochs, and where to record the
/// re-runs it took.
pub trait EpochRun {
    /// Every epoch of the run.
    fn epochs(&self) -> &[EpochReport];
    /// Record how many times the run was started again.
    fn set_cutoff_retries(&mut self, retries: u32);
}

impl EpochRun for WorkloadRun {
    fn epochs(&self) -> &[EpochReport] {
        &self.epochs
    }
    fn set_cutoff_retries(&mut self, retries: u32) {
        self.cutoff_retries = retries;
    }
}

/// Why a workload could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The workload is bad.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A file could not be prepared or opened.
    #[error("workload file {index}: {message}")]
    File {
        /// Handle.
        index: usize,
        /// What went wrong.
        message: String,
    },
    /// Geometry.
    #[error(transparent)]
    Geometry(#[from] crate::geometry::GeometryError),
    /// A host or backend failure.
    #[error(transparent)]
    Host(#[from] crate::host::ring::HostError),
    /// The IO engine could not be set up.
    #[error("IO engine: {0}")]
    Io(std::io::Error),
}

impl RunError {
    /// The engine's reason, when it declined the run (a Skip, not a failure).
    pub fn declined(&self) -> Option<&str> {
        match self {
            RunError::Host(host) => host.declined(),
            _ => None,
        }
    }
}

/// A workload loaded into a ring, with its IO service, ready to drain.
pub struct Prepared {
    /// The ring (adjust it before draining if needed).
    pub ring: Ring,
    /// The IO service over the workload's files.
    pub io: IoQueueService<Box<dyn IoEngine>>,
    /// The launch geometry.
    pub geometry: Geometry,
    /// Why the grid is what it is.
    pub geometry_rule: GeometryRule,
    /// Workload files that could not be opened (their requests will fail).
    pub file_errors: Vec<String>,
}

/// Load `workload` for `config` fitted to `backend`: build the program, publish the
/// slots, open the files.
pub fn prepare(workload: &Workload, config: &RunConfig, backend: &mut dyn Backend) -> Result<Prepared, RunError> {
    let mut config = config.clone();
    config.fit(backend).map_err(crate::host::ring::HostError::from)?;
    let config = &config;
    let mut opts = workload.build_options(config.mode);
    opts.workgroup_size = config.workgroup_size;
    let (geometry, geometry_rule) = config.geometry_and_rule(opts.slots)?;
    let fuel = config.fuel_for(&geometry);
    let ring = workload.ring(opts.clone(), fuel)?;
    let mut files = FileTable::default();
    let mut file_errors = Vec::new();
    let dir = std::env::temp_dir();
    for (index, spec) in workload.files.iter().enumerate() {
        // A file that cannot be opened keeps its handle: requests on it complete with ERROR.
        if let Some(e) =
            spec.register(&mut files, &dir).map_err(|e| RunError::File { index, message: e.to_string() })?
        {
            file_errors.push(format!("files[{index}] {e}"));
        }
    }
    let engine = open_engine(files, config.io_engine).map_err(RunError::Io)?;
    Ok(Prepared { ring, io: IoQueueService::for_program(engine, &opts), geometry, geometry_rule, file_errors })
}

impl Prepared {
    /// Drain the ring on `backend` (at most `max_epochs` epochs).
    pub fn drain(self, backend: &mut dyn Backend, max_epochs: u32) -> Result<WorkloadRun, RunError> {
        self.drain_observed(backend, max_epochs, &mut |_, _| {})
    }

    /// [`Prepared::drain`], calling `observe` after each epoch ([`Ring::drain_observed`]).
    pub fn drain_observed(
        mut self,
        backend: &mut dyn Backend,
        max_epochs: u32,
        observe: &mut dyn FnMut(&Ring, &EpochReport),
    ) -> Result<WorkloadRun, RunError> {
        let start = Instant::now();
        let epochs = self.ring.drain_observed(backend, self.geometry, Some(&mut self.io), max_epochs, observe)?;
        Ok(WorkloadRun {
            ring: self.ring,
            epochs,
            io_engine: self.io.engine_name(),
            io: self.io.completions,
            geometry: self.geometry,
            geometry_rule: self.geometry_rule,
            elapsed: start.elapsed(),
            cutoff_retries: 0,
            file_errors: self.file_errors,
        })
    }
}

/// Run `workload` on `backend` until drained (or `max_epochs`), again with less fuel
/// per dispatch while a driver cuts lanes off ([`with_cutoff_retries`]).
pub fn run_workload(
    workload: &Workload,
    backend: &mut dyn Backend,
    config: &RunConfig,
) -> Result<WorkloadRun, RunError> {
    run_workload_observed(workload, backend, config, &mut |_, _| {})
}

/// [`run_workload`], calling `observe` after each epoch of each attempt.
pub fn run_workload_observed(
    workload: &Workload,
    backend: &mut dyn Backend,
    config: &RunConfig,
    observe: &mut dyn FnMut(&Ring, &EpochReport),
) -> Result<WorkloadRun, RunError> {
    with_cutoff_retries(config, |config| {
        prepare(workload, config, backend)?.drain_observed(backend, config.max_epochs, observe)
    })
}

/// Most re-runs [`with_cutoff_retries`] makes.
pub const CUTOFF_RETRIES: u32 = 3;

/// Run `attempt` with `config`; while its run had lanes cut off by the driver (whose
/// loop-iteration limit counts every iteration of a lane, so how many a lane spends in
/// a persistent mode depends on the schedule), run it again from the start with a
/// quarter of the fuel per dispatch, at most [`CUTOFF_RETRIES`] times. A cut-off run is
/// never trusted (a lane may have stopped inside a handler), so nothing of it is kept;
/// the run returned says how many re-runs it took, and is still cut off if every
/// attempt was.
pub fn with_cutoff_retries<R: EpochRun, E>(
    config: &RunConfig,
    mut attempt: impl FnMut(&RunConfig) -> Result<R, E>,
) -> Result<R, E> {
    let mut config = config.clone();
    let mut retries = 0;
    loop {
        let mut run = attempt(&config)?;
        run.set_cutoff_retries(retries);
        // Fuel bounds a lane's work per dispatch only in the persistent modes.
        if cut_off(run.epochs()).is_none() || retries == CUTOFF_RETRIES || !config.mode.is_persistent() {
            return Ok(run);
        }
        tracing::info!("lanes were cut off by the driver; running again with a quarter of the fuel per dispatch");
        retries += 1;
        config.fuel_cap_divisor = config.fuel_cap_divisor.max(1).saturating_mul(4);
    }
}
