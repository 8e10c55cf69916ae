//! Webhook Receivers as notification-controller v1.9.3 handles them: the webhook path
//! (`/hook/<sha256 of token+name+namespace>`), the body limit (3 MiB, `413`), and per-type
//! verification of a call (headers, body, the Secret's token) into accept or refuse with the
//! status code Flux answers (`400` for any verification failure).
//!
//! The controller answers the rest: `404` for an unknown path, `503` while the Receiver is
//! suspended or not ready, `500` when annotating a target fails, `200` otherwise.
//! `generic-oidc` ([`oidc`]) and `gcr` ([`gcr`], [`verify_gcr`]) authenticate the caller by a
//! signed token ([`token`]), fetching keys over the network, so they are async and separate
//! from [`verify`]; the CEL `validations` of a generic-oidc provider are the caller's.
//! `cdevents` is partial: the body is checked to be a CDEvent envelope (context and subject),
//! not against the CDEvents JSON schemas.

pub mod gcr;
pub mod oidc;
mod payload;
pub use payload::gcr_event;
pub mod signature;
pub mod token;

use sha2::{Digest, Sha256};
use tether_api::notification::{RECEIVER_WEBHOOK_PATH, v1::ReceiverType};

/// The largest body a Receiver reads.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// `/hook/` and the hex SHA-256 of `token + name + namespace` (Flux's `GetWebhookPath`).
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("{RECEIVER_WEBHOOK_PATH}{}", crate::provider::hex(&digest))
}

/// Request headers, looked up case-insensitively; the first value of a repeated header wins
/// (Go's `Header.Get`).
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Headers from name/value pairs.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `name`, or `""` (as Go returns for a missing header).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What a Receiver answers a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verified: the targets are asked to reconcile. `event` is the event type the sender
    /// named, when it names one.
    Accept {
        /// The event type (`X-GitHub-Event`, `X-Gitlab-Event`, ...), if any.
        event: Option<String>,
    },
    /// Refused with `status` and nothing is annotated; `reason` is for the log.
    Refuse {
        /// The HTTP status code.
        status: u16,
        /// Why, without the token.
        reason: String,
    },
}

impl Verdict {
    fn refuse(reason: impl Into<String>) -> Self {
        Self::Refuse {
            status: 400,
            reason: reason.into(),
        }
    }

    fn accept(event: &str) -> Self {
        Self::Accept {
            event: (!event.is_empty()).then(|| event.to_owned()),
        }
    }

    /// The HTTP status this verdict answers with (`200` for accepted calls whose targets
    /// were all annotated).
    pub fn status(&self) -> u16 {
        match self {
            Self::Accept { .. } => 200,
            Self::Refuse { status, .. } => *status,
        }
    }
}

/// What a Receiver's spec and Secret give the verification.
#[derive(Clone, Copy)]
pub struct ReceiverConfig<'a> {
    /// `spec.type`.
    pub receiver_type: ReceiverType,
    /// `spec.events`; every event when empty.
    pub events: &'a [String],
    /// The Secret's `token`.
    pub token: &'a str,
}

impl std::fmt::Debug for ReceiverConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("receiver_type", &self.receiver_type)
            .field("events", &self.events)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Refuses a body over [`MAX_BODY_BYTES`] with `413`, before any other check.
pub fn check_body_size(len: usize) -> Result<(), Verdict> {
    if len > MAX_BODY_BYTES {
        Err(Verdict::Refuse {
            status: 413,
            reason: format!("request body exceeds the maximum size of {MAX_BODY_BYTES} bytes"),
        })
    } else {
        Ok(())
    }
}

/// Verifies a call to a Receiver that authenticates by a shared secret. `gcr` and
/// `generic-oidc` are refused here: they are verified by [`verify_gcr`] and [`oidc`].
pub fn verify(config: ReceiverConfig<'_>, headers: &Headers, body: &[u8]) -> Verdict {
    if let Err(refused) = check_body_size(body.len()) {
        return refused;
    }
    use ReceiverType as R;
    match config.receiver_type {
        R::Generic => Verdict::accept(""),
        R::GenericHmac => {
            match signature::verify_prefixed(headers.get("X-Signature"), body, config.token) {
                Ok(()) => Verdict::accept(""),
                Err(e) => Verdict::refuse(format!("unable to validate HMAC signature: {e}")),
            }
        }
        R::GitHub => forge_signed(config, headers, body, "X-GitHub-Event", "GitHub"),
        R::Bitbucket => forge_signed(config, headers, body, "X-Event-Key", "Bitbucket server"),
        R::GitLab => {
            if headers.get("X-Gitlab-Token") != config.token {
                return Verdict::refuse(
                    "the X-Gitlab-Token header value does not match the receiver token",
                );
            }
            allowed_event(config.events, headers.get("X-Gitlab-Event"), "GitLab event")
        }
        R::Harbor => {
            if headers.get("Authorization") != config.token {
                return Verdict::refuse(
                    "the Harbor Authorization header value does not match the receiver token",
                );
            }
            Verdict::accept("")
        }
        R::Quay => payload::decode_quay(body),
        R::DockerHub => payload::decode_dockerhub(body),
        R::Acr => payload::decode_acr(body),
        R::Nexus => payload::verify_nexus(headers, body, config.token),
        R::CdEvents => payload::verify_cdevent(config.events, headers, body),
        R::Gcr => Verdict::refuse("GCR requests are verified by verify_gcr"),
        R::GenericOidc => Verdict::refuse("generic-oidc requests are verified by receiver::oidc"),
    }
}

/// Verifies a `gcr` call: the Secret's `email` and `audience` must be set, the
/// `Authorization` bearer must be a Google ID token for them ([`gcr::authenticate`], keys from
/// `keys`), then the Pub/Sub push body is decoded.
pub async fn verify_gcr(
    client: &reqwest::Client,
    keys: &gcr::GoogleKeys,
    headers: &Headers,
    body: &[u8],
    identity: gcr::GcrIdentity<'_>,
) -> Verdict {
    if let Err(refused) = check_body_size(body.len()) {
        return refused;
    }
    if identity.email.is_empty() {
        return Verdict::refuse("invalid secret data: required field 'email' for GCR receiver");
    }
    if identity.audience.is_empty() {
        return Verdict::refuse("invalid secret data: required field 'audience' for GCR receiver");
    }
    let authorization = headers.get("Authorization");
    if let Err(e) = gcr::authenticate(client, keys, authorization, identity).await {
        return Verdict::refuse(format!("cannot authenticate GCR request: {e}"));
    }
    payload::decode_gcr(body)
}

/// GitHub and Bitbucket Server: go-github's `ValidatePayload` (content type, then the
/// `X-Hub-Signature-256` or `X-Hub-Signature` HMAC), then the events filter.
fn forge_signed(
    config: ReceiverConfig<'_>,
    headers: &Headers,
    body: &[u8],
    event_header: &str,
    sender: &str,
) -> Verdict {
    let content_type = headers.get("Content-Type");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type.is_empty() {
        return Verdict::refuse(format!(
            "the {sender} signature header is invalid, err: mime: no media type"
        ));
    }
    if media_type != "application/json" && media_type != "application/x-www-form-urlencoded" {
        return Verdict::refuse(format!(
            "the {sender} signature header is invalid, err: webhook request has unsupported Content-Type {media_type:?}"
        ));
    }
    let mut signature = headers.get("X-Hub-Signature-256");
    if signature.is_empty() {
        signature = headers.get("X-Hub-Signature");
    }
    let expects_signature = !config.token.is_empty() || !signature.is_empty();
    if expects_signature && let Err(e) = signature::verify_prefixed(signature, body, config.token) {
        return Verdict::refuse(format!(
            "the {sender} signature header is invalid, err: {e}"
        ));
    }
    let noun = if sender == "GitHub" {
        "GitHub event"
    } else {
        "Bitbucket server event"
    };
    allowed_event(config.events, headers.get(event_header), noun)
}

/// Accepts `event` when `events` is empty or names it (case-insensitively).
fn allowed_event(events: &[String], event: &str, noun: &str) -> Verdict {
    if events.is_empty() || events.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        Verdict::accept(event)
    } else {
        Verdict::refuse(format!("the {noun} {event:?} is not authorised"))
    }
}
