//! Adapters and devices: listing, selection (a discrete GPU first, then integrated,
//! virtual, and lavapipe or another CPU adapter last; `MEGALOOP_ADAPTER` or `--adapter`
//! picks by name), and the capability report, including known driver limits.

use megaloop::host::BackendError;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Environment variable that selects an adapter by (case-insensitive) name substring.
pub const ADAPTER_ENV: &str = "MEGALOOP_ADAPTER";

/// lavapipe (Mesa's llvmpipe Vulkan) stops a loop silently once an invocation has run
/// this many loop iterations in total (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS).
pub const LLVMPIPE_LOOP_ITERATIONS: u32 = 65_535;

/// Errors of device management.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter at all.
    #[error("no GPU adapter found (install mesa-vulkan-drivers and libvulkan1 for lavapipe)")]
    NoAdapter,
    /// No adapter matches the requested name.
    #[error("no adapter matches `{wanted}` ({from}); available: {available}")]
    NoMatch {
        /// Where the name came from (`--adapter`, `MEGALOOP_ADAPTER`).
        from: &'static str,
        /// Requested name.
        wanted: String,
        /// What exists.
        available: String,
    },
    /// The device could not be created.
    #[error("cannot create a device on {adapter}: {message}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// Why.
        message: String,
    },
}

/// What an adapter is and can do.
#[derive(Clone, Debug, Serialize)]
pub struct Capabilities {
    /// Adapter name.
    pub name: String,
    /// Graphics API.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// Driver name.
    pub driver: String,
    /// Driver version text.
    pub driver_info: String,
    /// Largest grid dimension.
    pub max_workgroups_per_dimension: u32,
    /// Largest workgroup.
    pub max_invocations_per_workgroup: u32,
    /// Storage buffers per shader stage.
    pub max_storage_buffers_per_stage: u32,
    /// Largest storage buffer binding, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Whether GPU timestamps can be taken.
    pub timestamp_query: bool,
    /// A known per-invocation cap on total loop iterations (lavapipe: 65,535).
    pub loop_iteration_limit: Option<u32>,
    /// The largest workgroup whose lanes all progress while waiting on each other.
    pub progress_width: Option<u32>,
    /// Workgroups found co-resident by occupancy discovery, per workgroup size.
    pub co_resident_workgroups: Vec<(u32, u32)>,
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter, best first.
pub fn adapters() -> Vec<wgpu::Adapter> {
    let mut list = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    list.sort_by_key(|a| rank(a.get_info().device_type));
    list
}

/// The adapter to use: the first whose name contains `wanted` (or `MEGALOOP_ADAPTER`),
/// else the best one.
pub fn select_adapter(wanted: Option<&str>) -> Result<wgpu::Adapter, GpuError> {
    let list = adapters();
    let wanted = match wanted {
        Some(w) => Some((w.to_string(), "the adapter asked for")),
        None => std::env::var(ADAPTER_ENV).ok().filter(|w| !w.is_empty()).map(|w| (w, ADAPTER_ENV)),
    };
    match wanted {
        None => list.into_iter().next().ok_or(GpuError::NoAdapter),
        Some((w, from)) => {
            let names: Vec<String> = list.iter().map(|a| a.get_info().name).collect();
            list.into_iter().find(|a| a.get_info().name.to_lowercase().contains(&w.to_lowercase())).ok_or_else(|| {
                GpuError::NoMatch {
                    from,
                    wanted: w,
                    available: if names.is_empty() { "none".into() } else { names.join(", ") },
                }
            })
        }
    }
}

/// Whether an adapter is lavapipe / llvmpipe.
pub fn is_llvmpipe(info: &wgpu::AdapterInfo) -> bool {
    let n = format!("{} {}", info.name, info.driver).to_lowercase();
    n.contains("llvmpipe") || n.contains("lavapipe")
}

/// The capability report of an adapter (without occupancy, which needs a device).
pub fn capabilities(adapter: &wgpu::Adapter) -> Capabilities {
    let info = adapter.get_info();
    let limits = adapter.limits();
    Capabilities {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: info.driver.clone(),
        driver_info: info.driver_info.clone(),
        max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        timestamp_query: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
        loop_iteration_limit: is_llvmpipe(&info).then_some(LLVMPIPE_LOOP_ITERATIONS),
        progress_width: None,
        co_resident_workgroups: Vec::new(),
    }
}

/// A device with its queue and health flags.
pub struct Device {
    /// The adapter.
    pub adapter: wgpu::Adapter,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Whether timestamps were enabled.
    pub timestamps: bool,
    /// Set when the device is lost.
    pub lost: Arc<AtomicBool>,
    /// The last uncaptured error.
    pub error: Arc<Mutex<Option<String>>>,
}

impl Device {
    /// Open a device on `adapter` with the adapter's own limits.
    pub fn open(adapter: wgpu::Adapter) -> Result<Device, GpuError> {
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let features = if timestamps { wgpu::Features::TIMESTAMP_QUERY } else { wgpu::Features::empty() };
        let desc = wgpu::DeviceDescriptor {
            label: Some("megaloop"),
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::Device { adapter: adapter.get_info().name, message: e.to_string() })?;
        let lost = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, message| {
                tracing::error!("device lost ({reason:?}): {message}");
                lost.store(true, Ordering::SeqCst);
            });
            let error = error.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }));
        }
        Ok(Device { adapter, device, queue, timestamps, lost, error })
    }

    /// Whether the device is lost.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Wait for a submission (or all work) within `timeout`; a lost device, a timeout
    /// and a driver error are each a clear error.
    pub fn wait(&self, index: Option<wgpu::SubmissionIndex>, timeout: Duration) -> Result<(), BackendError> {
        let r = self.device.poll(wgpu::PollType::Wait { submission_index: index, timeout: Some(timeout) });
        if self.is_lost() {
            return Err(BackendError::Device(
                "the device was lost during the run; the host's buffers are unchanged".into(),
            ));
        }
        match r {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(BackendError::Timeout(timeout)),
            Err(e) => Err(BackendError::Device(e.to_string())),
        }
    }

    /// Map a staging buffer (MAP_READ) and read its words.
    pub fn read_words(&self, buffer: &wgpu::Buffer, timeout: Duration) -> Result<Vec<u32>, BackendError> {
        let device_error = |e: &dyn std::fmt::Display| BackendError::Device(e.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait(None, timeout)?;
        rx.recv().map_err(|e| device_error(&e))?.map_err(|e| device_error(&e))?;
        let words = {
            let view = buffer.get_mapped_range(..).map_err(|e| device_error(&e))?;
            bytemuck::pod_collect_to_vec(&view)
        };
        buffer.unmap();
        Ok(words)
    }

    /// Take the last uncaptured error, if any.
    pub fn take_error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
