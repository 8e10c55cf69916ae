//! Condition reasons of the `notification.toolkit.fluxcd.io` kinds. Their condition types are
//! the generic ones (`Ready`, `Reconciling`, `Stalled`) in [`crate::meta::conditions`], as are
//! the generic reasons they also use, re-exported here for convenience.

/// Reasons notification-controller uses on Receivers (and on beta Providers and Alerts).
pub mod reasons {
    pub use crate::meta::conditions::reasons::{
        PROGRESSING, PROGRESSING_WITH_RETRY, RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED,
        SUCCEEDED,
    };

    /// The object has been initialized.
    pub const INITIALIZED: &str = "Initialized";
    /// Part of the spec could not be validated, e.g. an invalid CEL expression (Stalled).
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// The Receiver's Secret, or its `token` key, cannot be found.
    pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
}

/// Reasons of the Kubernetes events notification-controller records on Alerts when an event
/// cannot be delivered or the Alert is misconfigured.
pub mod event_reasons {
    /// Building or sending a notification failed.
    pub const NOTIFICATION_DISPATCH_FAILED: &str = "NotificationDispatchFailed";
    /// An inclusion or exclusion regex, or a `matchLabels`, is invalid.
    pub const INVALID_CONFIG: &str = "InvalidConfig";
    /// The involved object could not be read to match `matchLabels`.
    pub const SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
    /// Event metadata keys from several sources collided.
    pub const METADATA_APPEND_FAILED: &str = "MetadataAppendFailed";
}
