//! The `megaloop` command: the entry point users and CI jobs run.
//!
//! Each subcommand lives in its own module under `commands/`. Exit codes: 0 success,
//! 1 the check ran and found a problem, 2 bad input (unreadable file, malformed JSON,
//! bad flags).

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// megaloop: reference implementation of a persistent GPU megakernel runtime.
#[derive(Parser)]
#[command(name = "megaloop", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a program (JSON IR) and print its text form.
    Check(commands::check::Args),
    /// Measure throughput of the trivial workload.
    Bench(commands::bench::Args),
    /// Compare the simulator and the GPU on a workload in every mode.
    Diff(commands::diff::Args),
    /// Run the conformance corpus (specs/vectors) on the simulator and/or the GPU.
    Conformance(commands::conformance::Args),
    /// Run a workload until drained and print a summary.
    Run(commands::run::Args),
    /// List GPU adapters and their capabilities.
    Devices(commands::devices::Args),
    /// Print the generated WGSL of a program.
    Wgsl(commands::wgsl::Args),
    /// Print the wire layout: every buffer word and constant.
    Spec(commands::spec::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => commands::check::run(args),
        Command::Spec(args) => commands::spec::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Devices(args) => commands::devices::run(args),
        Command::Wgsl(args) => commands::wgsl::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
