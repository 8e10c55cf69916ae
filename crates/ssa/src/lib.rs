//! tether's apply engine, after fluxcd/pkg `ssa`: a [`ResourceManager`] over a Kubernetes client
//! with a discovery cache, and one verb per module — staged server-side apply that writes only
//! what drifted ([`apply`], [`staged`]), prune ([`delete`]) and kstatus wait ([`wait`]). It is a
//! library: it returns change sets and errors and never writes any custom resource's status.
#![forbid(unsafe_code)]

pub mod apply;
pub mod cleanup;
pub mod delete;
pub mod diff;
mod direct;
pub mod discovery;
pub mod known;
pub mod manager;
pub mod metadata;
pub mod request;
pub mod staged;
pub mod wait;

pub use apply::{ApplyError, ApplyOptions, ObjectDiff};
pub use cleanup::{CleanupOptions, FieldManager, Operation};
pub use delete::{DeleteError, DeleteOptions, DeleteOutcome};
pub use discovery::{DiscoveryCache, DiscoveryError, ResolvedKind};
pub use known::{KnownObjects, Presence};
pub use kube::api::PropagationPolicy;
pub use manager::{DEFAULT_FIELD_MANAGER, ResourceManager};
pub use metadata::{Selector, owner_labels};
pub use request::RequestError;
pub use staged::StagedApplyError;
pub use wait::{ObjectStatus, WaitError, WaitOptions};
