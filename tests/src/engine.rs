//! Engines: the executors the differential harness compares, by name.
//!
//! The one engine registry: every command that runs something names its engine here,
//! parsed in one place. `sim` (parallel simulator), `sim-det:SEED` (deterministic
//! simulator), `gpu` or `gpu:ADAPTER` (the wgpu backend), and the external engines:
//! `exec:COMMAND` (a runtime in a subprocess speaking the engine protocol of
//! specs/protocol.md part 3; see [`crate::exec`]) and `wgsl:FILE` (a hand-written WGSL
//! megakernel dispatched by the wgpu backend in place of the lowering; see
//! [`megaloop_gpu::user_kernel`]).
//!
//! Planted faults apply to megaloop's own engines only: any of them with `+FAULT` appended
//! (`sim-det:3+trusting-claim`, `gpu+unbounded-tenant`) runs with a fault of
//! [`megaloop::planted::CATALOGUE`] planted, which is how the harness proves it can fail.
//! An external engine's faults are its own switches, declared in its capabilities and
//! turned on by `megaloop mutants --engine exec:...|wgsl:...` ([`Engine::External`]'s
//! `fault`).

use megaloop::host::Backend;
use megaloop::planted::{self, Fault, Planted};
#[cfg(feature = "gpu")]
use megaloop_gpu::{
    user_kernel::{UserKernel, UserKernelBackend},
    GpuBackend,
};
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
    /// A runtime that is not megaloop's own.
    External {
        /// Which.
        runtime: External,
        /// The runtime's own fault switch to turn on (one it declares), if any.
        fault: Option<String>,
    },
    /// One of megaloop's own engines with a planted fault.
    Planted {
        /// The engine.
        base: Box<Engine>,
        /// The fault.
        fault: &'static Fault,
    },
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::SimParallel => f.write_str("sim"),
            Engine::SimDet { seed } => write!(f, "sim-det:{seed}"),
            Engine::Gpu { adapter: None } => f.write_str("gpu"),
            Engine::Gpu { adapter: Some(a) } => write!(f, "gpu:{a}"),
            Engine::Planted { base, fault } => write!(f, "{base}+{}", fault.name),
            Engine::External { runtime, fault: None } => write!(f, "{runtime}"),
            Engine::External { runtime, fault: Some(fault) } => write!(f, "{runtime} (fault {fault})"),
        }
    }
}

/// An external runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum External {
    /// A subprocess speaking the engine protocol, started by this shell command.
    Exec(String),
    /// A hand-written WGSL megakernel in this file, on the best adapter (or
    /// `MEGALOOP_ADAPTER`).
    Wgsl(std::path::PathBuf),
}

impl fmt::Display for External {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            External::Exec(command) => write!(f, "exec:{command}"),
            External::Wgsl(path) => write!(f, "wgsl:{}", path.display()),
        }
    }
}

impl External {
    /// A backend running it, with its fault switch `fault` on.
    pub fn backend(&self, fault: Option<&str>) -> Result<Box<dyn Backend>, String> {
        Ok(match self {
            External::Exec(command) => Box::new(crate::exec::ExecBackend::start(command, fault)?),
            #[cfg(feature = "gpu")]
            External::Wgsl(path) => Box::new(UserKernelBackend::new(path, None, fault)?),
            #[cfg(not(feature = "gpu"))]
            External::Wgsl(_) => return Err(without_gpu()),
        })
    }

    /// The fault switches it declares.
    pub fn declared_faults(&self) -> Result<Vec<String>, String> {
        Ok(match self {
            External::Exec(command) => crate::exec::ExecBackend::start(command, None)?.capabilities().faults.clone(),
            #[cfg(feature = "gpu")]
            External::Wgsl(path) => UserKernel::load(path)?.capabilities().faults.clone(),
            #[cfg(not(feature = "gpu"))]
            External::Wgsl(_) => return Err(without_gpu()),
        })
    }
}

/// Why a GPU engine cannot run in a build without the `gpu` feature.
#[cfg(not(feature = "gpu"))]
fn without_gpu() -> String {
    "megaloop-conformance was built without its `gpu` feature: no wgpu backend".into()
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        // The command or path is everything after the prefix (it may hold `:` and `+`).
        if let Some(command) = s.strip_prefix("exec:") {
            if command.trim().is_empty() {
                return Err("`exec:` needs a command that starts the engine (`exec:./my-runtime --flag`)".into());
            }
            return Ok(Engine::External { runtime: External::Exec(command.to_string()), fault: None });
        }
        if let Some(path) = s.strip_prefix("wgsl:") {
            if path.trim().is_empty() {
                return Err("`wgsl:` needs the path of a WGSL kernel (`wgsl:kernels/once.wgsl`)".into());
            }
            return Ok(Engine::External { runtime: External::Wgsl(path.into()), fault: None });
        }
        if let Some((base, fault)) = s.rsplit_once('+') {
            let fault = planted::find(fault).ok_or_else(|| {
                format!(
                    "unknown planted fault `{fault}` (`megaloop mutants --list` lists the {})",
                    planted::CATALOGUE.len()
                )
            })?;
            let base: Engine = base.parse()?;
            if matches!(base, Engine::Planted { .. }) {
                return Err(format!("`{s}` plants two faults; an engine takes at most one"));
            }
            if matches!(base, Engine::External { .. }) {
                return Err(format!(
                    "`{s}`: planted faults apply to megaloop's own engines (sim, sim-det, gpu); an external \
                     engine's faults are the switches it declares (`megaloop mutants --engine exec:...`)"
                ));
            }
            return Ok(Engine::Planted { base: Box::new(base), fault });
        }
        match s.split_once(':') {
            None if s == "sim" => Ok(Engine::SimParallel),
            None if s == "gpu" => Ok(Engine::Gpu { adapter: None }),
            Some(("sim-det", seed)) => {
                seed.parse().map(|seed| Engine::SimDet { seed }).map_err(|_| format!("`{seed}` is not a seed"))
            }
            Some(("gpu", adapter)) => Ok(Engine::Gpu { adapter: Some(adapter.to_string()) }),
            _ => Err(format!(
                "unknown engine `{s}` (sim, sim-det:SEED, gpu, gpu:ADAPTER, each optionally +FAULT; exec:COMMAND; \
                 wgsl:FILE)"
            )),
        }
    }
}

impl Engine {
    /// A fresh backend for this engine.
    pub fn backend(&self) -> Result<Box<dyn Backend>, String> {
        Ok(match self {
            Engine::SimParallel => Box::new(SimBackend::new(Schedule::Parallel)),
            Engine::SimDet { seed } => Box::new(SimBackend::new(Schedule::Deterministic { seed: *seed })),
            #[cfg(feature = "gpu")]
            Engine::Gpu { adapter } => Box::new(GpuBackend::new(adapter.as_deref()).map_err(|e| e.to_string())?),
            #[cfg(not(feature = "gpu"))]
            Engine::Gpu { .. } => return Err(without_gpu()),
            Engine::Planted { base, .. } => base.backend()?,
            Engine::External { runtime, fault } => runtime.backend(fault.as_deref())?,
        })
    }
}

/// An engine with its backend, made once and reused across runs (a GPU backend keeps
/// its device and pipeline cache).
pub struct Instance {
    /// The engine.
    pub engine: Engine,
    /// Its backend, or why it could not be made.
    pub backend: Result<Box<dyn Backend>, String>,
    /// Runs in which this engine's planted fault changed something.
    pub planted_applied: std::cell::Cell<u64>,
    /// The run timeout set with [`Instance::set_timeout`].
    timeout: Option<std::time::Duration>,
}

impl Instance {
    /// Make the engine's backend.
    pub fn new(engine: Engine) -> Instance {
        let backend = engine.backend();
        Instance { engine, backend, planted_applied: std::cell::Cell::new(0), timeout: None }
    }

    /// Set the backend's run timeout (kept for the instances [`Instance::with_schedule`]
    /// makes).
    pub fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.timeout = Some(timeout);
        if let Ok(backend) = &mut self.backend {
            backend.set_timeout(timeout);
        }
    }

    /// The run timeout, if one was set.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// An instance of `engine` that runs on `backend` (lent by another instance).
    pub fn lent(
        engine: Engine,
        backend: Result<Box<dyn Backend>, String>,
        timeout: Option<std::time::Duration>,
    ) -> Instance {
        Instance { engine, backend, planted_applied: std::cell::Cell::new(0), timeout }
    }

    /// For run `k` of a repeated check, an instance whose schedule differs from this
    /// one's when the engine is seeded (`sim-det:S` runs `sim-det:S+k`); `None` when the
    /// engine has no schedule to choose (this instance runs it again) or `k` is 0.
    pub fn with_schedule(&self, k: u64) -> Option<Instance> {
        fn reseed(engine: &Engine, k: u64) -> Option<Engine> {
            match engine {
                Engine::SimDet { seed } => Some(Engine::SimDet { seed: seed.wrapping_add(k) }),
                Engine::Planted { base, fault } => Some(Engine::Planted { base: Box::new(reseed(base, k)?), fault }),
                Engine::SimParallel | Engine::Gpu { .. } | Engine::External { .. } => None,
            }
        }
        let engine = reseed(&self.engine, k).filter(|_| k > 0)?;
        let mut other = Instance::new(engine);
        if let Some(timeout) = self.timeout {
            other.set_timeout(timeout);
        }
        Some(other)
    }

    /// The backend for one run of a workload (one ring): the engine's own, with its
    /// planted fault, if any, planted afresh (a host fault's memory is one ring's).
    pub fn run_backend(&mut self) -> Result<Box<dyn Backend + '_>, String> {
        let backend = self.backend.as_mut().map_err(|e| e.clone())?;
        Ok(match &self.engine {
            Engine::Planted { fault, .. } => Box::new(Planted::new(backend.as_mut(), fault, &self.planted_applied)),
            _ => Box::new(backend.as_mut()),
        })
    }
}
