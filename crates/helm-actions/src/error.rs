//! Why a release action failed.

/// Errors of the release actions. Messages name the template, hook or object at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// A rendered document is not YAML.
    #[error("YAML parse error on {path}: {message}")]
    InvalidManifest {
        /// The template that rendered it.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// Discovery failed for a reason other than an unknown kind.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// A hook failed.
    #[error("{event} hook {path} failed: {message}")]
    Hook {
        /// The event (`pre-install`...).
        event: String,
        /// The hook's template.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Applying the release's objects failed.
    #[error("{0}")]
    Apply(String),
    /// Deleting objects failed.
    #[error("{0}")]
    Delete(String),
    /// The release's objects did not become ready in time.
    #[error("{0}")]
    Wait(String),
    /// Reading or writing release records failed.
    #[error("{0}")]
    Storage(String),
    /// The release's history does not allow the action (Helm's own wording).
    #[error("{0}")]
    History(String),
    /// A release record could not be built.
    #[error("{0}")]
    Record(String),
}
