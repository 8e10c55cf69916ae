//! The controller process: every reconciler in one process, sharing one client, plus the
//! probe (`/healthz`, `/readyz`) and metrics (`/metrics`) endpoints and graceful shutdown.
#![forbid(unsafe_code)]

pub mod metrics;
pub mod probes;
pub mod run;

pub use run::{ControllerOptions, RunError, run_until_shutdown};
