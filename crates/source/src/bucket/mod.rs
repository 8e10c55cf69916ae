//! S3-compatible buckets, as a Bucket source with the `generic` provider reads them: a client
//! that signs its requests (SigV4, `rusty-s3`) and sends them with reqwest ([`client`]); the
//! index of object keys and ETags whose digest is Flux's Bucket revision, with the keys checked
//! before they become paths ([`index`]); and a mirror of the bucket on disk that a new index
//! updates by downloading only the objects whose ETag changed ([`mirror`]).
//!
//! Errors name the bucket and the cause, never a credential or a signed URL.

pub mod client;
pub mod index;
pub mod mirror;

pub use client::{BucketClient, BucketOptions, ByteBudget, S3Keys};
pub use index::{EtagIndex, ListedIndex};
pub use mirror::Mirror;

use std::path::PathBuf;

/// What a bucket may hold before it is refused, so a hostile or mistaken bucket cannot exhaust
/// memory or disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimits {
    /// The most objects indexed (after the ignore rules).
    pub max_objects: usize,
    /// The most bytes all indexed objects may hold together.
    pub max_total_bytes: u64,
}

impl Default for BucketLimits {
    fn default() -> Self {
        Self {
            max_objects: 20_000,
            max_total_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Why a bucket could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// `spec.endpoint` is not a `host[:port]`.
    #[error("invalid bucket endpoint '{endpoint}': {message}")]
    InvalidEndpoint { endpoint: String, message: String },
    /// The credentials Secret lacks a key.
    #[error("invalid '{secret}' secret data: required fields 'accesskey' and 'secretkey'")]
    InvalidSecret { secret: String },
    /// The TLS material of `spec.certSecretRef` is unusable.
    #[error("invalid TLS configuration: {message}")]
    Tls { message: String },
    /// The bucket does not exist.
    #[error("bucket '{bucket}' not found")]
    BucketNotFound { bucket: String },
    /// The server refused the credentials (or has none for the request).
    #[error("access to bucket '{bucket}' denied ({status} {code}): {message}")]
    Unauthorized {
        bucket: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The object is not there (it was deleted after the listing).
    #[error("object '{key}' not found in bucket '{bucket}'")]
    ObjectNotFound { bucket: String, key: String },
    /// Any other error answer.
    #[error("{operation} in bucket '{bucket}' failed ({status} {code}): {message}")]
    Status {
        operation: &'static str,
        bucket: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("{operation} in bucket '{bucket}' failed: {message}")]
    Unreachable {
        operation: &'static str,
        bucket: String,
        message: String,
    },
    /// The server's answer is not what S3 sends.
    #[error("{operation} in bucket '{bucket}': malformed response: {message}")]
    Malformed {
        operation: &'static str,
        bucket: String,
        message: String,
    },
    /// An object key cannot be a path under the artifact root.
    #[error("refusing object key '{key}' in bucket '{bucket}': {reason}")]
    UnsafeKey {
        bucket: String,
        key: String,
        reason: &'static str,
    },
    /// More objects than [`BucketLimits::max_objects`].
    #[error("bucket '{bucket}' holds more than {max} objects")]
    TooManyObjects { bucket: String, max: usize },
    /// More bytes than [`BucketLimits::max_total_bytes`] (or one object larger than its cap).
    #[error("bucket '{bucket}' holds more than {max} bytes")]
    TooLarge { bucket: String, max: u64 },
    /// The ignore rules could not be compiled.
    #[error(transparent)]
    Ignore(#[from] crate::sourceignore::IgnoreError),
    /// Listing and downloading took longer than the timeout.
    #[error("{operation} in bucket '{bucket}' timed out after {after:?}")]
    Timeout {
        operation: &'static str,
        bucket: String,
        after: std::time::Duration,
    },
    /// The mirror on disk could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BucketError {
    /// Whether only a change of the object's spec or Secrets can help (the bucket's content
    /// can change by itself, so hostile keys and sizes are retried).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::InvalidEndpoint { .. } | Self::InvalidSecret { .. } | Self::Tls { .. }
        )
    }

    /// Whether the credentials are at fault.
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            Self::InvalidSecret { .. } | Self::Tls { .. } | Self::Unauthorized { .. }
        )
    }

    fn io(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
