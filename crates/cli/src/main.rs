//! The `tether` binary: parses the command line and hands over to one command module.
#![forbid(unsafe_code)]

mod cli;
mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return cli::exit_on_parse_error(error),
    };
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Flux's exit status 1 with a status (`diff`: differences found) is a warning.
            let code = error.downcast_ref::<commands::ExitStatus>().map(|s| s.code);
            let symbol = if code == Some(1) { "⚠️" } else { "✗" };
            eprintln!("{symbol} {error:#}");
            std::process::ExitCode::from(code.unwrap_or(1))
        }
    }
}
