//! Condition reasons of the `image.toolkit.fluxcd.io` kinds. Their condition types are the
//! generic ones (`Ready`, `Reconciling`, `Stalled`) in [`crate::meta::conditions`], as are the
//! generic reasons they also use (`Succeeded`, `Progressing`, `ProgressingWithRetry`,
//! `FeatureGateDisabled`, `DependencyNotReady`, `ReconciliationSucceeded`,
//! `ReconciliationFailed`); the latter three are re-exported here for convenience.

/// Reasons image-reflector-controller uses (ImageRepository and ImagePolicy).
pub mod reasons {
    pub use crate::meta::conditions::reasons::{
        DEPENDENCY_NOT_READY, RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED,
    };

    /// The image of an ImageRepository (or the one an ImagePolicy refers to) is not a valid
    /// image reference (Stalled).
    pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
    /// The registry credentials are missing fields or were rejected.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Listing the tags of the registry, or reading the tag database, failed.
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    /// An ImagePolicy with `digestReflectionPolicy: Always` has no interval (Stalled).
    pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
    /// The policy of an ImagePolicy cannot be built, e.g. an invalid semver range or tag
    /// filter pattern (Stalled).
    pub const INVALID_POLICY: &str = "InvalidPolicy";
    /// A cross-namespace reference is not allowed by the referent's `accessFrom` ACL or by the
    /// `--no-cross-namespace-refs` setting (`acl.AccessDeniedReason`).
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// A generic failure, e.g. an ImagePolicy finding no tag matching its policy
    /// (`metav1.StatusFailure`).
    pub const FAILURE: &str = "Failure";
}

/// Reasons image-automation-controller uses (ImageUpdateAutomation).
pub mod automation_reasons {
    pub use super::reasons::ACCESS_DENIED;
    pub use crate::meta::conditions::reasons::{RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED};

    /// `spec.update` names no usable update strategy (Stalled).
    pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
    /// The source reference or its Git settings are invalid (Stalled).
    pub const INVALID_SOURCE_CONFIGURATION: &str = "InvalidSourceConfiguration";
    /// Preparing the source (fetching the GitRepository, its credentials) failed.
    pub const SOURCE_MANAGER_FAILED: &str = "SourceManagerFailed";
    /// A Git operation (clone, checkout, commit, push) failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// Updating the files in the checkout failed.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// `spec.policySelector` is not a valid label selector (Stalled).
    pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
    /// The commit message template uses a removed field such as `.Updated` (Stalled).
    pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";
    /// v1beta1: the Git repository is missing or cannot be cloned.
    pub const GIT_REPOSITORY_NOT_AVAILABLE: &str = "GitRepositoryNotAvailable";
    /// v1beta1: the spec gives no update strategy.
    pub const MISSING_UPDATE_STRATEGY: &str = "MissingUpdateStrategy";
}
