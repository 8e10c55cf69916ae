//! A failed reconcile of any kind, in Flux's vocabulary: the condition reason (one of the
//! constants of `tether-api`), a message that names the object and the cause, whether retrying
//! without a change can help (terminal failures end in `Stalled` and wait for a change), and how
//! it is reported and retried. Each kind's module maps its engines' typed errors to one of these.

use std::time::Duration;
use tether_api::meta::conditions::reasons;

/// The start of Flux's message for a configuration error (a terminal failure).
const TERMINAL_PREFIX: &str = "Reconciliation failed terminally due to configuration error";

/// Why a reconcile stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
    /// Nothing but a change to the object (or its inputs) can fix it: Stalled, no retry.
    pub terminal: bool,
    /// Whether a Warning event reports it (Flux only logs a missing source).
    pub emits_event: bool,
    /// How long to wait before trying again, when the failure knows better than the kind's
    /// default (a registry's `Retry-After`, a dependency's requeue).
    pub retry_after: Option<Duration>,
    /// The source exists but has not reported its first fetch: its artifact, or its failure,
    /// is what the object waits for, silently (see `Reconcile::waits_silently`).
    pub awaits_first_fetch: bool,
}

impl Failure {
    /// A failure that a later retry may not meet.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal: false,
            emits_event: true,
            retry_after: None,
            awaits_first_fetch: false,
        }
    }

    /// A failure only a change can fix.
    pub fn terminal(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(reason, message).terminal_if(true)
    }

    /// This failure, terminal when `terminal` (an engine error's `is_terminal()`).
    pub fn terminal_if(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// This failure, retried after `wait` when given.
    pub fn retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
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
        Self::source_unavailable(message).awaiting_first_fetch(true)
    }

    /// This failure, waiting for the source's first fetch when `pending`.
    pub fn awaiting_first_fetch(mut self, pending: bool) -> Self {
        self.awaits_first_fetch = pending;
        self
    }

    /// A reference the controller's access rules refuse (`--no-cross-namespace-refs`): only a
    /// change to the object helps, as Flux stalls it.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::terminal(reasons::ACCESS_DENIED, message)
    }

    /// A configuration error only a change to the object fixes (an invalid CEL expression, a
    /// contradictory spec): terminal, with Flux's message prefix before `cause`.
    pub fn configuration(reason: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::terminal(reason, format!("{TERMINAL_PREFIX}: {cause}"))
    }

    /// A feature Flux has that tether does not implement yet: never a silently wrong result.
    pub fn not_supported(feature: &str) -> Self {
        Self::terminal(
            reasons::RECONCILIATION_FAILED,
            format!("not supported yet: {feature}"),
        )
    }
}
