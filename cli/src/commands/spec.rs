//! `megaloop spec`: print the wire layout (every constant, from the one table in
//! `megaloop::protocol::layout`), as text, a markdown table or JSON.

use megaloop::protocol::layout::LAYOUT;
use std::process::ExitCode;

/// Arguments of `megaloop spec`.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

/// Print the layout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.format {
        Format::Text => {
            let mut group = "";
            for e in LAYOUT {
                if e.group != group {
                    group = e.group;
                    println!("[{group}]");
                }
                println!("  {:<24} {:>10}  {}", e.name, e.value, e.meaning);
            }
        }
        Format::Markdown => {
            let mut group = "";
            for e in LAYOUT {
                if e.group != group {
                    group = e.group;
                    println!("\n#### {group}\n\n| name | value | meaning |\n|---|---|---|");
                }
                println!("| `{}` | {} | {} |", e.name, e.value, e.meaning);
            }
        }
        Format::Json => {
            let rows: Vec<_> = LAYOUT
                .iter()
                .map(|e| serde_json::json!({"group": e.group, "name": e.name, "value": e.value, "meaning": e.meaning}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
