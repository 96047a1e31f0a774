//! Engines: the executors the differential harness compares, by name.
//!
//! `sim` (parallel simulator), `sim-det:SEED` (deterministic simulator), `gpu` or
//! `gpu:ADAPTER` (the wgpu backend). An engine makes a fresh backend for each run.

use megaloop::host::Backend;
use megaloop_gpu::GpuBackend;
use megaloop_sim::{Schedule, SimBackend};
use std::fmt;

/// An executor the harness can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The parallel simulator.
    SimParallel,
    /// The deterministic simulator with a seed.
    SimDet {
        /// The seed.
        seed: u64,
    },
    /// The GPU backend, on the named adapter or the best one.
    Gpu {
        /// Adapter name substring.
        adapter: Option<String>,
    },
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::SimParallel => f.write_str("sim"),
            Engine::SimDet { seed } => write!(f, "sim-det:{seed}"),
            Engine::Gpu { adapter: None } => f.write_str("gpu"),
            Engine::Gpu { adapter: Some(a) } => write!(f, "gpu:{a}"),
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        match s.split_once(':') {
            None if s == "sim" => Ok(Engine::SimParallel),
            None if s == "gpu" => Ok(Engine::Gpu { adapter: None }),
            Some(("sim-det", seed)) => {
                seed.parse().map(|seed| Engine::SimDet { seed }).map_err(|_| format!("`{seed}` is not a seed"))
            }
            Some(("gpu", adapter)) => Ok(Engine::Gpu { adapter: Some(adapter.to_string()) }),
            _ => Err(format!("unknown engine `{s}` (sim, sim-det:SEED, gpu, gpu:ADAPTER)")),
        }
    }
}

impl Engine {
    /// A fresh backend for this engine.
    pub fn backend(&self) -> Result<Box<dyn Backend>, String> {
        Ok(match self {
            Engine::SimParallel => Box::new(SimBackend::new(Schedule::Parallel)),
            Engine::SimDet { seed } => Box::new(SimBackend::new(Schedule::Deterministic { seed: *seed })),
            Engine::Gpu { adapter } => Box::new(GpuBackend::new(adapter.as_deref()).map_err(|e| e.to_string())?),
        })
    }
}
