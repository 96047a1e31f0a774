//! Flags and helpers shared by the subcommands that run workloads: backend choice,
//! mode, workload source.

use anyhow::Context;
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop::host::Backend;
use megaloop_conformance::engine::Engine;
use std::path::PathBuf;

/// megaloop's own engines by their short names (`--backend`): each stands for an
/// [`Engine`] of the one registry, completed by `--seed` and `--adapter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// The simulator, parallel schedule (`sim`).
    Sim,
    /// The simulator, seeded deterministic schedule (`sim-det:SEED`, `--seed`).
    SimDet,
    /// The wgpu backend on the best adapter (`gpu`, or `gpu:ADAPTER` with `--adapter`;
    /// `MEGALOOP_ADAPTER`).
    Gpu,
}

impl BackendChoice {
    /// The engine it names.
    pub fn engine(self, seed: u64, adapter: Option<&str>) -> Engine {
        match self {
            BackendChoice::Sim => Engine::SimParallel,
            BackendChoice::SimDet => Engine::SimDet { seed },
            BackendChoice::Gpu => Engine::Gpu { adapter: adapter.map(str::to_string) },
        }
    }
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
    /// IO queue entries of the ring (default: the workload's; vyre's 64 where it names
    /// none; `mixed` sizes its queue to its IO requests).
    #[arg(long)]
    pub io_entries: Option<u32>,
}

impl WorkloadArgs {
    /// Load the workload (`mixed` by default).
    pub fn load(&self) -> anyhow::Result<Workload> {
        let mut workload = match (&self.workload, &self.builtin) {
            (Some(path), _) => Workload::from_file(path)?,
            (None, name) => Workload::builtin(name.as_deref().unwrap_or("mixed"), self.slots)?,
        };
        if let Some(entries) = self.io_entries {
            let max = megaloop::protocol::layout::MAX_IO_ENTRIES;
            anyhow::ensure!((1..=max).contains(&entries), "--io-entries {entries}: an IO queue has 1 to {max} entries");
            workload.io_entries = Some(entries);
        }
        Ok(workload)
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
    /// One of megaloop's own engines by its short name (default `sim`).
    #[arg(long, value_enum, conflicts_with = "engine")]
    pub backend: Option<BackendChoice>,
    /// Any engine: `sim`, `sim-det:SEED`, `gpu`, `gpu:ADAPTER`, `exec:COMMAND` (an external
    /// runtime speaking the engine protocol, spec part 3) or `wgsl:FILE` (a hand-written
    /// WGSL megakernel, spec 3.6).
    #[arg(long)]
    pub engine: Option<Engine>,
    /// GPU adapter for `--backend gpu` (a name substring; default: `MEGALOOP_ADAPTER`,
    /// else the best adapter).
    #[arg(long)]
    pub adapter: Option<String>,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

impl BackendArgs {
    /// The engine these flags name (`seed` completes `--backend sim-det`).
    pub fn engine(&self, seed: u64) -> anyhow::Result<Engine> {
        let engine = match &self.engine {
            Some(engine) => engine.clone(),
            None => self.backend.unwrap_or(BackendChoice::Sim).engine(seed, self.adapter.as_deref()),
        };
        anyhow::ensure!(
            !matches!(engine, Engine::Planted { .. }),
            "--engine {engine}: planted faults run under `conformance`, `diff` and `mutants`, which check what \
             they change"
        );
        Ok(engine)
    }
}

/// A run configuration for `mode` on `engine` with the CLI's workgroup flags: an explicit
/// `--workgroups` wins; else the deterministic simulator gets 4 workgroups (every lane
/// interleaves on one thread), and the parallel simulator, the GPU and external engines
/// the grid their backend prefers (`RunConfig::auto_workgroups`; without
/// advice the whole grid, and `fit` caps persistent launches at the co-resident count).
pub fn run_config(
    mode: Mode,
    engine: &Engine,
    workgroup_size: u32,
    workgroups: Option<u32>,
) -> anyhow::Result<RunConfig> {
    let mut config = RunConfig::new(mode);
    config.workgroup_size = workgroup_size_flag("--workgroup-size", workgroup_size)?;
    match (workgroups, engine) {
        (Some(w), _) => config.max_workgroups = positive("--workgroups", w)?,
        (None, Engine::SimDet { .. }) => config.max_workgroups = 4,
        (None, Engine::SimParallel) => config.auto_workgroups = true,
        (None, Engine::Gpu { .. } | Engine::External { .. } | Engine::Planted { .. }) => {
            config.max_workgroups = megaloop::geometry::MAX_WORKGROUPS;
            config.auto_workgroups = true;
        }
    }
    Ok(config)
}

/// Make `engine`'s backend with the watchdog's `--timeout`.
pub fn make_backend(engine: &Engine, timeout: &TimeoutArgs) -> anyhow::Result<Box<dyn Backend>> {
    let mut backend = engine.backend().map_err(|e| anyhow::anyhow!("cannot start {engine}: {e}"))?;
    backend.set_timeout(timeout.duration()?);
    Ok(backend)
}

/// Check a workgroup-size flag: 1 to the IR's largest workgroup.
pub fn workgroup_size_flag(flag: &str, size: u32) -> anyhow::Result<u32> {
    let max = megaloop::ir::validate::MAX_WORKGROUP_SIZE;
    anyhow::ensure!((1..=max).contains(&size), "{flag} {size}: a workgroup has 1 to {max} lanes");
    Ok(size)
}

/// The per-run watchdog flag every command that runs programs takes.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct TimeoutArgs {
    /// Seconds one epoch may run before it is stopped and reported as a timeout (on the
    /// simulator and the GPU alike).
    #[arg(long, default_value_t = megaloop::host::DEFAULT_RUN_TIMEOUT.as_secs_f64())]
    pub timeout: f64,
}

impl TimeoutArgs {
    /// Longest `--timeout` (a day).
    const MAX_S: f64 = 86_400.0;

    /// The timeout, checked.
    pub fn duration(&self) -> anyhow::Result<std::time::Duration> {
        anyhow::ensure!(
            self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= Self::MAX_S,
            "--timeout {}: give seconds above 0 and at most {}",
            self.timeout,
            Self::MAX_S
        );
        Ok(std::time::Duration::from_secs_f64(self.timeout))
    }
}

/// Parse a count that must be positive.
pub fn positive(what: &str, v: u32) -> anyhow::Result<u32> {
    (v > 0).then_some(v).with_context(|| format!("{what} must be at least 1"))
}

/// The report files a corpus run writes (`conformance`, `mutants`).
#[derive(clap::Args, Debug, Clone)]
pub struct ReportFiles {
    /// Write the whole report as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long)]
    pub junit: Option<std::path::PathBuf>,
}

impl ReportFiles {
    /// Create (truncate) each report file now, so an unwritable path is an error before
    /// the run rather than after it.
    pub fn create(&self) -> anyhow::Result<()> {
        for path in [&self.json, &self.junit].into_iter().flatten() {
            std::fs::write(path, "").map_err(|e| anyhow::anyhow!("cannot write the report {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Write the reports asked for: `report` as JSON, and the JUnit XML `junit` makes.
    pub fn write(
        &self,
        report: &impl serde::Serialize,
        junit: impl FnOnce() -> Result<String, String>,
    ) -> anyhow::Result<()> {
        let put = |path: &std::path::Path, text: String| {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
        };
        if let Some(path) = &self.json {
            put(path, serde_json::to_string_pretty(report)?)?;
        }
        if let Some(path) = &self.junit {
            put(path, junit().map_err(anyhow::Error::msg)?)?;
        }
        Ok(())
    }
}

/// How `stream-checksum` cuts its input up (`run --builtin stream-checksum`, `bench
/// --io-file`).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct StreamArgs {
    /// Bytes per IO request (a multiple of `--piece`, at most 4 MiB).
    #[arg(long, default_value_t = megaloop::host::stream::DEFAULT_CHUNK)]
    pub chunk: u32,
    /// Bytes one lane CRCs (a multiple of 4 dividing `--chunk`, at most 64 KiB; default
    /// 16 KiB or the whole chunk when smaller).
    #[arg(long)]
    pub piece: Option<u32>,
    /// Chunks in flight at once: the IO queue's entries (a wave holds at most 16,384
    /// pieces).
    #[arg(long, default_value_t = megaloop::host::stream::DEFAULT_WAVE)]
    pub wave: u32,
}

impl StreamArgs {
    /// The stream's options (checked when the stream starts).
    pub fn options(&self) -> megaloop::host::stream::StreamOptions {
        let mut o = megaloop::host::stream::StreamOptions::with_chunk(self.chunk);
        o.wave = self.wave;
        if let Some(piece) = self.piece {
            o.piece = piece;
        }
        o
    }
}
