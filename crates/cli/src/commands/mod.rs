//! One module per command; `run` dispatches to it.

mod artifact;
mod bootstrap;
mod build;
mod check;
mod cluster;
mod controller;
pub(crate) mod create;
mod debug;
mod diff;
mod dyff;
mod events;
mod export;
pub mod fluxctl;
pub mod fluxctl_install;
mod fluxctl_output;
mod fluxctl_target;
pub mod fluxd;
mod get;
mod helm;
mod install;
mod kustomize;
mod log_format;
mod logs;
mod output;
mod reconcile;
mod suspend;
mod toolkit;
mod trace;
mod tree;
mod trigger;
mod uninstall;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Controller(args) => controller::run(args),
        Command::Install(args) => install::run(args),
        Command::Uninstall(args) => uninstall::run(args),
        Command::Bootstrap(command) => bootstrap::run(command),
        Command::Kustomize(command) => kustomize::run(command),
        Command::Helm(command) => helm::run(command),
        Command::Get(args) => get::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Suspend(args) => suspend::run_suspend(args),
        Command::Resume(args) => suspend::run_resume(args),
        Command::Tree(args) => tree::run(args),
        Command::Debug(args) => debug::run(args),
        Command::Create(args) => create::run(*args),
        Command::Export(args) => export::run(args),
        Command::Events(args) => events::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Build(command) => build::run(command),
        Command::Check(args) => check::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Trigger(command) => trigger::run(command),
        Command::Push(command) => artifact::run_push(command),
        Command::Pull(command) => artifact::run_pull(command),
        Command::Tag(command) => artifact::run_tag(command),
        Command::List(command) => artifact::run_list(command),
        Command::Diff(command) => diff::run(command),
        Command::Fluxd(args) => fluxd::run(*args),
        Command::Fluxctl(command) => fluxctl::run(command),
        Command::FluxctlGroup(crate::cli::FluxctlGroup::Install(args)) => {
            fluxctl_install::run(args)
        }
        Command::FluxctlGroup(crate::cli::FluxctlGroup::Verb(command)) => fluxctl::run(command),
    }
}

/// A failure with the exit status Flux gives it (`diff kustomization`: 1 when there are
/// differences, 2 when the diff failed); other failures exit with 1.
#[derive(Debug)]
pub struct ExitStatus {
    /// The process exit status.
    pub code: u8,
    error: anyhow::Error,
}

impl ExitStatus {
    pub fn new(code: u8, error: anyhow::Error) -> Self {
        Self { code, error }
    }

    /// Exit status 2.
    pub fn failed(error: anyhow::Error) -> anyhow::Error {
        Self::new(2, error).into()
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for ExitStatus {}
