//! Command-line definitions (clap); the implementations live in `commands/`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Parser, Debug)]
#[command(
    name = "tether",
    version,
    about = "A GitOps engine for Kubernetes, a drop-in for Flux"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every reconciler in one process against the current cluster.
    Controller(ControllerArgs),
    /// Print (with --export) or apply the manifests that install tether.
    Install(InstallArgs),
    /// Native kustomize: `tether kustomize build DIR` prints what `kustomize build DIR` prints.
    #[command(subcommand)]
    Kustomize(KustomizeCommand),
}

#[derive(Subcommand, Debug)]
pub enum KustomizeCommand {
    /// Build the kustomization in DIR and print its objects as YAML.
    Build {
        /// Directory holding a kustomization.yaml.
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
        /// LoadRestrictionsRootOnly (files must be under the kustomization's directory) or
        /// LoadRestrictionsNone.
        #[arg(long, default_value = "LoadRestrictionsRootOnly")]
        load_restrictor: tether_kustomize::LoadRestrictions,
    },
}

#[derive(Args, Debug)]
pub struct ControllerArgs {
    /// Address of the /healthz and /readyz endpoints.
    #[arg(long, default_value = "0.0.0.0:9440", env = "TETHER_HEALTH_ADDR")]
    pub health_addr: SocketAddr,
    /// Address of the /metrics endpoint.
    #[arg(long, default_value = "0.0.0.0:8080", env = "TETHER_METRICS_ADDR")]
    pub metrics_addr: SocketAddr,
    /// Directory for source artifacts and their extracted trees.
    #[arg(long, default_value = "/tmp/tether", env = "TETHER_STORAGE_PATH")]
    pub storage_path: std::path::PathBuf,
    /// Base URL advertised in `status.artifact.url`.
    #[arg(long, default_value = "http://tether.flux-system.svc.cluster.local.")]
    pub storage_adv_addr: String,
    /// Reconciles of each kind running at once.
    #[arg(long, default_value_t = 10)]
    pub concurrent: u16,
    /// Retry delay while a dependency is not ready.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub requeue_dependency: std::time::Duration,
    /// Reconcile only objects in this namespace (default: all namespaces).
    #[arg(long)]
    pub watch_namespace: Option<String>,
    /// Log format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_encoding: String,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Print the manifests to standard output instead of applying them.
    #[arg(long)]
    pub export: bool,
    /// Namespace tether is installed in.
    #[arg(long, default_value = "flux-system")]
    pub namespace: String,
    /// Container image of the controller.
    #[arg(long, default_value = "tether:latest")]
    pub image: String,
    /// Print only the CustomResourceDefinitions.
    #[arg(long)]
    pub crds_only: bool,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    tether_core::duration::parse_duration(text).map_err(|e| e.to_string())
}
