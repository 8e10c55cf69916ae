//! The `source.toolkit.fluxcd.io` group: GitRepository in its three served versions.
//!
//! [`v1`] is the storage version; [`v1beta2`] and [`v1beta1`] are served, deprecated, and carry the
//! fields of the last Flux release that served them. The API server stores every version as v1
//! without conversion (strategy `None`, as Flux does), so fields that only a beta version has
//! (`gitImplementation`, `accessFrom`) are pruned from stored objects, exactly as with Flux.

pub mod conditions;
mod shared;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

/// The API group.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// The kind this crate defines in the group.
pub const GIT_REPOSITORY_KIND: &str = "GitRepository";
