//! `megaloop devices`: list GPU adapters and their capabilities (limits, timestamps,
//! known driver limits, and the co-resident workgroup count from occupancy discovery).

use megaloop_gpu::device::{adapters, capabilities};
use megaloop_gpu::GpuBackend;
use std::process::ExitCode;

/// Arguments of `megaloop devices`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also open each adapter and discover co-resident workgroups of this size.
    #[arg(long, default_value_t = megaloop::geometry::DEFAULT_WORKGROUP_SIZE)]
    workgroup_size: u32,
    /// Skip occupancy discovery (no device is opened).
    #[arg(long)]
    no_discovery: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// List adapters.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::commands::common::workgroup_size_flag("--workgroup-size", args.workgroup_size)?;
    let mut reports = Vec::new();
    for adapter in adapters() {
        let caps = capabilities(&adapter);
        let caps = if args.no_discovery {
            caps
        } else {
            let mut gpu = GpuBackend::new(Some(&caps.name))?;
            gpu.discover_co_resident_workgroups(args.workgroup_size)?;
            let width = gpu.discover_progress_width()?;
            gpu.discover_co_resident_workgroups(width)?;
            gpu.capabilities()
        };
        reports.push(caps);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else if reports.is_empty() {
        println!("no GPU adapter found (install mesa-vulkan-drivers and libvulkan1 for lavapipe)");
    } else {
        for (i, c) in reports.iter().enumerate() {
            println!("[{i}] {} ({}, {}, driver {} {})", c.name, c.device_type, c.backend, c.driver, c.driver_info);
            println!(
                "    max workgroups per dimension {}, max invocations per workgroup {}",
                c.max_workgroups_per_dimension, c.max_invocations_per_workgroup
            );
            println!(
                "    storage buffers per stage {}, max storage binding {} bytes",
                c.max_storage_buffers_per_stage, c.max_storage_buffer_binding_size
            );
            println!("    timestamps {}", if c.timestamp_query { "yes" } else { "no" });
            if let Some(l) = c.loop_iteration_limit {
                println!("    driver loop limit: {l} iterations per invocation (fuel is capped to respect it)");
            }
            if let Some(w) = c.progress_width {
                println!("    lanes of one workgroup that progress while waiting on each other: {w}");
            }
            for (wg, n) in &c.co_resident_workgroups {
                println!("    co-resident workgroups of {wg} lanes: {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
