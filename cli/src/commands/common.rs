//! Flags and helpers shared by the subcommands that run workloads: backend choice,
//! mode, workload source.

use anyhow::Context;
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop::host::Backend;
use megaloop_sim::{Schedule, SimBackend};
use std::path::PathBuf;

/// Which executor runs the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// The simulator, parallel schedule.
    Sim,
    /// The simulator, seeded deterministic schedule (`--seed`).
    SimDet,
    /// The wgpu backend on the best adapter (or `--adapter` / `MEGALOOP_ADAPTER`).
    Gpu,
}

/// Execution mode flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeChoice {
    /// One pass over the ring.
    Once,
    /// Persistent sharded loop.
    Persistent,
    /// Persistent priority scan.
    Priority,
    /// Persistent with the workload's handler set fused.
    Jit,
}

impl From<ModeChoice> for Mode {
    fn from(m: ModeChoice) -> Mode {
        match m {
            ModeChoice::Once => Mode::Once,
            ModeChoice::Persistent => Mode::Persistent,
            ModeChoice::Priority => Mode::Priority,
            ModeChoice::Jit => Mode::Jit,
        }
    }
}

/// Where the workload comes from.
#[derive(clap::Args, Debug)]
pub struct WorkloadArgs {
    /// A built-in workload: `mixed` (every opcode, tenants allowed, denied and out of
    /// range, all priorities), `trivial` (NOP slots, for throughput), or (for `run`)
    /// `stream-checksum` (the CRC-32 of `--input`, computed in the megakernel).
    #[arg(long, conflicts_with = "workload")]
    pub builtin: Option<String>,
    /// A workload file (JSON; see README).
    #[arg(long)]
    pub workload: Option<PathBuf>,
    /// Slots of a built-in workload.
    #[arg(long, default_value_t = 1000)]
    pub slots: u32,
}

impl WorkloadArgs {
    /// Load the workload (`mixed` by default).
    pub fn load(&self) -> anyhow::Result<Workload> {
        match (&self.workload, &self.builtin) {
            (Some(path), _) => Ok(Workload::from_file(path)?),
            (None, name) => Ok(Workload::builtin(name.as_deref().unwrap_or("mixed"), self.slots)?),
        }
    }
}

/// The IO engine flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IoChoice {
    /// io_uring where the kernel allows it, positioned reads and writes otherwise.
    Auto,
    /// io_uring, or fail.
    Uring,
    /// Positioned reads and writes.
    Positioned,
}

impl From<IoChoice> for megaloop::host::io::EngineChoice {
    fn from(c: IoChoice) -> Self {
        use megaloop::host::io::EngineChoice;
        match c {
            IoChoice::Auto => EngineChoice::Auto,
            IoChoice::Uring => EngineChoice::Uring,
            IoChoice::Positioned => EngineChoice::Positioned,
        }
    }
}

/// The backend flags every workload command takes.
#[derive(clap::Args, Debug)]
pub struct BackendArgs {
    /// Executor.
    #[arg(long, value_enum, default_value_t = BackendChoice::Sim)]
    pub backend: BackendChoice,
    /// GPU adapter (a name substring; default: `MEGALOOP_ADAPTER`, else the best adapter).
    #[arg(long)]
    pub adapter: Option<String>,
}

/// A run configuration for `mode` on `backend` with the CLI's workgroup flags: an explicit
/// `--workgroups` wins; else the deterministic simulator gets 4 workgroups (a thread per
/// lane), the GPU the whole grid (`fit` caps persistent launches at the discovered
/// co-resident count), and the parallel simulator the runner's default.
pub fn run_config(
    mode: Mode,
    backend: BackendChoice,
    workgroup_size: u32,
    workgroups: Option<u32>,
) -> anyhow::Result<RunConfig> {
    let mut config = RunConfig::new(mode);
    config.workgroup_size = positive("--workgroup-size", workgroup_size)?;
    match (workgroups, backend) {
        (Some(w), _) => config.max_workgroups = positive("--workgroups", w)?,
        (None, BackendChoice::SimDet) => config.max_workgroups = 4,
        (None, BackendChoice::Gpu) => config.max_workgroups = megaloop::geometry::MAX_WORKGROUPS,
        (None, BackendChoice::Sim) => {}
    }
    Ok(config)
}

/// Make the chosen backend (`adapter` picks a GPU adapter by name).
pub fn make_backend(choice: BackendChoice, seed: u64, adapter: Option<&str>) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match choice {
        BackendChoice::Sim => Box::new(SimBackend::new(Schedule::Parallel)),
        BackendChoice::SimDet => Box::new(SimBackend::new(Schedule::Deterministic { seed })),
        BackendChoice::Gpu => Box::new(megaloop_gpu::GpuBackend::new(adapter)?),
    })
}

/// Parse a count that must be positive.
pub fn positive(what: &str, v: u32) -> anyhow::Result<u32> {
    (v > 0).then_some(v).with_context(|| format!("{what} must be at least 1"))
}
