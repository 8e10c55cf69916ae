//! Scans container registries through the OCI distribution API: image name normalisation as
//! Flux does it, credentials from docker config secrets, anonymous/Basic/Bearer auth, tag
//! listing with `Link` pagination, per-registry-host rate limits, manifest digests and image
//! creation times, tag exclusion, a tag cache on disk that survives restarts, and pulling and
//! pushing OCI artifacts.
#![forbid(unsafe_code)]

mod artifact;
pub mod auth;
pub mod cache;
mod client;
pub mod error;
pub mod exclude;
mod manifest;
pub mod name;
mod push;
mod repository;
mod session;
mod tags;
mod token;

pub use artifact::{ArtifactManifest, Descriptor};
pub use auth::{Challenge, Credentials, DockerConfig, DockerConfigError, parse_challenges};
pub use cache::{CacheError, CachedScan, TagCache, tags_revision};
pub use client::{
    ClientOptions, DEFAULT_BURST, DEFAULT_REQUESTS_PER_SECOND, RegistryClient, ScanOptions,
    TlsConfig,
};
pub use error::ScanError;
pub use exclude::{DEFAULT_EXCLUSION_LIST, ExclusionError, ExclusionList};
pub use name::{ImageName, ImageRef, NameError};
pub use push::{ArtifactUpload, digest_of};
pub use repository::RepositorySession;
pub use tags::parse_next_link;

use std::future::Future;

/// Runs one registry operation under `options.timeout`.
async fn with_timeout<T>(
    image: &ImageName,
    options: &ScanOptions,
    operation: impl Future<Output = Result<T, ScanError>>,
) -> Result<T, ScanError> {
    tokio::time::timeout(options.timeout, operation)
        .await
        .unwrap_or_else(|_| {
            Err(ScanError::Timeout {
                image: image.canonical(),
                after: options.timeout,
            })
        })
}
