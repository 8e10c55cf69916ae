//! Git credentials built from a Secret's data with Flux's key names. Values are held as secrets:
//! `Debug` prints only which keys are present, and [`GitAuth::secret_values`] lets error paths
//! scrub them from any text that came back from a transport.

use crate::error::GitError;
use std::collections::BTreeMap;
use std::fmt;

/// Credentials for one git remote.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GitAuth {
    /// HTTP basic auth user (`username`).
    pub username: Option<String>,
    /// HTTP basic auth password, or the SSH identity's passphrase (`password`).
    pub password: Option<String>,
    /// HTTP bearer token (`bearerToken`); when present, basic auth keys are ignored as in Flux.
    pub bearer_token: Option<String>,
    /// SSH private key, PEM or OpenSSH format (`identity`).
    pub identity: Option<String>,
    /// SSH public key (`identity.pub`), informational.
    pub identity_pub: Option<String>,
    /// SSH `known_hosts` lines (`known_hosts`).
    pub known_hosts: Option<String>,
    /// PEM CA bundle for HTTPS (`ca.crt`, or the older `caFile`).
    pub ca_cert: Option<String>,
}

impl GitAuth {
    /// Reads Flux's keys from a Secret's (already base64-decoded) data. Unknown keys are ignored;
    /// a known key whose value is not UTF-8 is an error that names the key, never the value.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, GitError> {
        let text =
            |key: &str| -> Result<Option<String>, GitError> {
                match data.get(key) {
                    None => Ok(None),
                    Some(bytes) => String::from_utf8(bytes.clone()).map(Some).map_err(|_| {
                        GitError::InvalidAuth {
                            url: String::new(),
                            reason: format!("secret key '{key}' is not valid UTF-8"),
                        }
                    }),
                }
            };
        let bearer_token = text("bearerToken")?;
        let basic = bearer_token.is_none();
        Ok(Self {
            username: if basic { text("username")? } else { None },
            password: text("password")?,
            bearer_token,
            identity: text("identity")?,
            identity_pub: text("identity.pub")?,
            known_hosts: text("known_hosts")?,
            ca_cert: match text("ca.crt")? {
                Some(ca) if !ca.is_empty() => Some(ca),
                _ => text("caFile")?,
            },
        })
    }

    /// Every secret value held, for scrubbing transport messages.
    pub fn secret_values(&self) -> Vec<&str> {
        [
            &self.password,
            &self.bearer_token,
            &self.identity,
            &self.username,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
    }

    /// Checks that the credentials fit the URL's transport, as Flux validates its auth options:
    /// a password needs a user over HTTP; SSH needs an identity and known_hosts.
    pub(crate) fn validate(&self, url: &str, is_ssh: bool) -> Result<(), GitError> {
        let invalid = |reason: &str| GitError::InvalidAuth {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if is_ssh {
            if self.identity.as_deref().is_none_or(str::is_empty) {
                return Err(invalid("'identity' is required for ssh"));
            }
            if self.known_hosts.as_deref().is_none_or(str::is_empty) {
                return Err(invalid("'known_hosts' is required for ssh"));
            }
        } else if self.username.is_none() && self.password.is_some() && self.bearer_token.is_none()
        {
            return Err(invalid("'password' requires 'username' to be set"));
        }
        Ok(())
    }
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("GitAuth")
            .field("username", &shown(&self.username))
            .field("password", &shown(&self.password))
            .field("bearer_token", &shown(&self.bearer_token))
            .field("identity", &shown(&self.identity))
            .field("identity_pub", &self.identity_pub.as_ref().map(|_| "<set>"))
            .field("known_hosts", &self.known_hosts.as_ref().map(|_| "<set>"))
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn basic_auth_keys() {
        let auth = GitAuth::from_secret_data(&data(&[("username", "bob"), ("password", "s3cret")]))
            .expect("valid");
        assert_eq!(auth.username.as_deref(), Some("bob"));
        assert_eq!(auth.password.as_deref(), Some("s3cret"));
    }

    #[test]
    fn bearer_token_wins_over_basic_user() {
        let auth = GitAuth::from_secret_data(&data(&[("bearerToken", "tok"), ("username", "bob")]))
            .expect("valid");
        assert_eq!(auth.bearer_token.as_deref(), Some("tok"));
        assert_eq!(auth.username, None);
    }

    #[test]
    fn ca_crt_takes_precedence_over_ca_file() {
        let auth =
            GitAuth::from_secret_data(&data(&[("ca.crt", "A"), ("caFile", "B")])).expect("valid");
        assert_eq!(auth.ca_cert.as_deref(), Some("A"));
        let auth = GitAuth::from_secret_data(&data(&[("caFile", "B")])).expect("valid");
        assert_eq!(auth.ca_cert.as_deref(), Some("B"));
    }

    #[test]
    fn debug_never_shows_values() {
        let auth = GitAuth::from_secret_data(&data(&[
            ("username", "bob-the-user"),
            ("password", "hunter2-password"),
            ("identity", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ]))
        .expect("valid");
        let shown = format!("{auth:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("bob-the-user"), "{shown}");
        assert!(!shown.contains("BEGIN"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn non_utf8_value_names_the_key_only() {
        let mut raw = BTreeMap::new();
        raw.insert("password".to_owned(), vec![0xff, 0xfe]);
        let error = GitAuth::from_secret_data(&raw).expect_err("invalid");
        assert!(error.to_string().contains("'password'"));
    }

    #[test]
    fn ssh_requires_identity_and_known_hosts() {
        let auth = GitAuth::from_secret_data(&data(&[("identity", "key")])).expect("valid");
        let error = auth.validate("ssh://git@h/r", true).expect_err("invalid");
        assert!(error.to_string().contains("known_hosts"));
        assert!(error.is_terminal());
    }
}
