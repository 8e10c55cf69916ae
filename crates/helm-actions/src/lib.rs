//! Helm's release actions on a cluster, for the HelmRelease reconcilers (Flux v2's and
//! helm-operator's): turning a rendered chart into objects ([`objects`], [`resources`]),
//! running hooks ([`hooks`]), waiting by Helm v3's rules ([`legacy_wait`]), deleting ([`delete`]), keeping release records ([`storage`]) and
//! the actions themselves ([`actions`]). The actions are a library: they return what
//! they did and never write any custom resource's status.
#![forbid(unsafe_code)]

pub mod actions;
pub mod delete;
mod error;
pub mod hooks;
pub mod legacy_wait;
pub mod objects;
pub mod resources;
pub mod storage;

pub use actions::{CrdPolicy, Desired, RunOptions, Target, TestFilters, WaitStrategy};
pub use error::ActionError;
pub use storage::ReleaseStore;
