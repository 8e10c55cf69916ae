//! Errors of git operations. Every message names the URL with any password removed and says
//! the cause in words; no variant ever holds a secret (details from the transport are passed
//! through [`redact`] before they are stored).

use std::time::Duration;

/// What went wrong while talking to a git remote or checking out its content.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The URL could not be parsed or uses a scheme tether does not fetch from.
    #[error("invalid git URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The Secret's data does not make a usable credential for this URL.
    #[error("invalid auth for '{url}': {reason}")]
    InvalidAuth { url: String, reason: String },
    /// The reference spec itself is unusable, e.g. a semver constraint that does not parse.
    #[error("invalid reference for '{url}': {reason}")]
    InvalidReference { url: String, reason: String },
    /// The server rejected the credentials (HTTP 401/403, or ssh public key refused).
    #[error("authentication to '{url}' failed: {detail}")]
    AuthenticationFailed { url: String, detail: String },
    /// The ssh server's host key is not in `known_hosts` (or differs from it).
    #[error("host key verification for '{url}' failed: the server's key is not in known_hosts")]
    HostKeyMismatch { url: String },
    /// No connection could be made: refused, unresolvable or unreachable.
    #[error("unable to connect to '{url}': {detail}")]
    Unreachable { url: String, detail: String },
    /// The remote answered but has no such branch, tag or ref.
    #[error("reference '{reference}' not found in '{url}'")]
    ReferenceNotFound { url: String, reference: String },
    /// No tag of the remote satisfies the semver constraint.
    #[error("no tag in '{url}' matches semver constraint '{constraint}'")]
    NoMatchingTag { url: String, constraint: String },
    /// The pinned commit is not reachable from what was fetched.
    #[error("commit '{commit}' not found in '{url}'")]
    CommitNotFound { url: String, commit: String },
    /// The operation did not finish in time.
    #[error("git operation on '{url}' timed out after {after:?}")]
    Timeout { url: String, after: Duration },
    /// Any other failure of the transport or protocol.
    #[error("git operation on '{url}' failed: {detail}")]
    Transport { url: String, detail: String },
    /// Writing the work tree or local repository failed.
    #[error("checkout of '{url}' into the work dir failed: {detail}")]
    Checkout { url: String, detail: String },
    /// The commit's tree passes a checkout limit (a huge file, too many files or bytes).
    #[error("checkout of '{url}' refused: {detail}")]
    CheckoutRefused { url: String, detail: String },
}

impl GitError {
    /// True when retrying without a spec or Secret change cannot help.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::InvalidUrl { .. } | Self::InvalidAuth { .. } | Self::InvalidReference { .. }
        )
    }
}

/// Replaces every occurrence of each secret in `text` with `***`. Secrets shorter than four
/// bytes are left alone: replacing them would mangle ordinary words without protecting much.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "***");
    }
    out
}

/// `url` as it may be shown in messages, logs and CLI output: the password of a
/// `user:password@` userinfo is removed and the user name kept (it helps tell accounts apart and
/// is not a secret), except over HTTP(S) where a lone user with no password is how tokens are
/// passed (`https://<token>@github.com/...`): that userinfo goes entirely. An SSH login name
/// (`ssh://git@host`) stays. The one rule every crate shows URLs by.
pub fn sanitize_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}@{host}{path}"),
        None if scheme.eq_ignore_ascii_case("ssh") => url.to_owned(),
        None => format!("{scheme}://{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_the_user_name_but_no_password_or_token() {
        assert_eq!(
            sanitize_url("https://bob:hunter22@example.com/org/repo.git"),
            "https://bob@example.com/org/repo.git"
        );
        assert_eq!(
            sanitize_url("https://ghp_secrettoken@github.com/org/repo.git"),
            "https://github.com/org/repo.git"
        );
        assert_eq!(
            sanitize_url("http://user:p%40ss@127.0.0.1:8080"),
            "http://user@127.0.0.1:8080"
        );
        assert_eq!(
            sanitize_url("ssh://git@example.com:22/repo"),
            "ssh://git@example.com:22/repo"
        );
        assert_eq!(sanitize_url("http://h/p"), "http://h/p");
    }

    #[test]
    fn redact_replaces_every_secret() {
        assert_eq!(
            redact("token abcd1234 then abcd1234", &["abcd1234", "xy"]),
            "token *** then ***"
        );
    }

    #[test]
    fn only_configuration_errors_are_terminal() {
        let invalid = GitError::InvalidUrl {
            url: "x".into(),
            reason: "y".into(),
        };
        assert!(invalid.is_terminal());
        let timeout = GitError::Timeout {
            url: "x".into(),
            after: Duration::from_secs(1),
        };
        assert!(!timeout.is_terminal());
    }
}
