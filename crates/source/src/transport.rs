//! Connecting gix to a remote with a [`GitAuth`]: HTTP basic auth through gix's credential
//! callback, bearer tokens and CA bundles through the reqwest backend's options, and ssh through
//! the `ssh` program configured per fetch (`core.sshCommand`) with the identity and known_hosts
//! written to private temp files. Also maps gix's errors to [`GitError`].

use crate::auth::GitAuth;
use crate::error::{GitError, redact};
use gix::protocol::transport::client::blocking_io::http;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

/// The remote URL in two forms, plus the credentials that go with it (Debug is redacted).
#[derive(Debug)]
pub(crate) struct Target {
    /// What gix connects to: userinfo password removed, `git@` added to ssh URLs without a user.
    pub fetch_url: String,
    /// What errors show.
    pub display_url: String,
    pub is_ssh: bool,
    pub auth: GitAuth,
    /// Where the ssh program's stderr goes (gix does not capture it), read back to classify.
    pub ssh_log: Option<PathBuf>,
}

impl Target {
    /// Parses `url`, moves a password in its userinfo into the credentials (as Flux falls back
    /// to URL credentials for HTTP) and validates the credentials for the transport.
    pub fn new(url: &str, auth: &GitAuth) -> Result<Self, GitError> {
        let invalid = |reason: &str| GitError::InvalidUrl {
            url: crate::error::sanitize_url(url),
            reason: reason.to_owned(),
        };
        let display_url = crate::error::sanitize_url(url);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected scheme://host/path"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let mut auth = auth.clone();
        let is_ssh = match scheme {
            "http" | "https" => false,
            "ssh" => true,
            _ => return Err(invalid("scheme must be http, https or ssh")),
        };
        let path = &rest[authority.len()..];
        let user = userinfo.map(|u| u.split_once(':').map_or(u, |(user, _)| user));
        if !is_ssh && let Some((user, password)) = userinfo.and_then(|u| u.split_once(':')) {
            auth.username.get_or_insert_with(|| user.to_owned());
            auth.password.get_or_insert_with(|| password.to_owned());
        }
        let user = match (is_ssh, user) {
            (true, None) => Some("git"),
            (_, user) => user,
        };
        let fetch_url = match user {
            Some(user) => format!("{scheme}://{user}@{host}{path}"),
            None => format!("{scheme}://{host}{path}"),
        };
        auth.validate(&display_url, is_ssh)?;
        Ok(Self {
            fetch_url,
            display_url,
            is_ssh,
            auth,
            ssh_log: None,
        })
    }

    /// This target with ssh's stderr logged into `dir`.
    pub fn with_ssh_log_in(&self, dir: &Path) -> Self {
        Self {
            fetch_url: self.fetch_url.clone(),
            display_url: self.display_url.clone(),
            is_ssh: self.is_ssh,
            auth: self.auth.clone(),
            ssh_log: self.is_ssh.then(|| dir.join("ssh.stderr")),
        }
    }

    /// Maps a gix error to the variant a user can act on, scrubbing secrets from its text.
    pub fn classify(&self, error: &gix::Error) -> GitError {
        let mut chain: Vec<String> = error.iter_errors().map(|e| e.to_string()).collect();
        chain.dedup();
        if let Some(log) = self.ssh_log.as_deref()
            && let Ok(stderr) = std::fs::read_to_string(log)
        {
            chain.extend(
                stderr
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        }
        let text = redact(&chain.join(": "), &self.auth.secret_values());
        let lower = text.to_ascii_lowercase();
        let url = self.display_url.clone();
        if lower.contains("host key verification failed")
            || lower.contains("remote host identification has changed")
        {
            return GitError::HostKeyMismatch { url };
        }
        if lower.contains("permission denied (publickey")
            || lower.contains("authentication")
            || lower.contains("status 401")
            || lower.contains("status 403")
            || error.classify().is_unauthenticated()
        {
            return GitError::AuthenticationFailed { url, detail: text };
        }
        if lower.contains("connection refused")
            || lower.contains("error trying to connect")
            || lower.contains("could not resolve")
            || lower.contains("network is unreachable")
            || lower.contains("no route to host")
            || lower.contains("connection timed out")
        {
            return GitError::Unreachable { url, detail: text };
        }
        GitError::Transport { url, detail: text }
    }

    pub fn transport_error(&self, detail: impl std::fmt::Display) -> GitError {
        GitError::Transport {
            url: self.display_url.clone(),
            detail: redact(&detail.to_string(), &self.auth.secret_values()),
        }
    }
}

/// Sets `core.sshCommand` on `repo` so the `ssh` program authenticates with the identity only
/// and accepts only hosts in the given known_hosts. Files go into `dir`, readable by us alone.
pub(crate) fn configure_ssh(
    repo: &mut gix::Repository,
    target: &Target,
    dir: &Path,
    timeout: Duration,
) -> Result<(), GitError> {
    let write = |name: &str, content: &str, mode: u32| -> Result<String, GitError> {
        let path = dir.join(name);
        write_private(&path, content, mode).map_err(|e| target.transport_error(e))?;
        Ok(shell_quote(&path.to_string_lossy()))
    };
    let identity = target.auth.identity.as_deref().unwrap_or_default();
    let known_hosts = target.auth.known_hosts.as_deref().unwrap_or_default();
    let identity_file = write("identity", &with_newline(identity), 0o600)?;
    let known_hosts_file = write("known_hosts", &with_newline(known_hosts), 0o600)?;
    let connect_timeout = timeout.as_secs().clamp(1, 30);
    let mut command = String::new();
    let passphrase = target.auth.password.as_deref().filter(|p| !p.is_empty());
    if let Some(passphrase) = passphrase {
        let secret = write("passphrase", passphrase, 0o600)?;
        let askpass = write("askpass", &format!("#!/bin/sh\ncat {secret}\n"), 0o700)?;
        command.push_str(&format!(
            "SSH_ASKPASS={askpass} SSH_ASKPASS_REQUIRE=force DISPLAY=none "
        ));
    }
    // BatchMode would also switch off the askpass program, so it is only set without a passphrase.
    let batch_mode = if passphrase.is_some() { "no" } else { "yes" };
    command.push_str(&format!(
        "ssh -F /dev/null -i {identity_file} -o IdentitiesOnly=yes -o UserKnownHostsFile={known_hosts_file} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode={batch_mode} \
         -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o ConnectTimeout={connect_timeout}"
    ));
    if let Some(log) = target.ssh_log.as_deref() {
        command.push_str(&format!(" 2>>{}", shell_quote(&log.to_string_lossy())));
    }
    let mut config = repo.config_snapshot_mut();
    config
        .append_config(
            [
                format!("core.sshCommand={command}"),
                "ssh.variant=ssh".to_owned(),
            ],
            gix::config::Source::Api,
        )
        .map_err(|e| target.transport_error(e))?;
    config.commit().map_err(|e| target.transport_error(e))?;
    Ok(())
}

/// HTTP options for this target: bearer token header, CA bundle and connect timeout.
pub(crate) fn http_options(
    repo: &gix::Repository,
    target: &Target,
    timeout: Duration,
) -> Result<Box<dyn std::any::Any>, GitError> {
    install_crypto_provider();
    let base = repo
        .transport_options(target.fetch_url.as_str(), None)
        .map_err(|e| target.transport_error(e))?;
    let mut options = base
        .and_then(|any| any.downcast::<http::Options>().ok())
        .map(|boxed| *boxed)
        .unwrap_or_default();
    options.connect_timeout = Some(timeout.min(Duration::from_secs(30)));
    options.low_speed_limit_bytes_per_second = 1;
    options.low_speed_time_seconds = timeout.as_secs().max(1);
    if let Some(token) = target.auth.bearer_token.as_deref() {
        options
            .extra_headers
            .push(format!("Authorization: Bearer {token}"));
    }
    if let Some(ca) = target.auth.ca_cert.as_deref() {
        let certs = reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|_| {
            GitError::InvalidAuth {
                url: target.display_url.clone(),
                reason: "'ca.crt' is not a valid PEM certificate bundle".into(),
            }
        })?;
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| {
                Ok(builder.tls_certs_merge(certs.clone()))
            })),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(backend)));
    }
    Ok(Box::new(options))
}

/// The credentials callback for gix: offers basic-auth credentials when asked, never prompts.
pub(crate) fn credentials(
    auth: &GitAuth,
) -> impl FnMut(
    gix::credentials::helper::Action,
) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
+ use<> {
    let account = match (&auth.username, &auth.password, &auth.bearer_token) {
        (Some(username), password, None) => Some(gix::sec::identity::Account {
            username: username.clone(),
            password: password.clone().unwrap_or_default(),
            oauth_refresh_token: None,
        }),
        _ => None,
    };
    move |action| match (action, &account) {
        (gix::credentials::helper::Action::Get(context), Some(account)) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: account.clone(),
                next: context.into(),
            }))
        }
        _ => Ok(None),
    }
}

/// reqwest is built without a default TLS provider (see the workspace manifest); tether uses
/// ring, the provider kube uses. Installing fails harmlessly if one is installed already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn write_private(path: &Path, content: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(content.as_bytes())
}

fn with_newline(text: &str) -> String {
    let mut text = text.replace("\r\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_url_password_moves_into_auth() {
        let target =
            Target::new("https://bob:pw1234@example.com/r.git", &GitAuth::default()).expect("ok");
        assert_eq!(target.fetch_url, "https://bob@example.com/r.git");
        assert_eq!(target.display_url, "https://bob@example.com/r.git");
        assert_eq!(target.auth.password.as_deref(), Some("pw1234"));
    }

    #[test]
    fn ssh_url_defaults_to_git_user() {
        let auth = GitAuth {
            identity: Some("k".into()),
            known_hosts: Some("h".into()),
            ..GitAuth::default()
        };
        let target = Target::new("ssh://example.com:2222/r.git", &auth).expect("ok");
        assert_eq!(target.fetch_url, "ssh://git@example.com:2222/r.git");
    }

    #[test]
    fn unsupported_scheme_is_terminal() {
        let error = Target::new("ftp://example.com/r", &GitAuth::default()).expect_err("bad");
        assert!(error.is_terminal());
        assert!(
            matches!(error, crate::GitError::InvalidUrl { .. }),
            "{error}"
        );
    }

    #[test]
    fn shell_quote_escapes_quotes() {
        assert_eq!(shell_quote("/tmp/a'b"), r"'/tmp/a'\''b'");
    }
}
