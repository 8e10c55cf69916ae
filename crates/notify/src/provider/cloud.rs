//! Google Cloud Pub/Sub and Azure Event Hubs: a recorder-testable REST form of what
//! notification-controller v1.9 sends through gRPC and AMQP SDKs (`google_pubsub.go`,
//! `azure_eventhub.go`). Both services are SaaS endpoints that cannot be reached from here, and
//! their SDK protocols (gRPC, AMQP) are not HTTP requests a recorder can check; the message is
//! the same, sent through each service's documented REST API:
//!
//! - Pub/Sub `projects.topics.publish`: one message whose data is the event as `json.Marshal`
//!   writes it and whose attributes are the Secret's `headers` (none when empty), to
//!   `projects/<address>/topics/<channel>`. The `token` is the service account JSON key, used as
//!   the gRPC client uses it: a self-signed RS256 JWT with the Pub/Sub scopes as the bearer
//!   token. Workload identity (no token) is not supported yet.
//! - Event Hubs "Send event": the event as the body, no properties, to
//!   `https://<namespace>/<hub>/messages`. With a connection string as the address (Flux's SAS
//!   mode, `EntityPath` naming the hub) the `SharedAccessSignature` is computed from its key;
//!   otherwise the address is the hub, the channel the namespace, and the token a JWT sent as
//!   a bearer token. Managed identity (no token) is not supported yet.
//!
//! [`CloudEndpoints`] holds the service hosts; only tests point them elsewhere.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tether_api::notification::v1beta3::ProviderType;

use super::{HttpRequest, PayloadError, ProviderSettings, require};
use crate::{event::Event, gojson};

/// Where the cloud providers send, and the clock and random values of one delivery;
/// [`CloudEndpoints::default`] is the real services, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEndpoints {
    /// The Pub/Sub API root, `https://pubsub.googleapis.com`.
    pub pubsub: String,
    /// Replaces `https://<event hubs namespace>` when set (tests only).
    pub event_hubs: Option<String>,
    /// Seconds since the epoch, for token times (`iat`, `se`).
    pub now: i64,
    /// Sentry's event, trace and span ids, send time and host facts.
    pub sentry: super::sentry::SentryRun,
    /// OpenTelemetry's span id and end time.
    pub otel: super::otel::OtelRun,
}

impl Default for CloudEndpoints {
    fn default() -> Self {
        Self {
            pubsub: "https://pubsub.googleapis.com".into(),
            event_hubs: None,
            now: chrono::Utc::now().timestamp(),
            sentry: super::sentry::SentryRun::generate(),
            otel: super::otel::OtelRun::generate(),
        }
    }
}

/// The scopes the Pub/Sub client asks for.
const PUBSUB_SCOPES: &str =
    "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/pubsub";

/// How long self-signed tokens and signatures are valid.
const TOKEN_SECONDS: i64 = 3600;

#[derive(Serialize)]
struct Publish<'a> {
    messages: [PubsubMessage<'a>; 1],
}

#[derive(Serialize)]
struct PubsubMessage<'a> {
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<&'a std::collections::BTreeMap<String, String>>,
}

/// The service account key fields the token needs.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
}

/// Pub/Sub: `POST <api>/v1/projects/<project>/topics/<topic>:publish`.
pub(super) fn google_pubsub(
    event: &Event,
    settings: &ProviderSettings,
    endpoints: &CloudEndpoints,
) -> Result<HttpRequest, PayloadError> {
    let provider = ProviderType::GooglePubSub;
    require(provider, &settings.address, "GCP project ID (address)")?;
    require(provider, &settings.channel, "Pub/Sub topic ID (channel)")?;
    require(
        provider,
        &settings.token,
        "service account JSON key (token)",
    )?;
    let data = base64::engine::general_purpose::STANDARD.encode(event.to_go_json()?);
    let attributes = Some(&settings.headers).filter(|h| !h.is_empty());
    let body = Publish {
        messages: [PubsubMessage { data, attributes }],
    };
    let url = format!(
        "{}/v1/projects/{}/topics/{}:publish",
        endpoints.pubsub, settings.address, settings.channel
    );
    let mut request = HttpRequest::json_post(url, gojson::marshal(&body)?);
    let jwt = self_signed_jwt(&settings.token, endpoints.now)?;
    request.set_header("Authorization", format!("Bearer {jwt}"));
    Ok(request)
}

/// A JWT signed with the service account's key, scoped to Pub/Sub.
fn self_signed_jwt(key_json: &str, now: i64) -> Result<String, PayloadError> {
    let invalid = |detail: &str| PayloadError::InvalidCredentials {
        provider: ProviderType::GooglePubSub,
        detail: detail.to_owned(),
    };
    let key: ServiceAccountKey = serde_json::from_str(key_json)
        .map_err(|_| invalid("the token is not a service account JSON key"))?;
    let der = pem_body(&key.private_key).ok_or_else(|| invalid("private_key is not PEM"))?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|_| invalid("private_key is not a PKCS#8 RSA key"))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::json!({"alg": "RS256", "kid": key.private_key_id, "typ": "JWT"});
    let claims = serde_json::json!({
        "exp": now + TOKEN_SECONDS, "iat": now, "iss": key.client_email,
        "scope": PUBSUB_SCOPES, "sub": key.client_email,
    });
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| invalid("signing the token failed"))?;
    Ok(format!("{signing_input}.{}", b64.encode(signature)))
}

/// The DER bytes of the first PEM block in `pem`.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN ")?;
    let after_header = pem[start..].find('\n')? + start + 1;
    let end = pem[after_header..].find("-----END ")? + after_header;
    let text: String = pem[after_header..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Event Hubs: `POST https://<namespace>/<hub>/messages?timeout=60&api-version=2014-01`.
pub(super) fn azure_event_hub(
    event: &Event,
    settings: &ProviderSettings,
    endpoints: &CloudEndpoints,
) -> Result<HttpRequest, PayloadError> {
    let provider = ProviderType::AzureEventHub;
    require(provider, &settings.address, "address")?;
    let (host, hub, authorization) = if settings.address.contains("SharedAccessKey") {
        if !settings.token.is_empty() {
            return Err(PayloadError::InvalidCredentials {
                provider,
                detail: "jwt token and SAS authentication cannot be set at the same time".into(),
            });
        }
        let sas = ConnectionString::parse(&settings.address)?;
        let authorization = sas.signature(endpoints.now + TOKEN_SECONDS);
        (sas.host, sas.hub, authorization)
    } else {
        require(provider, &settings.token, "token")?;
        require(
            provider,
            &settings.channel,
            "Event Hubs namespace (channel)",
        )?;
        let host = if settings.channel.contains(".servicebus.") {
            settings.channel.clone()
        } else {
            format!("{}.servicebus.windows.net", settings.channel)
        };
        let authorization = format!("Bearer {}", settings.token);
        (host, settings.address.clone(), authorization)
    };
    let base = endpoints
        .event_hubs
        .clone()
        .unwrap_or_else(|| format!("https://{host}"));
    let url = format!("{base}/{hub}/messages?timeout=60&api-version=2014-01");
    let mut request = HttpRequest::json_post(url, event.to_go_json()?);
    request.set_header(
        "Content-Type",
        "application/atom+xml;type=entry;charset=utf-8",
    );
    request.set_header("Authorization", authorization);
    Ok(request)
}

/// The parts of an Event Hubs connection string a signature needs.
struct ConnectionString {
    host: String,
    hub: String,
    key_name: String,
    key: String,
}

impl ConnectionString {
    /// `Endpoint=sb://<host>/;SharedAccessKeyName=<name>;SharedAccessKey=<key>;EntityPath=<hub>`.
    fn parse(text: &str) -> Result<Self, PayloadError> {
        let invalid = |detail: &str| PayloadError::InvalidCredentials {
            provider: ProviderType::AzureEventHub,
            detail: detail.to_owned(),
        };
        let field = |name: &str| {
            text.split(';')
                .filter_map(|part| part.trim().split_once('='))
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.to_owned())
        };
        let endpoint =
            field("Endpoint").ok_or_else(|| invalid("connection string has no Endpoint"))?;
        let host = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            host,
            hub: field("EntityPath")
                .ok_or_else(|| invalid("connection string has no EntityPath"))?,
            key_name: field("SharedAccessKeyName")
                .ok_or_else(|| invalid("connection string has no SharedAccessKeyName"))?,
            key: field("SharedAccessKey")
                .ok_or_else(|| invalid("connection string has no SharedAccessKey"))?,
        })
    }

    /// `SharedAccessSignature sr=<uri>&sig=<signature>&se=<expiry>&skn=<key name>`: the
    /// signature is the base64 HMAC-SHA256, keyed by the key, of the encoded URI, a newline
    /// and the expiry.
    fn signature(&self, expiry: i64) -> String {
        let resource = form_encode(&format!("https://{}/{}", self.host, self.hub));
        // HMAC accepts keys of any length, so creating the MAC cannot fail.
        let digest = match Hmac::<Sha256>::new_from_slice(self.key.as_bytes()) {
            Ok(mut mac) => {
                mac.update(format!("{resource}\n{expiry}").as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        };
        let signature = base64::engine::general_purpose::STANDARD.encode(digest);
        format!(
            "SharedAccessSignature sr={resource}&sig={}&se={expiry}&skn={}",
            form_encode(&signature),
            self.key_name
        )
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
