//! The heater: an ALU-only kernel kept running for a given time right before a timed
//! measurement, so a GPU that lowers its clock under light load (an H200 drops from 1,980
//! to 345 MHz a few seconds after heavy work stops, while megaloop's short epochs run) is
//! measured at its working clock. Each dispatch's loop stays below the driver's loop limit;
//! the iteration count doubles until one dispatch takes [`SLICE`], so the device is never
//! held by one dispatch much longer than that.

use crate::device::Device;
use megaloop::host::BackendError;
use std::time::{Duration, Instant};

/// The time one heating dispatch aims at.
pub const SLICE: Duration = Duration::from_millis(20);
/// Workgroups of 256 lanes per heating dispatch.
const WORKGROUPS: u32 = 2048;

const KERNEL: &str = "
override ITERATIONS: u32 = 1024u;
@group(0) @binding(0) var<storage, read_write> sink: array<atomic<u32>, 1>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var x = gid.x;
    for (var i = 0u; i < ITERATIONS; i = i + 1u) { x = x * 1664525u + 1013904223u; }
    // Never true in practice; keeps the loop from being optimised away.
    if (x == 0x12345678u) { atomicAdd(&sink[0], 1u); }
}
";

/// Keep `dev` busy with ALU work for `duration` (at most `loop_limit` iterations per lane
/// per dispatch, where the driver has such a limit).
pub fn heat(dev: &Device, duration: Duration, loop_limit: Option<u32>, timeout: Duration) -> Result<(), BackendError> {
    let device = &dev.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("heater"),
        source: wgpu::ShaderSource::Wgsl(KERNEL.into()),
    });
    let sink = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("heater-sink"),
        size: 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let most = loop_limit.map_or(1 << 24, |l| l.saturating_sub(16).max(1));
    let pipeline_for = |iterations: u32| {
        let constants = [("ITERATIONS", f64::from(iterations))];
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("heater"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() },
            cache: None,
        });
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: sink.as_entire_binding() }],
        });
        (pipeline, group)
    };
    let start = Instant::now();
    let mut iterations = 1024u32.min(most);
    let (mut pipeline, mut group) = pipeline_for(iterations);
    while start.elapsed() < duration {
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(WORKGROUPS, 1, 1);
        }
        let began = Instant::now();
        let index = dev.queue.submit([encoder.finish()]);
        dev.wait(Some(index), timeout)?;
        if began.elapsed() < SLICE && iterations < most {
            iterations = iterations.saturating_mul(2).min(most);
            (pipeline, group) = pipeline_for(iterations);
        }
    }
    Ok(())
}
