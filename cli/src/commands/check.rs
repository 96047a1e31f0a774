//! `megaloop check FILE`: validate a JSON program and print it, or print every error
//! with its path.

use anyhow::Context;
use megaloop::ir::{print, validate, Program};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `megaloop check`.
#[derive(clap::Args)]
pub struct Args {
    /// Program file in megaloop's JSON IR.
    file: PathBuf,
    /// Print the program as JSON instead of the text form.
    #[arg(long)]
    json: bool,
}

/// Run the command: exit 0 when valid, 1 when the program is invalid.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = megaloop::json::read_document(&args.file).context("cannot read the program")?;
    let program: Program = megaloop::json::from_str(&text)
        .with_context(|| format!("{} is not a megaloop JSON program", args.file.display()))?;
    match validate(&program) {
        Ok(valid) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(valid.program())?);
            } else {
                print!("{}", print::program(valid.program()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{}: {errors}", args.file.display());
            Ok(ExitCode::from(1))
        }
    }
}
