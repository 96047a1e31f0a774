//! One module per `megaloop` subcommand.

pub mod check;
pub mod spec;
