//! The `tether` binary: parses the command line and hands over to one command module.
#![forbid(unsafe_code)]

mod cli;
mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("✗ {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
