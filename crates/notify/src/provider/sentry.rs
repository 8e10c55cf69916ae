//! Sentry, as notification-controller v1.9's `sentry.go` sends through sentry-go v0.46.2: the
//! address is the DSN, the channel the environment. Error events become Sentry events (level,
//! server name from the reporting controller, the summary as the transaction, the metadata as
//! the `metadata` context); info events become transactions with one span (`op` `event`,
//! Flux's `flux_*` tags and the metadata as tags, start and end at the event's time).
//!
//! The request is the SDK's: one envelope (header with event id, `sent_at`, DSN and SDK
//! identity; an item header with type and length; the event as `json.Marshal` writes the
//! SDK's `Event`) posted to `<scheme>://<host>[:port][path]/api/<project>/envelope/` with
//! `X-Sentry-Auth`. Two parts of the SDK's event describe the Go process and are left out:
//! the `runtime` context (Go version, goroutines) and the `modules` map (the controller's Go
//! build); the `device` and `os` contexts carry this host's values under the SDK's names.
//! Random ids and times come from [`SentryRun`], so tests can fix them. As in Flux, nothing is
//! sent for other severities.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tether_api::notification::v1beta3::ProviderType;

use super::{HttpRequest, PayloadError, ProviderSettings, hex};
use crate::{
    event::{Event, severity},
    gojson,
};

/// The sentry-go release Flux v2.9 is built with.
const SDK_VERSION: &str = "0.46.2";
/// The integrations sentry-go installs by default, in its order.
const INTEGRATIONS: [&str; 6] = [
    "ContextifyFrames",
    "Environment",
    "Modules",
    "IgnoreErrors",
    "IgnoreTransactions",
    "GlobalTags",
];

/// The random ids, clock and host name of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentryRun {
    /// 16 random bytes, made a version 4 UUID (`GenerateEventID`).
    pub event_id: [u8; 16],
    /// The transaction's trace id.
    pub trace_id: [u8; 16],
    /// The transaction's span id.
    pub span_id: [u8; 8],
    /// When the envelope is sent.
    pub sent_at: DateTime<Utc>,
    /// The host name (the server name of transactions).
    pub hostname: String,
    /// `runtime.GOARCH`'s name for this machine (`amd64`, `arm64`).
    pub arch: String,
    /// `runtime.GOOS`'s name (`linux`).
    pub os: String,
    /// The number of CPUs.
    pub num_cpu: usize,
}

impl SentryRun {
    /// Fresh random ids, now, and this host's name.
    pub fn generate() -> Self {
        use ring::rand::SecureRandom as _;
        let random = ring::rand::SystemRandom::new();
        let mut bytes = [0u8; 40];
        // The system random source does not fail on supported platforms; zeros otherwise.
        let _ = random.fill(&mut bytes);
        let mut event_id = [0u8; 16];
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        event_id.copy_from_slice(&bytes[..16]);
        trace_id.copy_from_slice(&bytes[16..32]);
        span_id.copy_from_slice(&bytes[32..]);
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Self {
            event_id,
            trace_id,
            span_id,
            sent_at: Utc::now(),
            hostname,
            arch: go_arch().to_owned(),
            os: std::env::consts::OS.to_owned(),
            num_cpu: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// The parts of a DSN (`<scheme>://<public>[:<secret>]@<host>[:port][/path]/<project>`).
struct Dsn {
    scheme: String,
    public_key: String,
    secret_key: String,
    /// Host with a non-default port.
    authority: String,
    path: String,
    project: String,
}

impl Dsn {
    fn parse(address: &str) -> Result<Self, PayloadError> {
        let invalid = || PayloadError::InvalidAddress {
            provider: ProviderType::Sentry,
            address: crate::redact::url_for_display(address),
        };
        let url = url::Url::parse(address).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.username().is_empty() {
            return Err(invalid());
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(invalid)?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let segments: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
        let (project, path) = segments.split_last().ok_or_else(invalid)?;
        if project.is_empty() {
            return Err(invalid());
        }
        let path = if path.is_empty() {
            String::new()
        } else {
            format!("/{}", path.join("/"))
        };
        Ok(Self {
            scheme: url.scheme().to_owned(),
            public_key: url.username().to_owned(),
            secret_key: url.password().unwrap_or_default().to_owned(),
            authority,
            path,
            project: (*project).to_owned(),
        })
    }

    /// `Dsn.String()`.
    fn text(&self) -> String {
        let secret = if self.secret_key.is_empty() {
            String::new()
        } else {
            format!(":{}", self.secret_key)
        };
        format!(
            "{}://{}{secret}@{}{}/{}",
            self.scheme, self.public_key, self.authority, self.path, self.project
        )
    }

    fn envelope_url(&self) -> String {
        format!(
            "{}://{}{}/api/{}/envelope/",
            self.scheme, self.authority, self.path, self.project
        )
    }

    fn auth_header(&self) -> String {
        let mut auth = format!(
            "Sentry sentry_version=7, sentry_client=sentry.go/{SDK_VERSION}, sentry_key={}",
            self.public_key
        );
        if !self.secret_key.is_empty() {
            auth.push_str(&format!(", sentry_secret={}", self.secret_key));
        }
        auth
    }
}

#[derive(Serialize)]
struct SdkInfo {
    name: &'static str,
    version: &'static str,
    integrations: [&'static str; 6],
    packages: [SdkPackage; 1],
}

#[derive(Serialize)]
struct SdkPackage {
    name: &'static str,
    version: &'static str,
}

fn sdk_info() -> SdkInfo {
    SdkInfo {
        name: "sentry.go",
        version: SDK_VERSION,
        integrations: INTEGRATIONS,
        packages: [SdkPackage {
            name: "sentry-go",
            version: SDK_VERSION,
        }],
    }
}

#[derive(Serialize)]
struct EnvelopeHeader {
    event_id: String,
    sent_at: String,
    dsn: String,
    sdk: SdkInfo,
}

/// The SDK's `Event` fields Flux and the SDK set, in the struct's order.
#[derive(Serialize)]
struct SentryEvent<'a> {
    contexts: BTreeMap<&'static str, Value>,
    #[serde(skip_serializing_if = "str::is_empty")]
    environment: &'a str,
    event_id: String,
    level: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    platform: &'static str,
    sdk: SdkInfo,
    #[serde(skip_serializing_if = "str::is_empty")]
    server_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a BTreeMap<String, String>>,
    timestamp: String,
    transaction: String,
    /// The SDK's `User` struct: `omitempty` does not drop a struct, so always `{}`.
    user: Value,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spans: Option<[Value; 1]>,
}

/// Sentry: the envelope of an event (error severity) or a transaction (info severity).
pub(super) fn sentry(
    event: &Event,
    settings: &ProviderSettings,
    run: &SentryRun,
) -> Result<Option<HttpRequest>, PayloadError> {
    if settings.address.is_empty() {
        return Err(PayloadError::MissingSetting {
            provider: ProviderType::Sentry,
            setting: "DSN (address)",
        });
    }
    let dsn = Dsn::parse(&settings.address)?;
    let object = &event.involved_object;
    let summary = format!("{}: {}/{}", object.kind, object.namespace, object.name);
    let timestamp = go_time(&event.timestamp);
    let mut contexts = BTreeMap::new();
    contexts.insert("device", json!({"arch": run.arch, "num_cpu": run.num_cpu}));
    contexts.insert("os", json!({"name": run.os}));
    let tags;
    let (item_type, sentry_event) = match event.severity.as_str() {
        severity::ERROR => {
            contexts.insert("metadata", json!(event.metadata));
            let sentry_event = SentryEvent {
                contexts,
                environment: &settings.channel,
                event_id: event_id(&run.event_id),
                level: "error",
                message: &event.message,
                platform: "go",
                sdk: sdk_info(),
                server_name: if event.reporting_controller.is_empty() {
                    &run.hostname
                } else {
                    &event.reporting_controller
                },
                tags: None,
                timestamp,
                transaction: summary,
                user: json!({}),
                kind: None,
                start_timestamp: None,
                spans: None,
            };
            ("event", sentry_event)
        }
        severity::INFO => {
            tags = span_tags(event);
            let (trace_id, span_id) = (hex(&run.trace_id), hex(&run.span_id));
            contexts.insert(
                "trace",
                json!({"op": "event", "span_id": span_id, "trace_id": trace_id}),
            );
            // The span as sentry-go marshals it: ids, op, tags, times, origin.
            let span = json!({
                "trace_id": trace_id, "span_id": span_id, "op": "event", "tags": &tags,
                "start_timestamp": timestamp, "timestamp": timestamp, "origin": "manual",
            });
            let sentry_event = SentryEvent {
                contexts,
                environment: &settings.channel,
                event_id: event_id(&run.event_id),
                level: "info",
                message: &event.message,
                platform: "go",
                sdk: sdk_info(),
                server_name: &run.hostname,
                tags: Some(&tags),
                timestamp: timestamp.clone(),
                transaction: summary,
                user: json!({}),
                kind: Some("transaction"),
                start_timestamp: Some(timestamp),
                spans: Some([span]),
            };
            ("transaction", sentry_event)
        }
        _ => return Ok(None),
    };
    let body = gojson::marshal(&sentry_event)?;
    let header = EnvelopeHeader {
        event_id: event_id(&run.event_id),
        sent_at: go_time(&run.sent_at),
        dsn: dsn.text(),
        sdk: sdk_info(),
    };
    let mut envelope = gojson::marshal(&header)?;
    envelope.push(b'\n');
    envelope.extend(gojson::marshal(
        &json!({"type": item_type, "length": body.len()}),
    )?);
    envelope.push(b'\n');
    envelope.extend(body);
    envelope.push(b'\n');
    let mut request = HttpRequest::json_post(dsn.envelope_url(), envelope);
    request.set_header("Content-Type", "application/x-sentry-envelope");
    request.set_header("X-Sentry-Auth", dsn.auth_header());
    Ok(Some(request))
}

/// The tags Flux sets on the span, then the metadata (which may override them).
fn span_tags(event: &Event) -> BTreeMap<String, String> {
    let object = &event.involved_object;
    let mut tags: BTreeMap<String, String> = [
        ("flux_involved_object_kind", &object.kind),
        ("flux_involved_object_namespace", &object.namespace),
        ("flux_involved_object_name", &object.name),
        ("flux_reporting_controller", &event.reporting_controller),
        ("flux_reporting_instance", &event.reporting_instance),
        ("flux_reason", &event.reason),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect();
    tags.extend(event.metadata.clone());
    tags
}

/// A version 4 UUID in hex, without dashes.
fn event_id(random: &[u8; 16]) -> String {
    let mut id = *random;
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    hex(&id)
}

/// Go's `time.Time` JSON form (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC.
fn go_time(time: &DateTime<Utc>) -> String {
    let base = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = time.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let fraction = format!("{nanos:09}");
    format!("{base}.{}Z", fraction.trim_end_matches('0'))
}

/// `runtime.GOARCH` for this build.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
