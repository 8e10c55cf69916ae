//! The `source.toolkit.fluxcd.io` group: GitRepository in its three served versions, and
//! OCIRepository, Bucket, HelmRepository and HelmChart in two (v1, v1beta2), and ExternalArtifact
//! in v1 only.
//!
//! [`v1`] is the storage version; [`v1beta2`] and [`v1beta1`] are served, deprecated, and carry the
//! fields of the last Flux release that served them. The API server stores every version as v1
//! without conversion (strategy `None`, as Flux does), so fields that only a beta version has
//! (`gitImplementation`, `accessFrom`) are pruned from stored objects, exactly as with Flux.

mod bucket;
pub mod conditions;
mod helm;
mod oci;
mod shared;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

/// The API group.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// The GitRepository kind.
pub const GIT_REPOSITORY_KIND: &str = "GitRepository";
/// The OCIRepository kind.
pub const OCI_REPOSITORY_KIND: &str = "OCIRepository";
/// The HelmRepository kind.
pub const HELM_REPOSITORY_KIND: &str = "HelmRepository";
/// The HelmChart kind.
pub const HELM_CHART_KIND: &str = "HelmChart";
/// The Bucket kind.
pub const BUCKET_KIND: &str = "Bucket";
/// The ExternalArtifact kind.
pub const EXTERNAL_ARTIFACT_KIND: &str = "ExternalArtifact";
