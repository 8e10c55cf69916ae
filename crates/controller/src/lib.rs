//! The controller process: every reconciler in one process, sharing one client, plus the
//! probe (`/healthz`, `/readyz`) and metrics (`/metrics`) endpoints and graceful shutdown.
#![forbid(unsafe_code)]

pub mod context;
pub mod events;
pub mod finalizers;
pub mod fluxv1;
pub mod gitrepository;
pub mod image;
pub mod kustomization;
pub mod metrics;
pub mod probes;
pub mod reconcilers;
pub mod requests;
pub mod run;
pub mod secrets;
pub mod status;
pub mod triggers;
pub mod workspace;

pub use context::ReconcilerOptions;
pub use run::{ControllerOptions, RunError, run_until_shutdown};
