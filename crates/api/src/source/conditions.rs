//! Condition types and reasons specific to `source.toolkit.fluxcd.io` kinds (source-controller).
//! The generic ones (`Ready`, `Reconciling`, `Stalled`, ...) are in [`crate::meta::conditions`].

/// The artifact is stored and can be served; present once an artifact exists.
pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
/// The stored artifact lags behind the source (abnormal-true).
pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
/// Result of verifying the source (e.g. commit signatures); present only when verification is on.
pub const SOURCE_VERIFIED: &str = "SourceVerified";
/// Fetching from the upstream source failed (abnormal-true).
pub const FETCH_FAILED: &str = "FetchFailed";
/// Building the artifact failed (abnormal-true).
pub const BUILD_FAILED: &str = "BuildFailed";
/// A storage operation failed while writing the artifact (abnormal-true).
pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
/// One of a GitRepository's includes is missing or has no artifact (abnormal-true).
pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";

/// Condition reasons source-controller uses.
pub mod reasons {
    /// An included artifact changed since the stored artifact was built (`ArtifactOutdated`).
    pub const INCLUDE_CHANGE: &str = "IncludeChange";
    /// The source URL is invalid.
    pub const URL_INVALID: &str = "URLInvalid";
    /// Credentials are missing fields or were rejected.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Verification of the source failed.
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    /// A directory could not be created.
    pub const DIRECTORY_CREATION_FAILED: &str = "DirectoryCreationFailed";
    /// A stat call on a path failed.
    pub const STAT_OPERATION_FAILED: &str = "StatOperationFailed";
    /// A read failed.
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    /// The storage lock could not be acquired.
    pub const ACQUIRE_LOCK_FAILED: &str = "AcquireLockFailed";
    /// A path is invalid.
    pub const INVALID_PATH: &str = "InvalidPath";
    /// Creating or reading an archive failed.
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// Updating the `latest` symlink failed.
    pub const SYMLINK_UPDATE_FAILED: &str = "SymlinkUpdateFailed";
    /// The stored artifact already matches the source.
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    /// A cache operation failed.
    pub const CACHE_OPERATION_FAILED: &str = "CacheOperationFailed";
    /// Patching the object in the API failed.
    pub const PATCH_OPERATION_FAILED: &str = "PatchOperationFailed";
    /// The STS configuration is invalid.
    pub const INVALID_STS_CONFIGURATION: &str = "InvalidSTSConfiguration";
    /// The provider configuration is invalid.
    pub const INVALID_PROVIDER_CONFIGURATION: &str = "InvalidProviderConfiguration";
    /// A Git operation (clone, checkout, ...) succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// A Git operation (clone, checkout, ...) failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// Listing or downloading a Bucket's objects succeeded.
    pub const BUCKET_OPERATION_SUCCEEDED: &str = "BucketOperationSucceeded";
    /// Listing or downloading a Bucket's objects failed.
    pub const BUCKET_OPERATION_FAILED: &str = "BucketOperationFailed";
    /// Resolving or pulling an OCI artifact failed.
    pub const OCI_PULL_FAILED: &str = "OCIArtifactPullFailed";
    /// The selected layer of an OCI artifact could not be found, extracted or copied.
    pub const OCI_LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
    /// Fetching or loading a HelmRepository's index failed.
    pub const INDEXATION_FAILED: &str = "IndexationFailed";
    /// A HelmRepository's index was fetched (the beta API's spelling).
    pub const INDEXATION_SUCCEEDED: &str = "IndexationSucceed";
    /// A HelmChart's chart was pulled from its HelmRepository.
    pub const CHART_PULL_SUCCEEDED: &str = "ChartPullSucceeded";
    /// Pulling a HelmChart's chart from its HelmRepository failed.
    pub const CHART_PULL_FAILED: &str = "ChartPullFailed";
    /// A HelmChart's chart was packaged from its GitRepository or Bucket.
    pub const CHART_PACKAGE_SUCCEEDED: &str = "ChartPackageSucceeded";
    /// Packaging a HelmChart's chart from its GitRepository or Bucket failed.
    pub const CHART_PACKAGE_FAILED: &str = "ChartPackageFailed";
}

/// The reasons source-controller gives a HelmChart's `BuildFailed` condition, one per step of
/// building the chart artifact.
pub mod chart_build_reasons {
    /// The chart reference (name, path or version) is invalid.
    pub const INVALID_CHART_REFERENCE: &str = "InvalidChartReference";
    /// Pulling the chart from its repository failed.
    pub const CHART_PULL_ERROR: &str = "ChartPullError";
    /// Overriding the chart's metadata (its version) failed.
    pub const METADATA_PATCH_ERROR: &str = "MetadataPatchError";
    /// Merging the values files failed.
    pub const VALUES_FILES_ERROR: &str = "ValuesFilesError";
    /// Resolving the chart's dependencies failed.
    pub const DEPENDENCY_BUILD_ERROR: &str = "DependencyBuildError";
    /// Packaging the chart failed.
    pub const CHART_PACKAGE_ERROR: &str = "ChartPackageError";
    /// Verifying the chart's signature failed.
    pub const CHART_VERIFICATION_ERROR: &str = "ChartVerificationError";
    /// Any other build failure.
    pub const UNKNOWN: &str = "Unknown";
}
