//! `megaloop wgsl`: print the WGSL the GPU backend runs for a builder variant (or for a
//! JSON program with `--program`), after checking it with naga.

use crate::commands::common::ModeChoice;
use anyhow::Context;
use megaloop::builder::{build, BuildOptions, Readback};
use megaloop::ir::{validate, Program};
use megaloop_gpu::check::validate_wgsl;
use megaloop_gpu::wgsl::lower;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `megaloop wgsl`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Execution mode of the builder program.
    #[arg(long, value_enum, default_value_t = ModeChoice::Once)]
    mode: ModeChoice,
    /// Ring slots.
    #[arg(long, default_value_t = 64)]
    slots: u32,
    /// Lanes per workgroup.
    #[arg(long, default_value_t = megaloop::geometry::DEFAULT_WORKGROUP_SIZE)]
    workgroup_size: u32,
    /// Read back only the control buffer.
    #[arg(long)]
    control_only: bool,
    /// Lower this JSON program instead of a builder program.
    #[arg(long)]
    program: Option<PathBuf>,
}

/// Print the shader.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let program = match &args.program {
        Some(path) => {
            let text = megaloop::json::read_document(path).context("cannot read the program")?;
            let p: Program = megaloop::json::from_str(&text)
                .with_context(|| format!("{} is not a megaloop JSON program", path.display()))?;
            validate(&p)?
        }
        None => {
            let mut o = BuildOptions::new(args.mode.into(), args.slots);
            o.workgroup_size = args.workgroup_size;
            if args.control_only {
                o.readback = Readback::ControlOnly;
            }
            build(&o)?
        }
    };
    let lowered = lower(&program)?;
    validate_wgsl(&lowered.wgsl)
        .map_err(|e| anyhow::anyhow!("naga rejects the generated WGSL (a megaloop bug):\n{e}"))?;
    print!("{}", lowered.wgsl);
    Ok(ExitCode::SUCCESS)
}
