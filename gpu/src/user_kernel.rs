//! The `wgsl:FILE` engine: a megakernel written by hand in WGSL (vyre-runtime's style),
//! dispatched by the wgpu backend in place of the lowered IR, so the conformance corpus,
//! `diff` and `mutants` check it like any other engine (specs/protocol.md 3.6).
//!
//! The file declares what it runs in a comment line,
//! `// megaloop-engine: {"modes":["once"],"max_slots":1048576,"max_workgroups":1}` (the
//! capabilities object of the engine protocol's handshake); megaloop declines, as a Skip,
//! every epoch outside it. The kernel's entry point is `main`; it binds the megakernel's
//! buffers at `@group(0)` with the layout's bindings and may append fuel and cut-off
//! entries to the outcome buffer at `@group(1) @binding(0)`. megaloop gives the values of
//! [`KernelConstant`]s the file declares as `override`s, and turns a declared fault switch
//! `name` on through `override fault_name: bool` (`-` written `_`).

use crate::backend::KernelSource;
use crate::device::GpuError;
use crate::GpuBackend;
use megaloop::builder::BuildOptions;
use megaloop::geometry::Geometry;
use megaloop::host::engine_protocol::Capabilities;
use megaloop::host::LiveMemory;
use megaloop::host::{Backend, BackendError, HostService, RunReport};
use megaloop::ir::ValidProgram;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The comment that starts the capabilities line.
pub const CAPABILITIES_MARKER: &str = "// megaloop-engine:";

/// Declares [`KernelConstant`] with its `ALL` list and names from one list of variants,
/// so no variant can be missing from either.
macro_rules! kernel_constants {
    ($($variant:ident => $name:literal: $doc:literal,)+) => {
        /// The pipeline-overridable constants megaloop gives a hand-written kernel (each
        /// only when the kernel declares it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum KernelConstant {
            $(#[doc = $doc] $variant,)+
        }

        impl KernelConstant {
            /// Every constant.
            pub const ALL: &'static [KernelConstant] = &[$(KernelConstant::$variant),+];

            /// Its name in WGSL.
            pub fn name(self) -> &'static str {
                match self {
                    $(KernelConstant::$variant => $name,)+
                }
            }
        }
    };
}

kernel_constants! {
    WorkgroupSize => "WORKGROUP_SIZE": "Lanes per workgroup (for `@workgroup_size(WORKGROUP_SIZE)`).",
    Slots => "SLOTS": "Ring slots.",
    HeapWords => "HEAP_WORDS": "Heap words (`H` of 2.5).",
    Observables => "OBSERVABLES": "Observable words (`O` of 2.5).",
    IoEntries => "IO_ENTRIES": "IO queue entries.",
}

impl KernelConstant {
    /// Its value for one epoch.
    pub fn value(self, kernel: &BuildOptions, geometry: &Geometry) -> u32 {
        match self {
            KernelConstant::WorkgroupSize => geometry.workgroup_size,
            KernelConstant::Slots => kernel.slots,
            KernelConstant::HeapWords => kernel.heap_words,
            KernelConstant::Observables => kernel.observables,
            KernelConstant::IoEntries => kernel.io_entries,
        }
    }
}

/// The `override` that turns fault switch `fault` on.
pub fn fault_override(fault: &str) -> String {
    format!("fault_{}", fault.replace('-', "_"))
}

/// A hand-written kernel, read and checked.
#[derive(Clone, Debug)]
pub struct UserKernel {
    path: PathBuf,
    wgsl: String,
    capabilities: Capabilities,
    /// The [`KernelConstant`]s it declares.
    constants: Vec<KernelConstant>,
}

impl UserKernel {
    /// Read `path` and check it: its capabilities line, that it is valid WGSL, has a compute
    /// entry point `main`, an `override fault_...: bool` for each declared fault switch,
    /// and no `override` without a default that megaloop does not give.
    pub fn load(path: &Path) -> Result<UserKernel, String> {
        let shown = path.display();
        let wgsl = std::fs::read_to_string(path).map_err(|e| format!("cannot read WGSL kernel `{shown}`: {e}"))?;
        let capabilities = capabilities_line(&wgsl).map_err(|e| format!("WGSL kernel `{shown}`: {e}"))?;
        if capabilities.programs || capabilities.user_handlers {
            return Err(format!(
                "WGSL kernel `{shown}` declares `programs` or `user_handlers`: a hand-written kernel runs neither \
                 (both are IR, which only an engine that interprets or lowers it can run)"
            ));
        }
        let module = naga::front::wgsl::parse_str(&wgsl)
            .map_err(|e| format!("WGSL kernel `{shown}` does not parse:\n{}", e.emit_to_string(&wgsl)))?;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default())
            .validate(&module)
            .map_err(|e| format!("WGSL kernel `{shown}` is not valid WGSL:\n{}", e.emit_to_string(&wgsl)))?;
        let Some(main) = module.entry_points.iter().find(|e| e.name == "main" && e.stage == naga::ShaderStage::Compute)
        else {
            return Err(format!("WGSL kernel `{shown}` has no compute entry point `main`"));
        };
        // A fixed `@workgroup_size(N)` runs only workgroups of N lanes: it must say so.
        let fixed_size = main.workgroup_size_overrides.is_none().then_some(main.workgroup_size[0]);
        if let Some(n) = fixed_size.filter(|&n| capabilities.workgroup_sizes != [n]) {
            return Err(format!(
                "WGSL kernel `{shown}`: `main` has a fixed @workgroup_size({n}); declare \"workgroup_sizes\":[{n}] or \
                 size it by `override {}: u32`",
                KernelConstant::WorkgroupSize.name()
            ));
        }
        let overrides: Vec<(String, bool)> =
            module.overrides.iter().filter_map(|(_, o)| o.name.clone().map(|name| (name, o.init.is_some()))).collect();
        for fault in &capabilities.faults {
            let name = fault_override(fault);
            if !overrides.iter().any(|(n, _)| *n == name) {
                return Err(format!(
                    "WGSL kernel `{shown}` declares fault switch `{fault}` but no `override {name}: bool = false;`"
                ));
            }
        }
        let constants: Vec<KernelConstant> =
            KernelConstant::ALL.iter().copied().filter(|c| overrides.iter().any(|(n, _)| n == c.name())).collect();
        for (name, has_default) in &overrides {
            let given = constants.iter().any(|c| c.name() == name)
                || capabilities.faults.iter().any(|f| fault_override(f) == *name);
            if !given && !has_default {
                let known: Vec<&str> = KernelConstant::ALL.iter().map(|c| c.name()).collect();
                return Err(format!(
                    "WGSL kernel `{shown}`: `override {name}` has no default and megaloop gives no value for it \
                     (it gives {known:?} and `fault_...` switches)"
                ));
            }
        }
        Ok(UserKernel { path: path.to_path_buf(), wgsl, capabilities, constants })
    }

    /// What it declares it runs.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The WGSL to compile for one epoch, with its constants (and `fault` switched on).
    fn source(&self, kernel: &BuildOptions, geometry: &Geometry, fault: Option<&str>) -> KernelSource {
        let mut constants: Vec<(String, f64)> =
            self.constants.iter().map(|c| (c.name().to_string(), f64::from(c.value(kernel, geometry)))).collect();
        constants.extend(fault.map(|f| (fault_override(f), 1.0)));
        KernelSource { label: format!("wgsl:{}", self.path.display()), wgsl: self.wgsl.clone(), constants }
    }
}

/// The capabilities object of the kernel's `// megaloop-engine:` line.
fn capabilities_line(wgsl: &str) -> Result<Capabilities, String> {
    let mut lines = wgsl.lines().filter_map(|l| l.trim_start().strip_prefix(CAPABILITIES_MARKER));
    let json = lines.next().ok_or_else(|| {
        format!(
            "no capabilities line: add one such as `{CAPABILITIES_MARKER} {{\"modes\":[\"once\"],\"max_slots\":1048576,\
             \"max_workgroups\":1}}` (specs/protocol.md 3.6)"
        )
    })?;
    if lines.next().is_some() {
        return Err(format!("more than one `{CAPABILITIES_MARKER}` line"));
    }
    serde_json::from_str(json.trim()).map_err(|e| format!("its `{CAPABILITIES_MARKER}` line: {e}"))
}

/// A hand-written kernel on the GPU as a [`Backend`].
pub struct UserKernelBackend {
    kernel: UserKernel,
    fault: Option<String>,
    gpu: GpuBackend,
}

impl UserKernelBackend {
    /// Load `path` and open the adapter named `adapter` (or `MEGALOOP_ADAPTER`, or the
    /// best one); `fault`, if given, must be a switch the kernel declares.
    pub fn new(path: &Path, adapter: Option<&str>, fault: Option<&str>) -> Result<UserKernelBackend, String> {
        let kernel = UserKernel::load(path)?;
        if let Some(f) = fault {
            if !kernel.capabilities.faults.iter().any(|d| d == f) {
                return Err(format!(
                    "WGSL kernel `{}` declares no fault `{f}` (it declares {:?})",
                    path.display(),
                    kernel.capabilities.faults
                ));
            }
        }
        let gpu = GpuBackend::new(adapter).map_err(|e: GpuError| e.to_string())?;
        Ok(UserKernelBackend { kernel, fault: fault.map(str::to_string), gpu })
    }
}

impl Backend for UserKernelBackend {
    fn name(&self) -> String {
        let fault = self.fault.as_ref().map(|f| format!(", fault {f}")).unwrap_or_default();
        format!("wgsl:{} ({}{fault})", self.kernel.path.display(), self.gpu.name())
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.gpu.set_timeout(timeout);
    }

    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        self.gpu.recover(error)
    }

    /// The GPU's co-resident count, at most what the kernel declares.
    fn co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        let found = self.gpu.discover_co_resident_workgroups(workgroup_size)?;
        Ok(Some(found.min(self.kernel.capabilities.max_workgroups)))
    }

    fn progress_width(&mut self) -> Result<Option<u32>, BackendError> {
        self.gpu.discover_progress_width().map(Some)
    }

    /// The GPU's advice (the kernel strides over the ring like the lowered once mode).
    fn preferred_workgroups(
        &mut self,
        mode: megaloop::builder::Mode,
        workgroup_size: u32,
    ) -> Result<Option<megaloop::geometry::GeometryRule>, BackendError> {
        self.gpu.preferred_workgroups(mode, workgroup_size)
    }

    fn loop_iteration_limit(&self) -> Option<u32> {
        self.gpu.loop_iteration_limit()
    }

    fn heat(&mut self, duration: std::time::Duration) -> Result<(), BackendError> {
        self.gpu.heat(duration)
    }

    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<(), BackendError> {
        self.gpu.serve_between_epochs(buffers, landing, service)
    }

    fn run(
        &mut self,
        _program: &ValidProgram,
        _geometry: Geometry,
        _buffers: &mut [Vec<u32>],
        _service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        Err(BackendError::Declined("plain IR programs (a hand-written WGSL kernel runs only the megakernel)".into()))
    }

    fn run_kernel(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        _service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        if let Some(reason) = self.kernel.capabilities.declines_epoch(Some(kernel), &geometry, buffers) {
            return Err(BackendError::Declined(reason));
        }
        let source = self.kernel.source(kernel, &geometry, self.fault.as_deref());
        self.gpu.run_source(&source, program, geometry, buffers)
    }
}
