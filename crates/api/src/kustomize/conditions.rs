//! Condition types and reasons specific to Kustomizations. The generic ones (`Ready`,
//! `Reconciling`, `Stalled`, `Healthy`, `ReconciliationSucceeded`, `PruneFailed`, ...) are in
//! [`crate::meta::conditions`], which kustomize-controller v1 uses for everything.

pub use crate::meta::conditions::HEALTHY;

/// Reasons only the v1beta1 API defined.
pub mod reasons {
    /// Client- or server-side validation of the manifests failed (v1beta1 `validation`).
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
}
