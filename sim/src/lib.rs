//! megaloop-sim: the CPU simulator, the reference executor of megaloop programs.
//!
//! A validated program is compiled once ([`compile`]) into typed register code
//! ([`code`]) that a SIMT executor ([`exec`]) runs warp by warp over buffers of real
//! atomic words ([`memory`]), in one of three schedules ([`schedule`]): parallel,
//! seeded-deterministic, and loom. [`SimBackend`] implements the host's `Backend` trait.
//!
//! Program behaviour (fuel running out) is an `Outcome`; only misuse of the simulator
//! and interpreter bugs are a [`SimError`].

pub mod code;
pub mod compile;
pub mod exec;
pub mod lane;
pub mod mask;
pub mod memory;
pub mod schedule;
pub mod sync;
pub mod watchdog;

use code::Code;
use megaloop::geometry::Geometry;
use megaloop::host::mirror::Mirror;
use megaloop::host::{check_launch, Backend, BackendError, HostService, Outcome, RunReport, DEFAULT_RUN_TIMEOUT};
use megaloop::ir::ValidProgram;
use memory::Memory;
use schedule::deterministic::Trace;
use std::time::{Duration, Instant};
use watchdog::Stop;

/// A failure of the simulator (not of the program).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A persistent program asked for more workgroups than threads allowed.
    #[error(
        "persistent program with {workgroups} workgroups: the parallel schedule runs at most {max} (one thread each)"
    )]
    TooManyWorkgroups {
        /// Requested.
        workgroups: u32,
        /// Limit.
        max: u32,
    },
    /// The deterministic schedule was asked for too many lanes.
    #[error("{lanes} lanes: the deterministic schedule runs at most {max}")]
    TooManyLanes {
        /// Requested.
        lanes: u64,
        /// Limit.
        max: u64,
    },
    /// A feature the chosen schedule does not support.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A bug in the simulator.
    #[error("internal simulator error (a megaloop bug, please report): {0}")]
    Internal(String),
}

impl From<SimError> for BackendError {
    fn from(e: SimError) -> BackendError {
        match e {
            SimError::Internal(m) => BackendError::Internal(m),
            other @ (SimError::TooManyWorkgroups { .. } | SimError::TooManyLanes { .. } | SimError::Unsupported(_)) => {
                BackendError::Limit(other.to_string())
            }
        }
    }
}

/// How lanes are mapped to threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Real concurrency: rayon, or one thread per workgroup for persistent programs.
    Parallel,
    /// One lane runs at a time; the seed fixes the interleaving.
    Deterministic {
        /// The seed.
        seed: u64,
    },
}

/// Once-mode workgroups per worker thread the parallel schedule advises. Measured here (2
/// cores, 10^6 slots of `trivial`, 64 lanes per workgroup): 128 workgroups 37 M slots/s,
/// 32: 34 M, 512: 32 M, 2,048: 27 M, one lane per slot (15,625): 19-21 M.
pub const ONCE_WORKGROUPS_PER_THREAD: u32 = 64;

/// The simulator as a [`Backend`].
#[derive(Debug)]
pub struct SimBackend {
    schedule: Schedule,
    last_trace: Option<Trace>,
    /// The programs compiled last and their code (a few: runs of one ring, and of the
    /// few programs a fuzzer or a test suite cycles through, reuse them).
    compiled: Vec<(u64, std::sync::Arc<Code>)>,
    /// How long one run may take before the watchdog stops its lanes.
    timeout: Duration,
    /// The memory of the last successful run and what the host knows it holds: the next
    /// run of the same layout stores only the words the host changed (device-only words,
    /// where IO lands, stay as the lanes and the IO service left them).
    resident: Option<(Memory, Mirror)>,
}

impl SimBackend {
    /// A simulator with the given schedule.
    pub fn new(schedule: Schedule) -> SimBackend {
        SimBackend { schedule, last_trace: None, compiled: Vec::new(), timeout: DEFAULT_RUN_TIMEOUT, resident: None }
    }

    /// The trace of the last deterministic run.
    pub fn last_trace(&self) -> Option<&Trace> {
        self.last_trace.as_ref()
    }
}

impl Backend for SimBackend {
    fn name(&self) -> String {
        match self.schedule {
            Schedule::Parallel => "sim-parallel".into(),
            Schedule::Deterministic { seed } => format!("sim-det:{seed}"),
        }
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Once mode on the parallel schedule: [`ONCE_WORKGROUPS_PER_THREAD`] workgroups per
    /// worker thread, each lane striding over the ring (its tallies then count many slots).
    fn preferred_workgroups(
        &mut self,
        mode: megaloop::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<megaloop::geometry::GeometryRule>, BackendError> {
        let _ = workgroup_size;
        Ok((self.schedule == Schedule::Parallel && !mode.is_persistent()).then(|| {
            megaloop::geometry::GeometryRule::HostThreads {
                threads: rayon::current_num_threads() as u32,
                per_thread: ONCE_WORKGROUPS_PER_THREAD,
            }
        }))
    }

    /// IO into a buffer with device-only words lands in the kept memory of the last run
    /// (the host does not mirror those words); everything else in the host's buffers.
    #[cfg(not(loom))]
    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn megaloop::host::LiveMemory),
    ) -> Result<(), BackendError> {
        use megaloop::host::LiveMemory;
        let kept = self.resident.as_ref().filter(|(mem, mirror)| {
            mirror.has_device_only(landing)
                && mem.buffer(landing as u16).len() == buffers.get(landing).map_or(0, Vec::len)
        });
        match kept.and_then(|(mem, _)| mem.landing(landing)) {
            // SAFETY: the region is the kept memory's own buffer of that index (the same
            // length as the host's), which lives in `self.resident` for this whole call and
            // which no lane touches between runs.
            Some(region) => service(&unsafe { megaloop::host::HostBuffers::landing_in(buffers, landing, region) }),
            None => service(&megaloop::host::HostBuffers::new(buffers)),
        }
        Ok(())
    }

    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        check_launch(program, geometry, buffers, u32::MAX)?;
        let start = Instant::now();
        const CACHED_PROGRAMS: usize = 8;
        let code = match self.compiled.iter().find(|(id, _)| *id == program.key()) {
            Some((_, code)) => code.clone(),
            None => {
                let code = std::sync::Arc::new(compile::compile(program)?);
                if self.compiled.len() == CACHED_PROGRAMS {
                    self.compiled.remove(0);
                }
                self.compiled.push((program.key(), code.clone()));
                code
            }
        };
        let (mem, mut mirror) = match self.resident.take() {
            Some((mut mem, mirror)) if mirror.fits(program, buffers) => {
                for (b, range) in mirror.uploads(program, buffers) {
                    mem.write(b, range.start, &buffers[b][range]);
                }
                mem.rearm();
                (mem, mirror)
            }
            _ => (Memory::from_host(buffers), Mirror::created(program, buffers)),
        };
        let lanes_start = Instant::now();
        let watch = watchdog::watch(mem.stop_flag().clone(), self.timeout);
        let exhausted = match self.schedule {
            Schedule::Parallel => schedule::parallel::run(&code, &mem, geometry, service),
            Schedule::Deterministic { seed } => {
                schedule::deterministic::run(&code, &mem, geometry, seed, service).map(|(lanes, trace)| {
                    self.last_trace = Some(trace);
                    lanes
                })
            }
        };
        drop(watch);
        let exhausted = exhausted?;
        // A stopped run's words are those of lanes cut short: the host's buffers stay as
        // they were, so the epoch can be run again.
        match mem.stop_flag().reason() {
            Some(Stop::Timeout) => return Err(BackendError::Timeout(self.timeout)),
            Some(Stop::Interrupt) => return Err(BackendError::Interrupted),
            None => {}
        }
        let lanes_ran = lanes_start.elapsed();
        for (b, decl) in program.buffers.iter().enumerate() {
            if let Some(r) = decl.readback {
                mem.read_back(b, r.start as usize, &mut buffers[b][r.start as usize..r.end as usize]);
            }
        }
        mirror.remember(program, buffers);
        self.resident = Some((mem, mirror));
        let outcome = if exhausted.is_empty() { Outcome::Completed } else { Outcome::fuel_exhausted(exhausted) };
        Ok(RunReport { outcome, elapsed: start.elapsed(), device_time: Some(lanes_ran) })
    }
}
