//! The `megaloop` command: the entry point users and CI jobs run.
//!
//! Each subcommand lives in its own module under `commands/`. Exit codes: 0 success,
//! 1 the check ran and found a problem (or its run cannot be trusted), 2 bad input
//! (unreadable file, malformed JSON, bad flags), 130 interrupted (SIGINT: the run stops
//! at the next loop iteration or epoch and says what was done; a second SIGINT ends the
//! process at once). A closed standard output ends the process quietly (SIGPIPE); one
//! that cannot be written (a full disk) is an error, exit 2.

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
    /// Plant each fault of the catalogue in an engine and run the corpus and the invariant
    /// checks on it: the kill matrix and the mutation score.
    Mutants(commands::mutants::Args),
    /// Memory-model litmus tests across workgroups: outcome counts, verdicts against the
    /// spec, and the mutation score of the stress.
    Litmus(commands::litmus::Args),
    /// Run a workload until drained and print a summary.
    Run(commands::run::Args),
    /// List GPU adapters and their capabilities.
    Devices(commands::devices::Args),
    /// Print the generated WGSL of a program.
    Wgsl(commands::wgsl::Args),
    /// Print the wire layout: every buffer word and constant.
    Spec(commands::spec::Args),
}

/// Exit code of an interrupted command (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// SIGINT asks every run to stop ([`megaloop::host::interrupt`]) and restores the default
/// action, so a second one ends the process; SIGPIPE gets its default action back (Rust
/// ignores it), so `megaloop spec | head` ends quietly when `head` does.
fn install_signal_handlers() {
    extern "C" fn on_sigint(_: libc::c_int) {
        megaloop::host::interrupt::request();
    }
    // SAFETY: the handler only stores to an atomic (async-signal-safe); the sigaction is
    // fully initialised before it is installed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// `println!` panics when standard output cannot be written (a full disk, a closed
/// descriptor): say so in one line and exit 2 instead of printing a panic.
fn report_unwritable_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(cause) = message.strip_prefix("failed printing to stdout: ") {
            eprintln!("megaloop: cannot write to standard output: {cause}");
            std::process::exit(2);
        }
        default(info)
    }));
}

/// An error and its causes on one line, each cause once (an error that already says its
/// cause is not followed by it again).
fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn main() -> ExitCode {
    install_signal_handlers();
    report_unwritable_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => commands::check::run(args),
        Command::Spec(args) => commands::spec::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Mutants(args) => commands::mutants::run(args),
        Command::Litmus(args) => commands::litmus::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Devices(args) => commands::devices::run(args),
        Command::Wgsl(args) => commands::wgsl::run(args),
    };
    match result {
        Ok(_) | Err(_) if megaloop::host::interrupt::requested() => {
            if let Err(err) = &result {
                eprintln!("megaloop: {}", describe(err));
            }
            eprintln!("megaloop: interrupted; no result is reported from the run that was stopped");
            ExitCode::from(INTERRUPTED)
        }
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            // A run that ran past its timeout found a problem (exit 1); the rest is input.
            let timed_out = err.chain().any(|e| {
                matches!(
                    e.downcast_ref::<megaloop::host::BackendError>(),
                    Some(megaloop::host::BackendError::Timeout(_))
                )
            });
            ExitCode::from(if timed_out { 1 } else { 2 })
        }
    }
}
