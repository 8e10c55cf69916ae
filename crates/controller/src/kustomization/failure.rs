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
    /// Whether a Warning event reports it (Flux only logs a missing source).
    pub emits_event: bool,
    /// The source has not reported its first fetch yet: its artifact, or its failure, is
    /// what the Kustomization waits for.
    pub source_first_fetch_pending: bool,
}

impl Failure {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal: false,
            emits_event: true,
            source_first_fetch_pending: false,
        }
    }

    pub fn terminal(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal: true,
            emits_event: true,
            source_first_fetch_pending: false,
        }
    }

    pub fn build(message: impl Into<String>) -> Self {
        Self::new(reasons::BUILD_FAILED, message)
    }

    pub fn artifact(message: impl Into<String>) -> Self {
        Self::new(reasons::ARTIFACT_FAILED, message)
    }

    /// The source, or its artifact, is not there (yet): retried, and only logged, as Flux does;
    /// at start-up every Kustomization may get here before its source's first fetch.
    pub fn source_unavailable(message: impl Into<String>) -> Self {
        Self {
            emits_event: false,
            ..Self::artifact(message)
        }
    }

    /// The source exists but has not finished its first fetch.
    pub fn source_first_fetch_pending(message: impl Into<String>) -> Self {
        Self {
            source_first_fetch_pending: true,
            ..Self::source_unavailable(message)
        }
    }

    /// A feature Flux has that tether does not implement yet: never a silently wrong result.
    pub fn not_supported(feature: &str) -> Self {
        Self::terminal(
            reasons::RECONCILIATION_FAILED,
            format!("not supported yet: {feature}"),
        )
    }
}
