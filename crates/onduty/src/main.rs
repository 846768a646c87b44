//! The `onduty` command. Everything happens in the library; see `onduty --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match onduty::run(onduty::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
