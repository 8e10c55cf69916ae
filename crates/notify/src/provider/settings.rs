//! From a Provider and its Secrets to [`ProviderSettings`] and a proxy, as Flux's
//! `createNotifier` does: `spec.address` unless the Secret has `address` (trimmed, at most
//! 2048 bytes); `spec.channel`; `spec.username` unless the Secret has basic auth; `token`,
//! `username`/`password` and YAML `headers` from the Secret; the proxy from `spec.proxy`, then
//! the Secret's deprecated `proxy`, then `proxySecretRef` (`address`, `username`, `password`).
//!
//! As in Flux, a Secret with `username` but no `password` (or the reverse) yields no
//! credentials at all, not an error.

use std::collections::BTreeMap;

use tether_api::notification::v1beta3::ProviderSpec;

use super::ProviderSettings;
use crate::redact::url_for_display;

/// The data of a Secret.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The longest address a Secret may hold.
pub const MAX_ADDRESS_BYTES: usize = 2048;

/// Settings ready for [`super::requests_for`] and the sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedProvider {
    /// Address, credentials, headers, commit status id.
    pub settings: ProviderSettings,
    /// The proxy URL (with credentials), if any.
    pub proxy: Option<String>,
}

impl ResolvedProvider {
    /// The values to mask in anything shown: the token and the password.
    pub fn secrets(&self) -> Vec<&str> {
        [
            self.settings.token.as_str(),
            self.settings.password.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// Why a Provider's Secrets cannot be used; messages name keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The Secret's `address` is too long.
    #[error(
        "invalid address in secret: address exceeds maximum length of {MAX_ADDRESS_BYTES} bytes"
    )]
    AddressTooLong,
    /// The Secret's `headers` is not a YAML map of strings.
    #[error("failed to read headers from secret: {0}")]
    InvalidHeaders(String),
    /// The proxy Secret has no `address`.
    #[error("proxy secret has no 'address' key")]
    ProxyAddressMissing,
    /// The proxy address is empty, too long, or not http, https or socks5.
    #[error("invalid proxy address {0}")]
    InvalidProxy(String),
}

impl SettingsError {
    /// Every settings error needs a change to a Secret: retrying does not help.
    pub fn is_terminal(&self) -> bool {
        true
    }
}

/// Resolves `spec` with its `secretRef` and `proxySecretRef` data (when set and read), and the
/// commit status id for commit-status types.
pub fn resolve(
    spec: &ProviderSpec,
    secret: Option<&SecretData>,
    proxy_secret: Option<&SecretData>,
    commit_status: &str,
) -> Result<ResolvedProvider, SettingsError> {
    let text = |data: &SecretData, key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let mut settings = ProviderSettings {
        address: spec.address.clone().unwrap_or_default(),
        channel: spec.channel.clone().unwrap_or_default(),
        username: spec.username.clone().unwrap_or_default(),
        commit_status: commit_status.to_owned(),
        ..ProviderSettings::default()
    };
    let mut proxy = spec.proxy.clone().filter(|p| !p.is_empty());
    if let Some(data) = secret {
        if let Some(address) = text(data, "address") {
            if address.len() > MAX_ADDRESS_BYTES {
                return Err(SettingsError::AddressTooLong);
            }
            settings.address = address.trim().to_owned();
        }
        if let Some(deprecated) = text(data, "proxy") {
            proxy = Some(deprecated.trim().to_owned());
        }
        if let Some(headers) = text(data, "headers") {
            settings.headers = serde_saphyr::from_str::<Option<BTreeMap<String, String>>>(&headers)
                .map_err(|e| SettingsError::InvalidHeaders(e.to_string()))?
                .unwrap_or_default();
        }
        apply_credentials(data, &mut settings);
    }
    if let Some(data) = proxy_secret {
        proxy = Some(proxy_from_secret(data)?);
    }
    Ok(ResolvedProvider { settings, proxy })
}

/// `token`, and `username` with `password`, unless the basic auth pair is incomplete (then
/// Flux's secret reader fails and no credential is used).
fn apply_credentials(data: &SecretData, settings: &mut ProviderSettings) {
    let text = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let (username, password) = (text("username"), text("password"));
    if username.is_some() != password.is_some() {
        return;
    }
    if let Some(token) = text("token") {
        settings.token = token;
    }
    if let (Some(username), Some(password)) = (username, password) {
        settings.username = username;
        settings.password = password;
    }
}

/// The proxy URL of a `proxySecretRef`: `address` (http, https or socks5) with `username` and
/// `password` as userinfo.
fn proxy_from_secret(data: &SecretData) -> Result<String, SettingsError> {
    let address = data
        .get("address")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .ok_or(SettingsError::ProxyAddressMissing)?;
    let invalid = || SettingsError::InvalidProxy(url_for_display(&address));
    if address.is_empty() || address.len() > MAX_ADDRESS_BYTES {
        return Err(invalid());
    }
    let mut url = url::Url::parse(&address).map_err(|_| invalid())?;
    if !["http", "https", "socks5"].contains(&url.scheme()) {
        return Err(invalid());
    }
    let text = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    if let Some(username) = text("username") {
        url.set_username(&username).map_err(|_| invalid())?;
        if let Some(password) = text("password") {
            url.set_password(Some(&password)).map_err(|_| invalid())?;
        }
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> SecretData {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    fn spec() -> Result<ProviderSpec, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "type": "generic", "address": "https://spec.example.com",
            "username": "spec-user", "proxy": "http://spec-proxy:3128"
        }))
    }

    #[test]
    fn the_secret_overrides_address_username_and_proxy() -> Result<(), Box<dyn std::error::Error>> {
        let secret = data(&[
            ("address", " https://secret.example.com/hook \n"),
            ("token", "t0k"),
            ("username", "u"),
            ("password", "p"),
            ("headers", "X-Team: web\nAuthorization: Bearer x\n"),
            ("proxy", "http://secret-proxy:3128"),
        ]);
        let resolved = resolve(&spec()?, Some(&secret), None, "")?;
        assert_eq!(resolved.settings.address, "https://secret.example.com/hook");
        assert_eq!(resolved.settings.token, "t0k");
        assert_eq!(resolved.settings.username, "u");
        assert_eq!(
            resolved.settings.headers.get("X-Team").map(String::as_str),
            Some("web")
        );
        assert_eq!(resolved.proxy.as_deref(), Some("http://secret-proxy:3128"));
        assert_eq!(resolved.secrets(), ["t0k", "p"]);
        Ok(())
    }

    #[test]
    fn an_incomplete_basic_auth_pair_drops_every_credential()
    -> Result<(), Box<dyn std::error::Error>> {
        let secret = data(&[("token", "t0k"), ("username", "u")]);
        let resolved = resolve(&spec()?, Some(&secret), None, "")?;
        assert_eq!(resolved.settings.token, "");
        assert_eq!(resolved.settings.username, "spec-user");
        Ok(())
    }

    #[test]
    fn the_proxy_secret_wins_and_carries_its_credentials() -> Result<(), Box<dyn std::error::Error>>
    {
        let proxy = data(&[
            ("address", "http://proxy:8080"),
            ("username", "pu"),
            ("password", "pp"),
        ]);
        let resolved = resolve(&spec()?, None, Some(&proxy), "")?;
        assert_eq!(resolved.proxy.as_deref(), Some("http://pu:pp@proxy:8080/"));
        let ftp = data(&[("address", "ftp://proxy")]);
        assert!(matches!(
            resolve(&spec()?, None, Some(&ftp), ""),
            Err(SettingsError::InvalidProxy(_))
        ));
        assert_eq!(
            resolve(&spec()?, None, Some(&data(&[])), ""),
            Err(SettingsError::ProxyAddressMissing)
        );
        Ok(())
    }

    #[test]
    fn an_overlong_secret_address_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let long = "x".repeat(MAX_ADDRESS_BYTES + 1);
        let secret = data(&[("address", long.as_str())]);
        assert_eq!(
            resolve(&spec()?, Some(&secret), None, ""),
            Err(SettingsError::AddressTooLong)
        );
        Ok(())
    }
}
