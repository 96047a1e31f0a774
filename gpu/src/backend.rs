//! The wgpu backend: a pipeline cache keyed by the program's content key, buffers kept on the
//! device between runs of one program with only changed words uploaded ([`Resident`]),
//! dispatch with the launch geometry (GPU timestamps where the adapter has them),
//! readback of each buffer's declared range, a host timeout, device-loss detection, and
//! occupancy discovery for persistent launches.
//!
//! A failed run leaves the host's buffers untouched, so the ring stays recoverable: the
//! epoch can be run again on a fresh device.

use crate::device::{capabilities, select_adapter, Capabilities, Device, GpuError};
use crate::occupancy;
use crate::resident::{device_buffer, Resident};
use crate::staging::StagingBuffer;
use crate::wgsl::{lower, OUTCOME_CUTOFF_BIT, OUTCOME_ENTRIES, OUTCOME_WORDS};
use megaloop::builder::Mode;
use megaloop::geometry::{Geometry, GeometryRule};
use megaloop::host::staging::StagedMemory;
use megaloop::host::{check_launch, Backend, BackendError, ExhaustedLane, HostService, LiveMemory, Outcome, RunReport};
use megaloop::ir::ValidProgram;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// Most compiled pipelines kept.
const MAX_PIPELINES: usize = 32;

/// Default host timeout for one run.
pub const DEFAULT_TIMEOUT: Duration = megaloop::host::DEFAULT_RUN_TIMEOUT;

/// Once mode on a GPU launches 1/ONCE_SHARE of the co-resident workgroups, each lane
/// striding over the ring. Measured on an H200 (2^20 slots, 1,980 MHz; README "Running
/// workloads"): 1,056 of its 4,224 co-resident workgroups of 64 lanes ran fastest
/// (17.1 G slots/s; 528: 14.7 G, 2,112: 15.8 G, 264: 8.7 G; before the epoch program
/// held only the met handlers, 4,224: 12.7 G and one lane per slot: 7.1 G).
pub const ONCE_SHARE: u32 = 4;
/// Persistent modes on a GPU launch 1/PERSISTENT_SHARE of the co-resident workgroups.
/// Measured on an H200 as for [`ONCE_SHARE`]: 528 workgroups ran fastest (10.7 G slots/s;
/// 1,056: 9.7-10.2 G, 264: 7.1 G, 2,112: 6.0 G). Before the epoch program held only the met
/// handlers, all 4,224 collapsed to 29 M: the probe's co-resident count is an upper bound
/// for a kernel that needs more registers than the probe, and lanes that wait on each
/// other then spin through their fuel.
pub const PERSISTENT_SHARE: u32 = 8;
/// Once-mode workgroups per host thread on a device that runs workgroups on host threads.
/// Measured on lavapipe (2 cores, 2^18 slots): 64 workgroups of 64 lanes 84-89 M slots/s,
/// 32 to 128 alike, 4: 56-78 M, one lane per slot (4,096): 30-31 M.
pub const HOST_THREAD_WORKGROUPS: u32 = 32;

/// WGSL to compile in place of a lowering (a hand-written kernel), with the values of
/// the pipeline-overridable constants it declares.
#[derive(Clone, Debug)]
pub struct KernelSource {
    /// The pipeline's label, for driver messages.
    pub label: String,
    /// The WGSL; its entry point is `main`.
    pub wgsl: String,
    /// `override` constants by name (only ones the WGSL declares).
    pub constants: Vec<(String, f64)>,
}

struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layouts: [wgpu::BindGroupLayout; 2],
    loop_paths: Vec<String>,
}

/// The GPU as a [`Backend`].
pub struct GpuBackend {
    dev: Device,
    caps: Capabilities,
    pipelines: HashMap<u64, Pipeline>,
    occupancy: HashMap<u32, u32>,
    progress_width: Option<u32>,
    /// The IO staging buffer, once IO has needed one.
    staging: Option<StagingBuffer>,
    /// The last successful run's device buffers (taken by each run; a failed run drops
    /// them, so a retry starts from the host's words).
    resident: Option<Resident>,
    /// Whether the buffers of the run in flight (or the last run) hold device-only words:
    /// after a failed run they are lost with the device, and the epoch cannot be rerun.
    device_only_at_stake: bool,
    /// How long a run may take before it is reported as a timeout.
    pub timeout: Duration,
    /// The adapter asked for (a name substring; `None`: `MEGALOOP_ADAPTER` or the best),
    /// to open it again after a lost device.
    adapter_query: Option<String>,
}

fn device_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Device(e.to_string())
}

fn storage_layout(device: &wgpu::Device, bindings: &[u32]) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
        .iter()
        .map(|&binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: false },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some("megaloop"), entries: &entries })
}

impl GpuBackend {
    /// Open the adapter named `adapter` (or `MEGALOOP_ADAPTER`, or the best one).
    pub fn new(adapter: Option<&str>) -> Result<GpuBackend, GpuError> {
        let adapter_query = adapter.map(str::to_string);
        let adapter = select_adapter(adapter)?;
        let caps = capabilities(&adapter);
        let dev = Device::open(adapter)?;
        Ok(GpuBackend {
            dev,
            caps,
            pipelines: HashMap::new(),
            occupancy: HashMap::new(),
            progress_width: None,
            staging: None,
            resident: None,
            device_only_at_stake: false,
            timeout: DEFAULT_TIMEOUT,
            adapter_query,
        })
    }

    /// The capability report, with every occupancy discovered so far.
    pub fn capabilities(&self) -> Capabilities {
        let mut c = self.caps.clone();
        c.progress_width = self.progress_width;
        let mut occ: Vec<(u32, u32)> = self.occupancy.iter().map(|(k, v)| (*k, *v)).collect();
        occ.sort_unstable();
        c.co_resident_workgroups = occ;
        c
    }

    /// Bytes of IO reads copied from the staging buffer into device buffers so far.
    pub fn io_staged_bytes(&self) -> u64 {
        self.staging.as_ref().map_or(0, |s| s.copied_bytes)
    }

    /// The wgpu device (for kernels outside the IR, such as occupancy discovery).
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// The largest workgroup whose lanes all progress while waiting on each other
    /// (discovered once).
    pub fn discover_progress_width(&mut self) -> Result<u32, BackendError> {
        if let Some(w) = self.progress_width {
            return Ok(w);
        }
        let w = occupancy::progress_width(
            &self.dev,
            self.caps.max_invocations_per_workgroup.min(megaloop::ir::validate::MAX_WORKGROUP_SIZE),
            self.timeout,
        )?;
        self.progress_width = Some(w);
        Ok(w)
    }

    /// Workgroups of `workgroup_size` lanes found co-resident (discovered once per size).
    pub fn discover_co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<u32, BackendError> {
        if let Some(&n) = self.occupancy.get(&workgroup_size) {
            return Ok(n);
        }
        let n = occupancy::discover(&self.dev, workgroup_size, self.caps.max_workgroups_per_dimension, self.timeout)?;
        self.occupancy.insert(workgroup_size, n);
        Ok(n)
    }

    /// The pipeline of `program`'s lowering (compiled once): its cache key, the
    /// program's content key.
    fn pipeline(&mut self, program: &ValidProgram) -> Result<u64, BackendError> {
        let key = program.key();
        if self.pipelines.contains_key(&key) {
            return Ok(key);
        }
        let lowered = lower(program).map_err(device_error)?;
        let source = KernelSource { label: program.name.clone(), wgsl: lowered.wgsl, constants: Vec::new() };
        self.compile(key, &source, program, lowered.loop_paths)?;
        Ok(key)
    }

    /// The pipeline of a hand-written kernel bound like `program` (compiled once): its
    /// cache key.
    fn source_pipeline(&mut self, source: &KernelSource, program: &ValidProgram) -> Result<u64, BackendError> {
        let mut h = DefaultHasher::new();
        source.wgsl.hash(&mut h);
        for (name, value) in &source.constants {
            (name, value.to_bits()).hash(&mut h);
        }
        for b in &program.buffers {
            b.binding.hash(&mut h);
        }
        let key = h.finish();
        if !self.pipelines.contains_key(&key) {
            self.compile(key, source, program, Vec::new())?;
        }
        Ok(key)
    }

    /// Compile `source` with `program`'s buffers at group 0 and the outcome buffer at
    /// group 1, and cache it under `key`.
    fn compile(
        &mut self,
        key: u64,
        source: &KernelSource,
        program: &ValidProgram,
        loop_paths: Vec<String>,
    ) -> Result<(), BackendError> {
        let device = &self.dev.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&source.label),
            source: wgpu::ShaderSource::Wgsl(source.wgsl.as_str().into()),
        });
        let bindings: Vec<u32> = program.buffers.iter().map(|b| b.binding).collect();
        let layouts = [storage_layout(device, &bindings), storage_layout(device, &[0])];
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("megaloop"),
            bind_group_layouts: &[Some(&layouts[0]), Some(&layouts[1])],
            immediate_size: 0,
        });
        let constants: Vec<(&str, f64)> = source.constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&source.label),
            layout: Some(&layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(BackendError::Device(format!("the driver rejected program `{}`: {e}", source.label)));
        }
        // Bounded: a fuzz campaign or a generator builds thousands of distinct programs, and
        // each compiled pipeline holds driver memory (about 1.4 MB on lavapipe).
        if self.pipelines.len() >= MAX_PIPELINES {
            self.pipelines.clear();
        }
        self.pipelines.insert(key, Pipeline { pipeline, layouts, loop_paths });
        Ok(())
    }

    /// Run `program` as `dispatches` back-to-back dispatches of `geometry` in one
    /// submission (1 for a normal run; many for the one-dispatch-per-slot baseline).
    pub fn run_dispatches(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        dispatches: u32,
    ) -> Result<RunReport, BackendError> {
        self.launch(program, geometry, buffers, dispatches, None)
    }

    /// Check the launch, compile (or find) `program`'s pipeline and dispatch it; `overlap`
    /// as in [`GpuBackend::dispatch`].
    fn launch(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        dispatches: u32,
        overlap: Option<(usize, &mut megaloop::host::backend::LandingIo<'_>)>,
    ) -> Result<RunReport, BackendError> {
        check_launch(program, geometry, buffers, self.caps.max_workgroups_per_dimension)?;
        self.check_device()?;
        let start = Instant::now();
        let key = self.pipeline(program)?;
        self.dispatch(start, key, program, geometry, buffers, dispatches, overlap)
    }

    /// Run a hand-written WGSL kernel in place of `program`'s lowering: bound like
    /// `program` (its buffers at group 0, the outcome buffer at group 1 binding 0),
    /// uploaded, dispatched and read back as `program` would be.
    pub fn run_source(
        &mut self,
        source: &KernelSource,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
    ) -> Result<RunReport, BackendError> {
        check_launch(program, geometry, buffers, self.caps.max_workgroups_per_dimension)?;
        self.check_device()?;
        let start = Instant::now();
        let key = self.source_pipeline(source, program)?;
        self.dispatch(start, key, program, geometry, buffers, 1, None)
    }

    fn check_device(&self) -> Result<(), BackendError> {
        if self.dev.is_lost() {
            return Err(BackendError::Device("the device was lost; open a new backend".into()));
        }
        Ok(())
    }

    /// Dispatch the cached pipeline `key` with `program`'s buffers. With `overlap`
    /// (`landing`, `io`), `io` lands reads in the staging buffer of `landing`'s device-only
    /// words while the dispatch runs: the last landings' copy goes in a submission of its
    /// own, so the staging buffer maps again as soon as that copy is done, not after the
    /// whole epoch.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        start: Instant,
        key: u64,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        dispatches: u32,
        overlap: Option<(usize, &mut megaloop::host::backend::LandingIo<'_>)>,
    ) -> Result<RunReport, BackendError> {
        let p = &self.pipelines[&key];
        let device = &self.dev.device;
        // The last run's buffers when they are this program's: only changed words travel.
        let resident = match self.resident.take() {
            Some(r) if r.fits(program, buffers) => {
                r.upload(&self.dev.queue, program, buffers);
                r
            }
            _ => Resident::create(device, &self.dev.queue, program, buffers),
        };
        self.device_only_at_stake = resident.has_any_device_only();
        let gpu_buffers = &resident.buffers;
        let outcome_buffer = device_buffer(device, &self.dev.queue, "ml_outcome", &vec![0u32; OUTCOME_WORDS as usize]);
        let entries: Vec<wgpu::BindGroupEntry> = program
            .buffers
            .iter()
            .zip(gpu_buffers)
            .map(|(d, b)| wgpu::BindGroupEntry { binding: d.binding, resource: b.as_entire_binding() })
            .collect();
        let group0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &p.layouts[0],
            entries: &entries,
        });
        let group1 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &p.layouts[1],
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: outcome_buffer.as_entire_binding() }],
        });
        let queries = self.dev.timestamps.then(|| {
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: None,
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, resolve)
        });
        // IO reads staged since the last run reach their buffer after the upload: in the
        // dispatch's submission, or before it in one of their own when IO overlaps.
        let mut copied = None;
        if let (Some(staging), Some(_)) = (self.staging.as_mut(), &overlap) {
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("landed") });
            staging.copy_landed(&mut encoder, gpu_buffers);
            copied = Some(self.dev.queue.submit([encoder.finish()]));
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("megaloop") });
        if let (Some(staging), None) = (self.staging.as_mut(), &overlap) {
            staging.copy_landed(&mut encoder, gpu_buffers);
        }
        {
            let timestamp_writes = queries.as_ref().map(|(set, _)| wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("megaloop"), timestamp_writes });
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, &group0, &[]);
            pass.set_bind_group(1, &group1, &[]);
            for _ in 0..dispatches {
                pass.dispatch_workgroups(geometry.workgroups, 1, 1);
            }
        }
        // Staging copies: every declared readback range, the outcome buffer, timestamps.
        let staging = |size: u64| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: size.max(4),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let mut reads: Vec<(usize, u32, wgpu::Buffer)> = Vec::new();
        for (i, (d, b)) in program.buffers.iter().zip(gpu_buffers).enumerate() {
            if let Some(r) = d.readback.filter(|r| r.end > r.start) {
                let bytes = u64::from(r.end - r.start) * 4;
                let s = staging(bytes);
                encoder.copy_buffer_to_buffer(b, u64::from(r.start) * 4, &s, 0, bytes);
                reads.push((i, r.start, s));
            }
        }
        let outcome_staging = staging(u64::from(OUTCOME_WORDS) * 4);
        encoder.copy_buffer_to_buffer(&outcome_buffer, 0, &outcome_staging, 0, u64::from(OUTCOME_WORDS) * 4);
        let time_staging = queries.as_ref().map(|(set, resolve)| {
            encoder.resolve_query_set(set, 0..2, resolve, 0);
            let s = staging(16);
            encoder.copy_buffer_to_buffer(resolve, 0, &s, 0, 16);
            s
        });
        let index = self.dev.queue.submit([encoder.finish()]);
        if let Some((landing, io)) = overlap {
            let words = buffers.get(landing).map_or(0, Vec::len);
            if !self.staging.as_ref().is_some_and(|s| s.mirrors(landing, words)) {
                self.staging = Some(StagingBuffer::new(&self.dev, landing, words));
            }
            let area = self.staging.as_mut().expect("made above").map(&self.dev, copied, self.timeout)?;
            io(&StagedMemory::direct(&mut [], landing, area));
        }
        self.dev.wait(Some(index), self.timeout)?;
        let mut mapped: Vec<(usize, u32, Vec<u32>)> = Vec::new();
        for (i, at, s) in &reads {
            mapped.push((*i, *at, self.dev.read_words(s, self.timeout)?));
        }
        let outcome_words = self.dev.read_words(&outcome_staging, self.timeout)?;
        let device_time = match &time_staging {
            Some(s) => {
                let t = self.dev.read_words(s, self.timeout)?;
                let (begin, end) = (u64::from(t[0]) | u64::from(t[1]) << 32, u64::from(t[2]) | u64::from(t[3]) << 32);
                let ns = end.saturating_sub(begin) as f64 * f64::from(self.dev.queue.get_timestamp_period());
                Some(Duration::from_nanos(ns as u64))
            }
            None => None,
        };
        if let Some(e) = self.dev.take_error() {
            return Err(BackendError::Device(e));
        }
        // Only now, with everything read, touch the host's buffers.
        for (i, at, words) in mapped {
            buffers[i][at as usize..at as usize + words.len()].copy_from_slice(&words);
        }
        let mut resident = resident;
        resident.remember(program, buffers);
        self.resident = Some(resident);
        let outcome = parse_outcome(&outcome_words, &self.pipelines[&key].loop_paths);
        Ok(RunReport { outcome, elapsed: start.elapsed(), device_time })
    }
}

/// The outcome buffer's entries as an [`Outcome`]; past its capacity the lanes not
/// recorded are counted in `unrecorded`.
fn parse_outcome(words: &[u32], loop_paths: &[String]) -> Outcome {
    let count = words.first().copied().unwrap_or(0);
    let recorded = count.min(OUTCOME_ENTRIES) as usize;
    let (mut fuel, mut cut) = (Vec::new(), Vec::new());
    for k in 0..recorded {
        let (lane, what) = (words[1 + 2 * k], words[2 + 2 * k]);
        let id = (what & !OUTCOME_CUTOFF_BIT) as usize;
        let path = loop_paths.get(id).cloned().unwrap_or_else(|| format!("loop {id}"));
        let entry = ExhaustedLane { lane, loop_path: path };
        if what & OUTCOME_CUTOFF_BIT != 0 {
            cut.push(entry);
        } else {
            fuel.push(entry);
        }
    }
    // Lanes past the buffer's room are counted, not named (whether they were cut off is
    // for the LOOP_CUTOFF word to say).
    let unrecorded = count.saturating_sub(OUTCOME_ENTRIES);
    if !cut.is_empty() {
        cut.extend(fuel);
        cut.sort_by_key(|l| l.lane);
        Outcome::CutOff { lanes: cut, unrecorded }
    } else if !fuel.is_empty() || unrecorded > 0 {
        fuel.sort_by_key(|l| l.lane);
        Outcome::FuelExhausted { lanes: fuel, unrecorded }
    } else {
        Outcome::Completed
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu:{}", self.caps.name)
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// A lost device or a timeout: open the adapter again on a new device (what was
    /// discovered about the old one is kept; pipelines are compiled again). The host's
    /// buffers were left untouched by the failed run, so its epoch can run again.
    fn recover(&mut self, error: &BackendError) -> Result<bool, BackendError> {
        if !matches!(error, BackendError::Device(_) | BackendError::Timeout(_)) {
            return Ok(false);
        }
        // Device-only words (IO landing areas) lived only on the lost device: running the
        // epoch again from the host's buffers would read stale landings.
        if self.device_only_at_stake {
            return Ok(false);
        }
        let adapter = select_adapter(self.adapter_query.as_deref()).map_err(device_error)?;
        self.dev = Device::open(adapter).map_err(device_error)?;
        self.pipelines.clear();
        self.staging = None;
        self.resident = None;
        Ok(true)
    }

    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        _service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        // No host service runs during a dispatch: wgpu cannot map a buffer the GPU may be
        // using. The ring services IO between epochs.
        self.run_dispatches(program, geometry, buffers, 1)
    }

    fn co_resident_workgroups(&mut self, workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        self.discover_co_resident_workgroups(workgroup_size).map(Some)
    }

    fn overlaps_io(&self) -> bool {
        true
    }

    /// IO lands in the staging buffer while the dispatch runs, when `landing`'s landing
    /// area is device-only (the host reads nothing of it back, so no host copy waits on the
    /// device); otherwise the run comes first and IO lands between epochs.
    fn run_kernel_overlapped(
        &mut self,
        kernel: &megaloop::builder::BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        landing: usize,
        io: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<RunReport, BackendError> {
        let device_only = program.buffers.get(landing).is_some_and(|b| b.device_only_from.is_some());
        if !device_only {
            return megaloop::host::backend::run_then_serve(self, kernel, program, geometry, buffers, landing, io);
        }
        self.launch(program, geometry, buffers, 1, Some((landing, io)))
    }

    /// IO lands in the host's copy and, range by range, in a mapped staging buffer that
    /// the next dispatch copies into the device's buffer (no full re-upload).
    fn serve_between_epochs(
        &mut self,
        buffers: &mut [Vec<u32>],
        landing: usize,
        service: &mut dyn FnMut(&dyn LiveMemory),
    ) -> Result<(), BackendError> {
        let words = buffers.get(landing).map_or(0, Vec::len);
        if !self.staging.as_ref().is_some_and(|s| s.mirrors(landing, words)) {
            self.staging = Some(StagingBuffer::new(&self.dev, landing, words));
        }
        let direct = self.resident.as_ref().is_some_and(|r| r.has_device_only(landing));
        let staging = self.staging.as_mut().expect("made above").map(&self.dev, None, self.timeout)?;
        service(&if direct {
            StagedMemory::direct(buffers, landing, staging)
        } else {
            StagedMemory::new(buffers, landing, staging)
        });
        Ok(())
    }

    fn progress_width(&mut self) -> Result<Option<u32>, BackendError> {
        self.discover_progress_width().map(Some)
    }

    /// A device that runs workgroups on host threads (lavapipe) gets a few per thread in
    /// once mode; a GPU a share of its co-resident workgroups, each lane striding
    /// ([`ONCE_SHARE`], [`PERSISTENT_SHARE`]). Persistent launches on host threads get the
    /// co-resident count: their lanes wait on each other.
    fn preferred_workgroups(&mut self, mode: Mode, workgroup_size: u32) -> Result<Option<GeometryRule>, BackendError> {
        let co_resident = self.discover_co_resident_workgroups(workgroup_size)?;
        let on_host_threads = self.dev.adapter.get_info().device_type == wgpu::DeviceType::Cpu;
        Ok(Some(match (on_host_threads, mode.is_persistent()) {
            (true, false) => GeometryRule::HostThreads {
                threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                per_thread: HOST_THREAD_WORKGROUPS,
            },
            (true, true) => GeometryRule::CoResidentShare { co_resident, share: 1 },
            (false, false) => GeometryRule::CoResidentShare { co_resident, share: ONCE_SHARE },
            (false, true) => GeometryRule::CoResidentShare { co_resident, share: PERSISTENT_SHARE },
        }))
    }

    fn loop_iteration_limit(&self) -> Option<u32> {
        self.caps.loop_iteration_limit
    }

    fn heat(&mut self, duration: Duration) -> Result<(), BackendError> {
        crate::heater::heat(&self.dev, duration, self.caps.loop_iteration_limit, self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_past_the_outcome_buffer_are_counted_not_named() {
        let mut words = vec![0u32; OUTCOME_WORDS as usize];
        words[0] = OUTCOME_ENTRIES + 5;
        for k in 0..OUTCOME_ENTRIES as usize {
            words[1 + 2 * k] = k as u32;
        }
        let outcome = parse_outcome(&words, &["lane loop".to_string()]);
        let Outcome::FuelExhausted { lanes, unrecorded } = &outcome else { panic!("{outcome:?}") };
        assert_eq!((lanes.len(), *unrecorded), (OUTCOME_ENTRIES as usize, 5));
        assert!(lanes.iter().all(|l| l.lane < OUTCOME_ENTRIES && l.loop_path == "lane loop"));
        assert_eq!(outcome.lanes_left_early(), u64::from(OUTCOME_ENTRIES) + 5);
        // One cut-off entry makes the whole run cut off; the count stays.
        words[2] = OUTCOME_CUTOFF_BIT;
        assert!(matches!(parse_outcome(&words, &[]), Outcome::CutOff { unrecorded: 5, .. }));
        assert_eq!(parse_outcome(&[0], &[]), Outcome::Completed);
    }
}
