//! Scan errors: one variant per way a registry request fails, each naming the image and the
//! cause, saying whether a retry can help and how long to wait first. Messages carry the
//! registry's own error text, never credentials or tokens.

use std::time::Duration;

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The image name cannot be parsed.
    #[error(transparent)]
    InvalidImage(#[from] crate::name::NameError),
    /// The TLS settings (CA, client certificate) are unusable.
    #[error("{image}: invalid TLS configuration: {message}")]
    Tls { image: String, message: String },
    /// The registry refused the credentials (401) or the access (403).
    #[error("{image}: authentication failed ({status}): {message}")]
    Unauthorized {
        image: String,
        status: u16,
        message: String,
    },
    /// The repository (or tag, or manifest) does not exist (404).
    #[error("{image}: not found: {message}")]
    NotFound { image: String, message: String },
    /// The registry throttled us (429); `retry_after` is its `Retry-After`, if any.
    #[error("{image}: rate limited by the registry{}", retry_after_text(.retry_after))]
    RateLimited {
        image: String,
        retry_after: Option<Duration>,
    },
    /// The registry failed (5xx).
    #[error("{image}: registry error ({status}): {message}")]
    Server {
        image: String,
        status: u16,
        message: String,
    },
    /// Any other unexpected status.
    #[error("{image}: unexpected response ({status}): {message}")]
    UnexpectedStatus {
        image: String,
        status: u16,
        message: String,
    },
    /// The token endpoint refused to issue a token.
    #[error("{image}: token request to {realm} failed ({status}): {message}")]
    Token {
        image: String,
        realm: String,
        status: u16,
        message: String,
    },
    /// The registry's auth challenge cannot be followed.
    #[error("{image}: unsupported authentication challenge: {message}")]
    Challenge { image: String, message: String },
    /// The whole operation took longer than the configured timeout.
    #[error("{image}: timed out after {}s", .after.as_secs_f32())]
    Timeout { image: String, after: Duration },
    /// The registry could not be reached (DNS, refused connection, TLS handshake).
    #[error("{image}: cannot connect to {url}: {cause}")]
    Connect {
        image: String,
        url: String,
        cause: String,
    },
    /// The connection broke during a request.
    #[error("{image}: request to {url} failed: {cause}")]
    Transport {
        image: String,
        url: String,
        cause: String,
    },
    /// The registry answered with a body that is not what the API promises.
    #[error("{image}: invalid response from {url}: {cause}")]
    InvalidResponse {
        image: String,
        url: String,
        cause: String,
    },
    /// Pagination went past the configured limit.
    #[error("{image}: more than {limit} {what}; raise the limit or narrow the repository")]
    TooMany {
        image: String,
        what: &'static str,
        limit: usize,
    },
}

/// How long to wait before retrying after a server or network failure.
const TRANSIENT_BACKOFF: Duration = Duration::from_secs(10);
/// How long to wait after a 429 without `Retry-After`.
const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(60);

impl ScanError {
    /// Whether the same request may succeed later without a configuration change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Connect { .. }
                | Self::Transport { .. }
        )
    }

    /// The wait before retrying a retryable error: the registry's `Retry-After` when it sent
    /// one. `None` for errors a retry will not fix (the next scheduled scan may still run).
    pub fn suggested_backoff(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(RATE_LIMIT_BACKOFF))
            }
            Self::Server { .. }
            | Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::Transport { .. } => Some(TRANSIENT_BACKOFF),
            _ => None,
        }
    }

    /// Whether the error lies in the object's configuration (Flux marks these Stalled).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::InvalidImage(_) | Self::Tls { .. })
    }
}

/// serde_json's message without the offending value (a response may echo something secret).
pub(crate) fn json_error_text(error: &serde_json::Error) -> String {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!("; retry after {}s", after.as_secs()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_suggest_a_backoff() {
        let limited = ScanError::RateLimited {
            image: "ghcr.io/x".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.suggested_backoff(), Some(Duration::from_secs(7)));
        assert_eq!(
            limited.to_string(),
            "ghcr.io/x: rate limited by the registry; retry after 7s"
        );
        let denied = ScanError::Unauthorized {
            image: "ghcr.io/x".into(),
            status: 401,
            message: "authentication required".into(),
        };
        assert!(!denied.is_retryable());
        assert_eq!(denied.suggested_backoff(), None);
    }
}
