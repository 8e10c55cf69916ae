//! A failed Kustomization reconcile in Flux's vocabulary: the condition reason, a message that
//! names the object and the cause, and whether retrying without a change can help.

use tether_api::meta::conditions::reasons;

/// Why a reconcile stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
    /// Nothing but a change to the object (or its inputs) can fix it: Stalled.
    pub terminal: bool,
}

impl Failure {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal: false,
        }
    }

    pub fn terminal(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal: true,
        }
    }

    pub fn build(message: impl Into<String>) -> Self {
        Self::new(reasons::BUILD_FAILED, message)
    }

    pub fn artifact(message: impl Into<String>) -> Self {
        Self::new(reasons::ARTIFACT_FAILED, message)
    }

    /// A feature Flux has that tether does not implement yet: never a silently wrong result.
    pub fn not_supported(feature: &str) -> Self {
        Self::terminal(
            reasons::RECONCILIATION_FAILED,
            format!("not supported yet: {feature}"),
        )
    }
}
