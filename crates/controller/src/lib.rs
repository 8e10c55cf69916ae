//! The controller process: every reconciler in one process, sharing one client, plus the
//! probe (`/healthz`, `/readyz`) and metrics (`/metrics`) endpoints and graceful shutdown.
//! Each kind's module holds its steps; `reconcile` holds the loop every kind runs through;
//! `reconcilers` lists the kinds.
#![forbid(unsafe_code)]

mod artifacts;
mod bucket;
mod clusters;
mod config_watch;
mod context;
mod dependency_expr;
pub mod drift_ignore;
mod event_recorder;
mod events;
mod failure;
mod finalizers;
pub mod fluxd;
pub mod fluxv1;
pub mod git_source;
mod gitrepository;
mod health_exprs;
mod helm_source;
pub mod helm_values;
mod helmchart;
mod helmoperator;
mod helmrelease;
mod helmrepository;
mod image;
mod key;
pub(crate) mod kustomization;
mod metrics;
mod notification;
mod ocirepository;
mod probes;
mod reconcile;
mod reconcilers;
mod registry_access;
mod requests;
mod run;
pub mod secrets;
mod sources;
mod status;
mod storage_http;
mod triggers;
mod workspace;

pub use context::ReconcilerOptions;
pub use kustomization::apply::inventory_of as kustomization_inventory;
pub use kustomization::build_local as build_kustomization_locally;
pub use notification::{DEFAULT_MAX_CONCURRENT_DELIVERIES, NotificationOptions};
pub use run::{ControllerOptions, RunError, run_until, run_until_shutdown};
