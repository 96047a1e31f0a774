//! Occupancy discovery (after Sorensen et al., OOPSLA 2016): how many workgroups of a
//! given size are co-resident, so a persistent launch whose lanes wait on each other uses
//! no more than that and cannot deadlock.
//!
//! Many workgroups are launched; each checks a shared "poll open" flag on arrival and, if
//! open, counts itself and stays resident for a bounded spin before closing the poll.
//! Workgroups that only start after some workgroup finished its spin find the poll closed:
//! they were not co-resident with it. A second probe finds how many lanes of one
//! workgroup make progress while waiting on each other (lavapipe runs a workgroup's SIMD
//! batches one after another). Every loop is bounded, so neither probe ever hangs.

use crate::device::Device;
use megaloop::host::BackendError;
use std::time::Duration;

/// Iterations each discovering lane spins (well below lavapipe's 65,535 loop cap).
pub const SPIN: u32 = 20_000;
/// Most workgroups launched for discovery.
pub const PROBE_WORKGROUPS: u32 = 8192;

fn kernel(workgroup_size: u32) -> String {
    format!(
        "@group(0) @binding(0) var<storage, read_write> poll: array<atomic<u32>, 2>;
@compute @workgroup_size({workgroup_size})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {{
    // Word 0: poll closed; word 1: workgroups that found it open.
    if (atomicLoad(&poll[0]) != 0u) {{ return; }}
    if (lid.x == 0u) {{ atomicAdd(&poll[1], 1u); }}
    for (var i = 0u; i < {SPIN}u; i = i + 1u) {{
        if (atomicLoad(&poll[0]) != 0u) {{ break; }}
    }}
    if (lid.x == 0u) {{ atomicStore(&poll[0], 1u); }}
}}
"
    )
}

/// The lockstep probe: every lane of one workgroup counts itself in, then spins (bounded)
/// until all have; word 1 counts the lanes that saw everyone arrive. Where lanes of a
/// workgroup run one batch after another (lavapipe), the first batches give up first.
fn lockstep_kernel(workgroup_size: u32) -> String {
    format!(
        "@group(0) @binding(0) var<storage, read_write> poll: array<atomic<u32>, 2>;
@compute @workgroup_size({workgroup_size})
fn main() {{
    atomicAdd(&poll[0], 1u);
    for (var i = 0u; i < {SPIN}u; i = i + 1u) {{
        if (atomicLoad(&poll[0]) == {workgroup_size}u) {{ atomicAdd(&poll[1], 1u); return; }}
    }}
}}
"
    )
}

/// The largest workgroup size, a power of two up to `max`, whose lanes all make progress
/// while waiting on each other.
pub fn progress_width(dev: &Device, max: u32, timeout: Duration) -> Result<u32, BackendError> {
    let mut w = max.next_power_of_two().min(max.max(1));
    while w > 1 {
        if run_probe(dev, &lockstep_kernel(w), 1, timeout)? == w {
            return Ok(w);
        }
        w /= 2;
    }
    Ok(1)
}

/// Discover the co-resident workgroup count for `workgroup_size` (at least 1).
pub fn discover(
    dev: &Device,
    workgroup_size: u32,
    max_workgroups: u32,
    timeout: Duration,
) -> Result<u32, BackendError> {
    Ok(run_probe(dev, &kernel(workgroup_size), PROBE_WORKGROUPS.min(max_workgroups), timeout)?.max(1))
}

/// Run a probe kernel over a zeroed two-word buffer; returns word 1.
fn run_probe(dev: &Device, source: &str, workgroups: u32, timeout: Duration) -> Result<u32, BackendError> {
    let device = &dev.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("occupancy"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("occupancy"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let poll = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("occupancy"),
        size: 8,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    dev.queue.write_buffer(&poll, 0, &[0u8; 8]);
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("occupancy-read"),
        size: 8,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry { binding: 0, resource: poll.as_entire_binding() }],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(workgroups, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&poll, 0, &staging, 0, 8);
    let index = dev.queue.submit([encoder.finish()]);
    dev.wait(Some(index), timeout)?;
    let count = dev.read_words(&staging, timeout)?[1];
    Ok(count)
}
