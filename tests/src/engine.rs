//! Engines: the executors the differential harness compares, by name.
//!
//! `sim` (parallel simulator), `sim-det:SEED` (deterministic simulator), `gpu` or
//! `gpu:ADAPTER` (the wgpu backend); any of them with `+FAULT` appended
//! (`sim-det:3+trusting-claim`, `gpu+unbounded-tenant`) runs programs with a planted
//! protocol bug, which is how the harness proves it can fail.

use megaloop::builder::PlantedFault;
use megaloop::host::runner::RunConfig;
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
    /// Another engine running programs built with a planted fault.
    Planted {
        /// The engine.
        base: Box<Engine>,
        /// The fault.
        fault: PlantedFault,
    },
}

const FAULTS: [PlantedFault; 3] =
    [PlantedFault::TrustingClaim, PlantedFault::UnboundedTenant, PlantedFault::StarvationLockout];

fn fault_name(fault: PlantedFault) -> &'static str {
    match fault {
        PlantedFault::TrustingClaim => "trusting-claim",
        PlantedFault::UnboundedTenant => "unbounded-tenant",
        PlantedFault::StarvationLockout => "starvation-lockout",
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::SimParallel => f.write_str("sim"),
            Engine::SimDet { seed } => write!(f, "sim-det:{seed}"),
            Engine::Gpu { adapter: None } => f.write_str("gpu"),
            Engine::Gpu { adapter: Some(a) } => write!(f, "gpu:{a}"),
            Engine::Planted { base, fault } => write!(f, "{base}+{}", fault_name(*fault)),
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        if let Some((base, fault)) = s.rsplit_once('+') {
            let fault = FAULTS.into_iter().find(|&f| fault_name(f) == fault).ok_or_else(|| {
                format!("unknown planted fault `{fault}` (trusting-claim, unbounded-tenant, starvation-lockout)")
            })?;
            return Ok(Engine::Planted { base: Box::new(base.parse()?), fault });
        }
        match s.split_once(':') {
            None if s == "sim" => Ok(Engine::SimParallel),
            None if s == "gpu" => Ok(Engine::Gpu { adapter: None }),
            Some(("sim-det", seed)) => {
                seed.parse().map(|seed| Engine::SimDet { seed }).map_err(|_| format!("`{seed}` is not a seed"))
            }
            Some(("gpu", adapter)) => Ok(Engine::Gpu { adapter: Some(adapter.to_string()) }),
            _ => Err(format!("unknown engine `{s}` (sim, sim-det:SEED, gpu, gpu:ADAPTER, each optionally +FAULT)")),
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
            Engine::Planted { base, .. } => base.backend()?,
        })
    }

    /// `config` as this engine runs it (with its planted fault, if any).
    pub fn config(&self, config: &RunConfig) -> RunConfig {
        let mut config = config.clone();
        if let Engine::Planted { fault, .. } = self {
            config.planted_fault = Some(*fault);
        }
        config
    }

    /// Whether this is a GPU engine.
    pub fn is_gpu(&self) -> bool {
        match self {
            Engine::Gpu { .. } => true,
            Engine::Planted { base, .. } => base.is_gpu(),
            Engine::SimParallel | Engine::SimDet { .. } => false,
        }
    }
}

/// An engine with its backend, made once and reused across runs (a GPU backend keeps
/// its device and pipeline cache).
pub struct Instance {
    /// The engine.
    pub engine: Engine,
    /// Its backend, or why it could not be made.
    pub backend: Result<Box<dyn Backend>, String>,
}

impl Instance {
    /// Make the engine's backend.
    pub fn new(engine: Engine) -> Instance {
        let backend = engine.backend();
        Instance { engine, backend }
    }
}
