//! One module per command; `run` dispatches to it.

mod controller;
mod install;
mod kustomize;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Controller(args) => controller::run(args),
        Command::Install(args) => install::run(args),
        Command::Kustomize(command) => kustomize::run(command),
    }
}
