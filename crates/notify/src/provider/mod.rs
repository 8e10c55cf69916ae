//! The HTTP request each Provider type sends for an event, as notification-controller v1.9.3
//! builds it in `internal/notifier`: method, URL, the headers Flux's code sets (canonical
//! names; transport headers such as `User-Agent` and `Content-Length` are the HTTP client's),
//! and the body bytes as Go's `encoding/json` writes them.
//!
//! One function, [`requests_for`], from (provider type, event, settings) to requests; one
//! module per provider family. Where Flux iterates a Go map (metadata fields of chat
//! messages), Go's order is random; these requests list metadata by key, one of the orders
//! Flux produces. Commit-status providers first list existing statuses to skip duplicates;
//! only the status-creating request is built here.

mod alerting;
mod chat;
pub mod cloud;
pub mod comment;
pub mod dedupe;
mod forge;
mod generic;
pub mod otel;
pub mod sentry;
pub mod settings;
mod teams;
mod zulip;

use std::{collections::BTreeMap, fmt};

use tether_api::notification::v1beta3::ProviderType;

use crate::event::Event;

/// What a Provider and its Secret say about where and how to send (Flux's notifier options).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    /// `spec.address`, or `address` from the Secret.
    pub address: String,
    /// `spec.channel`.
    pub channel: String,
    /// `spec.username`, or `username` from the Secret.
    pub username: String,
    /// `password` from the Secret.
    pub password: String,
    /// `token` from the Secret.
    pub token: String,
    /// `headers` from the Secret (generic providers).
    pub headers: BTreeMap<String, String>,
    /// The commit status id (commit-status providers): the Provider's `commitStatusExpr`
    /// result, or [`crate::alert::default_commit_status`].
    pub commit_status: String,
    /// The Provider's UID (change request comment keys).
    pub provider_uid: String,
    /// The Alert the event is sent for (OpenTelemetry's resource and trace id).
    pub alert: AlertIdentity,
}

/// An Alert's namespace, name and UID.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct AlertIdentity {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("address", &crate::redact::url_for_display(&self.address))
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("token", &"<redacted>")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("commit_status", &self.commit_status)
            .field("provider_uid", &self.provider_uid)
            .field("alert", &self.alert)
            .finish()
    }
}

/// One HTTP request to send.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `POST` or `PUT`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Header names (canonical, as Go sends them) and values, in the order Flux sets them.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &crate::redact::url_for_display(&self.url))
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpRequest {
    /// A JSON `POST` with `Content-Type: application/json`, as Flux's `postMessage` sends.
    fn json_post(url: impl Into<String>, body: Vec<u8>) -> Self {
        Self {
            method: "POST",
            url: url.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    /// Sets `name` (canonicalized) to `value`, replacing an earlier value (Go's `Set`).
    fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_header_key(name);
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.into()));
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = canonical_header_key(name);
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request can be built; the messages never contain a token or password.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The address is not an absolute URL.
    #[error("invalid {provider} address {address}")]
    InvalidAddress {
        /// The provider type.
        provider: ProviderType,
        /// The address, with credentials removed.
        address: String,
    },
    /// A setting the provider needs is empty.
    #[error("{provider} provider needs a {setting}")]
    MissingSetting {
        /// The provider type.
        provider: ProviderType,
        /// `token`, `channel`, `commit status`, ...
        setting: &'static str,
    },
    /// The credentials cannot be used (a service account key, a connection string).
    #[error("invalid {provider} credentials: {detail}")]
    InvalidCredentials {
        /// The provider type.
        provider: ProviderType,
        /// What is wrong, without the secret.
        detail: String,
    },
    /// The token is not `<user>:<password>` (Bitbucket).
    #[error("invalid token format, expected to be <user>:<password>")]
    InvalidTokenFormat,
    /// A Zulip channel is not `<stream>/<topic>`.
    #[error("invalid Zulip channel format, expected <channel>/<topic>, got '{0}'")]
    InvalidZulipChannel(String),
    /// The repository path of a forge address has the wrong number of parts.
    #[error("invalid repository id {id:?}")]
    InvalidRepository {
        /// The path found in the address.
        id: String,
    },
    /// The event carries no change request metadata.
    #[error("missing \"change_request\" metadata key")]
    MissingChangeRequest,
    /// The change request metadata is not a number.
    #[error("invalid \"change_request\" metadata value {value:?}")]
    InvalidChangeRequest {
        /// The metadata value.
        value: String,
    },
    /// The event carries no revision metadata.
    #[error("missing revision metadata")]
    MissingRevision,
    /// The revision holds no full commit hash.
    #[error("failed to extract commit hash from '{revision}' revision")]
    InvalidRevision {
        /// The revision.
        revision: String,
    },
    /// The severity has no state on the forge.
    #[error("can't convert severity {severity:?} to a {provider} state")]
    UnsupportedSeverity {
        /// The provider type.
        provider: ProviderType,
        /// The event severity.
        severity: String,
    },
    /// The provider type's wire format is not implemented here.
    #[error("provider {0} is not supported by tether yet")]
    Unsupported(ProviderType),
    /// The payload could not be encoded.
    #[error("marshalling notification payload failed: {0}")]
    Encode(#[from] serde_json::Error),
}

impl PayloadError {
    /// Whether retrying with the same settings cannot help.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::Encode(_))
    }
}

/// The requests Flux's notifier for `provider` sends for `event` (already merged with the
/// Alert's metadata), in order. Empty when Flux sends nothing (e.g. a commit-status or
/// PagerDuty provider given a `Progressing` event). Change request comments depend on the
/// forge's answers: [`comment::ChangeRequestComment`] builds them.
pub fn requests_for(
    provider: ProviderType,
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Vec<HttpRequest>, PayloadError> {
    requests_to(provider, event, settings, &cloud::CloudEndpoints::default())
}

/// [`requests_for`] with the cloud services' hosts and clock given (tests).
pub fn requests_to(
    provider: ProviderType,
    event: &Event,
    settings: &ProviderSettings,
    endpoints: &cloud::CloudEndpoints,
) -> Result<Vec<HttpRequest>, PayloadError> {
    use ProviderType as P;
    let one = |request: HttpRequest| vec![request];
    Ok(match provider {
        P::Generic => one(generic::forward(event, settings, false)?),
        P::GenericHmac => one(generic::forward(event, settings, true)?),
        P::Slack => one(chat::slack(event, settings)?),
        P::Discord => one(chat::discord(event, settings)?),
        P::Rocket => one(chat::rocket(event, settings)?),
        P::MsTeams => one(teams::msteams(event, settings)?),
        P::GoogleChat => one(chat::google_chat(event, settings)?),
        P::Webex => one(chat::webex(event, settings)?),
        P::Telegram => one(chat::telegram(event, settings)?),
        P::Matrix => one(chat::matrix(event, settings)?),
        P::Lark => one(chat::lark(event, settings)?),
        P::Alertmanager => one(alerting::alertmanager(event, settings)?),
        P::Grafana => one(alerting::grafana(event, settings)?),
        P::Opsgenie => one(alerting::opsgenie(event, settings)?),
        P::DataDog => one(alerting::datadog(event, settings)?),
        P::PagerDuty => alerting::pagerduty(event, settings)?,
        P::GitHub => forge::github(event, settings)?.into_iter().collect(),
        P::GitHubDispatch => one(forge::github_dispatch(event, settings)?),
        P::GitLab => forge::gitlab(event, settings)?.into_iter().collect(),
        P::Gitea => one(forge::gitea(event, settings)?),
        P::Bitbucket => forge::bitbucket(event, settings)?.into_iter().collect(),
        P::BitbucketServer => forge::bitbucket_server(event, settings)?
            .into_iter()
            .collect(),
        P::AzureDevOps => forge::azure_devops(event, settings)?.into_iter().collect(),
        P::Zulip => one(zulip::zulip(event, settings)?),
        P::Zoom => one(chat::zoom(event, settings)?),
        P::GooglePubSub => one(cloud::google_pubsub(event, settings, endpoints)?),
        P::AzureEventHub => one(cloud::azure_event_hub(event, settings, endpoints)?),
        P::Sentry => sentry::sentry(event, settings, &endpoints.sentry)?
            .into_iter()
            .collect(),
        P::Otel => otel::otel(event, settings, &endpoints.otel)?
            .into_iter()
            .collect(),
        P::IncidentIo => alerting::incident_io(event, settings)?
            .into_iter()
            .collect(),
        other => return Err(PayloadError::Unsupported(other)),
    })
}

/// Checks that `address` is an absolute URL, as Go's `url.ParseRequestURI` does for these
/// providers.
fn require_url(provider: ProviderType, address: &str) -> Result<(), PayloadError> {
    match url::Url::parse(address) {
        Ok(_) => Ok(()),
        Err(_) => Err(PayloadError::InvalidAddress {
            provider,
            address: crate::redact::url_for_display(address),
        }),
    }
}

/// Fails when `value` is empty.
fn require(provider: ProviderType, value: &str, setting: &'static str) -> Result<(), PayloadError> {
    if value.is_empty() {
        Err(PayloadError::MissingSetting { provider, setting })
    } else {
        Ok(())
    }
}

/// `<kind lowercased>/<name>.<namespace>`, how chat providers name the object.
fn object_title(event: &Event) -> String {
    let object = &event.involved_object;
    format!(
        "{}/{}.{}",
        object.kind.to_lowercase(),
        object.name,
        object.namespace
    )
}

/// Flux's `formatNameAndDescription`: `kind/name` and the reason split into lowercase words.
fn name_and_description(event: &Event) -> (String, String) {
    let object = &event.involved_object;
    let name = format!("{}/{}", object.kind, object.name).to_lowercase();
    let description = split_camel_case(&event.reason).join(" ").to_lowercase();
    (name, description)
}

/// Splits `HealthCheckFailed` into `Health`, `Check`, `Failed` as Flux's `splitCamelcase`:
/// runs of the same class (lower, upper, digit, other), with an upper-to-lower boundary moving
/// the last capital to the lowercase run (`PDFLoader` → `PDF`, `Loader`).
fn split_camel_case(text: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    }
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in text.chars() {
        let current = class(c);
        match runs.last_mut() {
            Some(run) if current == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = current;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower && let Some(moved) = runs[i].pop() {
            runs[i + 1].insert(0, moved);
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// The commit hash of a revision (`main@sha1:<hash>`, `sha1:<hash>`, `main/<hash>`, `<hash>`),
/// which must be 40 characters long (Flux's `parseRevision`).
fn commit_hash(revision: &str) -> Result<String, PayloadError> {
    let hash = match revision.rsplit_once(':') {
        Some((_, hash)) => hash,
        None => revision.rsplit('/').next().unwrap_or(revision),
    };
    if hash.len() == 40 {
        Ok(hash.to_owned())
    } else {
        Err(PayloadError::InvalidRevision {
            revision: revision.to_owned(),
        })
    }
}

/// The event's revision and its commit hash.
fn event_commit(event: &Event) -> Result<String, PayloadError> {
    commit_hash(event.revision().ok_or(PayloadError::MissingRevision)?)
}

/// Splits a forge repository address into `<scheme>://<host>` and the repository path without
/// `.git` (Flux's `parseGitAddress`): SSH addresses, `ssh://` or scp-like `git@host:org/repo`,
/// become `https`.
fn git_host_and_id(
    provider: ProviderType,
    address: &str,
) -> Result<(String, String), PayloadError> {
    let invalid = || PayloadError::InvalidAddress {
        provider,
        address: crate::redact::url_for_display(address),
    };
    let (scheme, host, path) = match address.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (scheme.to_ascii_lowercase(), host, path)
        }
        None => {
            let (authority, path) = address.split_once(':').ok_or_else(invalid)?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            ("ssh".to_owned(), host, path)
        }
    };
    if host.is_empty() {
        return Err(invalid());
    }
    let scheme = if scheme == "ssh" {
        "https".to_owned()
    } else {
        scheme
    };
    let id = path.trim_start_matches('/');
    let id = id.strip_suffix(".git").unwrap_or(id);
    Ok((format!("{scheme}://{host}"), id.to_owned()))
}

/// Flux's `formatMarkdownPost`: a heading, the severity emoji and object, the message, and
/// the metadata sorted by key (without the change request key).
pub(crate) fn markdown_post(event: &Event) -> String {
    let emoji = if event.severity == crate::event::severity::ERROR {
        "⚠️"
    } else {
        "ℹ️"
    };
    let object = &event.involved_object;
    let mut metadata = String::new();
    for (key, value) in &event.metadata {
        if key != crate::event::metadata_keys::CHANGE_REQUEST {
            metadata.push_str(&format!("* `{key}`: {value}\n"));
        }
    }
    format!(
        "## Flux Status\n\n{emoji} {}/{}/{}\n\n{}\n\nMetadata:\n{metadata}",
        object.kind, object.namespace, object.name, event.message
    )
}

/// Go's `url.QueryEscape`: unreserved characters kept, space as `+`, the rest `%XX`.
pub(crate) fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Go's `http.CanonicalHeaderKey`: the first letter and each letter after a hyphen upper case,
/// the rest lower case; a key with a character outside the token set is left alone.
pub fn canonical_header_key(key: &str) -> String {
    const TOKEN_PUNCTUATION: &str = "!#$%&'*+-.^_`|~";
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || TOKEN_PUNCTUATION.contains(c))
    {
        return key.to_owned();
    }
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// `Basic <base64 of user:password>`.
fn basic_auth(username: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_split_into_words_as_flux_splits_them() {
        assert_eq!(
            split_camel_case("HealthCheckFailed"),
            ["Health", "Check", "Failed"]
        );
        assert_eq!(split_camel_case("PDFLoader"), ["PDF", "Loader"]);
        assert_eq!(
            split_camel_case("Reconciliation2Failed"),
            ["Reconciliation", "2", "Failed"]
        );
        assert!(split_camel_case("").is_empty());
    }

    #[test]
    fn a_commit_hash_is_taken_from_every_revision_format() -> Result<(), PayloadError> {
        let hash = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";
        for revision in [
            format!("main@sha1:{hash}"),
            format!("feature/x@sha1:{hash}"),
            format!("sha1:{hash}"),
            format!("main/{hash}"),
            hash.to_owned(),
        ] {
            assert_eq!(commit_hash(&revision)?, hash);
        }
        assert!(commit_hash("main@sha1:abc").is_err());
        Ok(())
    }

    #[test]
    fn forge_addresses_split_into_host_and_repository() -> Result<(), PayloadError> {
        let github = ProviderType::GitHub;
        assert_eq!(
            git_host_and_id(github, "https://github.com/org/repo.git")?,
            ("https://github.com".to_owned(), "org/repo".to_owned())
        );
        assert_eq!(
            git_host_and_id(github, "ssh://git@example.com:2222/org/repo")?,
            ("https://example.com:2222".to_owned(), "org/repo".to_owned())
        );
        assert_eq!(
            git_host_and_id(github, "git@github.com:org/repo.git")?,
            ("https://github.com".to_owned(), "org/repo".to_owned())
        );
        Ok(())
    }

    #[test]
    fn query_escape_is_gos() {
        assert_eq!(query_escape("a b*~/é"), "a+b%2A~%2F%C3%A9");
    }

    #[test]
    fn header_keys_are_canonicalized_as_go_does() {
        assert_eq!(canonical_header_key("gotk-component"), "Gotk-Component");
        assert_eq!(canonical_header_key("X-SIGNATURE"), "X-Signature");
        assert_eq!(canonical_header_key("dd-api-key"), "Dd-Api-Key");
        assert_eq!(canonical_header_key("bad key"), "bad key");
    }
}
